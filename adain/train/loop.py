"""The training loop: `Trainer` owns the models, optimizer, data and run directory; `decoder_step` is one update."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import closing, contextmanager
from pathlib import Path

import keras
import numpy as np
from keras import ops
from tqdm import tqdm

from adain import autodiff
from adain.data import CropSampler, center_crop, list_images, split_holdout
from adain.decoder import SKIP_LEVELS, Decoder, copy_decoder, decoder_inputs, decoder_meta, load_decoder, save_decoder
from adain.encoder import build_encoder
from adain.evaluate import decoder_losses, encode_pairs, evaluate_grid, rotate, summarize, targets_of
from adain.full_size import SPACES, FullSizeValidator
from adain.image_io import load_image
from adain.losses import shift_consistency_loss
from adain.train import distributed
from adain.train.clock import StepClock
from adain.train.config import CONSISTENCY_MARGIN, TrainConfig
from adain.train.hardware import auto_precision, use_xla
from adain.train.logs import FULL_VAL_COLUMNS, STEP_COLUMNS, VAL_COLUMNS, RunLog, improvement
from adain.train.plots import plot_losses, save_grid
from adain.train.schedule import WarmInverseTimeDecay
from adain.train.state import (Segment, TrainState, checkpoint_dir, commit_checkpoint, has_checkpoint, load_optimizer,
                                prune_checkpoints, save_optimizer)
from adain.vgg_spec import STRIDE, STYLE_LAYERS

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; kill, a job scheduler, the end of a session
BEST_FILES = {"best_val": "best_decoder.npz", "best_full_val": "best_full_decoder.npz"}  # TrainState field -> weights


@contextmanager
def _stop_requests():
    """A list that receives the stopping signals (STOP_SIGNALS) while the block runs, instead of an
    exception raised wherever the signal lands: the loop stops between steps, so a step's weights and
    its count are never split. Off the main thread (where handlers cannot be set) Ctrl-C still raises."""
    requests: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield requests
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: requests.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield requests
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def decoder_step(encoder: keras.Model, decoder: keras.Model, optimizer: keras.optimizers.Optimizer,
                 content_feats: dict, target_stats, style_weight: float, identity_images=None, forward=None,
                 moved=None, consistency: float = 0.0):
    """One optimizer step of the decoder on encoded inputs (see evaluate.encode_pairs): AdaIN targets,
    losses, gradients, update. Returns (total loss, content loss, style loss).

    identity_images: the contents of the batch's last pairs when their styles are those contents
    themselves; their outputs must then give them back (evaluate.decoder_losses' identity term).
    forward: the decoder's DistributedDataParallel wrapper in a data-parallel run (its gradients are
    then averaged over the processes before the update).
    moved: (features of a window of the contents moved by (dy, dx) px, (dy, dx)): the total then includes
    `consistency` times `losses.shift_consistency_loss` of the two outputs.
    """
    variables = decoder.trainable_variables
    t = targets_of(content_feats, target_stats)
    identity = None
    if identity_images is not None:
        k = identity_images.shape[0]
        identity = (identity_images, {name: f[-k:] for name, f in content_feats.items()})

    def loss_fn():
        total, (lc, ls, out) = decoder_losses(encoder, decoder, t, target_stats, style_weight, identity, forward)
        if moved is not None:
            feats, shift = moved
            out_moved = (forward or decoder)(decoder_inputs(decoder, targets_of(feats, target_stats)))
            total = total + consistency * shift_consistency_loss(out, out_moved, shift, CONSISTENCY_MARGIN)
        return total, (lc, ls, out)

    loss, (lc, ls, _), grads = autodiff.value_and_grad(loss_fn, variables)
    optimizer.apply(grads, variables)
    return loss, lc, ls


class Trainer:
    """One training run: its models, optimizer, data and run directory.

    Args:
        config: the recipe and folders (`TrainConfig`).
        resume: continue the checkpoint in `config.out_dir`; without it an existing checkpoint is an error.
        world: this process's place in a data-parallel run (`adain.train.distributed`); by default what
            torchrun's environment says, else one process. `config.batch` is the global batch.

    Example (a few steps on two folders of images):

    ```python
    from adain.train import TrainConfig, Trainer

    state = Trainer(TrainConfig("photos", "paintings", "runs/try", steps=10, crop=64, val_every=5)).fit()
    print(state.step, state.best_val)
    ```
    """

    def __init__(self, config: TrainConfig, resume: bool = False, world: distributed.World | None = None):
        self.config = config
        self.world = world or distributed.World.from_env()
        if self.world.parallel and config.identity:
            raise ValueError("identity pairs are the last pairs of a batch; a data-parallel run splits the batch: use --identity 0")
        if config.batch % self.world.size:
            raise ValueError(f"--batch {config.batch} (the global batch) does not split evenly over {self.world.size} processes")
        self.run = Path(config.out_dir)
        self.state = TrainState()
        resuming = has_checkpoint(self.run)
        if resuming and not resume:
            raise FileExistsError(f"{self.run} already holds a checkpoint; pass --resume to continue it or choose another --out")
        distributed.join(self.world)  # before any variable is made: it picks this process's GPU
        self.run.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(self.run / "log.csv", STEP_COLUMNS)
        self.val_log = RunLog(self.run / "val.csv", VAL_COLUMNS)
        self.full_log = RunLog(self.run / "val_full.csv", FULL_VAL_COLUMNS)
        self.precision = auto_precision() if config.precision == "auto" else config.precision
        self.xla = use_xla(config.compile)
        keras.mixed_precision.set_global_policy(self.precision)
        keras.utils.set_random_seed(config.seed)  # the decoder's initial weights

        train_c, val_c = split_holdout(list_images(config.content_dir), config.val_count)
        train_s, val_s = split_holdout(list_images(config.style_dir), config.val_count)
        self.val_files = (val_c, val_s)
        shard = {"rank": self.world.rank, "world": self.world.size}
        self.content = CropSampler(train_c, config.crop, config.batch, seed=config.seed, sharp=config.sharp_crops, **shard)
        self.style = CropSampler(train_s, config.crop, config.batch, seed=config.seed + 1, sharp=config.sharp_crops,
                                 augment=config.style_augment, **shard)
        self.val_content = np.stack([center_crop(load_image(p), config.val_size) for p in val_c])
        self.val_style = np.stack([center_crop(load_image(p), config.val_size) for p in val_s])
        self.full_validator = FullSizeValidator(val_c, val_s) if config.full_val_every and self.world.is_main else None

        self.encoder = build_encoder(STYLE_LAYERS, config.encoder_weights)
        self.decoder, self.ema = self._build_decoders(resuming)
        self.schedule = WarmInverseTimeDecay(config.lr, config.lr_decay)
        self.optimizer = keras.optimizers.Adam(self.schedule)
        self.optimizer.build(self.decoder.trainable_variables)
        if resuming:
            self.state = TrainState.load(self.run)
            for log in (self.log, self.val_log, self.full_log) if self.world.is_main else ():
                log.truncate(self.state.step)
            self._restore_best_scores()
        if resuming and load_optimizer(self.optimizer, checkpoint_dir(self.run)):
            counted = self.state.adam_start + int(self.optimizer.iterations.numpy())
            if counted != self.state.step:
                raise ValueError(f"{self.run}: the optimizer's state is of step {counted}, the checkpoint of step "
                                 f"{self.state.step}; remove {checkpoint_dir(self.run)} / optimizer.npz to resume "
                                 "with fresh moments")
        else:
            # Adam's moments start from zero here: so does its step count (bias correction), while the
            # schedule goes on from the run's step (adain.train.schedule) and ramps up over the warm-up.
            self.optimizer.iterations.assign(0)
            self.state.adam_start = self.state.step
        self.schedule.offset, self.schedule.warmup = self.state.adam_start, config.warmup
        self.forward = distributed.wrap(self.decoder, self.world)  # waits for every process; rank 0's weights
        self._encode_fn = autodiff.compile_fn(self._encode, jit=self.xla)
        self._step_fn = autodiff.compile_fn(self._train_step, jit=self.xla)
        self.state.history.append(Segment(self.state.step, self.state.elapsed_s, config.crop, config.batch,
                                          self.precision, config.lr, config.style_weight, self.world.size))

    def _build_decoders(self, resuming: bool) -> tuple[keras.Model, keras.Model | None]:
        """(decoder, its moving average or None): from the checkpoint, from --init, or new."""
        cfg = self.config
        if resuming:
            decoder = load_decoder(checkpoint_dir(self.run) / "decoder.npz")
        elif cfg.init:
            decoder = load_decoder(cfg.init, SKIP_LEVELS if cfg.multilevel else None, cfg.width if cfg.widen else None)
        else:
            decoder = Decoder(cfg.width, SKIP_LEVELS if cfg.multilevel else ())
        if not cfg.ema:
            return decoder, None
        saved_ema = checkpoint_dir(self.run) / "ema_decoder.npz" if resuming else None
        return decoder, load_decoder(saved_ema) if saved_ema and saved_ema.exists() else copy_decoder(decoder)

    def _restore_best_scores(self) -> None:
        """The best scores of the best weights on disk, which a kill may have saved after the
        checkpoint: a resumed run never replaces them with worse ones."""
        for field, name in BEST_FILES.items():
            if (self.run / name).exists():
                score = decoder_meta(self.run / name).get("score", float("inf"))
                setattr(self.state, field, min(getattr(self.state, field), score))

    def _save_best(self, field: str, score: float) -> None:
        """Keep the shipped weights as the run's best by `field`, with their score and step."""
        setattr(self.state, field, score)
        save_decoder(self.shipped, self.run / BEST_FILES[field], dtype="float16",
                     meta={"score": score, "step": self.state.step, "by": field})

    @property
    def shipped(self) -> keras.Model:
        """The weights that are validated and shipped: the moving average when there is one."""
        return self.ema or self.decoder

    def _encode(self, content, style, shift=None):
        """(content features, style statistics, identity images or None, moved or None) of a batch: with
        config.identity = k, the last k contents stand in as their own styles; with a `shift` (dy, dx),
        moved is (features of the contents' window at it, STRIDE px smaller, shift) for the consistency term."""
        k = self.config.identity
        moved = None
        if shift is not None:
            n, side = ops.shape(content)[0], ops.shape(content)[1] - STRIDE
            moved = (self.encoder(ops.slice(content, (0, shift[0], shift[1], 0), (n, side, side, 3))), shift)
        if not k:
            return (*encode_pairs(self.encoder, content, style), None, moved)
        style = ops.concatenate([style[:-k], content[-k:]], axis=0)
        return (*encode_pairs(self.encoder, content, style), content[-k:], moved)

    def _train_step(self, content_feats, target_stats, identity_images=None, moved=None):
        losses = decoder_step(self.encoder, self.decoder, self.optimizer, content_feats, target_stats,
                              self.config.style_weight, identity_images, self.forward, moved, self.config.consistency)
        if self.ema is not None:
            m = self.config.ema
            for avg, var in zip(self.ema.trainable_variables, self.decoder.trainable_variables):
                avg.assign(m * avg + (1 - m) * ops.stop_gradient(var))
        return losses

    def save_checkpoint(self) -> None:
        """Weights, moving average and optimizer variables as one folder, then state.json naming it
        (adain.train.state: a kill at any moment leaves a whole checkpoint)."""
        def write(folder: Path) -> None:
            save_decoder(self.decoder, folder / "decoder.npz", dtype="float32")
            if self.ema is not None:
                save_decoder(self.ema, folder / "ema_decoder.npz", dtype="float32")
            save_optimizer(self.optimizer, folder)

        folder = commit_checkpoint(self.run, self.state.step, write)
        self.state.save(self.run, self.config, folder)
        prune_checkpoints(self.run)
        tqdm.write(f"checkpoint of step {self.state.step}: {self.run / folder}")

    def validate(self) -> dict[str, float]:
        """Score the shipped weights on the held-out pairs; log, draw, and keep them if they are the best.
        Scored with the paper's λ whatever the run trains with: one yardstick across recipe changes."""
        scores, outputs = evaluate_grid(self.encoder, self.shipped, self.val_content, self.val_style)
        summary = summarize(scores)
        self.val_log.append({"step": self.state.step, "elapsed_s": round(self.state.elapsed_s, 1), **summary})
        save_grid(self.val_content, self.val_style, outputs, self.run / "val_grid.png")
        if summary["total_loss"] < self.state.best_val:
            self._save_best("best_val", summary["total_loss"])
        plot_losses(self.run, self.config.plateau_hours, self.state.history)
        return summary

    def validate_full_size(self) -> dict[str, dict[str, float]]:
        """Score the shipped weights on whole held-out pairs at 512 px (`adain.full_size`); keep them
        as best_full_decoder.npz when their raw-feature total is the best so far."""
        scores = self.full_validator.score(self.shipped, self.encoder)
        row = {f"{space}_{k}": v for space in SPACES for k, v in scores[space].items()}
        self.full_log.append({"step": self.state.step, "elapsed_s": round(self.state.elapsed_s, 1), **row})
        if row["raw_total_loss"] < self.state.best_full_val:
            self._save_best("best_full_val", row["raw_total_loss"])
        return scores

    def _validate_is_flat(self, bar: tqdm, last: bool = False) -> bool:
        """Validate (at 512 px too when due or `last`) and report; True when validation has plateaued
        (config.plateau_hours)."""
        cfg = self.config
        val = self.validate()
        if self.full_validator is not None and (self.state.step % cfg.full_val_every == 0 or last):
            full = self.validate_full_size()
            bar.write(f"step {self.state.step}: at 512 px " + "; ".join(
                f"{space} content {full[space]['content_loss']:.4g} style {full[space]['style_loss']:.4g}"
                for space in SPACES))
        window_gain = improvement(self.val_log.path, cfg.plateau_hours) if cfg.plateau_hours else None
        bar.write(f"step {self.state.step}: validation {val}"
                  + (f"; {window_gain:.1%} better than {cfg.plateau_hours:g} h before" if window_gain is not None else ""))
        return window_gain is not None and window_gain < cfg.min_improvement

    def fit(self) -> TrainState:
        """Train to `config.steps` (or a plateau); Ctrl-C or SIGTERM stops after the step under way, with a
        checkpoint of it. In a data-parallel run every process stops after the same step (`distributed.agree`)
        and rank 0 alone validates, logs and writes checkpoints."""
        cfg = self.config
        main = self.world.is_main
        start, start_elapsed = self.state.step, self.state.elapsed_s
        if start >= cfg.steps:
            return self.state
        if start == 0 and main:
            self.validate()  # the curve starts at the untrained decoder
        last_ckpt = time.monotonic()
        reuse = cfg.reuse  # an encoded batch serves `reuse` steps: step s uses batch s - s % reuse, styles rolled by s % reuse
        first = start - start % reuse
        batches = zip(self.content.iterate(first, reuse), self.style.iterate(first, reuse))
        encoded = None
        bar = tqdm(total=cfg.steps, initial=start, unit="step", dynamic_ncols=True, disable=not main)
        if self.world.parallel and main:
            bar.write(f"{self.world.size} processes x {cfg.batch // self.world.size} pairs = global batch {cfg.batch}; "
                      f"lr {cfg.lr:g} is the global batch's (gradients averaged over the processes)")
        clock = StepClock()
        with _stop_requests() as stop, closing(bar):
            while self.state.step < cfg.steps:
                clock.start()
                shift = self.state.step % reuse
                if encoded is None or shift == 0:
                    moved_by = None  # the consistency term's shift of the batch: 1-7 px each way, seeded by the step
                    if cfg.consistency:
                        moved_by = ops.convert_to_tensor(
                            np.random.default_rng((cfg.seed, self.state.step)).integers(1, STRIDE, 2), "int32")
                    encoded = self._encode_fn(*next(batches), moved_by)
                content_feats, stats, identity_images, moved = encoded
                local = [float(x) for x in self._step_fn(content_feats, rotate(stats, shift) if shift else stats,
                                                          identity_images, moved)]
                dt = clock.stop()
                self.state.step += 1
                self.state.elapsed_s += dt
                out_of_time = bool(cfg.minutes) and self.state.elapsed_s - start_elapsed >= cfg.minutes * 60
                loss, lc, ls, stopping, timed_out = distributed.agree([*local, bool(stop), out_of_time], self.world)
                if main:
                    self.log.append({"step": self.state.step, "elapsed_s": round(self.state.elapsed_s, 2), "loss": loss,
                                     "content_loss": lc, "style_loss": ls, "sec_per_step": round(dt, 3)})
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.2f}", content=f"{lc:.2f}", style=f"{ls:.3f}", s_step=f"{dt:.2f}")
                if not np.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss} at step {self.state.step}; lower --lr or check the data")
                last = self.state.step == cfg.steps or timed_out > 0
                flat = False
                if not stopping and (self.state.step % cfg.val_every == 0 or last):
                    flat = distributed.agree([main and self._validate_is_flat(bar, last)], self.world)[0] > 0
                if main and (time.monotonic() - last_ckpt > cfg.checkpoint_minutes * 60 or last or flat or stopping):
                    self.save_checkpoint()
                    last_ckpt = time.monotonic()
                if stopping and main:
                    bar.write(f"stopped by a signal after step {self.state.step}")
                elif flat and main:
                    bar.write(f"validation improved by less than {cfg.min_improvement:.0%} in {cfg.plateau_hours:g} h: stopping")
                if flat or last or stopping:
                    break
        if self.skipped:
            examples = sorted(map(str, self.skipped))[:5]
            print(f"skipped {len(self.skipped)} unreadable training files, e.g. {examples}")
        return self.state

    @property
    def skipped(self) -> set[Path]:
        """Training files that could not be read (skipped and counted, never fatal)."""
        return self.content.skipped | self.style.skipped
