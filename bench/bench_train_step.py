"""Cost of one decoder training step (batch 8) for the recipes we considered, on this machine.

    python bench/bench_train_step.py                              # all CONFIGS -> bench/results/train_step.json
    python bench/bench_train_step.py 256 0.5 float32 xla|graph [v2] # one configuration, printed
    python bench/bench_train_step.py v1-v2    # the paper decoder against v2's recipe, here -> bench/results/train_step_v2.json
    python bench/bench_train_step.py compile  # XLA or not, bf16 or not, paper-width v2 decoder
                                              #   -> bench/results/train_compile.json

Each configuration runs in a fresh process (the precision policy is global): 1 warm-up step
(graph tracing) then the median of 2 steps on random images. A step is split as training runs it:
the encoder's forward pass on the 8 content + 8 style crops (which `--reuse K` does once per K steps),
then the decoder's forward/backward with the encoder's forward/backward on its output. "v2" is the
multi-level decoder with one identity pair per batch (the shipped decoder's recipe).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
CONFIGS = [(128, 1.0, "float32", True), (128, 0.5, "float32", True), (128, 0.5, "mixed_bfloat16", True),
           (256, 0.5, "float32", False), (256, 0.5, "float32", True), (256, 1.0, "float32", True)]
V1_V2 = [(256, 0.5, "mixed_bfloat16", True, False), (256, 0.5, "mixed_bfloat16", True, True)]
# adain.train.hardware's rule (XLA or oneDNN, bf16 or float32) rests on this table, per machine kind.
COMPILE = [(256, 1.0, precision, xla, True) for precision in ("mixed_bfloat16", "float32") for xla in (False, True)]
PRESETS = {"v1-v2": (V1_V2, "train_step_v2.json"), "compile": (COMPILE, "train_compile.json")}


def one(crop: int, width: float, precision: str, xla: bool, v2: bool = False) -> dict:
    import keras
    import numpy as np

    from adain import autodiff
    from adain.decoder import SKIP_LEVELS, Decoder
    from adain.encoder import build_encoder
    from adain.evaluate import encode_pairs
    from adain.train.config import STYLE_WEIGHT
    from adain.train.loop import decoder_step
    from adain.vgg_spec import STYLE_LAYERS

    keras.mixed_precision.set_global_policy(precision)
    enc, dec = build_encoder(STYLE_LAYERS), Decoder(width, SKIP_LEVELS if v2 else ())
    opt = keras.optimizers.Adam(1e-4)
    opt.build(dec.trainable_variables)

    encode_fn = autodiff.compile_fn(lambda c, s: encode_pairs(enc, c, s), jit=xla)
    rng = np.random.default_rng(0)
    c, s = (rng.uniform(0, 255, (8, crop, crop, 3)).astype("float32") for _ in range(2))
    identity = c[-1:] if v2 else None
    step_fn = autodiff.compile_fn(lambda feats, stats: decoder_step(enc, dec, opt, feats, stats, STYLE_WEIGHT, identity)[0],
                                  jit=xla)
    enc_times, step_times = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        feats, stats = encode_fn(c, s)
        keras.tree.map_structure(keras.ops.convert_to_numpy, feats)
        t1 = time.perf_counter()
        float(step_fn(feats, stats))
        enc_times.append(t1 - t0)
        step_times.append(time.perf_counter() - t1)
    encode_s, rest_s = float(np.median(enc_times[1:])), float(np.median(step_times[1:]))
    return {"crop": crop, "width": width, "precision": precision, "xla": xla, "batch": 8, "v2": v2,
            "first_step_s": round(enc_times[0] + step_times[0], 2), "step_s": round(encode_s + rest_s, 2),
            "encode_inputs_s": round(encode_s, 2), "decoder_and_output_encoder_s": round(rest_s, 2),
            "decoder_params": dec.count_params()}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("what", nargs="*", help="nothing (all CONFIGS), a preset (" + ", ".join(PRESETS) +
                        ") or one configuration: CROP WIDTH PRECISION xla|graph [v2]")
    args = parser.parse_args().what
    if len(args) >= 4:
        print(json.dumps(one(int(args[0]), float(args[1]), args[2], args[3] == "xla", args[4:] == ["v2"])))
        return
    if args and args[0] not in PRESETS:
        parser.error(f"unknown preset {args[0]!r}: one of {', '.join(PRESETS)}, or a configuration")
    from machine import machine

    configs, name = PRESETS.get(args[0] if args else "", (CONFIGS, "train_step.json"))
    rows = []
    for crop, width, precision, xla, *v2 in configs:
        proc = subprocess.run([sys.executable, __file__, str(crop), str(width), precision, "xla" if xla else "graph",
                               *(["v2"] if v2 and v2[0] else [])],
                              capture_output=True,
                              text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else
                    {"crop": crop, "width": width, "precision": precision, "xla": xla, "error": proc.stderr.strip()[-300:]})
        print(rows[-1], flush=True)
    from adain.train.hardware import auto_precision, use_xla

    out = ROOT / "bench" / "results" / name
    chosen = {"precision": auto_precision(), "xla": use_xla()}  # what `adain train` picks here by default
    out.write_text(json.dumps({"machine": machine(), "auto_choice": chosen, "steps": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
