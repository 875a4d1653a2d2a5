"""The learning rate: the reference implementation's inverse-time decay of the run's step, ramped up
linearly over the first steps of Adam's moments.

Keras' Adam corrects its moments' bias by its own step count (`optimizer.iterations`). A resume whose
moments start from zero (a checkpoint restored from git keeps no optimizer state) must therefore
restart that count at 0 and hand the schedule the run's step apart: with the count set to the run's
step, the correction is switched off and the first updates were ~3x the schedule's rate at step 5,000
(issue #36: the v3 training loss went 10.3 -> 18.1 after the resume at step 5,800). Even corrected,
Adam's first steps move every weight by about the learning rate whatever its gradient's size; a
warm-up over a few hundred steps lets the moments fill first (resuming v3 at step 923 without a
warm-up, the second step's loss was 106 against 17; weights/MODEL_CARD.md, "The GPU run").
"""

from __future__ import annotations

import keras
from keras import ops


class WarmInverseTimeDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr / (1 + decay · (offset + i)) · min(1, (i + 1) / warmup), i = Adam's step count.

    The warm-up's state is Adam's step count itself, so a checkpoint taken inside the warm-up resumes
    inside it.

    Args:
        lr: the learning rate at the run's step 0.
        decay: the inverse-time decay per step.
        offset: the run's step at which Adam's step count was 0 (`TrainState.adam_start`).
        warmup: steps of the linear ramp from Adam's first step (0: none).

    Example (a resume at step 900 with fresh moments: Adam's count restarts at 0):

    >>> schedule = WarmInverseTimeDecay(1e-4, 5e-5, offset=900, warmup=100)
    >>> round(float(schedule(0)) / float(schedule(99)), 3)
    0.01
    >>> round(float(schedule(99)) * 1e6, 3)  # 1e-4 / (1 + 5e-5 * 999) in units of 1e-6
    95.243
    """

    def __init__(self, lr: float, decay: float, offset: int = 0, warmup: int = 0):
        self.lr, self.decay, self.offset, self.warmup = lr, decay, offset, warmup

    def __call__(self, iterations):
        i = ops.cast(iterations, "float32")
        rate = self.lr / (1.0 + self.decay * (i + self.offset))
        if self.warmup:
            rate = rate * ops.minimum((i + 1.0) / self.warmup, 1.0)
        return rate

    def get_config(self) -> dict:
        return {"lr": self.lr, "decay": self.decay, "offset": self.offset, "warmup": self.warmup}
