"""The run's CSV logs (log.csv: one row per step; val.csv: one row per validation) and what is read from them.

`read_csv` is the one reader of these files (the trainer, its plots, the model-card script and the tests).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from adain.train.state import write_atomic

STEP_COLUMNS = ("step", "elapsed_s", "loss", "content_loss", "style_loss", "sec_per_step")
VAL_COLUMNS = ("step", "elapsed_s", "content_loss", "style_loss", "total_loss")
FULL_VAL_COLUMNS = ("step", "elapsed_s", *(f"{space}_{k}" for space in ("raw", "normalised")
                                           for k in ("content_loss", "style_loss", "total_loss")))


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of a run's CSV file as float arrays, by header name; {} when there is no such file.
    A last row shorter than the header (being written by a running trainer) is left out."""
    path = Path(path)
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    return {name: np.array([float(r[i]) for r in body]) for i, name in enumerate(header)}


class RunLog:
    """One CSV log of a run: rows appended as training goes, cut back to a checkpoint on resume.

    Args:
        path: the CSV file (created with its header on the first row).
        columns: the header.
    """

    def __init__(self, path: Path, columns: tuple[str, ...]):
        self.path, self.columns = Path(path), columns

    def append(self, row: dict) -> None:
        """Add one row (a dict with every column), writing the header first in a new file."""
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(self.columns)
            writer.writerow([row[c] for c in self.columns])

    def truncate(self, step: int) -> None:
        """Drop rows past `step` (the checkpoint): those steps are lost with a kill and will be redone."""
        if not self.path.exists():
            return
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        text = io.StringIO()
        csv.writer(text).writerows(rows[:1] + [r for r in rows[1:] if int(r[0]) <= step])
        write_atomic(self.path, text.getvalue())


def improvement(val_csv: str | Path, hours: float) -> float | None:
    """How much the best validation loss of the last `hours` of training time improves on the best one
    before them, as a fraction of the latter (None while the validation history is shorter than that)."""
    return gain(read_csv(val_csv), hours)


def gain(val: dict[str, np.ndarray], hours: float) -> float | None:
    """`improvement` of validation columns already read (elapsed_s and total_loss)."""
    if len(val.get("step", ())) < 2:
        return None
    elapsed, total = val["elapsed_s"], val["total_loss"]
    cut = elapsed[-1] - hours * 3600
    before, within = total[elapsed <= cut], total[elapsed > cut]
    if not before.size or not within.size:
        return None
    return float((before.min() - within.min()) / before.min())
