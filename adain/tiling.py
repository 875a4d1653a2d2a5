"""Seamless tiled evaluation of fully-convolutional maps, so 4K images fit in bounded memory.

Each tile is computed with a halo wider than the network's receptive field and only its centre is
kept, so the stitched result equals the untiled one (up to float rounding): no seams, no blending.
Tiles are of equal size and every window (tile and halo) has the same shape, shifted inward at the
image's edges, so a runtime that compiles a graph per input shape compiles it once.
Inputs and outputs may be several maps of one image at different resolutions (a dict of features
at several depths of the encoder), each cut at the matching place.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Iterator

import numpy as np


def map_tiles(fn: Callable, x: np.ndarray | dict, tile: int, halo: int, align: int = 1) -> Iterator[tuple[tuple, dict]]:
    """Apply `fn` to `x` tile by tile, yielding where each tile lies and fn's results cut to it.

    x: an HxWxC array, or a dict of such arrays whose sides are the first one's times a fixed factor
        (fn then takes the same dict of windows). Tiles and halos are counted in pixels of the first.
    fn: returns an array (or a dict of arrays) whose sides are its input's times a fixed factor each
        (e.g. 1/8 for relu4_1 of an image, 8 for a decoder).
    tile, halo and x's sides must be multiples of `align`, so that tiles stay aligned with any pooling
    grid inside `fn` and every factor maps tile corners to whole pixels; halo must cover fn's
    receptive field radius.

    Yields:
        ((y0, y1, x0, x1), {key: result}): the tile in pixels of x's first array, and each result of fn
        (key None for a single array) cut to the tile, without its halo.
    """
    inputs = x if isinstance(x, dict) else {None: x}
    h, w = next(iter(inputs.values())).shape[:2]
    if tile % align or halo % align or h % align or w % align:
        raise ValueError(f"tile {tile}, halo {halo} and size {h}x{w} must be multiples of {align}")
    in_scale = {k: Fraction(v.shape[0], h) for k, v in inputs.items()}
    for y0, y1, ya, yb in _spans(h, tile, halo, align):
        for x0, x1, xa, xb in _spans(w, tile, halo, align):
            window = {k: v[int(ya * in_scale[k]):int(yb * in_scale[k]), int(xa * in_scale[k]):int(xb * in_scale[k])]
                      for k, v in inputs.items()}
            res = fn(window if isinstance(x, dict) else window[None])
            cut = {}
            for k, v in (res.items() if isinstance(res, dict) else [(None, res)]):
                v = np.asarray(v)
                s = lambda c: int(c * Fraction(v.shape[0], yb - ya))  # noqa: E731 - window -> result coordinates
                cut[k] = v[s(y0 - ya):s(y1 - ya), s(x0 - xa):s(x1 - xa)]
            yield (y0, y1, x0, x1), cut


def _spans(length: int, tile: int, halo: int, align: int) -> Iterator[tuple[int, int, int, int]]:
    """(start, end, window start, window end) of each tile along one side: as many tiles as `tile` needs,
    of equal size (a multiple of `align`; the last may be shorter), each window the tile and `halo` on
    both sides, all windows of one size (shifted inward at the ends, clipped to the side)."""
    count = -(-length // tile)
    step = -(-length // count // align) * align
    size = min(length, step + 2 * halo)
    for start in range(0, length, step):
        window = min(max(0, start - halo), length - size)
        yield start, min(start + step, length), window, window + size


def tiled_map(fn: Callable, x: np.ndarray | dict, tile: int, halo: int, align: int = 1) -> np.ndarray | dict:
    """Apply `fn` to `x` tile by tile (`map_tiles`) and stitch the results: the array (or dict of arrays)
    fn would give for the whole of x."""
    h, w = (next(iter(x.values())) if isinstance(x, dict) else x).shape[:2]
    out = None
    for (y0, y1, x0, x1), results in map_tiles(fn, x, tile, halo, align):
        if out is None:
            scale = {k: Fraction(v.shape[0], y1 - y0) for k, v in results.items()}
            out = {k: np.empty((int(h * scale[k]), int(w * scale[k]), v.shape[-1]), v.dtype) for k, v in results.items()}
        for k, v in results.items():
            out[k][int(y0 * scale[k]):int(y1 * scale[k]), int(x0 * scale[k]):int(x1 * scale[k])] = v
    return out[None] if set(out) == {None} else out
