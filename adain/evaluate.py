"""Score a decoder the way it is trained: content and style loss of its outputs on content/style pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np
from keras import ops

from adain import autodiff
from adain.adain_op import adain
from adain.decoder import decoder_inputs, decoder_levels
from adain.defaults import EVAL_SIZE
from adain.losses import content_loss, identity_loss, moment_style_loss, style_stats
from adain.train.config import IDENTITY_PIXEL_WEIGHT, STYLE_WEIGHT
from adain.vgg_spec import CONTENT_LAYER, STYLE_LAYERS


def adain_losses(encoder: keras.Model, decoder: keras.Model, content, style, style_weight: float = STYLE_WEIGHT):
    """Forward pass of AdaIN training -> (total loss, (content loss, style loss, decoded images)).

    `encoder` must return STYLE_LAYERS (relu1_1..relu4_1); content and style are RGB 0-255 batches
    of the same spatial size (they are encoded in one call).
    """
    return decoder_losses(encoder, decoder, *adain_targets(encoder, content, style), style_weight)


def encode_pairs(encoder: keras.Model, content, style):
    """({layer: content features} for STYLE_LAYERS, the style's statistics): all training needs of the
    frozen encoder's forward pass on the inputs, so they can be computed once and paired again
    (see `rotate`)."""
    n = ops.shape(content)[0]
    feats = encoder(ops.concatenate([content, style], axis=0))
    return {k: v[:n] for k, v in feats.items()}, style_stats({k: v[n:] for k, v in feats.items()}, STYLE_LAYERS)


def rotate(stats: dict, shift: int) -> dict:
    """Style statistics rolled by `shift` along the batch: content i meets style i - shift."""
    return {k: tuple(ops.roll(x, shift, axis=0) for x in v) for k, v in stats.items()}


def targets_of(content_feats: dict, target_stats: dict) -> dict:
    """{layer: AdaIN target} for every layer with both content features and style statistics."""
    return {k: adain(v, *target_stats[k]) for k, v in content_feats.items() if k in target_stats}


def adain_targets(encoder: keras.Model, content, style):
    """({layer: AdaIN target}, style statistics) of content and style batches."""
    content_feats, target_stats = encode_pairs(encoder, content, style)
    return targets_of(content_feats, target_stats), target_stats


def decoder_losses(encoder: keras.Model, decoder: keras.Model, t: dict, target_stats, style_weight: float = STYLE_WEIGHT,
                   identity: tuple | None = None, forward=None):
    """(total loss, (content loss, style loss, decoded images)) of the decoder's output for targets t
    (keyed by layer; a single-level decoder reads relu4_1 only).

    forward: what runs the decoder, when not the decoder itself (its DistributedDataParallel wrapper).

    identity: (images, {layer: their features}) when the last len(images) pairs of the batch are a
    content with itself as the style: the total then includes `losses.identity_loss` of those outputs.
    """
    out = (forward or decoder)(decoder_inputs(decoder, t))
    feats = encoder(out)
    lc, ls = _feature_losses(feats, t, target_stats)
    total = lc + style_weight * ls
    if identity is not None:
        images, image_feats = identity
        k = ops.shape(images)[0]
        total = total + identity_loss(out[-k:], images, {n: feats[n][-k:] for n in image_feats}, image_feats,
                                      IDENTITY_PIXEL_WEIGHT)
    return total, (lc, ls, out)


def image_losses(encoder: keras.Model, images, t: dict, target_stats):
    """(content loss, style loss) of `images` against AdaIN targets: how the decoder is judged."""
    return _feature_losses(encoder(images), t, target_stats)


def _feature_losses(feats: dict, t: dict, target_stats):
    return content_loss(feats[CONTENT_LAYER], t[CONTENT_LAYER]), moment_style_loss(feats, target_stats)


@dataclass
class PairScore:
    """Content and style loss of one stylized pair."""

    content_loss: float
    style_loss: float


def evaluate_grid(encoder: keras.Model, decoder: keras.Model, contents: np.ndarray, styles: np.ndarray,
                  style_weight: float = STYLE_WEIGHT) -> tuple[list[PairScore], np.ndarray]:
    """Losses on every content x style pairing (N x M pairs, each input encoded once), one score per
    style (the mean over the contents), and the outputs of the aligned pairs (content i, style i).

    All pairings average over far more combinations than the aligned ones: the validation curve is
    much less noisy for about 4x the cost of the aligned pairs alone.
    """
    with autodiff.no_grad():
        levels = decoder_levels(decoder)
        content_feats = {k: v for k, v in encoder(contents).items() if k in levels}
        stats = style_stats(encoder(styles), STYLE_LAYERS)
        scores, outputs = [], []
        for j in range(len(styles)):
            stats_j = {k: (m[j:j + 1], s[j:j + 1]) for k, (m, s) in stats.items()}
            _, (lc, ls, out) = decoder_losses(encoder, decoder, targets_of(content_feats, stats_j), stats_j, style_weight)
            scores.append(PairScore(float(lc), float(ls)))
            if j < len(contents):
                outputs.append(np.asarray(ops.convert_to_numpy(out[j])))
    return scores, np.stack(outputs)


def summarize(scores: Sequence[PairScore], style_weight: float = STYLE_WEIGHT) -> dict[str, float]:
    """Mean content and style loss, and their total content + style_weight · style (the paper's λ)."""
    lc = float(np.mean([s.content_loss for s in scores]))
    ls = float(np.mean([s.style_loss for s in scores]))
    return {"content_loss": lc, "style_loss": ls, "total_loss": lc + style_weight * ls}


def score_files(pairs: Sequence[str], decoder_path=None, size: int = EVAL_SIZE, runtime: str | None = "keras") -> list[dict]:
    """Scores for `CONTENT:STYLE` path pairs: losses of what a user gets (the stylizer's 8-bit output,
    on the given runtime) against the float AdaIN targets, and two baselines (the content image
    itself as output, for style loss; the style image as output, for content loss).

    Args:
        pairs: "content.jpg:style.jpg" strings.
        decoder_path: a decoder .npz; None for the shipped one.
        size: both images are centre-cropped to size x size.
        runtime: the stylizer's runtime (`adain.stylizer.RUNTIMES`); None: `fastest_runtime()`.

    Example: `score_files(["photo.jpg:painting.jpg"], runtime="onnx-int8")[0]["style_loss"]`.
    """
    from adain.data import center_crop
    from adain.encoder import build_encoder
    from adain.image_io import load_image
    from adain.stylizer import Stylizer

    encoder = build_encoder(STYLE_LAYERS)
    stylizer = Stylizer.load(decoder_path, runtime=runtime)
    rows = []
    for pair in pairs:
        if ":" not in pair:
            raise ValueError(f"pair {pair!r} must be CONTENT:STYLE")
        c_path, s_path = pair.rsplit(":", 1)
        c = center_crop(load_image(c_path), size)[None]
        s = center_crop(load_image(s_path), size)[None]
        t, stats = adain_targets(encoder, c, s)
        out = stylizer.stylize(c[0].astype(np.uint8), s[0].astype(np.uint8), max_size=None, style_size=None)
        lc, ls = image_losses(encoder, np.asarray(out, np.float32)[None], t, stats)
        _, ls_content = image_losses(encoder, c, t, stats)
        lc_style, _ = image_losses(encoder, s, t, stats)
        rows.append({"pair": pair, "content_loss": float(lc), "style_loss": float(ls),
                     "style_image_content_loss": float(lc_style), "content_image_style_loss": float(ls_content)})
    return rows


def evaluate_files(pairs: Sequence[str], decoder_path=None, size: int = EVAL_SIZE, runtime: str | None = "keras") -> list[str]:
    """Report lines of `score_files` (same arguments), one per pair and a mean: what `adain evaluate` prints.

    Example: `print("\n".join(evaluate_files(["photo.jpg:painting.jpg"])))`.
    """
    rows = score_files(pairs, decoder_path, size, runtime)
    lines = [f"{r['pair']}: content_loss {r['content_loss']:.3f} (style image: {r['style_image_content_loss']:.3f})  "
             f"style_loss {r['style_loss']:.3f} (content image: {r['content_image_style_loss']:.3f})" for r in rows]
    summary = summarize([PairScore(r["content_loss"], r["style_loss"]) for r in rows])
    lines.append("mean: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items()))
    return lines
