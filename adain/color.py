"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Two ways, both on float32 HxWx3 RGB arrays in 0-255:
- "histogram": recolour the style image so its colour mean and covariance match the content's,
  then stylize as usual;
- "luminance": stylize luminance only, then put the content's chroma back.
"""

from __future__ import annotations

import numpy as np

PRESERVE_COLOR_MODES = ("luminance", "histogram")

# RGB <-> YIQ (NTSC), the space Gatys et al. use for luminance-only transfer.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float64)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def check_mode(mode: str | None) -> None:
    """A preserve_color mode must be None or one of PRESERVE_COLOR_MODES."""
    if mode is not None and mode not in PRESERVE_COLOR_MODES:
        raise ValueError(f"preserve_color must be one of {PRESERVE_COLOR_MODES} or None, got {mode!r}")


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """RGB -> YIQ (luminance Y, chroma I and Q), float64."""
    return rgb.astype(np.float64) @ _RGB_TO_YIQ.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    """YIQ -> RGB, float32."""
    return (yiq @ _YIQ_TO_RGB.T).astype(np.float32)


def _sqrtm(cov: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 1e-5, None) ** (-0.5 if inverse else 0.5)
    return (vecs * vals) @ vecs.T


def match_color(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Affinely recolour `source` so its RGB mean and covariance equal `target`'s (eigen/PCA method)."""
    src = source.reshape(-1, 3).astype(np.float64)
    tgt = target.reshape(-1, 3).astype(np.float64)
    mu_s, mu_t = src.mean(0), tgt.mean(0)
    eye = np.eye(3) * 1e-3
    transform = _sqrtm(np.cov(tgt, rowvar=False) + eye) @ _sqrtm(np.cov(src, rowvar=False) + eye, inverse=True)
    out = (src - mu_s) @ transform.T + mu_t
    return np.clip(out, 0, 255).reshape(source.shape).astype(np.float32)


def luminance_image(rgb: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """Grey RGB image of `rgb`'s luminance; with `like`, its mean/std are matched to `like`'s luminance."""
    y = rgb_to_yiq(rgb)[..., 0]
    if like is not None:
        ref = rgb_to_yiq(like)[..., 0]
        y = (y - y.mean()) / (y.std() + 1e-6) * ref.std() + ref.mean()
    return np.repeat(np.clip(y, 0, 255)[..., None], 3, axis=-1).astype(np.float32)


def with_content_chroma(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance of `stylized` with the I and Q chroma of `content` (same size)."""
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylized)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0, 255)


def prepare_content(content: np.ndarray, mode: str | None) -> np.ndarray:
    """The content the network sees for a colour mode."""
    return luminance_image(content) if mode == "luminance" else content


def prepare_style(style: np.ndarray, content: np.ndarray, mode: str | None) -> np.ndarray:
    """A style as the network sees it for a colour mode (recoloured, or made grey, after the content)."""
    if mode == "histogram":
        return match_color(style, content)
    if mode == "luminance":
        return luminance_image(style, like=content)
    return style


def prepare(content: np.ndarray, style: np.ndarray, mode: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The (content, style) pair to stylize for a colour mode (before the network sees them)."""
    return prepare_content(content, mode), prepare_style(style, content, mode)


def finish(output: np.ndarray, content: np.ndarray, mode: str | None) -> np.ndarray:
    """The final image for a colour mode (after the network)."""
    return with_content_chroma(output, content) if mode == "luminance" else output
