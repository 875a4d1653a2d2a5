"""A run's checkpoint: its progress (`TrainState`, state.json), the weights and the optimizer's variables.

A checkpoint is one unit: the weights and the optimizer's variables of step N go into a folder
`ckpt-<N>` (written under a temporary name, synced, then renamed), and state.json, the manifest, is
written last (atomically, synced) and names that folder. A kill at any moment leaves state.json naming
a whole checkpoint of its own step; older folders are removed only after the manifest moved on.
Checkpoints written before this layout (and those restored from git) hold their files in the run
folder itself and have no folder in their manifest: they load as they are.

The optimizer's variables are saved under their Keras names (conv0_kernel_momentum, …) and restored
by name: a checkpoint of another architecture fails loudly instead of loading by position. Adam's own
step count (`optimizer.iterations`, which its bias correction reads) counts the steps since its moments
started from zero, `TrainState.adam_start`; the learning-rate schedule reads the run's step as
`adam_start + iterations` (`adain.train.schedule`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from adain.train.config import STYLE_WEIGHT

STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.npz"
CHECKPOINT_PREFIX = "ckpt-"


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') bytes to the disk: a rename is durable only after this."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # folders cannot be synced on some platforms (Windows)
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file, sync it and rename it over `path` (readers never see half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    _fsync(tmp)
    tmp.replace(path)
    _fsync(path.parent)


@dataclass(frozen=True)
class Segment:
    """Where a run (re)started and with which recipe: the loss curve marks the changes between segments."""

    step: int
    elapsed_s: float
    crop: int
    batch: int
    precision: str
    lr: float | None = None  # not recorded by the earliest checkpoints
    style_weight: float = STYLE_WEIGHT  # recorded from the decoder-v2 run on; λ was the paper's before
    world_size: int = 1  # processes of a data-parallel run (adain.train.distributed); `batch` is their global batch

    @classmethod
    def from_json(cls, value: dict | list) -> Segment:
        """A segment as state.json holds it: a dict, or the list that earlier checkpoints wrote."""
        return cls(**value) if isinstance(value, dict) else cls(*value)


@dataclass
class TrainState:
    """A run's progress: steps done, training time (step time only), best validation loss, recipe segments."""

    step: int = 0
    elapsed_s: float = 0.0
    best_val: float = float("inf")
    best_full_val: float = float("inf")  # the best raw-feature total at 512 px (adain.full_size)
    history: list[Segment] = field(default_factory=list)
    adam_start: int = 0  # the step at which Adam's moments (and its step count) last started from zero

    @classmethod
    def load(cls, run: str | Path) -> TrainState:
        """The state of the checkpoint in `run` (its state.json)."""
        saved = json.loads((Path(run) / STATE_FILE).read_text())["state"]
        return cls(**{**saved, "history": [Segment.from_json(s) for s in saved["history"]]})

    def save(self, run: Path, config, checkpoint: str = "") -> None:
        """state.json, the manifest: this state, the run's config (a dataclass, for people reading the
        run) and the folder of this step's weights (`checkpoint_dir`)."""
        write_atomic(run / STATE_FILE, json.dumps({"config": asdict(config), "state": asdict(self),
                                                   "checkpoint": checkpoint}, indent=1))


def has_checkpoint(run: Path) -> bool:
    """Whether the run directory holds a checkpoint to resume."""
    return (run / STATE_FILE).exists()


def checkpoint_dir(run: str | Path) -> Path:
    """The folder holding the weights and optimizer variables of the checkpoint state.json names (the
    run folder itself for checkpoints of the earlier layout)."""
    run = Path(run)
    return run / (json.loads((run / STATE_FILE).read_text()).get("checkpoint") or "")


def commit_checkpoint(run: Path, step: int, write) -> str:
    """Write step `step`'s files as one unit and return its folder's name for the manifest.

    `write(folder)` writes the files into a fresh folder; it is synced and renamed to `ckpt-<step>`.
    A folder of the same step that already exists is kept as it is (same step, same weights). The
    caller then writes state.json naming the folder (the commit) and calls `prune_checkpoints`.
    """
    name = f"{CHECKPOINT_PREFIX}{step:08d}"
    if (run / name).is_dir():
        return name
    tmp = run / (name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    for f in tmp.iterdir():
        _fsync(f)
    tmp.rename(run / name)
    _fsync(run)
    return name


def prune_checkpoints(run: Path) -> None:
    """Remove every checkpoint folder (and half-written one) but the one state.json names, and the
    weight files of the earlier layout once the manifest names a folder."""
    keep = json.loads((run / STATE_FILE).read_text()).get("checkpoint") or ""
    if not keep:
        return
    for old in run.glob(CHECKPOINT_PREFIX + "*"):
        if old.name != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    for name in ("decoder.npz", "ema_decoder.npz", OPTIMIZER_FILE):
        (run / name).unlink(missing_ok=True)


RUN_FILES = ("best_decoder.npz", "best_full_decoder.npz", "log.csv", "val.csv", "val_full.csv")  # beside the checkpoint


def restore_checkpoint(source: str | Path, run: str | Path) -> None:
    """Start `run` (a new folder) from the checkpoint in `source`: a run folder, or a copy handed over
    through the repository (weights/training_v3), which keeps the moving average alone; it then stands in
    for the raw weights too, and Adam resumes with fresh moments (`TrainState.adam_start`).

    The copy has the earlier flat layout (its weights in the run folder, state.json naming no folder);
    the first checkpoint of the resumed run moves it to a folder of its own.
    """
    source, run = Path(source), Path(run)
    run.mkdir(parents=True, exist_ok=True)
    weights = checkpoint_dir(source)
    for name in ("decoder.npz", "ema_decoder.npz", OPTIMIZER_FILE):
        if (weights / name).exists():
            shutil.copyfile(weights / name, run / name)
    if not (run / "decoder.npz").exists():
        shutil.copyfile(run / "ema_decoder.npz", run / "decoder.npz")
    for name in RUN_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, run / name)
    manifest = json.loads((source / STATE_FILE).read_text())
    write_atomic(run / STATE_FILE, json.dumps({**manifest, "checkpoint": ""}, indent=1))


def save_optimizer(optimizer, folder: Path) -> None:
    """The optimizer's variables (step count, learning rate, moments) by their Keras names."""
    np.savez(folder / OPTIMIZER_FILE, **{v.name: np.asarray(v.numpy()) for v in optimizer.variables})


def load_optimizer(optimizer, folder: Path) -> bool:
    """Restore a built optimizer's variables saved by `save_optimizer`; False when the checkpoint has
    none (one restored from git, which does not keep them)."""
    path = folder / OPTIMIZER_FILE
    if not path.exists():
        return False
    with np.load(path) as saved:
        names = {v.name for v in optimizer.variables}
        if names != set(saved.files):
            raise ValueError(f"{path} does not match this decoder's optimizer: {sorted(names ^ set(saved.files))[:4]} ...")
        for v in optimizer.variables:
            v.assign(saved[v.name])
    return True
