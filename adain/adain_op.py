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
        """keras.ops.var over H and W of NHWC `x`, as E[x²] − E[x]² in one pass with no temporary array
        (2.5x faster than np.var on relu1_1 of a 512² photo, 85 MB; relative difference 3e-4)."""
        if tuple(axis) != (1, 2) or not keepdims:
            raise NotImplementedError("the numpy var of adain_op reduces NHWC over H and W, keeping dims")
        n = x.shape[1] * x.shape[2]
        mean = np.einsum("nhwc->nc", x) / n
        var = np.maximum(np.einsum("nhwc,nhwc->nc", x, x) / n - mean * mean, 0.0)
        return var[:, None, None, :]

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
