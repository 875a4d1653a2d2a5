"""A run's pictures: loss_curve.png (training and validation loss, recipe changes marked) and val_grid.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adain.image_io import image_grid
from adain.train.logs import gain, read_csv
from adain.train.state import Segment, TrainState, has_checkpoint


def save_grid(contents: np.ndarray, styles: np.ndarray, outputs: np.ndarray, path: Path, thumb: int = 128) -> None:
    """Rows of content | style | output thumbnails, saved as PNG."""
    image_grid(list(zip(contents, styles, outputs)), thumb).save(path)


def recipe_changes(history: list[Segment]) -> list[tuple[int, float, str]]:
    """(step, hours of training, label) where a resumed segment changed the crop size, the learning rate
    or the style weight λ, so that the loss curve shows why it bends there."""
    changes = []
    for prev, seg in zip(history, history[1:]):
        labels = [f"{seg.crop}² crops"] if seg.crop != prev.crop else []
        if None not in (prev.lr, seg.lr) and seg.lr != prev.lr:
            labels.append(f"lr {seg.lr:g}")
        if seg.style_weight != prev.style_weight:
            labels.append(f"λ {seg.style_weight:g}")
        if labels:
            changes.append((seg.step, seg.elapsed_s / 3600, ", ".join(labels)))
    return changes


def plot_losses(run: Path, plateau_hours: float = 0.0, history: list[Segment] | None = None) -> None:
    """loss_curve.png: training loss (smoothed) and validation loss against step; beside it validation
    against hours of training with its running best, which is what the plateau stop judges. Dotted
    lines mark where the recipe changed (`recipe_changes` of `history`, by default the run's checkpointed
    one; a running trainer passes its own, which already holds the current segment)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(10, 3.5), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    log = read_csv(run / "log.csv")
    if len(log.get("step", ())):
        k = max(1, min(50, log["step"].size // 10))
        smooth = np.convolve(log["loss"], np.ones(k) / k, mode="valid")
        ax.plot(log["step"][k - 1:], smooth, label=f"train (mean of {k})", lw=1)
    val = read_csv(run / "val.csv")
    if len(val.get("step", ())):
        ax.plot(val["step"], val["total_loss"], "o-", label="validation", ms=3)
        hours = val["elapsed_s"] / 3600
        ax_h.plot(hours, val["total_loss"], "o-", color="C1", ms=3, label="validation")
        ax_h.step(hours, np.minimum.accumulate(val["total_loss"]), "--", where="post", color="k", lw=1, label="best so far")
        window_gain = gain(val, plateau_hours) if plateau_hours else None
        if window_gain is not None:
            ax_h.set_title(f"best of the last {plateau_hours:g} h: {window_gain:.1%} below the best before", fontsize=9)
        ax_h.legend()
    if history is None:
        history = TrainState.load(run).history if has_checkpoint(run) else []
    for step, hours, label in recipe_changes(history):
        for a, x in ((ax, step), (ax_h, hours)):
            lo, hi = a.get_xlim()
            if lo <= x <= hi:  # the hours panel starts with the validation curve
                a.axvline(x, ls=":", color="grey", lw=1)
                a.annotate(label, (x, 1), xycoords=("data", "axes fraction"), xytext=(-2, -10), textcoords="offset points",
                           fontsize=7, color="grey", ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("content + λ·style loss")
    ax.legend()
    ax_h.set_xlabel("hours of training (step time)")
    for a in (ax, ax_h):
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run / "loss_curve.png")
    plt.close(fig)
