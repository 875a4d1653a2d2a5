"""Decoder training (Huang & Belongie 2017), resumable: weights, Adam state, step and data order.

A run directory holds: decoder.npz + ema_decoder.npz + optimizer.npz + state.json (the checkpoint,
written atomically every few minutes), best_decoder.npz (the moving average of the weights at its
lowest validation loss), log.csv, val.csv, loss_curve.png and val_grid.png. Re-running the same
command with --resume continues from the checkpoint.
"""

from __future__ import annotations

import csv
import json
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import ops
from PIL import Image
from tqdm import tqdm

from adain import autodiff
from adain.data import CropSampler, center_crop, list_images, split_holdout
from adain.decoder import SKIP_LEVELS, build_decoder, copy_decoder, load_decoder, save_decoder
from adain.encoder import build_encoder
from adain.evaluate import decoder_losses, encode_pairs, evaluate_grid, rotate, summarize, targets_of
from adain.image_io import load_image, to_pil
from adain.train_config import STYLE_WEIGHT, TrainConfig
from adain.vgg_spec import STYLE_LAYERS


def _interrupt(signum, frame) -> None:
    """SIGTERM (kill, a job scheduler, the end of a session) stops training like Ctrl-C: with a checkpoint."""
    raise KeyboardInterrupt


def decoder_step(encoder: keras.Model, decoder: keras.Model, optimizer: keras.optimizers.Optimizer,
                 content_feats: dict, target_stats, style_weight: float, identity_images=None):
    """One optimizer step of the decoder on encoded inputs (see evaluate.encode_pairs): AdaIN targets,
    losses, gradients, update. Returns (total loss, content loss, style loss).

    identity_images: the contents of the batch's last pairs when their styles are those contents
    themselves; their outputs must then give them back (evaluate.decoder_losses' identity term).
    """
    variables = decoder.trainable_variables
    t = targets_of(content_feats, target_stats)
    identity = None
    if identity_images is not None:
        k = identity_images.shape[0]
        identity = (identity_images, {name: f[-k:] for name, f in content_feats.items()})
    loss, (lc, ls, _), grads = autodiff.value_and_grad(
        lambda: decoder_losses(encoder, decoder, t, target_stats, style_weight, identity), variables
    )
    optimizer.apply(grads, variables)
    return loss, lc, ls


@dataclass
class TrainState:
    step: int = 0
    elapsed_s: float = 0.0
    best_val: float = float("inf")
    history: list = field(default_factory=list)  # [(step, elapsed_s, crop, batch, precision, lr, style_weight)] segments

    @classmethod
    def load(cls, run: Path) -> TrainState:
        """The state of the checkpoint in `run` (its state.json, written by `Trainer.save_checkpoint`)."""
        return cls(**json.loads((run / "state.json").read_text())["state"])


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


class Trainer:
    """Owns the models, optimizer, data and run directory of one training run."""

    def __init__(self, config: TrainConfig, resume: bool = False):
        self.config = config
        self.run = Path(config.out_dir)
        self.state = TrainState()
        has_checkpoint = (self.run / "state.json").exists()
        if has_checkpoint and not resume:
            raise FileExistsError(f"{self.run} already holds a checkpoint; pass --resume to continue it or choose another --out")
        self.run.mkdir(parents=True, exist_ok=True)
        keras.mixed_precision.set_global_policy(config.precision)
        keras.utils.set_random_seed(config.seed)  # the decoder's initial weights

        content_files = list_images(config.content_dir)
        style_files = list_images(config.style_dir)
        train_c, val_c = split_holdout(content_files, config.val_count)
        train_s, val_s = split_holdout(style_files, config.val_count)
        self.val_files = (val_c, val_s)
        self.content = CropSampler(train_c, config.crop, config.batch, seed=config.seed, sharp=config.sharp_crops)
        self.style = CropSampler(train_s, config.crop, config.batch, seed=config.seed + 1, sharp=config.sharp_crops,
                                 augment=config.style_augment)
        self.val_content = np.stack([center_crop(load_image(p), config.val_size) for p in val_c])
        self.val_style = np.stack([center_crop(load_image(p), config.val_size) for p in val_s])

        self.encoder = build_encoder(STYLE_LAYERS, config.encoder_weights)
        if has_checkpoint:
            self.decoder = load_decoder(self.run / "decoder.npz")
            self.state = TrainState.load(self.run)
            self._truncate_logs()
        elif config.init:
            self.decoder = load_decoder(config.init, SKIP_LEVELS if config.multilevel else None)
        else:
            self.decoder = build_decoder(config.width, SKIP_LEVELS if config.multilevel else ())
        self.ema = None
        if config.ema:
            saved_ema = self.run / "ema_decoder.npz"
            self.ema = load_decoder(saved_ema) if has_checkpoint and saved_ema.exists() else copy_decoder(self.decoder)
        schedule = keras.optimizers.schedules.InverseTimeDecay(config.lr, decay_steps=1, decay_rate=config.lr_decay)
        self.optimizer = keras.optimizers.Adam(schedule)
        self.optimizer.build(self.decoder.trainable_variables)
        if has_checkpoint and (self.run / "optimizer.npz").exists():
            with np.load(self.run / "optimizer.npz") as opt:
                for i, var in enumerate(self.optimizer.variables):
                    var.assign(opt[f"v{i}"])
        else:
            self.optimizer.iterations.assign(self.state.step)  # Adam moments restart; lr schedule does not
        self._encode_fn = autodiff.compile_fn(self._encode, jit=True)
        self._step_fn = autodiff.compile_fn(self._train_step, jit=True)
        self.state.history.append((self.state.step, self.state.elapsed_s, config.crop, config.batch, config.precision, config.lr,
                                   config.style_weight))

    @property
    def shipped(self) -> keras.Model:
        """The weights that are validated and shipped: the moving average when there is one."""
        return self.ema or self.decoder

    def _encode(self, content, style):
        """(content features, style statistics, identity images or None) of a batch: with
        config.identity = k, the last k contents stand in as their own styles."""
        k = self.config.identity
        if not k:
            return (*encode_pairs(self.encoder, content, style), None)
        style = ops.concatenate([style[:-k], content[-k:]], axis=0)
        return (*encode_pairs(self.encoder, content, style), content[-k:])

    def _train_step(self, content_feats, target_stats, identity_images=None):
        losses = decoder_step(self.encoder, self.decoder, self.optimizer, content_feats, target_stats,
                              self.config.style_weight, identity_images)
        if self.ema is not None:
            m = self.config.ema
            for avg, var in zip(self.ema.trainable_variables, self.decoder.trainable_variables):
                avg.assign(m * avg + (1 - m) * ops.stop_gradient(var))
        return losses

    # ---- checkpoints and logs -------------------------------------------------------------
    def save_checkpoint(self) -> None:
        save_decoder(self.decoder, self.run / "decoder.npz", dtype="float32")
        if self.ema is not None:
            save_decoder(self.ema, self.run / "ema_decoder.npz", dtype="float32")
        arrays = {f"v{i}": np.asarray(ops.convert_to_numpy(v)) for i, v in enumerate(self.optimizer.variables)}
        tmp = self.run / "optimizer.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(self.run / "optimizer.npz")
        _write_atomic(self.run / "state.json", json.dumps({"config": asdict(self.config), "state": asdict(self.state)}, indent=1))

    def _truncate_logs(self) -> None:
        """Drop log rows past the checkpoint: those steps are lost with a kill and will be redone."""
        for name in ("log.csv", "val.csv"):
            path = self.run / name
            if path.exists():
                lines = path.read_text().splitlines(keepends=True)
                kept = lines[:1] + [ln for ln in lines[1:] if int(ln.split(",", 1)[0]) <= self.state.step]
                _write_atomic(path, "".join(kept))

    def _append_csv(self, name: str, header: list[str], row: list) -> None:
        path = self.run / name
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(header)
            writer.writerow(row)

    def validate(self) -> dict[str, float]:
        # Scored with the paper's λ whatever the run trains with: one yardstick across recipe changes.
        scores, outputs = evaluate_grid(self.encoder, self.shipped, self.val_content, self.val_style)
        summary = summarize(scores)
        self._append_csv("val.csv", ["step", "elapsed_s", "content_loss", "style_loss", "total_loss"],
                         [self.state.step, round(self.state.elapsed_s, 1),
                          summary["content_loss"], summary["style_loss"], summary["total_loss"]])
        save_grid(self.val_content, self.val_style, outputs, self.run / "val_grid.png")
        if summary["total_loss"] < self.state.best_val:
            self.state.best_val = summary["total_loss"]
            save_decoder(self.shipped, self.run / "best_decoder.npz", dtype="float16")
        plot_losses(self.run, self.config.plateau_hours, self.state.history)
        return summary

    def _validate_is_flat(self, bar: tqdm) -> bool:
        """Validate and report; True when validation has plateaued (config.plateau_hours)."""
        cfg = self.config
        val = self.validate()
        gain = improvement(self.run / "val.csv", cfg.plateau_hours) if cfg.plateau_hours else None
        bar.write(f"step {self.state.step}: validation {val}"
                  + (f"; {gain:.1%} better than {cfg.plateau_hours:g} h before" if gain is not None else ""))
        return gain is not None and gain < cfg.min_improvement

    # ---- the loop ----------------------------------------------------------------------------
    def fit(self) -> TrainState:
        cfg = self.config
        start = self.state.step
        if start >= cfg.steps:
            return self.state
        if start == 0:
            self.validate()  # the curve starts at the untrained decoder
        last_ckpt = time.monotonic()
        reuse = cfg.reuse  # an encoded batch serves `reuse` steps: step s uses batch s - s % reuse, styles rolled by s % reuse
        first = start - start % reuse
        batches = zip(self.content.iterate(first, reuse), self.style.iterate(first, reuse))
        encoded = None
        bar = tqdm(total=cfg.steps, initial=start, unit="step", dynamic_ncols=True)
        on_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
        try:
            while self.state.step < cfg.steps:
                t0 = time.perf_counter()
                shift = self.state.step % reuse
                if encoded is None or shift == 0:
                    encoded = self._encode_fn(*next(batches))
                content_feats, stats, identity_images = encoded
                loss, lc, ls = (float(x) for x in self._step_fn(content_feats, rotate(stats, shift) if shift else stats,
                                                                 identity_images))
                dt = time.perf_counter() - t0
                self.state.step += 1
                self.state.elapsed_s += dt
                self._append_csv("log.csv", ["step", "elapsed_s", "loss", "content_loss", "style_loss", "sec_per_step"],
                                 [self.state.step, round(self.state.elapsed_s, 2), loss, lc, ls, round(dt, 3)])
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.2f}", content=f"{lc:.2f}", style=f"{ls:.3f}", s_step=f"{dt:.2f}")
                if not np.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss} at step {self.state.step}; lower --lr or check the data")
                flat = (self.state.step % cfg.val_every == 0 or self.state.step == cfg.steps) and self._validate_is_flat(bar)
                if time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60 or self.state.step == cfg.steps or flat:
                    self.save_checkpoint()
                    last_ckpt = time.monotonic()
                if flat:
                    bar.write(f"validation improved by less than {cfg.min_improvement:.0%} in {cfg.plateau_hours:g} h: stopping")
                    break
        except KeyboardInterrupt:
            bar.write("interrupted: saving a checkpoint")
            self.save_checkpoint()
        finally:
            bar.close()
            if on_main_thread:
                signal.signal(signal.SIGTERM, previous)
        skipped = len(self.content.skipped) + len(self.style.skipped)
        if skipped:
            examples = sorted(map(str, self.skipped))[:5]
            print(f"skipped {skipped} unreadable training files, e.g. {examples}")
        return self.state

    @property
    def skipped(self) -> set[Path]:
        return self.content.skipped | self.style.skipped


def improvement(val_csv: Path, hours: float) -> float | None:
    """How much the best validation loss of the last `hours` of training time improves on the best one
    before them, as a fraction of the latter (None while the validation history is shorter than that)."""
    if not val_csv.exists():
        return None
    return _gain(np.genfromtxt(val_csv, delimiter=",", names=True, ndmin=1), hours)


def _gain(val: np.ndarray, hours: float) -> float | None:
    """`improvement` of validation rows already read (columns elapsed_s and total_loss)."""
    if val.size < 2:
        return None
    cut = val["elapsed_s"][-1] - hours * 3600
    before, within = val["total_loss"][val["elapsed_s"] <= cut], val["total_loss"][val["elapsed_s"] > cut]
    if not before.size or not within.size:
        return None
    return float((before.min() - within.min()) / before.min())


def save_grid(contents: np.ndarray, styles: np.ndarray, outputs: np.ndarray, path: Path, thumb: int = 128) -> None:
    """Rows of content | style | output thumbnails, saved as PNG."""
    rows = len(outputs)
    grid = Image.new("RGB", (3 * thumb, rows * thumb), "white")
    for r, triple in enumerate(zip(contents, styles, outputs)):
        for c, arr in enumerate(triple):
            grid.paste(to_pil(arr).resize((thumb, thumb), Image.LANCZOS), (c * thumb, r * thumb))
    grid.save(path)


def recipe_changes(history: list) -> list[tuple[int, float, str]]:
    """(step, hours of training, label) where a resumed segment of `TrainState.history` changed the crop
    size, the learning rate or the style weight λ, so that the loss curve shows why it bends there."""
    changes = []
    for prev, seg in zip(history, history[1:]):
        labels = [f"{seg[2]}² crops"] if seg[2] != prev[2] else []
        if len(prev) > 5 and len(seg) > 5 and seg[5] != prev[5]:  # early checkpoints did not record the lr
            labels.append(f"lr {seg[5]:g}")
        weights = [x[6] if len(x) > 6 else STYLE_WEIGHT for x in (prev, seg)]  # λ was recorded later still
        if weights[0] != weights[1]:
            labels.append(f"λ {weights[1]:g}")
        if labels:
            changes.append((int(seg[0]), seg[1] / 3600, ", ".join(labels)))
    return changes


def plot_losses(run: Path, plateau_hours: float = 0.0, history: list | None = None) -> None:
    """loss_curve.png: training loss (smoothed) and validation loss against step; beside it validation
    against hours of training with its running best, which is what the plateau stop judges. Dotted
    lines mark where the recipe changed (`recipe_changes` of `history`, by default the run's checkpointed
    one; a running trainer passes its own, which already holds the current segment)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_h) = plt.subplots(1, 2, figsize=(10, 3.5), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    log = np.genfromtxt(run / "log.csv", delimiter=",", names=True, ndmin=1) if (run / "log.csv").exists() else None
    if log is not None and log.size:
        k = max(1, min(50, log.size // 10))
        smooth = np.convolve(log["loss"], np.ones(k) / k, mode="valid")
        ax.plot(log["step"][k - 1:], smooth, label=f"train (mean of {k})", lw=1)
    if (run / "val.csv").exists():
        val = np.genfromtxt(run / "val.csv", delimiter=",", names=True, ndmin=1)
        ax.plot(val["step"], val["total_loss"], "o-", label="validation", ms=3)
        hours = val["elapsed_s"] / 3600
        ax_h.plot(hours, val["total_loss"], "o-", color="C1", ms=3, label="validation")
        ax_h.step(hours, np.minimum.accumulate(val["total_loss"]), "--", where="post", color="k", lw=1, label="best so far")
        gain = _gain(val, plateau_hours) if plateau_hours else None
        if gain is not None:
            ax_h.set_title(f"best of the last {plateau_hours:g} h: {gain:.1%} below the best before", fontsize=9)
        ax_h.legend()
    if history is None:
        history = TrainState.load(run).history if (run / "state.json").exists() else []
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
