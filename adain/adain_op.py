"""Adaptive Instance Normalisation and the feature statistics it is built on.

The maths is written once for two kinds of arrays: Keras tensors (training, the Keras runtime, the
exports; through keras.ops) and numpy arrays (the ONNX runtime, which loads neither TensorFlow nor
Keras; through numpy's functions of the same names).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5


class _NumpyOps:
    """The few keras.ops functions used here, for numpy arrays."""

    mean, sum, sqrt, square = staticmethod(np.mean), staticmethod(np.sum), staticmethod(np.sqrt), staticmethod(np.square)

    @staticmethod
    def var(x: np.ndarray, axis: tuple[int, int], keepdims: bool) -> np.ndarray:
        """keras.ops.var over H and W of NHWC `x`, as E[x²] − E[x]² in one pass with no temporary array and
        float64 sums (float32 ones were 2e-4 off np.var; twice as fast as np.var on relu1_1 of a 512² photo)."""
        if tuple(axis) != (1, 2) or not keepdims:
            raise NotImplementedError("the numpy var of adain_op reduces NHWC over H and W, keeping dims")
        n = x.shape[1] * x.shape[2]
        mean = np.einsum("nhwc->nc", x, dtype=np.float64) / n
        var = np.maximum(np.einsum("nhwc,nhwc->nc", x, x, dtype=np.float64) / n - mean * mean, 0.0)
        return var[:, None, None, :].astype(np.float32)

    @staticmethod
    def cast(x, dtype: str):
        """`x` as an array of `dtype` (keras.ops.cast's numpy twin)."""
        return np.asarray(x, dtype)


def _ops(x):
    """numpy's functions for numpy arrays, keras.ops for anything else (tensors, symbolic or not)."""
    if isinstance(x, np.ndarray):
        return _NumpyOps
    from keras import ops

    return ops


def channel_stats(features, mask=None, eps: float = EPS):
    """Per-sample, per-channel mean and std over H and W of NHWC `features` -> two (N,1,1,C) arrays.

    With a (N,H,W,1) `mask` in [0,1], the statistics are those of the masked region only.
    """
    ops = _ops(features)
    features = ops.cast(features, "float32")
    if mask is None:
        mean = ops.mean(features, axis=(1, 2), keepdims=True)
        var = ops.var(features, axis=(1, 2), keepdims=True)  # numpy's squares in place: one temporary, not two
    else:
        mask = ops.cast(mask, "float32")
        area = ops.sum(mask, axis=(1, 2), keepdims=True) + eps
        mean = ops.sum(features * mask, axis=(1, 2), keepdims=True) / area
        var = ops.sum(ops.square(features - mean) * mask, axis=(1, 2), keepdims=True) / area
    return mean, ops.sqrt(var + eps)


class FeatureSums:
    """Per-channel sums of one image's features met in parts (tiles), inside a mask or not: the
    `channel_stats` of the whole without holding it (float64 sums).

    Args:
        masked: the statistics of a masked region (as `channel_stats(..., mask=)`, area + eps).

    Example:

    >>> f = np.arange(24, dtype=np.float32).reshape(1, 2, 6, 2)
    >>> sums = FeatureSums()
    >>> sums.add(f[0, :, :3]); sums.add(f[0, :, 3:])
    >>> bool(np.allclose(sums.stats()[1], channel_stats(f)[1]))
    True
    """

    def __init__(self, masked: bool = False):
        self.masked, self.area, self.first, self.second = masked, 0.0, 0.0, 0.0

    def add(self, features: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Count HxWxC `features` (weighted by an HxW `mask` in [0, 1] where masked)."""
        weighted = features if mask is None else features * mask[..., None]
        self.area += features.shape[0] * features.shape[1] if mask is None else float(np.sum(mask, dtype=np.float64))
        self.first = self.first + np.einsum("hwc->c", weighted, dtype=np.float64)
        self.second = self.second + np.einsum("hwc,hwc->c", weighted, features, dtype=np.float64)

    def stats(self, eps: float = EPS) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) as two (1,1,1,C) float32 arrays, as `channel_stats` of all the features added."""
        area = self.area + eps if self.masked else self.area
        mean = self.first / area
        var = np.maximum((self.second - 2 * mean * self.first + mean * mean * self.area) / area, 0.0)
        return mean.astype(np.float32).reshape(1, 1, 1, -1), np.sqrt(var + eps).astype(np.float32).reshape(1, 1, 1, -1)


def adain_affine(content_mean, content_std, style_mean, style_std):
    """(scale, shift) such that AdaIN of features with these statistics is features * scale + shift:
    AdaIN is a per-channel affine map, so mixtures of styles and α-blends fold into one (one pass)."""
    scale = style_std / content_std
    return scale, style_mean - content_mean * scale


def mixed_statistics(stats: list, weights) -> tuple:
    """One (mean, std) whose AdaIN is the `weights`-mixture of the AdaINs with each of `stats`' (mean, std):
    AdaIN is linear in the style's mean and std, so a mixture of styles is one style (the one-pass graph
    takes it)."""
    return (sum(w * mean for w, (mean, _) in zip(weights, stats)),
            sum(w * std for w, (_, std) in zip(weights, stats)))


def adain(content, style_mean, style_std, eps: float = EPS):
    """Normalise `content` per channel, then give it the style's per-channel mean and std."""
    content = _ops(content).cast(content, "float32")
    scale, shift = adain_affine(*channel_stats(content, eps=eps), style_mean, style_std)
    return content * scale + shift
