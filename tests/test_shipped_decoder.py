"""Regression test of the shipped decoder on two committed images it never saw in training (a NASA photo and
Turner's The Shipwreck: the one demo painting not among the training styles)."""

from pathlib import Path

import pytest

from adain.data import center_crop
from adain.decoder import load_decoder
from adain.encoder import build_encoder
from adain.evaluate import adain_losses, adain_targets, image_losses
from adain.image_io import load_image
from adain.resources import SHIPPED_DECODER
from adain.vgg_spec import STYLE_LAYERS

EXAMPLES = Path(__file__).resolve().parent.parent / "demo" / "examples"


@pytest.mark.skipif(not SHIPPED_DECODER.exists(), reason="no decoder shipped yet")
def test_output_is_closer_to_the_style_than_the_content_and_to_the_content_than_the_style():
    encoder = build_encoder(STYLE_LAYERS)
    decoder = load_decoder(SHIPPED_DECODER)
    c = center_crop(load_image(EXAMPLES / "content" / "1_astronaut.jpg"), 256)[None]
    s = center_crop(load_image(EXAMPLES / "styles" / "6_shipwreck.jpg"), 256)[None]
    _, (content_loss, style_loss, _) = adain_losses(encoder, decoder, c, s, 10.0)
    t, stats = adain_targets(encoder, c, s)
    _, style_loss_of_content = image_losses(encoder, c, t, stats)
    content_loss_of_style, _ = image_losses(encoder, s, t, stats)
    # Thresholds of the shipped decoder with a margin; tighten them when a better one ships (measured: step
    # 1600 style 0.70x the content image's, content 0.79x the style image's; step 2480: 0.62x, 0.75x;
    # step 2900: 0.58x, 0.70x; step 3400: 0.47x, 0.69x; step 3950: 0.40x, 0.70x; step 4200: 0.44x, 0.71x;
    # the multi-level v2 at its step 600: 0.38x, 0.49x; at step 1200: 0.28x, 0.47x; all these with a procedural
    # "waves" style. With Turner's The Shipwreck from decoder v3 on: v2 0.048x, 0.42x; v3 (step 923, more style
    # and no identity pairs) 0.035x, 0.57x; v3 at step 5,800, after the GPU run: 0.025x, 0.54x; step 8,400:
    # 0.023x, 0.53x).
    assert float(style_loss) < 0.035 * float(style_loss_of_content)
    assert float(content_loss) < 0.60 * float(content_loss_of_style)


def test_the_default_runtime_paints_what_keras_paints_with_the_shipped_weights():
    """What `Stylizer.load()` gives a user (the fastest installed runtime: int8 graphs) against the Keras
    model of the same weights, within the int8 bound the runtimes share (tests/test_onnx_runtime.py)."""
    import numpy as np

    from adain import Stylizer
    from adain.stylizer import fastest_runtime

    content, style = EXAMPLES / "content" / "3_chelsea.jpg", EXAMPLES / "styles" / "6_shipwreck.jpg"
    default = np.asarray(Stylizer.load().stylize(content, style, max_size=256, alpha=0.8), np.float32)
    keras = np.asarray(Stylizer.load(runtime="keras").stylize(content, style, max_size=256, alpha=0.8), np.float32)
    assert default.shape == keras.shape and keras.std() > 10
    assert np.abs(default - keras).mean() < 8, fastest_runtime()  # measured 1.55 (openvino, AMX Xeon)
    swapped = np.asarray(Stylizer.load(runtime="keras").stylize(style, content, max_size=256, alpha=0.8), np.float32)
    assert swapped.shape != keras.shape or np.abs(swapped - keras).mean() > 8
