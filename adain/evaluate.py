"""Score a decoder the way it is trained: content and style loss of its outputs on content/style pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np
from keras import ops

from adain.adain_op import adain
from adain.losses import content_loss, moment_style_loss, style_stats
from adain.vgg_spec import CONTENT_LAYER, STYLE_LAYERS


def adain_losses(encoder: keras.Model, decoder: keras.Model, content, style, style_weight: float):
    """Forward pass of AdaIN training -> (total loss, (content loss, style loss, decoded images)).

    `encoder` must return STYLE_LAYERS (relu1_1..relu4_1); content and style are RGB 0-255 batches
    of the same spatial size (they are encoded in one call).
    """
    n = ops.shape(content)[0]
    feats = encoder(ops.concatenate([content, style], axis=0))
    target_stats = style_stats({k: v[n:] for k, v in feats.items()}, STYLE_LAYERS)
    t = adain(feats[CONTENT_LAYER][:n], *target_stats[CONTENT_LAYER])
    out = decoder(t)
    out_feats = encoder(out)
    lc = content_loss(out_feats[CONTENT_LAYER], t)
    ls = moment_style_loss(out_feats, target_stats)
    return lc + style_weight * ls, (lc, ls, out)


@dataclass
class PairScore:
    content_loss: float
    style_loss: float


def evaluate_pairs(encoder: keras.Model, decoder: keras.Model, contents: np.ndarray, styles: np.ndarray,
                   style_weight: float = 10.0) -> tuple[list[PairScore], np.ndarray]:
    """Per-pair losses and outputs for aligned arrays of content and style crops (N,H,W,3, 0-255)."""
    scores, outputs = [], []
    for c, s in zip(contents, styles):
        _, (lc, ls, out) = adain_losses(encoder, decoder, c[None], s[None], style_weight)
        scores.append(PairScore(float(lc), float(ls)))
        outputs.append(np.asarray(ops.convert_to_numpy(out))[0])
    return scores, np.stack(outputs)


def summarize(scores: Sequence[PairScore], style_weight: float = 10.0) -> dict[str, float]:
    lc = float(np.mean([s.content_loss for s in scores]))
    ls = float(np.mean([s.style_loss for s in scores]))
    return {"content_loss": lc, "style_loss": ls, "total_loss": lc + style_weight * ls}
