"""A run's checkpoint: its progress (`TrainState`, state.json), the weights and the optimizer's variables.

Every file is written to a temporary name and renamed, so a kill at any moment leaves the previous
checkpoint whole. The optimizer's variables are saved under their Keras names (conv0_kernel_momentum, …)
and restored by name: a checkpoint of another architecture fails loudly instead of loading by position.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from adain.train.config import STYLE_WEIGHT

STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.npz"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file and rename it over `path` (readers never see half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


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

    @classmethod
    def load(cls, run: str | Path) -> TrainState:
        """The state of the checkpoint in `run` (its state.json)."""
        saved = json.loads((Path(run) / STATE_FILE).read_text())["state"]
        return cls(**{**saved, "history": [Segment.from_json(s) for s in saved["history"]]})

    def save(self, run: Path, config) -> None:
        """state.json: this state and the run's config (a dataclass), for people reading the run."""
        write_atomic(run / STATE_FILE, json.dumps({"config": asdict(config), "state": asdict(self)}, indent=1))


def has_checkpoint(run: Path) -> bool:
    """Whether the run directory holds a checkpoint to resume."""
    return (run / STATE_FILE).exists()


def save_optimizer(optimizer, run: Path) -> None:
    """The optimizer's variables (step count, learning rate, moments) by their Keras names."""
    arrays = {v.name: np.asarray(v.numpy()) for v in optimizer.variables}
    tmp = run / ("tmp." + OPTIMIZER_FILE)
    np.savez(tmp, **arrays)
    tmp.replace(run / OPTIMIZER_FILE)


def load_optimizer(optimizer, run: Path) -> bool:
    """Restore a built optimizer's variables saved by `save_optimizer`; False when the run has none (a
    checkpoint restored from git, which does not keep them)."""
    path = run / OPTIMIZER_FILE
    if not path.exists():
        return False
    with np.load(path) as saved:
        names = {v.name for v in optimizer.variables}
        if names != set(saved.files):
            raise ValueError(f"{path} does not match this decoder's optimizer: {sorted(names ^ set(saved.files))[:4]} ...")
        for v in optimizer.variables:
            v.assign(saved[v.name])
    return True
