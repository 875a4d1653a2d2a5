"""The TF-Hub runtime: export the whole one-pass stylizer as a TF2 SavedModel, and run such modules.

The export follows the Magenta arbitrary-image-stylization convention, so code written for that
module works unchanged:  `hub.load(path)(content, style)[0]`, float32 images in [0, 1] of shape
[N, H, W, 3] (any H, W; one style for the batch). It also has
- `serving_default(content, style[, alpha])` -> {"stylized_image": ...} for TF Serving and
  `hub.KerasLayer(path, signature="serving_default", signature_outputs_as_dict=True)` in tf_keras;
- `stylize_dict({"content": ..., "style": ...[, "alpha": ...]})` -> image, one argument, for
  `keras.layers.TFSMLayer(path, call_endpoint="stylize_dict")` inside a Keras 3 model.
`HubStylizer` runs any module of that convention (ours or Magenta's) behind the `Stylizer` contract.
This module is the one place besides `autodiff` that uses `tf.*` directly (it needs TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from keras import ops

from adain.adain_op import adain, channel_stats
from adain.adain_stylizer import BORDER_PAD
from adain.decoder import decoder_inputs
from adain.stylizer import Stylizer
from adain.vgg_spec import STRIDE


def traced_stylize(stylizer, content, style, alpha=1.0):
    """The AdaIN pipeline of a `KerasStylizer` on NHWC RGB 0-255 tensors, traceable into one graph.

    It is `AdainStylizer._render` in tensor form (border reflection, padding to the stride, AdaIN and
    alpha at every level, crop), with the same constants; `tests/test_export.py` checks that the two
    give the same image.
    """
    h, w = ops.shape(content)[1], ops.shape(content)[2]
    p = ops.minimum(BORDER_PAD, ops.minimum(h, w) - 1)
    padded = ops.pad(content, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")
    ph, pw = (-(h + 2 * p)) % STRIDE, (-(w + 2 * p)) % STRIDE
    padded = ops.pad(padded, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="reflect")
    fc, fs = stylizer.encoder(padded), stylizer.encoder(style)
    t = {k: alpha * adain(fc[k], *channel_stats(fs[k])) + (1.0 - alpha) * fc[k] for k in stylizer.levels}
    return stylizer.decoder(decoder_inputs(stylizer.decoder, t))[:, p:p + h, p:p + w, :]


def export_tfhub(stylizer, out_dir: str | Path, alpha_input: bool = False) -> Path:
    """Write a Keras-runtime stylizer (encoder + AdaIN + decoder + pre/post-processing) as a SavedModel.

    Args:
        stylizer: `Stylizer.load(runtime="keras")` (TensorFlow backend).
        out_dir: the SavedModel folder to write.
        alpha_input: add a scalar style-strength input to every signature.

    Example: `export_tfhub(Stylizer.load(runtime="keras"), "hub/")`, then `Stylizer.from_hub("hub/")`.
    """
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("TF-Hub export needs the TensorFlow Keras backend (KERAS_BACKEND=tensorflow)")
    from adain.runtimes.keras import KerasStylizer

    if not isinstance(stylizer, KerasStylizer):
        raise TypeError("TF-Hub export needs a Stylizer on the Keras runtime (Stylizer.load(runtime='keras'))")
    image = tf.TensorSpec([None, None, None, 3], tf.float32)
    scalar = tf.TensorSpec([], tf.float32)

    def run(content, style, alpha):
        return tf.clip_by_value(traced_stylize(stylizer, content * 255.0, style * 255.0, alpha) / 255.0, 0.0, 1.0)

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


class HubStylizer(Stylizer):
    """Any module with the Magenta convention (ours or Magenta's, on disk) behind the `Stylizer` contract.

    One style at a time (a module takes one style image; mixing and masks need the AdaIN runtimes).

    Args:
        module: the loaded module (`tensorflow_hub.load`).
        has_alpha: whether its signatures take a style strength.

    Example: `Stylizer.from_hub("hub/").stylize("photo.jpg", "painting.jpg", style_size=256)`.
    """

    mixes_styles = False

    def __init__(self, module, has_alpha: bool):
        self.module = module
        self.has_alpha = has_alpha

    @classmethod
    def load(cls, handle: str | Path) -> HubStylizer:
        """The module at `handle` (a folder); whether it takes alpha is read from its serving signature."""
        import tensorflow_hub as hub

        module = hub.load(str(handle))
        signature = module.signatures.get("serving_default") if hasattr(module, "signatures") else None
        has_alpha = signature is not None and "alpha" in signature.structured_input_signature[1]
        return cls(module, has_alpha)

    def _encode_style(self, style: np.ndarray) -> np.ndarray:
        return style  # the module encodes its style on every call

    def _render(self, content: np.ndarray, styles: list, alpha: float, mix=None, masks=None,
                tile_size: int | None = None, content_stats=None) -> np.ndarray:
        import tensorflow as tf

        if content_stats is not None:
            raise ValueError("a hub module normalises every input by its own statistics")
        if alpha != 1.0 and not self.has_alpha:
            raise ValueError("this hub module has no alpha input: export it with --alpha-input or use alpha=1")
        args = [tf.constant(content[None] / 255.0, tf.float32), tf.constant(styles[0][None] / 255.0, tf.float32)]
        if self.has_alpha:
            args.append(tf.constant(float(alpha), tf.float32))
        return np.asarray(self.module(*args)[0])[0] * 255.0
