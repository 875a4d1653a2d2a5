"""Seamless tiled evaluation of fully-convolutional maps, so 4K images fit in bounded memory.

Each tile is computed with a halo wider than the network's receptive field and only its centre is
kept, so the stitched result equals the untiled one (up to float rounding): no seams, no blending.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def tiled_map(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, tile: int, halo: int,
              up: int = 1, down: int = 1) -> np.ndarray:
    """Apply `fn` (HxWxC -> (H*up/down)x(W*up/down)xC') to `x` tile by tile.

    tile and halo must be multiples of `down` (and x's H, W too), so tiles stay aligned with any
    pooling grid inside `fn`; halo must cover fn's receptive field radius.
    """
    h, w = x.shape[:2]
    if tile % down or halo % down or h % down or w % down:
        raise ValueError(f"tile {tile}, halo {halo} and size {h}x{w} must be multiples of {down}")
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            yb, xb = min(h, y1 + halo), min(w, x1 + halo)
            res = np.asarray(fn(x[ya:yb, xa:xb]))
            if out is None:
                out = np.empty((h * up // down, w * up // down, res.shape[-1]), res.dtype)
            s = lambda v: v * up // down  # noqa: E731 - input -> output coordinates
            out[s(y0):s(y1), s(x0):s(x1)] = res[s(y0 - ya):s(y1 - ya), s(x0 - xa):s(x1 - xa)]
    return out
