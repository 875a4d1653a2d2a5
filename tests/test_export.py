"""TF-Hub export: hub.load, TFSMLayer in Keras 3, hub.KerasLayer in tf_keras, and frame sequences."""

import numpy as np
import pytest
from PIL import Image

tf = pytest.importorskip("tensorflow")
hub = pytest.importorskip("tensorflow_hub")

from adain.cli import main  # noqa: E402
from adain.runtimes.hub import export_tfhub  # noqa: E402
from adain.stylizer import Stylizer  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_stylizer):
    root = tmp_path_factory.mktemp("hub")
    return export_tfhub(tiny_stylizer, root / "plain"), export_tfhub(tiny_stylizer, root / "alpha", alpha_input=True)


def unit(arr):
    return tf.constant(np.asarray(arr, np.float32)[None] / 255.0)


def test_hub_load_matches_stylizer(exported, tiny_stylizer, content_arr, style_arr):
    module = hub.load(str(exported[0]))
    out = module(unit(content_arr), unit(style_arr))[0].numpy()[0]
    expected = np.asarray(tiny_stylizer.stylize(content_arr.astype(np.uint8), style_arr.astype(np.uint8),
                                                max_size=None, style_size=None), np.float32) / 255.0
    assert out.shape == content_arr.shape
    assert np.abs(out - expected).max() < 2.5 / 255  # uint8 rounding of the reference
    with_alpha = hub.load(str(exported[1]))
    zero = with_alpha(unit(content_arr), unit(style_arr), tf.constant(0.0))[0].numpy()[0]
    full = with_alpha(unit(content_arr), unit(style_arr), tf.constant(1.0))[0].numpy()[0]
    np.testing.assert_allclose(full, out, atol=1e-4)
    assert np.abs(zero - out).mean() > 1e-3


def test_serving_default_signature(exported):
    sig = tf.saved_model.load(str(exported[1])).signatures["serving_default"]
    assert set(sig.structured_input_signature[1]) == {"content", "style", "alpha"}
    out = sig(content=tf.zeros([1, 40, 24, 3]), style=tf.ones([1, 32, 32, 3]) * 0.5, alpha=tf.constant(1.0))
    assert out["stylized_image"].shape == (1, 40, 24, 3)


def test_tfsmlayer_in_a_keras3_model_two_sizes(exported):
    import keras

    layer = keras.layers.TFSMLayer(str(exported[0]), call_endpoint="stylize_dict")
    content = keras.Input((None, None, 3), name="content")
    style = keras.Input((None, None, 3), name="style")
    model = keras.Model([content, style], layer({"content": content, "style": style}))
    for h, w in ((32, 48), (56, 40)):
        out = model([np.random.rand(1, h, w, 3).astype("float32"), np.random.rand(1, 32, 32, 3).astype("float32")])
        assert tuple(np.asarray(out).shape) == (1, h, w, 3)


def test_hub_keraslayer_in_tf_keras(exported):
    tf_keras = pytest.importorskip("tf_keras")
    layer = hub.KerasLayer(str(exported[0]), signature="serving_default", signature_outputs_as_dict=True)
    content = tf_keras.Input((None, None, 3), name="content")
    style = tf_keras.Input((None, None, 3), name="style")
    model = tf_keras.Model([content, style], layer({"content": content, "style": style})["stylized_image"])
    for h, w in ((24, 32), (40, 40)):
        out = model([np.random.rand(1, h, w, 3).astype("float32"), np.random.rand(1, 24, 24, 3).astype("float32")])
        assert out.shape == (1, h, w, 3)


def test_from_hub_behind_the_same_api(exported, fixtures, tiny_stylizer):
    """The hub runtime behind Stylizer gives the Keras stylizer's picture for the same arguments (alpha 0.5),
    and a control that differs (content and style swapped, or alpha 1) gives another: an ignored option or
    swapped inputs fail here (it checked only the size before)."""
    from adain import Stylizer

    hub_stylizer = Stylizer.from_hub(exported[1])
    content, style = fixtures / "content.png", fixtures / "style.png"

    def pixels(s, a, b, alpha):
        return np.asarray(s.stylize(a, b, alpha=alpha, max_size=64), np.float32)

    out = pixels(hub_stylizer, content, style, 0.5)
    assert out.shape == (64, 64, 3)
    same = np.abs(out - pixels(tiny_stylizer, content, style, 0.5)).mean()
    assert same < 1.0  # the same networks; measured: well under one level (resampling and rounding)
    assert np.abs(out - pixels(hub_stylizer, style, content, 0.5)).mean() > 10 * max(same, 0.1)
    assert np.abs(out - pixels(hub_stylizer, content, style, 1.0)).mean() > 10 * max(same, 0.1)
    with pytest.raises(ValueError, match="one style"):
        hub_stylizer.stylize(fixtures / "content.png", [fixtures / "style.png"] * 2)


def test_folder_of_frames_encodes_the_style_once(tmp_path, fixtures, tiny_decoder_path, monkeypatch):
    frames = tmp_path / "frames"
    frames.mkdir()
    base = Image.open(fixtures / "content.png").convert("RGB")
    for i in range(3):
        base.rotate(i * 5).save(frames / f"f{i}.png")
    tiny_stylizer = Stylizer.load(tiny_decoder_path, runtime="keras")  # a fresh one: no style cached yet
    calls = []
    original = tiny_stylizer._features  # the encoder network's hook: frames and styles both go through it
    monkeypatch.setattr(tiny_stylizer, "_features", lambda x: calls.append(1) or original(x))
    outs = list(tiny_stylizer.stylize_frames(sorted(frames.iterdir()), fixtures / "style.png", max_size=48, temporal="off"))
    assert len(outs) == 3 and all(o.size == (48, 48) for o in outs)
    assert len(calls) == 4  # three frames + one style encoding (align adds one for the shot's content statistics)
    out_dir = tmp_path / "out"
    assert main(["stylize", str(frames), str(fixtures / "style.png"), "-o", str(out_dir), "--max-size", "32",
                 "--decoder", str(tiny_decoder_path)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["f0.png", "f1.png", "f2.png"]
    gif = tmp_path / "clip.gif"
    base.save(gif, save_all=True, append_images=[base.rotate(10), base.rotate(20)], duration=100)
    assert main(["stylize", str(gif), str(fixtures / "style.png"), "-o", str(tmp_path / "out.gif"), "--max-size", "32",
                 "--decoder", str(tiny_decoder_path)]) == 0
    assert Image.open(tmp_path / "out.gif").n_frames == 3
