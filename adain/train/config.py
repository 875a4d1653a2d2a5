"""The training recipe's settings and defaults: one source for the trainer, the CLI and evaluate.

Each field's `help` metadata is the command line's help text (`adain train --help` is generated from
these fields). Kept free of Keras imports so the command line can show the defaults without loading a
backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adain.defaults import option
from adain.vgg_spec import STRIDE

STYLE_WEIGHT = 10.0  # lambda of the AdaIN paper: total loss = content loss + STYLE_WEIGHT * style loss
CONSISTENCY_MARGIN = 16  # px of the shifted output's edges the shift-consistency term leaves out
IDENTITY_PIXEL_WEIGHT = 50.0  # identity pairs: pixel MSE (0-1 scale) x this + feature MSE (SANet's weights)
PRECISIONS = ("auto", "float32", "mixed_bfloat16")  # auto: adain.train.hardware.auto_precision
COMPILE_MODES = ("auto", "graph", "xla")  # auto: adain.train.hardware.use_xla


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
    warmup: int = option(200, "steps of a linear lr ramp whenever Adam's moments start from zero (a new run, or a "
                         "resume without the optimizer's state, as from a committed checkpoint)")
    width: float = option(0.5, "decoder width multiplier, 1 = the paper's decoder")
    multilevel: bool = option(False, "decoder with skip paths from relu3_1, relu2_1, relu1_1 (grows an --init decoder)")
    identity: int = option(0, "pairs per batch whose style is the content itself, trained to give it back")
    consistency: float = option(0.0, "weight of the shift-consistency term: the outputs for a crop and for its window "
                                "moved by 1-7 px (under the encoder's stride) must agree where both show the same place "
                                "(pixel MSE, 0-1 scale): steadier video; 0 = off")
    sharp_crops: bool = option(False, "never upsample training crops: the short side goes to [crop, its own size]")
    style_augment: bool = option(False, "rotate, flip and permute the colours of style crops (new styles from old)")
    ema: float = option(0.99, "momentum of the weights' moving average, which is validated and shipped; 0 = off")
    reuse: int = option(1, "steps per encoded batch, styles rotated between them: skips the encoder pass on the "
                         "inputs for all but the first")
    precision: str = option("auto", "auto: mixed_bfloat16 where the CPU has AVX-512 BF16 or AMX (2x faster), "
                            "float32 elsewhere", choices=PRECISIONS)
    compile: str = option("auto", "TensorFlow step compilation; auto: XLA only on CPUs without AVX-512 (measured: "
                          "bench/results/train_compile.json)", choices=COMPILE_MODES)
    seed: int = option(0, "seed of the data order and of a new decoder's weights")
    val_count: int = option(8, "images of each folder held out for validation (never trained on)")
    val_size: int = option(256, "side of the validation crops")
    val_every: int = option(500, "steps between validations")
    full_val_every: int = option(0, "steps between validations of whole held-out pairs at 512 px on raw and normalised "
                                 "VGG features (adain.full_size; about a minute each); the best by the raw total is "
                                 "best_full_decoder.npz, the one to ship (0: off; always run at a run's last step when on)")
    checkpoint_minutes: float = option(5.0, "minutes between checkpoints")
    minutes: float = option(0.0, "stop after this many minutes of steps in this invocation, with a validation and a "
                            "checkpoint (0: no limit; pilots on equal CPU time, a GPU lease)")
    plateau_hours: float = option(0.0, "stop when validation improved by less than --min-improvement over the last "
                                     "this many hours of training (0: never)")
    min_improvement: float = option(0.02, "fraction of the best loss before the window (see --plateau-hours)")
    init: str | None = option(None, "start from these decoder weights instead of random ones")
    widen: bool = option(False, "grow the --init decoder to --width (a whole multiple of its own) with the same output")
    encoder_weights: str = option("shipped", "VGG19 weights (.npz)")

    def __post_init__(self) -> None:
        if not 1 <= self.reuse <= self.batch:
            raise ValueError(f"reuse must be between 1 and the batch size ({self.batch}), got {self.reuse}")
        if not 0 <= self.identity < self.batch:
            raise ValueError(f"identity must be between 0 and the batch size - 1 ({self.batch - 1}), got {self.identity}")
        if self.identity and self.reuse > 1:
            raise ValueError("identity pairs need --reuse 1 (rotating the styles would pair a content with another)")
        if self.consistency < 0:
            raise ValueError(f"consistency must be >= 0, got {self.consistency}")
        if self.consistency and self.crop - STRIDE <= 2 * CONSISTENCY_MARGIN:
            raise ValueError(f"--consistency needs a crop over {STRIDE + 2 * CONSISTENCY_MARGIN} px (the moved window "
                             f"is {STRIDE} px smaller, {CONSISTENCY_MARGIN} px of its edges left out), got {self.crop}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.full_val_every % self.val_every:
            raise ValueError(f"full_val_every must be a multiple of val_every ({self.val_every}), got {self.full_val_every}")
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {COMPILE_MODES}, got {self.compile!r}")
