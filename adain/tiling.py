"""Seamless tiled evaluation of fully-convolutional maps, so 4K images fit in bounded memory.

Each tile is computed with a halo wider than the network's receptive field and only its centre is
kept, so the stitched result equals the untiled one (up to float rounding): no seams, no blending.
Inputs and outputs may be several maps of one image at different resolutions (a dict of features
at several depths of the encoder), each cut at the matching place.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

import numpy as np


def tiled_map(fn: Callable, x: np.ndarray | dict, tile: int, halo: int, align: int = 1) -> np.ndarray | dict:
    """Apply `fn` to `x` tile by tile and stitch the results.

    x: an HxWxC array, or a dict of such arrays whose sides are the first one's times a fixed factor
        (fn then takes the same dict of windows). Tiles and halos are counted in pixels of the first.
    fn: returns an array (or a dict of arrays) whose sides are its input's times a fixed factor each,
        read from the first tile's result (e.g. 1/8 for relu4_1 of an image, 8 for a decoder).
    tile, halo and x's sides must be multiples of `align`, so that tiles stay aligned with any pooling
    grid inside `fn` and every factor maps tile corners to whole pixels; halo must cover fn's
    receptive field radius.
    """
    inputs = x if isinstance(x, dict) else {None: x}
    h, w = next(iter(inputs.values())).shape[:2]
    if tile % align or halo % align or h % align or w % align:
        raise ValueError(f"tile {tile}, halo {halo} and size {h}x{w} must be multiples of {align}")
    in_scale = {k: Fraction(v.shape[0], h) for k, v in inputs.items()}
    out = scale = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(0, y0 - halo), max(0, x0 - halo)
            yb, xb = min(h, y1 + halo), min(w, x1 + halo)
            window = {k: v[int(ya * in_scale[k]):int(yb * in_scale[k]), int(xa * in_scale[k]):int(xb * in_scale[k])]
                      for k, v in inputs.items()}
            res = fn(window if isinstance(x, dict) else window[None])
            results = {k: np.asarray(v) for k, v in (res.items() if isinstance(res, dict) else [(None, res)])}
            if out is None:
                scale = {k: Fraction(v.shape[0], yb - ya) for k, v in results.items()}
                out = {k: np.empty((int(h * scale[k]), int(w * scale[k]), v.shape[-1]), v.dtype) for k, v in results.items()}
            for k, v in results.items():
                s = lambda c: int(c * scale[k])  # noqa: E731 - input -> output coordinates
                out[k][s(y0):s(y1), s(x0):s(x1)] = v[s(y0 - ya):s(y1 - ya), s(x0 - xa):s(x1 - xa)]
    return out if isinstance(res, dict) else out[None]
