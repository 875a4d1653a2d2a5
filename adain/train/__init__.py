"""Decoder training (Huang & Belongie 2017), resumable: weights, Adam state, step and data order.

The package, one concept per module:

- `config`: `TrainConfig`, the recipe's settings and defaults (no Keras: the CLI reads it for --help);
- `loop`: `Trainer` (models, optimizer, data, the loop) and `decoder_step`;
- `state`: the checkpoint (`TrainState` with its recipe `Segment`s, weights, optimizer variables by name);
- `schedule`: the learning rate (inverse-time decay of the run's step, warm-up over Adam's first steps);
- `clock`: step time without the time the process was stopped;
- `logs`: the run's CSV logs (`RunLog`, one reader) and the plateau test (`improvement`);
- `plots`: loss_curve.png and val_grid.png.

A run directory holds the checkpoint (a folder ckpt-<step> with decoder.npz, ema_decoder.npz and
optimizer.npz, and state.json naming it, written as one unit every few minutes: `state`),
best_decoder.npz and best_full_decoder.npz (the moving average of the weights at its best validation,
with its score), log.csv, val.csv, loss_curve.png and val_grid.png. Re-running the same command with
--resume continues from the checkpoint, Adam's moments and count included.

Example:

```python
from adain.train import TrainConfig, Trainer

config = TrainConfig("photos/", "paintings/", "runs/mine", steps=20000, crop=256)
Trainer(config, resume=True).fit()  # the same call continues an interrupted run
```
"""

from importlib import import_module

_LAZY = {"TrainConfig": "adain.train.config", "STYLE_WEIGHT": "adain.train.config",
         "Trainer": "adain.train.loop", "TrainState": "adain.train.state"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:  # loaded on use: the config module is Keras-free, the loop is not
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'adain.train' has no attribute {name!r}")
