"""The training recipe's settings and defaults: one source for the trainer, the CLI and evaluate.

Each field's `help` metadata is the command line's help text (`adain train --help` is generated from
these fields). Kept free of Keras imports so the command line can show the defaults without loading a
backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adain.defaults import option

STYLE_WEIGHT = 10.0  # lambda of the AdaIN paper: total loss = content loss + STYLE_WEIGHT * style loss
IDENTITY_PIXEL_WEIGHT = 50.0  # identity pairs: pixel MSE (0-1 scale) x this + feature MSE (SANet's weights)
PRECISIONS = ("float32", "mixed_bfloat16")


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Args:
        content_dir: folder of photos (searched recursively).
        style_dir: folder of paintings and textures.
        out_dir: the run directory (checkpoints, logs, grids).
        The other fields are the recipe; their `help` metadata says what each does.

    Example:

    >>> TrainConfig("photos", "paintings", "runs/mine", crop=128).style_weight
    10.0
    """

    content_dir: str = field(metadata={"help": "folder of photos (searched recursively)", "flag": "--content"})
    style_dir: str = field(metadata={"help": "folder of paintings / textures", "flag": "--style"})
    out_dir: str = field(metadata={"help": "run directory (checkpoints, logs, grids)", "flag": "--out"})
    steps: int = option(20000, "total steps of the run (a resumed run stops at the same total)")
    batch: int = option(8, "pairs per step")
    crop: int = option(256, "training crop side in pixels")
    style_weight: float = option(STYLE_WEIGHT, "λ: total loss = content + λ·style")
    lr: float = option(1e-4, "Adam's learning rate")
    lr_decay: float = option(5e-5, "lr / (1 + decay · step), as in the reference implementation")
    width: float = option(0.5, "decoder width multiplier, 1 = the paper's decoder")
    multilevel: bool = option(False, "decoder with skip paths from relu3_1, relu2_1, relu1_1 (grows an --init decoder)")
    identity: int = option(0, "pairs per batch whose style is the content itself, trained to give it back")
    sharp_crops: bool = option(False, "never upsample training crops: the short side goes to [crop, its own size]")
    style_augment: bool = option(False, "rotate, flip and permute the colours of style crops (new styles from old)")
    ema: float = option(0.99, "momentum of the weights' moving average, which is validated and shipped; 0 = off")
    reuse: int = option(1, "steps per encoded batch, styles rotated between them: skips the encoder pass on the "
                         "inputs for all but the first")
    precision: str = option("float32", "mixed_bfloat16 is about twice as fast on CPUs with AVX-512 BF16",
                          choices=PRECISIONS)
    seed: int = option(0, "seed of the data order and of a new decoder's weights")
    val_count: int = option(8, "images of each folder held out for validation (never trained on)")
    val_size: int = option(256, "side of the validation crops")
    val_every: int = option(500, "steps between validations")
    checkpoint_minutes: float = option(5.0, "minutes between checkpoints")
    plateau_hours: float = option(0.0, "stop when validation improved by less than --min-improvement over the last "
                                     "this many hours of training (0: never)")
    min_improvement: float = option(0.02, "fraction of the best loss before the window (see --plateau-hours)")
    init: str | None = option(None, "start from these decoder weights instead of random ones")
    encoder_weights: str = option("shipped", "VGG19 weights (.npz)")

    def __post_init__(self) -> None:
        if not 1 <= self.reuse <= self.batch:
            raise ValueError(f"reuse must be between 1 and the batch size ({self.batch}), got {self.reuse}")
        if not 0 <= self.identity < self.batch:
            raise ValueError(f"identity must be between 0 and the batch size - 1 ({self.batch - 1}), got {self.identity}")
        if self.identity and self.reuse > 1:
            raise ValueError("identity pairs need --reuse 1 (rotating the styles would pair a content with another)")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
