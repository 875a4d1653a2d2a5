"""The one image pipeline around every network: inputs decoded, sized and colour-prepared; outputs finished.

Used by every stylizer runtime (`adain.stylizer`), the TF-Hub runner and the classic mode
(`adain.gatys`), so an input means the same thing everywhere (`adain.image_io.ImageLike`) and the
options are checked by the same rules.

Example:

>>> import numpy as np
>>> p = prepare(np.zeros((32, 48, 3), np.uint8), [np.ones((64, 64, 3))], preserve_color="luminance", max_size=24)
>>> p.content.shape, p.styles_in[0].shape
((16, 24, 3), (64, 64, 3))
>>> p.finish(p.content_in).size
(24, 16)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from adain import color
from adain.defaults import MAX_SIZE, STYLE_SIZE
from adain.image_io import ImageLike, fit_size, load_image, to_array, to_pil


@dataclass
class Prepared:
    """One job's arrays (RGB, float32, 0-255) between the decoding and the network.

    content: the content at the working size: what `finish` takes the colours back from.
    content_in, styles_in: what the network sees (luminance only, or the styles recoloured, by mode).
    """

    content: np.ndarray
    content_in: np.ndarray
    styles_in: list[np.ndarray]
    preserve_color: str | None

    def finish(self, output: np.ndarray) -> Image.Image:
        """The network's output (RGB 0-255, not clipped) as the final PIL image, colours restored by mode."""
        return to_pil(color.finish(output, self.content, self.preserve_color))


def image_array(source: ImageLike, max_size: int | None) -> np.ndarray:
    """Decode an image input and size it: RGB float32 0-255 (the networks' scale), long side at most
    `max_size` (None: as is). As an image input again it is `arr / 255` (float inputs are read on 0-1)."""
    img = load_image(source)
    return to_array(img, fit_size(img.size, max_size))


def prepare(content: ImageLike, styles: Sequence[ImageLike], preserve_color: str | None = None,
            max_size: int | None = MAX_SIZE, style_size: int | None = STYLE_SIZE) -> Prepared:
    """Decode, size and colour-prepare a content and its styles (see `Prepared`); no styles: the content only."""
    color.check_mode(preserve_color)
    content_arr = image_array(content, max_size)
    styles_in = [color.prepare_style(image_array(s, style_size), content_arr, preserve_color) for s in styles]
    return Prepared(content_arr, color.prepare_content(content_arr, preserve_color), styles_in, preserve_color)


def check_alpha(alpha) -> None:
    """Style strength must be a real number in [0, 1] (numpy scalars included, NaN and bools not)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")


def check_options(alpha, styles: Sequence, weights, masks, preserve_color) -> list[float]:
    """Validate the stylize options; returns the normalised style weights."""
    check_alpha(alpha)
    color.check_mode(preserve_color)
    if not styles:
        raise ValueError("give at least one style image")
    if masks is not None and len(masks) != len(styles):
        raise ValueError(f"got {len(masks)} masks for {len(styles)} styles: give one mask per style")
    if masks is not None and weights is not None:
        raise ValueError("use either weights (global mix) or masks (regions), not both")
    if weights is None:
        return [1.0 / len(styles)] * len(styles)
    if len(weights) != len(styles):
        raise ValueError(f"got {len(weights)} weights for {len(styles)} styles")
    w = np.asarray(weights, np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative with a positive sum, got {list(weights)}")
    return list(w / w.sum())
