"""AdaIN op, style mixing, masks, alpha, colour preservation and the Stylizer API."""

import numpy as np
import pytest
from keras import ops
from PIL import Image

from adain import color
from adain.adain_op import adain, channel_stats
from adain.decoder import Decoder, load_decoder, save_decoder
from adain.stylizer import Stylizer
from adain.vgg_spec import level_stride


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_adain_gives_style_statistics():
    rng = np.random.default_rng(0)
    content = rng.normal(3.0, 2.0, (2, 8, 8, 16)).astype(np.float32)
    style = rng.gamma(2.0, 1.5, (2, 6, 10, 16)).astype(np.float32)
    s_mean, s_std = channel_stats(style)
    out = np_(adain(content, s_mean, s_std))
    np.testing.assert_allclose(out.mean(axis=(1, 2)), np_(s_mean)[:, 0, 0], atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), np_(s_std)[:, 0, 0], rtol=1e-3)


def test_masked_channel_stats_only_see_the_region():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[:, :, :2] = 10.0
    mask = np.zeros((1, 4, 4, 1), np.float32)
    mask[:, :, :2] = 1.0
    mean, std = channel_stats(x, mask=mask)
    assert abs(float(np_(mean).ravel()[0]) - 10.0) < 1e-3 and float(np_(std).ravel()[0]) < 0.01


@pytest.fixture(params=["tiny_stylizer", "tiny_multilevel_stylizer"])
def stylizer(request):
    """Each test below runs on the paper's decoder and on a multi-level one (AdaIN at every level)."""
    return request.getfixturevalue(request.param)


def by_level(features: dict) -> dict:
    return {k: np_(v) for k, v in features.items()}


def test_alpha_zero_reproduces_content_features(stylizer, content_arr, style_arr):
    t0 = by_level(stylizer.target_features(content_arr, [style_arr], alpha=0.0))
    t1 = by_level(stylizer.target_features(content_arr, [style_arr], alpha=1.0))
    half = by_level(stylizer.target_features(content_arr, [style_arr], alpha=0.5))
    fc, fs = by_level(stylizer.encode(content_arr)), stylizer.encode(style_arr)
    assert sorted(t0) == sorted(stylizer.levels)
    for level in stylizer.levels:
        np.testing.assert_allclose(t0[level], fc[level], rtol=1e-5, atol=1e-5)
        s_mean, s_std = (np_(v).ravel() for v in channel_stats(fs[level]))
        np.testing.assert_allclose(t1[level][0].mean(axis=(0, 1)), s_mean, atol=1e-3 * s_mean.max())
        np.testing.assert_allclose(half[level], 0.5 * (t0[level] + t1[level]), rtol=1e-4, atol=1e-4)


def test_style_weights_interpolate(stylizer, content_arr, style_arr):
    other = content_arr[::-1].copy()  # a second "style": the content upside down
    only_a = by_level(stylizer.target_features(content_arr, [style_arr, other], mix=[1.0, 0.0]))
    single = by_level(stylizer.target_features(content_arr, [style_arr]))
    only_b = by_level(stylizer.target_features(content_arr, [style_arr, other], mix=[0.0, 1.0]))
    mixed = by_level(stylizer.target_features(content_arr, [style_arr, other], mix=[0.25, 0.75]))
    for level in stylizer.levels:
        np.testing.assert_allclose(only_a[level], single[level], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(mixed[level], 0.25 * only_a[level] + 0.75 * only_b[level], rtol=1e-4, atol=1e-4)


def test_masks_give_each_region_its_style(stylizer, content_arr, style_arr):
    h, w = content_arr.shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1.0
    dark = np.full_like(style_arr, 20.0) + np.random.default_rng(0).uniform(0, 10, style_arr.shape).astype(np.float32)
    t = by_level(stylizer.target_features(content_arr, [style_arr, dark], masks=[left, 1.0 - left]))
    for level in stylizer.levels:
        fw = t[level].shape[2]
        for region, style in ((t[level][0, :, : fw // 2], style_arr), (t[level][0, :, fw // 2:], dark)):
            s_mean = np_(channel_stats(stylizer.encode(style)[level])[0]).ravel()
            np.testing.assert_allclose(region.mean(axis=(0, 1)), s_mean, atol=0.05 * s_mean.max() + 1e-3)


def test_stylize_output_size_and_bounds(tiny_stylizer, fixtures):
    out = tiny_stylizer.stylize(fixtures / "content.png", fixtures / "style.png", max_size=50)
    assert out.mode == "RGB" and max(out.size) == 50
    out = tiny_stylizer.stylize(Image.new("RGB", (37, 21), "red"), fixtures / "style.png", max_size=None)
    assert out.size == (37, 21)  # sizes that are not multiples of 8 are kept exactly


def test_every_image_input_kind_is_one_image(tiny_stylizer, fixtures):
    """One definition of an image input: a bytearray style is one image (it was once read as a list of
    ints), the same as bytes, a path, a PIL image or an array of it."""
    raw = (fixtures / "style.png").read_bytes()
    pil = Image.open(fixtures / "style.png").convert("RGB")
    outs = [np.asarray(tiny_stylizer.stylize(fixtures / "content.png", style, max_size=48), np.int16)
            for style in (raw, bytearray(raw), fixtures / "style.png", str(fixtures / "style.png"), pil, np.asarray(pil))]
    for out in outs[1:]:
        assert np.abs(out - outs[0]).max() == 0


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "1", True])
def test_alpha_out_of_range(tiny_stylizer, fixtures, bad):
    with pytest.raises(ValueError, match="alpha"):
        tiny_stylizer.stylize(fixtures / "content.png", fixtures / "style.png", alpha=bad)


def test_numpy_alpha_is_accepted(tiny_stylizer, fixtures):
    c, s = fixtures / "content.png", fixtures / "style.png"
    out = np.asarray(tiny_stylizer.stylize(c, s, alpha=np.float32(0.5), max_size=32), np.float32)
    assert out.shape == (32, 32, 3)
    assert np.array_equal(out, np.asarray(tiny_stylizer.stylize(c, s, alpha=0.5, max_size=32), np.float32))  # a float's
    assert np.abs(out - np.asarray(tiny_stylizer.stylize(c, s, max_size=32), np.float32)).mean() > 1  # not alpha 1's


def test_bad_mix_options(tiny_stylizer, fixtures):
    c, s = fixtures / "content.png", fixtures / "style.png"
    with pytest.raises(ValueError, match="weights"):
        tiny_stylizer.stylize(c, [s, s], weights=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        tiny_stylizer.stylize(c, [s, s], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="one mask per style"):
        tiny_stylizer.stylize(c, [s, s], masks=[c])
    with pytest.raises(ValueError, match="preserve_color"):
        tiny_stylizer.stylize(c, s, preserve_color="sepia")


def test_luminance_mode_keeps_content_chroma(content_arr, style_arr):
    rng = np.random.default_rng(0)
    stylized = rng.uniform(90, 170, content_arr.shape).astype(np.float32)  # what a decoder might give
    content_in, style_in = color.prepare(content_arr, style_arr, "luminance")
    assert np.allclose(content_in[..., 0], content_in[..., 2]) and np.allclose(style_in[..., 0], style_in[..., 1])
    # the style's luminance is matched to the content's before stylizing
    y_c, y_s = color.rgb_to_yiq(content_arr)[..., 0], style_in[..., 0]
    assert abs(y_s.mean() - y_c.mean()) < 2 and abs(y_s.std() - y_c.std()) < 0.1 * y_c.std() + 2
    out = color.finish(stylized, content_arr, "luminance")
    iq_out, iq_content = color.rgb_to_yiq(out)[..., 1:], color.rgb_to_yiq(content_arr)[..., 1:]
    assert np.median(np.abs(iq_out - iq_content)) < 1.0
    np.testing.assert_allclose(color.rgb_to_yiq(out)[..., 0], color.rgb_to_yiq(stylized)[..., 0], atol=12)


def test_histogram_mode_matches_colour_statistics(content_arr, style_arr):
    rng = np.random.default_rng(0)
    source = rng.multivariate_normal([90, 120, 60], [[80, 30, 0], [30, 60, 10], [0, 10, 40]], (64, 64)).astype(np.float32)
    target = rng.multivariate_normal([150, 110, 140], [[200, -50, 20], [-50, 150, 0], [20, 0, 100]], (64, 64)).astype(np.float32)
    recoloured = color.match_color(source, target)
    np.testing.assert_allclose(recoloured.reshape(-1, 3).mean(0), target.reshape(-1, 3).mean(0), atol=0.01)
    cov = lambda a: np.cov(a.reshape(-1, 3), rowvar=False)  # noqa: E731
    np.testing.assert_allclose(cov(recoloured), cov(target), atol=0.5)
    c_in, s_in = color.prepare(content_arr, style_arr, "histogram")
    np.testing.assert_array_equal(c_in, content_arr)
    np.testing.assert_array_equal(s_in, color.match_color(style_arr, content_arr))


def test_decoder_save_load_round_trip(tmp_path):
    dec = Decoder(width=0.05)
    x = np.random.default_rng(0).normal(size=(1, 4, 5, 512)).astype(np.float32)
    save_decoder(dec, tmp_path / "d.npz", dtype="float32")
    again = load_decoder(tmp_path / "d.npz")
    assert again.width == dec.width
    y1, y2 = np_(dec(x)), np_(again(x))
    assert y1.shape == (1, 32, 40, 3)
    np.testing.assert_array_equal(y1, y2)


def test_missing_decoder_error_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="adain train"):
        Stylizer.load(tmp_path / "nope.npz")


def test_tiled_output_equals_untiled(stylizer, fixtures):
    """Seamless tiling: 64-px tiles with halos give the same image as one pass (no seams), with masks too:
    equal up to float rounding (the untiled decoder's output range times 1e-4; the tiny decoders' outputs
    span tens of thousands)."""
    content = np.asarray(Image.open(fixtures / "content.png").convert("RGB").resize((200, 152)), np.float32)
    style = np.asarray(Image.open(fixtures / "style.png").convert("RGB"), np.float32)
    left = np.zeros((152, 200), np.float32)
    left[:, :85] = 1.0
    for styles, masks in (([style], None), ([style, np.rot90(style).copy()], [left, 1.0 - left])):
        whole = stylizer._render(content, styles, 0.9, masks=masks, tile_size=0)
        tiled = stylizer._render(content, styles, 0.9, masks=masks, tile_size=64)
        assert whole.shape == tiled.shape == (152, 200, 3)
        assert np.abs(whole - tiled).max() <= 1e-4 * np.ptp(whole) + 0.01
    with pytest.raises(ValueError, match="tile_size"):
        stylizer.stylize(content.astype(np.uint8), fixtures / "style.png", tile_size=30)


def test_a_content_painted_with_given_statistics(stylizer, fixtures):
    """`_render(content_stats=...)` normalises the content by the statistics given: its own (from
    `_content_statistics`) give the ordinary picture, whole or in tiles; another photo's give another picture;
    with masks they are refused (each mask has statistics of its own). Those of a region are its features'
    with 32 px of the content around it, not the whole's."""
    content = np.asarray(Image.open(fixtures / "content.png").convert("RGB").resize((200, 152)), np.float32)
    style = np.asarray(Image.open(fixtures / "style.png").convert("RGB"), np.float32)
    own = stylizer._content_statistics(content)
    whole = stylizer._render(content, [style], 0.9, tile_size=0)
    for tile in (0, 64):
        given = stylizer._render(content, [style], 0.9, tile_size=tile, content_stats=own)
        assert np.abs(whole - given).max() <= 1e-4 * np.ptp(whole) + 0.01, tile
    region = np.s_[10:130, 24:184]  # a frame's place on a canvas: measured in the features of it and 32 px around
    window = np.pad(content, ((32, 32), (32, 32), (0, 0)), mode="reflect")[10:130 + 64, 24:184 + 64]
    feats = stylizer.encode(window)
    want = {k: channel_stats(np.asarray(f)[:, 32 // st:-(-(32 + 120) // st), 32 // st:-(-(32 + 160) // st)])
            for k, f in feats.items() for st in [level_stride(k)]}
    got = stylizer._content_statistics(content, region)
    for level, pair in want.items():
        for a, b in zip(got[level], pair):
            np.testing.assert_allclose(np_(a), np_(b), rtol=1e-4, atol=1e-5)
    assert np.abs(np_(got["relu4_1"][1]) - np_(own["relu4_1"][1])).mean() > 0.01 * np.abs(np_(own["relu4_1"][1])).mean()
    other = stylizer._content_statistics(np.ascontiguousarray(content[::-1, :, ::-1]) * 0.5)
    moved = stylizer._render(content, [style], 0.9, tile_size=0, content_stats=other)
    assert np.abs(whole - moved).mean() > 0.2 * np.abs(whole).mean()
    with pytest.raises(ValueError, match="masks"):
        stylizer._render(content, [style], 0.9, masks=[np.ones((152, 200), np.float32)], content_stats=own)


def test_tiles_are_windows_of_one_shape_that_stitch_exactly():
    """Every window has one shape (a runtime compiling per shape compiles once), tiles cover the image
    once, and a map whose reach is within the halo stitches to its whole-image result."""
    from adain.tiling import map_tiles, tiled_map

    x = np.random.default_rng(0).random((200, 136, 3)).astype(np.float32)

    def box(a):  # 5x5 box sum with zero padding: reach 2 px
        p = np.pad(a, ((2, 2), (2, 2), (0, 0)))
        return sum(p[i:i + a.shape[0], j:j + a.shape[1]] for i in range(5) for j in range(5))

    shapes = []
    stitched = tiled_map(lambda a: shapes.append(a.shape) or box(a), x, tile=48, halo=8, align=8)
    np.testing.assert_allclose(stitched, box(x), rtol=1e-6)
    assert len(set(shapes)) == 1 and shapes[0][:2] == (40 + 16, 48 + 16)  # 200 -> 5 tiles of 40, 136 -> 3 of 48
    cover = np.zeros(x.shape[:2], int)
    for (y0, y1, x0, x1), _ in map_tiles(box, x, 48, 8, 8):
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
