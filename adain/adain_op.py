"""Adaptive Instance Normalisation and the feature statistics it is built on (keras.ops only)."""

from __future__ import annotations

from keras import ops

EPS = 1e-5


def channel_stats(features, mask=None, eps: float = EPS):
    """Per-sample, per-channel mean and std over H and W of NHWC `features` -> two (N,1,1,C) tensors.

    With a (N,H,W,1) `mask` in [0,1], the statistics are those of the masked region only.
    """
    features = ops.cast(features, "float32")
    if mask is None:
        mean = ops.mean(features, axis=(1, 2), keepdims=True)
        var = ops.mean(ops.square(features - mean), axis=(1, 2), keepdims=True)
    else:
        mask = ops.cast(mask, "float32")
        area = ops.sum(mask, axis=(1, 2), keepdims=True) + eps
        mean = ops.sum(features * mask, axis=(1, 2), keepdims=True) / area
        var = ops.sum(ops.square(features - mean) * mask, axis=(1, 2), keepdims=True) / area
    return mean, ops.sqrt(var + eps)


def adain(content, style_mean, style_std, eps: float = EPS):
    """Normalise `content` per channel, then give it the style's per-channel mean and std."""
    content = ops.cast(content, "float32")
    c_mean, c_std = channel_stats(content, eps=eps)
    return (content - c_mean) / c_std * style_std + style_mean
