"""The classic optimisation method (Gatys et al. 2016): optimise pixels against Gram + content loss.

Slow but model-free and the quality ceiling: style loss on Gram matrices of relu1_1..relu5_1 of the
normalised VGG19, content loss on relu4_1, a total-variation term; L-BFGS-B (pixels kept in 0-255)
or Adam; optional coarse-to-fine solving so large outputs are reachable on a CPU.
"""

from __future__ import annotations

import threading
from typing import Callable

import keras
import numpy as np
from keras import ops
from PIL import Image

from adain import autodiff, color
from adain.classic_budget import schedule
from adain.defaults import CLASSIC, CLASSIC_INITS, CLASSIC_METHODS
from adain.encoder import build_encoder
from adain.errors import Cancelled
from adain.image_io import ImageLike, fit_size, load_image, to_array, to_pil
from adain.losses import content_loss, gram_matrix, gram_style_loss, total_variation
from adain.pipeline import prepare
from adain.vgg_spec import CONTENT_LAYER, GATYS_STYLE_LAYERS

_ENCODER_CACHE: dict = {}


def _encoder() -> keras.Model:
    """The relu1_1..relu5_1 encoder, built once per process (it is 16 MB of weights)."""
    if "enc" not in _ENCODER_CACHE:
        _ENCODER_CACHE["enc"] = build_encoder(GATYS_STYLE_LAYERS)
    return _ENCODER_CACHE["enc"]


class _Problem:
    """Loss and gradient of one image size: targets fixed, the image a Keras variable."""

    def __init__(self, encoder, content: np.ndarray, style: np.ndarray, init: np.ndarray,
                 weights: tuple[float, float, float], cancel: threading.Event | None = None):
        self.encoder, self.weights, self.cancel = encoder, weights, cancel
        self.content_target = encoder(content[None])[CONTENT_LAYER]
        style_feats = encoder(style[None])
        self.gram_targets = {name: gram_matrix(style_feats[name]) for name in GATYS_STYLE_LAYERS}
        self.image = keras.Variable(init[None].astype(np.float32), name="image")
        self._grad_fn = autodiff.compile_fn(lambda: autodiff.value_and_grad(self._loss, [self.image]))

    def _loss(self):
        feats = self.encoder(self.image)
        lc = content_loss(feats[CONTENT_LAYER], self.content_target)
        ls = gram_style_loss(feats, self.gram_targets) / len(GATYS_STYLE_LAYERS)
        ltv = total_variation(self.image)
        wc, ws, wtv = self.weights
        return wc * lc + ws * ls + wtv * ltv, (lc, ls, ltv)

    def loss_and_grad(self):
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the optimisation was cancelled")
        loss, (lc, ls, ltv), (grad,) = self._grad_fn()
        losses = {"total": float(loss), "content": float(lc), "style": float(ls), "tv": float(ltv)}
        return losses, np.asarray(ops.convert_to_numpy(grad), np.float64)

    def get(self) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(self.image))[0]

    def set(self, arr: np.ndarray) -> None:
        self.image.assign(arr.reshape(self.image.shape).astype(np.float32))


def optimize(
    content: ImageLike,
    style: ImageLike,
    steps: int = CLASSIC.steps,
    size: int | None = CLASSIC.size,
    method: str = CLASSIC.method,
    init: str = CLASSIC.init,
    seed: int = CLASSIC.seed,
    scales: int = CLASSIC.scales,
    content_weight: float = CLASSIC.content_weight,
    style_weight: float = CLASSIC.style_weight,
    tv_weight: float = CLASSIC.tv_weight,
    learning_rate: float = CLASSIC.learning_rate,
    preserve_color: str | None = None,
    callback: Callable[[int, dict, Image.Image], None] | None = None,
    cancel: threading.Event | None = None,
) -> Image.Image:
    """Stylize by optimisation. Returns a PIL RGB image with long side `size` (None: content's size).

    Defaults: `adain.defaults.CLASSIC`. Images are prepared and finished by `adain.pipeline`, as for
    the one-pass stylizers (same inputs, same colour modes).

    Args:
        content: the photo (`adain.image_io.ImageLike`: a path, bytes, a PIL image or an array).
        style: the painting (same kinds).
        steps: total iterations, split evenly over `scales` (coarse to fine: each scale doubles the
            resolution and starts from the previous result, so large images converge in few fine steps).
        size: long side of the output (None: the content's size).
        method: "lbfgs" (scipy L-BFGS-B, pixels bounded to 0-255) or "adam" (learning_rate in 0-255 units).
        init: "content" or "noise" (seeded by `seed`; same inputs and seed give the same image).
        seed: the noise start's seed.
        scales: coarse-to-fine levels, 1 to 4.
        content_weight: weight of the relu4_1 content loss.
        style_weight: weight of the Gram style loss (relu1_1..relu5_1).
        tv_weight: weight of the total-variation smoothness term.
        learning_rate: Adam's step, in 0-255 pixel units.
        preserve_color: None, "luminance" or "histogram" (as `Stylizer.stylize`).
        callback: called as callback(step, losses, image) after every iteration.
        cancel: when this event is set (from another thread), the next loss evaluation raises `Cancelled`,
            so a server can stop a job within one step and free its cores.

    Example: `optimize("photo.jpg", "painting.jpg", steps=100, size=256, scales=2).save("out.png")`.
    """
    if method not in CLASSIC_METHODS:
        raise ValueError(f"method must be one of {CLASSIC_METHODS}, got {method!r}")
    if init not in CLASSIC_INITS:
        raise ValueError(f"init must be one of {CLASSIC_INITS}, got {init!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not isinstance(scales, int) or not 1 <= scales <= 4:
        raise ValueError(f"scales must be an integer in 1..4, got {scales!r}")
    color.check_mode(preserve_color)
    content_img, style_img = load_image(content), load_image(style)
    final = fit_size(content_img.size, size)
    weights = (content_weight, style_weight, tv_weight)
    rng = np.random.default_rng(seed)
    encoder = _encoder()

    image = None
    step = 0
    for dims, n_steps in schedule(final, steps, scales):
        prepared = prepare(content_img.resize(dims, Image.LANCZOS), [style_img], preserve_color, max_size=None,
                           style_size=max(dims))
        c_in, s_in = prepared.content_in, prepared.styles_in[0]
        if image is not None:
            start = to_array(to_pil(image), dims)
        elif init == "content":
            start = c_in
        else:
            start = rng.uniform(0, 255, c_in.shape).astype(np.float32)
        problem = _Problem(encoder, c_in, s_in, start, weights, cancel)

        def report(losses):
            nonlocal step
            step += 1
            if callback is not None:
                callback(step, losses, prepared.finish(problem.get()))

        (_run_lbfgs if method == "lbfgs" else _run_adam)(problem, n_steps, learning_rate, report)
        image = problem.get()
    return prepared.finish(image)


def _run_lbfgs(problem: _Problem, steps: int, _lr: float, report: Callable) -> None:
    from scipy.optimize import Bounds, minimize

    last = {}

    def fun(x):
        problem.set(x)
        losses, grad = problem.loss_and_grad()
        last.update(losses)
        return losses["total"], grad.ravel()

    x0 = problem.get().astype(np.float64).ravel()
    result = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(0.0, 255.0),
                      callback=lambda _x: report(dict(last)), options={"maxiter": steps, "maxcor": 20})
    problem.set(result.x)


def _run_adam(problem: _Problem, steps: int, lr: float, report: Callable) -> None:
    optimizer = keras.optimizers.Adam(float(lr))
    optimizer.build([problem.image])
    for _ in range(steps):
        losses, grad = problem.loss_and_grad()
        optimizer.apply([ops.convert_to_tensor(grad.astype(np.float32))], [problem.image])
        problem.image.assign(ops.clip(problem.image, 0.0, 255.0))
        report(losses)
