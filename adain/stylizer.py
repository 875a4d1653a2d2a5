"""`Stylizer`: the contract every runtime meets (`Stylizer.load` hands over to `adain.runtimes.choice`,
which picks and loads one).

A runtime is a subclass with two hooks: `_encode_style` (a prepared style array -> whatever the
runtime keeps of a style) and `_render` (a prepared content and encoded styles -> the network's image).
Everything around them (decoding, sizing, colour preservation, option checks, frame sequences) is
written once, here and in `adain.pipeline`. The runtimes, each in one module with its export:

- "keras", "onnx", "onnx-int8": the AdaIN networks (`adain.adain_stylizer.AdainStylizer`) run by Keras
  (`adain.runtimes.keras`) or ONNX Runtime (`adain.runtimes.onnx`; no TensorFlow with the shipped weights);
- a TF-Hub module of the Magenta convention (`adain.runtimes.hub`, `Stylizer.from_hub`): one style only.

Runtimes are named here as data and imported on use, so this module imports none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from adain.defaults import ALPHA, MAX_SIZE, STYLE_SIZE
from adain.image_io import ImageLike, is_image, load_image
from adain.pipeline import check_options, image_array, prepare
from adain.temporal import TEMPORAL, FlowBlend, GridAlign, Painter, temporal_filter
# RUNTIMES and fastest_runtime are imported from here too (their first home): adain.cli, the demo, users
from adain.runtimes.choice import RUNTIMES, fastest_runtime, load_hub, load_stylizer  # noqa: F401


@dataclass(frozen=True)
class EncodedStyle:
    """A style as one stylizer encodes it (`Stylizer.encode_style`): a few KB of statistics that
    `stylize` takes in place of the style image, so a style used for many images (a dataset, a server's
    gallery) is decoded and encoded once. Picklable (numpy arrays), so it can travel to other processes
    running the same runtime (and decoder: its levels are the statistics' layers).

    Attributes:
        owner: the runtime class of the stylizer that encoded it (another runtime refuses it).
        style_size: the long side the style was encoded at.
        data: the runtime's encoding.
    """

    owner: str
    style_size: int | None
    data: Any


def _numpy_tree(x):
    """`x` with every tensor leaf (dict values, tuple and list items) as a numpy array: picklable."""
    if isinstance(x, dict):
        return {k: _numpy_tree(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_numpy_tree(v) for v in x)
    return np.asarray(x)


class Stylizer(ABC):
    """Arbitrary style transfer in one forward pass: what every runtime offers.

    Get one with `Stylizer.load()` (the shipped AdaIN weights) or `Stylizer.from_hub(path)`; the
    constructors of the runtimes' subclasses are not public. A stylizer holds its model loaded:
    make one and reuse it (loading takes 0.3-3 s, a 512-px stylization well under a second).

    Attributes:
        mixes_styles: True when it takes several styles (weights, masks) and tiles large images; the
            TF-Hub runtime takes one style at a time.

    Examples:

    ```python
    from adain import Stylizer

    s = Stylizer.load()  # shipped weights, fastest installed runtime, no download
    s.stylize("photo.jpg", "painting.jpg", alpha=0.8).save("out.png")
    s.stylize("photo.jpg", ["a.jpg", "b.jpg"], weights=[0.3, 0.7], preserve_color="luminance")
    ```
    """

    mixes_styles: ClassVar[bool] = True  # several styles (weights, masks) and tiling; False: one style only

    @classmethod
    def load(cls, decoder: str | Path | None = None, encoder_weights: str | Path = "shipped",
             runtime: str | None = None) -> Stylizer:
        """Load the shipped decoder (weights/decoder.npz) or the one at `decoder`; no download.

        Args:
            decoder: a decoder .npz (from `adain train`); None for the shipped one.
            encoder_weights: "shipped" (no download), "imagenet" or an npz path (Keras runtime).
            runtime: "keras" (any Keras backend), "onnx" (the same float graphs in ONNX Runtime,
                faster on CPU), "onnx-int8" (also an int8 VGG encoder; with the shipped decoder it
                imports neither TensorFlow nor Keras) or "openvino" (the onnx-int8 graphs on OpenVINO:
                int8 and bf16 on the CPU's matrix units); None: `fastest_runtime()`, the best one
                installed, as the command line and the demo choose (a core install has it); where its
                import fails on this machine, the next of FALLBACKS, with a warning naming why. A runtime
                named here that cannot be imported raises `RuntimeUnavailable`.

        Example: `Stylizer.load("runs/mine/best_decoder.npz", runtime="onnx")`.
        """
        return load_stylizer(decoder, encoder_weights, runtime)

    @staticmethod
    def from_hub(handle: str | Path) -> Stylizer:
        """A stylizer backed by a TF-Hub module with the Magenta convention, such as one written by
        `adain export`. It takes one style at a time (no mixing, masks or tiling). Needs
        `pip install 'adain[hub]'`.

        Args:
            handle: a folder on disk holding the SavedModel (nothing is downloaded).

        Returns:
            A `Stylizer` whose `stylize` calls the module.

        Example:

        ```python
        from adain import Stylizer

        # after `adain export hub/ --format tfhub` (or with Magenta's own module, downloaded once)
        Stylizer.from_hub("hub/").stylize("photo.jpg", "painting.jpg").save("out.png")
        ```
        """
        return load_hub(handle)

    # ---- a runtime's two hooks --------------------------------------------------------------
    @abstractmethod
    def _encode_style(self, style: np.ndarray) -> Any:
        """What the runtime keeps of a prepared style (RGB 0-255 array): reused for many images."""

    @abstractmethod
    def _render(self, content: np.ndarray, styles: list, alpha: float, mix: Sequence[float] | None = None,
                masks: Sequence[ImageLike] | None = None, tile_size: int | None = None,
                content_stats: Any = None) -> np.ndarray:
        """The network's image (RGB 0-255, not clipped) of a prepared content, at its size, for styles
        from `_encode_style`; with `content_stats` (from `_content_statistics`) normalised as that content."""

    def _content_statistics(self, content: np.ndarray, region: tuple[slice, slice] | None = None) -> Any:
        """What `_render` takes as `content_stats` for a prepared content, or for its `region` (rows, columns: a
        video frame's place on a larger canvas), so that the frames of a shot can share one frame's
        (`adain.temporal.GridAlign`); None where the runtime paints every input by its own."""
        return None

    def _render_measured(self, content: np.ndarray, styles: list, alpha: float,
                         region: tuple[slice, slice]) -> tuple[np.ndarray, Any]:
        """`_render` of a prepared content normalised by the statistics of its `region`, and those statistics
        (`_content_statistics`): a video's frame where its shot's are measured."""
        stats = self._content_statistics(content, region)
        return self._render(content, styles, alpha, content_stats=stats), stats

    # ---- the API ------------------------------------------------------------------------------
    def stylize(
        self,
        content: ImageLike,
        style: ImageLike | Sequence[ImageLike],
        alpha: float = ALPHA,
        weights: Sequence[float] | None = None,
        preserve_color: str | None = None,
        masks: Sequence[ImageLike] | None = None,
        max_size: int | None = MAX_SIZE,
        style_size: int | None = STYLE_SIZE,
        tile_size: int | None = None,
    ) -> Image.Image:
        """Paint `content` in the style of `style` (one image, or several mixed by `weights` or `masks`).

        Args:
            content: the photo: a path, bytes, a PIL image or an HxWx3 array (uint8, or float in [0, 1]).
            style: one style image (same kinds), or a list of them.
            alpha: 0 gives back the content, 1 full style (feature interpolation, as in the paper).
            weights: non-negative mixing weights of several styles (normalised to sum to 1).
            preserve_color: None, "luminance" (transfer luminance only) or "histogram" (recolour the
                style to the content's colour statistics first).
            masks: one mask per style (images or HxW arrays, white = this style); each region of the
                content gets its own style. Overlapping masks blend; pixels no mask covers keep content.
            max_size: bound on the long side of the output (None: the content's size).
            style_size: long side the styles are encoded at (None: their own size). Magenta's own
                TF-Hub module was trained on 256-px styles.
            tile_size: work in tiles of this many pixels (a multiple of 8); None tiles automatically
                above AUTO_TILE_PIXELS, 0 never. Tiles overlap by more than the receptive field, so
                the result is the same as untiled, without seams.

        Returns:
            An RGB PIL image of the content's size, bounded by max_size.

        Example: `Stylizer.load().stylize("photo.jpg", "painting.jpg", max_size=512).save("out.png")`.
        """
        styles = [style] if is_image(style) or isinstance(style, EncodedStyle) else list(style)
        mix = check_options(alpha, styles, weights, masks, preserve_color)
        if not self.mixes_styles and (len(styles) > 1 or masks is not None or tile_size):
            raise ValueError(f"{type(self).__name__} takes one style image: style mixing, masks and tiling "
                             "need the AdaIN runtimes (Stylizer.load)")
        encoded = [s for s in styles if isinstance(s, EncodedStyle)]
        if encoded and preserve_color:
            raise ValueError("an encoded style cannot keep the photo's colours (preserve_color recolours the style "
                             "after each photo): pass the style image")
        for e in encoded:
            if e.owner != self._owner:
                raise ValueError(f"this style was encoded by {e.owner}, not by this stylizer ({self._owner})")
        p = prepare(content, [s for s in styles if not isinstance(s, EncodedStyle)], preserve_color, max_size, style_size)
        fresh = iter(p.styles_in)
        stats = [s.data if isinstance(s, EncodedStyle) else self._encode_style(next(fresh)) for s in styles]
        return p.finish(self._render(p.content_in, stats, alpha, mix, masks, tile_size))

    @property
    def _owner(self) -> str:
        """Who encoded a style (`EncodedStyle.owner`): the runtime's class."""
        return type(self).__name__

    def encode_style(self, style: ImageLike, style_size: int | None = STYLE_SIZE) -> EncodedStyle:
        """Encode a style once for many `stylize` calls with this stylizer (or another process's
        stylizer of the same runtime and decoder): a dataset, a server's gallery of paintings.

        Args:
            style: the style image (the kinds `stylize` takes).
            style_size: the long side it is encoded at (None: its own), as in `stylize`.

        Returns:
            An `EncodedStyle`, which `stylize` takes where it takes a style image (without
            preserve_color, which remakes the style after each photo).

        Example:

        ```python
        s = Stylizer.load()
        starry = s.encode_style("starry_night.jpg")
        for photo in ("a.jpg", "b.jpg"):
            s.stylize(photo, starry).save(f"out-{photo}")
        ```
        """
        return EncodedStyle(self._owner, style_size, _numpy_tree(self._encode_style(image_array(style, style_size))))

    def stylize_frames(self, frames: Iterable[ImageLike], style: ImageLike, alpha: float = ALPHA,
                       preserve_color: str | None = None, max_size: int | None = MAX_SIZE,
                       style_size: int | None = STYLE_SIZE, temporal: str = TEMPORAL) -> Iterator[Image.Image]:
        """Stylize a sequence (video frames) with the style encoded once. With preserve_color, the
        colour matching is computed on the first frame and reused, so colours stay steady.

        Args:
            frames: the frames, each of the kinds `stylize` takes as content; read one at a time.
            style: one style image.
            alpha: as in `stylize`.
            preserve_color: as in `stylize`; the colour matching is computed on the first frame.
            max_size: as in `stylize`.
            style_size: as in `stylize`.
            temporal: "align" (the default) follows the camera's motion so that the scene stays on the
                encoder's grid, normalises a shot by one frame's statistics and holds still regions still
                (`adain.temporal.GridAlign`: on a pan, 0.005x per-frame's flicker at 0.89x its speed; on a
                zoom, painted on a ladder of canvases, 0.46x at 0.82x); "flow" blends along optical flow, softer strokes
                (`pip install 'adain[video]'`); "off" stylizes every frame on its own.

        Returns:
            An iterator of one RGB PIL image per frame, in order. The options are checked and the style
            decoded by this call, before any frame is read.

        Example:

        ```python
        s = Stylizer.load()
        for i, im in enumerate(s.stylize_frames(sorted(Path("frames").glob("*.png")), "painting.jpg")):
            im.save(f"out/{i:05d}.png")
        ```
        """
        check_options(alpha, [style], None, None, preserve_color)  # here, not at the first frame
        steady = temporal_filter(temporal)
        style_img = load_image(style)  # decoded once, prepared and encoded with the first frame
        return self._stylized_frames(frames, style_img, alpha, preserve_color, max_size, style_size, steady)

    def _stylized_frames(self, frames: Iterable[ImageLike], style_img: Image.Image, alpha: float,
                         preserve_color: str | None, max_size: int | None, style_size: int | None,
                         steady: GridAlign | FlowBlend | None) -> Iterator[Image.Image]:
        """`stylize_frames`' frames, once its checks have passed."""
        encoded = None

        def render(content: np.ndarray, content_stats: Any = None) -> np.ndarray:
            return self._render(content, [encoded], alpha, content_stats=content_stats)

        def render_measured(content: np.ndarray, region: tuple[slice, slice]) -> tuple[np.ndarray, Any]:
            return self._render_measured(content, [encoded], alpha, region)

        painter = Painter(render, self._content_statistics, render_measured)
        for frame in frames:
            p = prepare(frame, [style_img] if encoded is None else [], preserve_color, max_size, style_size)
            if encoded is None:
                encoded = self._encode_style(p.styles_in[0])
            yield p.finish(render(p.content_in) if steady is None else steady(p.content_in, painter))
