"""scripts/gpu_train.py: a packed subset holds out the same files within its budget, and the committed
checkpoint's recipe trains on another Keras backend (JAX, on the CPU here) and comes back resumable."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain.data import list_images, split_holdout
from adain.train import TrainConfig, Trainer
from adain.train.logs import read_csv
from adain.train.state import TrainState, checkpoint_dir

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gpu_train.py"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    rng = np.random.default_rng(1)
    rows = [("file", "kind", "source", "original_path", "licence_note")]
    for kind in ("content", "style"):
        (root / kind).mkdir()
        for i in range(12):
            img = rng.uniform(0, 255, (1, 1, 3)) + rng.normal(0, 30, (120, 100 + 10 * i, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / kind / f"{kind}{i}.png")
            rows.append((f"{kind}/{kind}{i}.png", kind, "test", f"/x/{i}", "CC0"))
    with (root / "SOURCES.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


def _run(*args, backend="jax"):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_pack_keeps_the_held_out_files_and_the_budget(source, tmp_path):
    out = tmp_path / "pack"
    _run("pack", out, "--source", source, "--max-mb", 0.25, "--side", 96, "--val-count", 2)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.suffix != ".csv")
    assert total <= 0.25e6
    for kind in ("content", "style"):
        full_held = split_holdout(list_images(source / kind), 2)[1]
        packed = list_images(out / kind)
        assert 2 < len(packed)
        assert [p.name for p in split_holdout(packed, 2)[1]] == [p.name for p in full_held]
        for p in full_held:
            assert (out / kind / p.name).read_bytes() == p.read_bytes()
        assert all(min(Image.open(p).size) <= 96 for p in packed if p.suffix == ".jpg")
    assert len(list_images(out / "style")) < 12  # the budget cut the training files short
    with (out / "SOURCES.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(list_images(out / "content")) + len(list_images(out / "style"))


def test_the_checkpoint_trains_on_jax_and_resumes(source, tmp_path):
    pytest.importorskip("jax")
    ckpt = tmp_path / "ckpt"
    recipe = dict(batch=2, crop=32, width=0.1, val_count=2, val_size=32, val_every=2, full_val_every=2,
                  checkpoint_minutes=0.0, lr=1e-3, identity=1, multilevel=True)
    Trainer(TrainConfig(str(source / "content"), str(source / "style"), str(ckpt), steps=2, **recipe)).fit()
    data = tmp_path / "pack"
    _run("pack", data, "--source", source, "--max-mb", 1, "--side", 64, "--val-count", 2)
    out = tmp_path / "out"
    report = json.loads(_run("train", data, out, "--checkpoint", ckpt, "--steps", 4).strip().splitlines()[-1])
    assert report["backend"] == "jax" and report["step"] == 4
    assert read_csv(out / "log.csv")["step"].tolist() == [1, 2, 3, 4]
    assert read_csv(out / "val_full.csv")["step"].tolist() == [2, 4]
    for name in ("best_full_decoder.npz", "loss_curve.png", "val_grid.png"):
        assert (out / name).exists(), name
    assert {p.name for p in checkpoint_dir(out).iterdir()} == {"decoder.npz", "ema_decoder.npz", "optimizer.npz"}
    # The JAX steps moved the weights (the test passed before with weights that never moved). Steps 3-4 are
    # inside the default 200-step warm-up: lr 1e-3 x (3..4)/200 a step; measured: 3.5e-5 at most.
    from adain.decoder import load_decoder

    before = load_decoder(checkpoint_dir(ckpt) / "decoder.npz").get_weights()
    after = load_decoder(checkpoint_dir(out) / "decoder.npz").get_weights()
    assert max(float(np.abs(a - b).max()) for a, b in zip(before, after)) > 1e-5
    bundled = tmp_path / "bundle"
    _run("bundle", out, bundled)
    _run("unbundle", bundled, tmp_path / "back")  # a device run's folder, brought back, resumes here at its step
    assert TrainState.load(tmp_path / "back").step == 4 and (tmp_path / "back" / "optimizer.npz").exists()
    assert np.isfinite(read_csv(out / "log.csv")["loss"]).all()
    # The folder it wrote resumes on TensorFlow too (the files are backend-free).
    resumed = Trainer(TrainConfig(str(data / "content"), str(data / "style"), str(out), steps=5, **recipe), resume=True)
    assert resumed.state.step == 4


def test_the_gpu_script_trains_data_parallel_under_torchrun(source, tmp_path):
    """Where a machine has several GPUs the script runs itself under torchrun; here two CPU processes take
    that path: rank 0 lays out the checkpoint, both train, rank 0 alone reports and writes."""
    pytest.importorskip("torch")
    from namespace import run_in_namespace

    ckpt = tmp_path / "ckpt"
    recipe = dict(batch=2, crop=32, width=0.1, val_count=2, val_size=32, val_every=2, checkpoint_minutes=0.0, lr=1e-3)
    Trainer(TrainConfig(str(source / "content"), str(source / "style"), str(ckpt), steps=2, **recipe)).fit()
    data, out = tmp_path / "pack", tmp_path / "out"
    _run("pack", data, "--source", source, "--max-mb", 1, "--side", 64, "--val-count", 2)
    torchrun = Path(sys.executable).parent / "torchrun"
    result = run_in_namespace(f"{torchrun} --standalone --nproc-per-node 2 {SCRIPT} train {data} {out} --checkpoint {ckpt} "
                              "--steps 4 --set batch=4 --set precision=float32", env={"KERAS_BACKEND": "torch"})
    assert result.returncode == 0, result.stdout[-4000:]
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"backend"')]
    assert len(reports) == 1 and reports[0]["processes"] == 2 and reports[0]["step"] == 4 and reports[0]["batch"] == 4
    assert read_csv(out / "log.csv")["step"].tolist() == [1, 2, 3, 4]
    assert [s.world_size for s in TrainState.load(out).history] == [1, 2]
