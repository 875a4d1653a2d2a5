"""Decoder training: a tiny run lowers the loss, checkpoints, resumes exactly, skips bad files."""

import csv

import numpy as np
import pytest
from PIL import Image

from adain.data import CropSampler, list_images, split_holdout
from adain.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for kind in ("content", "style/sub"):
        (root / kind).mkdir(parents=True)
        for i in range(7):
            base = rng.uniform(0, 255, (1, 1, 3))
            grad = np.linspace(0, 1, 80)[None, :, None] * rng.uniform(-80, 80, (1, 1, 3))
            noise = rng.normal(0, 40 if kind != "content" else 8, (80, 80, 3))
            Image.fromarray(np.clip(base + grad + noise, 0, 255).astype(np.uint8)).save(root / kind / f"{i}.png")
    (root / "content" / "broken.jpg").write_text("not an image")
    return root / "content", root / "style"


def config(folders, out, steps, **kw):
    defaults = dict(batch=2, crop=32, width=0.1, val_count=2, val_size=32, val_every=3, checkpoint_minutes=0.0, lr=1e-3)
    return TrainConfig(str(folders[0]), str(folders[1]), str(out), steps=steps, **{**defaults, **kw})


def read_log(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


def test_tiny_run_learns_checkpoints_and_resumes(folders, tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(folders, run, steps=12))
    trainer.fit()
    rows = read_log(run)
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    losses = [float(r["loss"]) for r in rows]
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4])
    for name in ("decoder.npz", "optimizer.npz", "state.json", "best_decoder.npz", "val.csv", "loss_curve.png", "val_grid.png"):
        assert (run / name).exists(), name

    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(config(folders, run, steps=14))
    resumed = Trainer(config(folders, run, steps=14), resume=True)
    assert resumed.state.step == 12
    resumed.fit()
    assert [int(r["step"]) for r in read_log(run)] == list(range(1, 15))


def test_data_order_is_a_function_of_step(folders):
    files, _ = split_holdout(list_images(folders[1]), 2)
    a = CropSampler(files, 16, 2, seed=3).batch_at(5)
    b = CropSampler(files, 16, 2, seed=3).batch_at(5)
    c = CropSampler(files, 16, 2, seed=3).batch_at(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_holdout_is_disjoint_and_stable(folders):
    files = list_images(folders[0])
    assert len(files) == 8  # recursive listing includes the unreadable file
    train, val = split_holdout(files, 2)
    assert len(val) == 2 and not set(train) & set(val)
    assert split_holdout(list(reversed(files)), 2)[1] == val


def test_unreadable_files_are_skipped_and_counted(folders):
    files = list_images(folders[0])
    sampler = CropSampler(files, 16, 8, seed=0)
    for step in range(6):
        assert sampler.batch_at(step).shape == (8, 16, 16, 3)
    assert [p.name for p in sampler.skipped] == ["broken.jpg"]
