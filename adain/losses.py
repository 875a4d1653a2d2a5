"""Losses for decoder training (AdaIN) and pixel optimisation (Gatys), in keras.ops."""

from __future__ import annotations

from typing import Mapping, Sequence

from keras import ops

from adain.adain_op import channel_stats


def mse(a, b):
    """Mean squared difference, computed in float32 whatever the inputs' precision."""
    return ops.mean(ops.square(ops.cast(a, "float32") - ops.cast(b, "float32")))


def content_loss(features, target):
    """MSE between features of the output and the target features (the AdaIN output t)."""
    return mse(features, target)


def style_stats(features: Mapping, layer_names: Sequence[str]) -> dict:
    """{layer: (mean, std)} per channel for the given layers."""
    return {name: channel_stats(features[name]) for name in layer_names}


def moment_style_loss(features: Mapping, target_stats: Mapping):
    """AdaIN style loss: sum over layers of MSE(means) + MSE(stds) against the style's statistics."""
    total = 0.0
    for name, (t_mean, t_std) in target_stats.items():
        mean, std = channel_stats(features[name])
        total = total + mse(mean, t_mean) + mse(std, t_std)
    return total


def identity_loss(images, content_images, features: Mapping, content_features: Mapping, pixel_weight: float):
    """How far a decoder's output for a content used as its own style is from that content: pixel MSE
    on a 0-1 scale times `pixel_weight`, plus the mean feature MSE over the given layers (SANet's
    identity loss, Park & Lee 2019). It teaches sharp reconstruction directly."""
    pixels = mse(ops.cast(images, "float32") / 255.0, ops.cast(content_images, "float32") / 255.0)
    feats = sum(mse(features[k], content_features[k]) for k in content_features) / len(content_features)
    return pixel_weight * pixels + feats


def shift_consistency_loss(whole, moved, shift, margin: int):
    """How differently a decoder paints one place when its input moves by less than the encoder's stride:
    pixel MSE (0-1 scale) of `whole`, the output for a crop, and `moved`, the output for the crop's window
    at `shift` = (dy, dx) px (N x h x w x 3, h and w smaller than whole's by at least the shift), where
    both show the same place, `margin` px in from `moved`'s edges (what lies beyond an edge may differ).
    A shift-equivariant decoder scores 0 (compound regularisation, Wang et al. 2020)."""
    n, h, w, c = ops.shape(moved)
    size = (n, h - 2 * margin, w - 2 * margin, c)
    same = ops.slice(whole, (0, shift[0] + margin, shift[1] + margin, 0), size)
    return mse(same, moved[:, margin:h - margin, margin:w - margin]) / 255.0 ** 2  # float32 before the scale


def gram_matrix(features):
    """(N,H,W,C) -> (N,C,C) Gram matrix normalised by the number of positions."""
    features = ops.cast(features, "float32")
    n, h, w, c = ops.shape(features)
    flat = ops.reshape(features, (n, h * w, c))
    return ops.matmul(ops.transpose(flat, (0, 2, 1)), flat) / ops.cast(h * w, "float32")


def gram_style_loss(features: Mapping, target_grams: Mapping, layer_weights: Mapping | None = None):
    """Gatys style loss: weighted sum of MSE between Gram matrices, each divided by C^2-scale."""
    total = 0.0
    for name, target in target_grams.items():
        weight = 1.0 if layer_weights is None else layer_weights[name]
        total = total + weight * mse(gram_matrix(features[name]), target)
    return total


def total_variation(images):
    """Mean absolute difference between neighbouring pixels (NHWC): smooths high-frequency noise."""
    images = ops.cast(images, "float32")
    dh = ops.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    dw = ops.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    return ops.mean(dh) + ops.mean(dw)
