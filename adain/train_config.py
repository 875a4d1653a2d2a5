"""The training recipe's settings and defaults (one source for the trainer, the CLI and evaluate).

Kept free of Keras imports so the command line can show the defaults without loading a backend.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLE_WEIGHT = 10.0  # lambda of the AdaIN paper: total loss = content loss + STYLE_WEIGHT * style loss
IDENTITY_PIXEL_WEIGHT = 50.0  # identity pairs: pixel MSE (0-1 scale) x this + feature MSE (SANet's weights)


@dataclass
class TrainConfig:
    content_dir: str
    style_dir: str
    out_dir: str
    steps: int = 20000  # total steps of the run (a resumed run stops at the same total)
    batch: int = 8
    crop: int = 256
    style_weight: float = STYLE_WEIGHT
    lr: float = 1e-4
    lr_decay: float = 5e-5  # lr / (1 + decay * step), as in the reference implementation
    width: float = 0.5  # decoder width multiplier (1 = the paper's decoder)
    multilevel: bool = False  # skip paths from relu3_1, relu2_1, relu1_1 (decoder.SKIP_LEVELS); grows an --init decoder
    identity: int = 0  # pairs of each batch whose style is the content itself (losses.identity_loss)
    sharp_crops: bool = False  # crops never upsampled: the short side is scaled to [crop, its own size]
    style_augment: bool = False  # new styles from old: rotations by 90 degrees, flips, colour-channel permutations
    ema: float = 0.99  # momentum of the moving average of the decoder weights that is validated and shipped (0: off)
    reuse: int = 1  # steps per encoded batch (styles rotated between them); saves the encoder pass on the inputs
    precision: str = "float32"  # or "mixed_bfloat16" (faster on CPUs with AVX-512 BF16)
    seed: int = 0
    val_count: int = 8  # content and style images held out (never trained on)
    val_size: int = 256
    val_every: int = 500
    checkpoint_minutes: float = 5.0
    plateau_hours: float = 0.0  # stop when the last this many hours of training improved validation by less than...
    min_improvement: float = 0.02  # ...this fraction of the best loss before them (0 hours: never stop early)
    init: str | None = None  # start from these decoder weights instead of random
    encoder_weights: str = "shipped"

    def __post_init__(self) -> None:
        if not 1 <= self.reuse <= self.batch:
            raise ValueError(f"reuse must be between 1 and the batch size ({self.batch}), got {self.reuse}")
        if not 0 <= self.identity < self.batch:
            raise ValueError(f"identity must be between 0 and the batch size - 1 ({self.batch - 1}), got {self.identity}")
        if self.identity and self.reuse > 1:
            raise ValueError("identity pairs need --reuse 1 (rotating the styles would pair a content with another)")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
