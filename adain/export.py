"""TF-Hub interoperability: export the whole one-pass stylizer as a TF2 SavedModel, and use hub modules.

The export follows the Magenta arbitrary-image-stylization convention, so code written for that
module works unchanged:  `hub.load(path)(content, style)[0]`, float32 images in [0, 1] of shape
[N, H, W, 3] (any H, W; one style for the batch). It also has
- `serving_default(content, style[, alpha])` -> {"stylized_image": ...} for TF Serving and
  `hub.KerasLayer(path, signature="serving_default", signature_outputs_as_dict=True)` in tf_keras;
- `stylize_dict({"content": ..., "style": ...[, "alpha": ...]})` -> image, one argument, for
  `keras.layers.TFSMLayer(path, call_endpoint="stylize_dict")` inside a Keras 3 model.
This module is the one place besides `autodiff` that uses `tf.*` directly (it needs TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from adain import color
from adain.image_io import DEFAULT_MAX_SIZE, ImageLike, fit_size, load_image, to_array, to_pil


def export_tfhub(stylizer, out_dir: str | Path, alpha_input: bool = False) -> Path:
    """Write `stylizer` (encoder + AdaIN + decoder + pre/post-processing) as a SavedModel."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("TF-Hub export needs the TensorFlow Keras backend (KERAS_BACKEND=tensorflow)")
    from adain.keras_runtime import KerasStylizer

    if not isinstance(stylizer, KerasStylizer):
        raise TypeError("TF-Hub export needs a Stylizer on the Keras runtime (Stylizer.load(runtime='keras'))")
    image = tf.TensorSpec([None, None, None, 3], tf.float32)
    scalar = tf.TensorSpec([], tf.float32)

    def run(content, style, alpha):
        return tf.clip_by_value(stylizer.graph(content * 255.0, style * 255.0, alpha) / 255.0, 0.0, 1.0)

    module = tf.Module()
    # Track the Keras variables' tf.Variables so they are saved with the functions that read them.
    module.model_variables = [v.value for v in stylizer.encoder.weights + stylizer.decoder.weights]
    if alpha_input:
        module.__call__ = tf.function(lambda c, s, a: [run(c, s, a)], input_signature=[image, image, scalar])
        serve = tf.function(lambda content, style, alpha: {"stylized_image": run(content, style, alpha)},
                            input_signature=[image, image, scalar])
        module.stylize_dict = tf.function(lambda d: run(d["content"], d["style"], d["alpha"]),
                                          input_signature=[{"content": image, "style": image, "alpha": scalar}])
    else:
        module.__call__ = tf.function(lambda c, s: [run(c, s, 1.0)], input_signature=[image, image])
        serve = tf.function(lambda content, style: {"stylized_image": run(content, style, 1.0)},
                            input_signature=[image, image])
        module.stylize_dict = tf.function(lambda d: run(d["content"], d["style"], 1.0),
                                          input_signature=[{"content": image, "style": image}])
    out_dir = Path(out_dir)
    tf.saved_model.save(module, str(out_dir), signatures={"serving_default": serve})
    return out_dir


class HubStylizer:
    """Any module with the Magenta convention (ours or Magenta's, on disk) behind `stylize(...)`."""

    def __init__(self, module, has_alpha: bool):
        self.module = module
        self.has_alpha = has_alpha

    @classmethod
    def load(cls, handle: str | Path) -> "HubStylizer":
        import tensorflow_hub as hub

        module = hub.load(str(handle))
        signature = module.signatures.get("serving_default") if hasattr(module, "signatures") else None
        has_alpha = signature is not None and "alpha" in signature.structured_input_signature[1]
        return cls(module, has_alpha)

    def stylize(self, content: ImageLike, style: ImageLike, alpha: float = 1.0, weights=None,
                preserve_color: str | None = None, masks=None, max_size: int | None = DEFAULT_MAX_SIZE,
                style_size: int | None = 256) -> Image.Image:
        """Same contract as Stylizer.stylize for one style (Magenta modules expect ~256 px styles)."""
        import tensorflow as tf

        if weights is not None or masks is not None or isinstance(style, (list, tuple)):
            raise ValueError("hub modules take one style image: style mixing and masks need the native model")
        from adain.stylizer import check_alpha

        check_alpha(alpha)
        if alpha != 1.0 and not self.has_alpha:
            raise ValueError("this hub module has no alpha input: export it with --alpha-input or use alpha=1")
        color.check_mode(preserve_color)
        content_img, style_img = load_image(content), load_image(style)
        content_arr = to_array(content_img, fit_size(content_img.size, max_size))
        style_arr = to_array(style_img, fit_size(style_img.size, style_size))
        c_in, s_in = color.prepare(content_arr, style_arr, preserve_color)
        args = [tf.constant(c_in[None] / 255.0, tf.float32), tf.constant(s_in[None] / 255.0, tf.float32)]
        if self.has_alpha:
            args.append(tf.constant(float(alpha), tf.float32))
        out = np.asarray(self.module(*args)[0])[0] * 255.0
        return to_pil(color.finish(out, content_arr, preserve_color))
