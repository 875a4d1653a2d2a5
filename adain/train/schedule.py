"""The learning rate: the reference implementation's inverse-time decay, ramped up linearly whenever
Adam's moments start from zero.

Adam's first steps with fresh moments move every weight by about the learning rate whatever its
gradient's size. Resuming decoder v3 (step 923) without its optimizer state at lr 1e-4 on the GPU, the
second step's loss was 106 against 17 (style 6.8 against 0.95) and the 256² validation took about
1,000 steps to get back (weights/MODEL_CARD.md, "The GPU run"); a warm-up over a few hundred steps
lets the moments fill first.
"""

from __future__ import annotations

import keras
from keras import ops


class WarmInverseTimeDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr / (1 + decay · step), times min(1, (step - start + 1) / warmup).

    Args:
        lr: the learning rate at step 0.
        decay: the inverse-time decay per step.
        start: the step at which Adam's moments started from zero (a new run: 0; a resume without
            optimizer state: the checkpoint's step).
        warmup: steps of the linear ramp from `start` (0: none).

    Example:

    >>> schedule = WarmInverseTimeDecay(1e-4, 5e-5, start=900, warmup=100)
    >>> round(float(schedule(900)) / float(schedule(999)), 3)
    0.01
    """

    def __init__(self, lr: float, decay: float, start: int = 0, warmup: int = 0):
        self.lr, self.decay, self.start, self.warmup = lr, decay, start, warmup

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = self.lr / (1.0 + self.decay * step)
        if self.warmup:
            rate = rate * ops.clip((step - self.start + 1.0) / self.warmup, 0.0, 1.0)
        return rate

    def get_config(self) -> dict:
        return {"lr": self.lr, "decay": self.decay, "start": self.start, "warmup": self.warmup}
