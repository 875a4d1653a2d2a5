"""Train the current recipe on a machine with a GPU and no TensorFlow (JAX or PyTorch backend), for a
fixed number of minutes, from the committed checkpoint.

    python scripts/gpu_train.py pack data_subset                 # here: ≤ 40 MB of training images
    python scripts/gpu_train.py train data_subset run --minutes 9 --backend torch --set batch=16   # there
    python scripts/gpu_train.py bundle run $OUT                   # there: ≤ 8 files the device tool brings back
    python scripts/gpu_train.py unbundle BUNDLE runs/gpu          # here, then training_checkpoint.sh save runs/gpu

`pack` re-encodes a training subset at training size (short side `--side`, JPEG) with its SOURCES.csv
rows, and copies the held-out images byte for byte, so the packed folders hold out exactly the files
the full ones do (`adain.data.split_holdout` ranks names by hash) and validation figures compare.
`train` copies the checkpoint (default weights/training_v3: the recipe is its state.json's config, with
`--set KEY=VALUE` changes, which the run's state.json then records; `batch` is the global batch) into the
output folder and, on a machine with several GPUs, starts itself again under torchrun, one process per
GPU (PyTorch DDP, `adain.train.distributed`; `--one-process` keeps one); it trains until
`--minutes` of wall time are nearly spent, then validates (256² crops and whole pairs at 512 px) and
writes the checkpoint, best weights, logs, loss curve and grid there; past the wall-clock budget it
stops with a checkpoint whatever it is doing (SIGTERM to itself). Run again with the same folder, it
resumes. `bundle` packs the folder into the few files a device machine may send back; `unbundle`
restores it here; `scripts/training_checkpoint.sh save FOLDER` then makes it the committed checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "train_data"
FINISH_MINUTES = 1.5  # kept for the last validations and the checkpoint after the time budget's steps
STOP_MINUTES = 0.5  # before the wall-clock budget ends: SIGTERM, so the checkpoint is written in time
BUNDLE_WEIGHTS = ("decoder.npz", "ema_decoder.npz", "best_decoder.npz", "best_full_decoder.npz", "optimizer.npz")
BUNDLE_REST = "run.tar"  # every other file of the run folder (state, logs, figures): small
CONTENT_SHARE = 0.6  # of the byte budget, held-out contents included; the styles get the rest


def _reencoded(path: Path, side: int, quality: int) -> bytes:
    """The image with its short side at most `side`, as JPEG bytes."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = side / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def pack(args: argparse.Namespace) -> None:
    """Write DIR/content, DIR/style and DIR/SOURCES.csv within the byte budget."""
    from adain.data import list_images, split_holdout

    out = Path(args.dir)
    budget = args.max_mb * 1e6
    packed: list[str] = []
    used = 0
    for kind, share in (("content", CONTENT_SHARE), ("style", None)):  # the styles get what the contents left
        src = Path(args.source) / kind
        train, held = split_holdout(list_images(src), args.val_count)
        (out / kind).mkdir(parents=True, exist_ok=True)
        for path in held:  # byte for byte: validation sees what it sees on the full folders
            shutil.copyfile(path, out / kind / path.name)
            used += path.stat().st_size
            packed.append(f"{kind}/{path.relative_to(src)}")
        kind_budget = (share * budget if kind == "content" else budget) - used
        if kind_budget < 0:
            raise SystemExit(f"the held-out images alone exceed {args.max_mb} MB: raise --max-mb")
        spent = 0
        # A fixed pseudo-random order (by name hash, past the held-out ones) so any budget takes a fair sample.
        for path in sorted(train, key=lambda p: hashlib.sha1(b"pack" + p.name.encode()).hexdigest()):
            data = _reencoded(path, args.side, args.quality)
            if spent + len(data) > kind_budget:
                break
            (out / kind / (path.stem + ".jpg")).write_bytes(data)
            spent += len(data)
            packed.append(f"{kind}/{path.relative_to(src)}")
        used += spent
        print(f"{kind}: {sum(1 for p in packed if p.startswith(kind + '/'))} images, {spent / 1e6:.1f} MB re-encoded")
    sources = Path(args.source) / "SOURCES.csv"
    if sources.exists():
        keep = set(packed)
        with sources.open(newline="") as f, (out / "SOURCES.csv").open("w", newline="") as g:
            reader = csv.reader(f)
            writer = csv.writer(g)
            writer.writerow(next(reader))
            writer.writerows(row for row in reader if row and row[0] in keep)
    print(f"packed {len(packed)} images, {used / 1e6:.1f} MB, into {out}")


def _gpus() -> int:
    """The GPUs PyTorch sees (0 without PyTorch)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()


def train(args: argparse.Namespace) -> None:
    """Resume the checkpoint's recipe on DATA for the time budget, in OUT: on every GPU of the machine,
    one torchrun process each (`adain.train.distributed`), when it has several and the backend is torch."""
    started = time.monotonic()
    os.environ.setdefault("KERAS_BACKEND", args.backend)
    sys.path.insert(0, str(ROOT))
    from adain.train import distributed

    world = distributed.World.from_env()
    gpus = _gpus() if os.environ["KERAS_BACKEND"] == "torch" else 0
    if gpus > 1 and not world.parallel and not args.one_process:  # this command again, under torchrun
        os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                  f"--nproc-per-node={gpus}", __file__, *sys.argv[1:]])
    distributed.join(world)
    from adain.train import TrainConfig, Trainer
    from adain.train.state import has_checkpoint, restore_checkpoint

    if os.environ["KERAS_BACKEND"] == "torch":  # the backend in force: KERAS_BACKEND wins over --backend
        import torch

        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN time its convolution algorithms once
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if world.is_main and not has_checkpoint(out):
        restore_checkpoint(args.checkpoint, out)
    distributed.barrier(world)  # the others read the checkpoint rank 0 laid out
    recipe = json.loads((out / "state.json").read_text())["config"]
    config = TrainConfig(**{**recipe, **_settings(args.set), "content_dir": str(Path(args.data) / "content"),
                            "style_dir": str(Path(args.data) / "style"), "out_dir": str(out),
                            "encoder_weights": "shipped", "checkpoint_minutes": args.checkpoint_minutes,
                            **({"steps": args.steps} if args.steps else {})})
    trainer = Trainer(config, resume=True, world=world)
    # Step time left once start-up is paid and the last validations and checkpoint are provided for;
    # validations don't count as step time, so a timer also stops the run at the wall-clock budget.
    config.minutes = max(0.05, args.minutes - FINISH_MINUTES - (time.monotonic() - started) / 60)
    stop = threading.Timer(max(1.0, (args.minutes - STOP_MINUTES) * 60 - (time.monotonic() - started)),
                           os.kill, (os.getpid(), signal.SIGTERM))
    stop.daemon = True
    stop.start()
    state = trainer.fit()
    stop.cancel()
    distributed.leave(world)
    import keras

    if world.is_main:
        print(json.dumps({"backend": keras.backend.backend(), "precision": trainer.precision, "step": state.step,
                          "best_val": state.best_val, "best_full_val": state.best_full_val, "batch": config.batch,
                          "processes": world.size, "lr": config.lr,
                          "wall_minutes": round((time.monotonic() - started) / 60, 2)}))


def _settings(pairs: list[str]) -> dict:
    """`KEY=VALUE` recipe changes as TrainConfig fields (values parsed as JSON where they parse: 16, 1e-4, true)."""
    from dataclasses import fields

    from adain.train import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            raise SystemExit(f"--set takes KEY=VALUE with KEY one of {sorted(known)}, got {pair!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def bundle(args: argparse.Namespace) -> None:
    """The run folder as the weight files (each under the device tool's 16 MiB) and one tar of the rest."""
    sys.path.insert(0, str(ROOT))
    from adain.train.state import restore_checkpoint

    run, out = Path(args.run), Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as flat:  # the checkpoint's folder flattened into the run's files
        restore_checkpoint(run, flat)
        with tarfile.open(out / BUNDLE_REST, "w") as tar:
            for path in sorted(Path(flat).iterdir()):
                if path.name in BUNDLE_WEIGHTS:
                    shutil.copyfile(path, out / path.name)
                else:
                    tar.add(path, arcname=path.name)
            for path in sorted(run.glob("*.png")):
                tar.add(path, arcname=path.name)
    print(f"bundled {run} into {out}: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(out.iterdir())))


def unbundle(args: argparse.Namespace) -> None:
    """Rebuild a run folder from `bundle`'s files."""
    src, run = Path(args.dir), Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_WEIGHTS:
        if (src / name).exists():
            shutil.copyfile(src / name, run / name)
    with tarfile.open(src / BUNDLE_REST) as tar:
        tar.extractall(run, filter="data")
    print(f"unbundled {src} into {run}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="a training subset within a size budget")
    p.add_argument("dir")
    p.add_argument("--source", default=str(SHARED), help="folder with content/, style/ and SOURCES.csv")
    p.add_argument("--max-mb", type=float, default=40.0)
    p.add_argument("--side", type=int, default=288, help="short side of re-encoded training images")
    p.add_argument("--quality", type=int, default=88, help="JPEG quality")
    p.add_argument("--val-count", type=int, default=8, help="held-out images of each folder (as training's)")
    p.set_defaults(func=pack)
    p = sub.add_parser("train", help="resume the committed checkpoint for a time budget")
    p.add_argument("data", help="a folder written by pack")
    p.add_argument("out", help="run folder: the checkpoint is copied here first, results are written here")
    p.add_argument("--minutes", type=float, default=9.0, help="wall-clock budget of this command")
    p.add_argument("--backend", default="torch", choices=("torch", "jax", "tensorflow"))
    p.add_argument("--checkpoint", default=str(ROOT / "weights" / "training_v3"))
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--steps", type=int, help="stop at this total step instead (tests)")
    p.add_argument("--one-process", action="store_true", help="one process on one GPU even where there are several")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change the recipe (a TrainConfig field), e.g. --set batch=16 --set lr=1e-4")
    p.set_defaults(func=train)
    p = sub.add_parser("bundle", help="a run folder as the few files a device machine sends back")
    p.add_argument("run")
    p.add_argument("dir")
    p.set_defaults(func=bundle)
    p = sub.add_parser("unbundle", help="a run folder from bundle's files")
    p.add_argument("dir")
    p.add_argument("run")
    p.set_defaults(func=unbundle)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
