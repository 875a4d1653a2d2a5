"""The ONNX Runtime paths give the Keras stylizer's results; exports are cached; styles are encoded once."""

import os

import numpy as np
import pytest
from PIL import Image

from adain.adain_op import channel_stats
from adain.runtimes.onnx import ONE_PASS_IMAGE
from adain.stylizer import Stylizer
from adain.vgg_spec import CONTENT_LAYER

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("adain_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADAIN_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def onnx_stylizer(cache, tiny_decoder_path):
    return Stylizer.load(tiny_decoder_path, runtime="onnx")


def _record_calls(stylizer, names) -> list:
    """The names of `stylizer`'s graphs (attributes `names`), appended in order as each graph is run."""
    calls = []
    for name in names:
        graph = getattr(stylizer, name)
        graph._run = lambda feeds, run=graph._run, name=name: calls.append(name) or run(feeds)
    return calls


def test_onnx_output_equals_keras(onnx_stylizer, tiny_stylizer, content_arr, style_arr):
    """Float32 graphs in ONNX Runtime: the same picture (odd size: padding and cropping included)."""
    content, style = content_arr[:61, :90].astype(np.uint8), style_arr.astype(np.uint8)
    ours = np.asarray(onnx_stylizer.stylize(content, style, alpha=0.8), np.float32)
    ref = np.asarray(tiny_stylizer.stylize(content, style, alpha=0.8), np.float32)
    assert ours.shape == ref.shape == (61, 90, 3)
    assert ref.std() > 10  # a picture, not a flat field
    assert np.abs(ours - ref).max() <= 1.0


def test_multilevel_decoder_on_onnx_equals_keras(monkeypatch, tmp_path, tiny_multilevel_path, tiny_multilevel_stylizer,
                                                 tiny_decoder_path, content_arr, style_arr):
    """A decoder with skip levels: the encoder graph gives every level, the decoder graph takes them."""
    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path))
    stylizer = Stylizer.load(tiny_multilevel_path, runtime="onnx")
    assert stylizer.encoder.outputs == ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    content, style = content_arr[:61, :90].astype(np.uint8), style_arr.astype(np.uint8)
    ours = np.asarray(stylizer.stylize(content, style, alpha=0.8), np.float32)
    ref = np.asarray(tiny_multilevel_stylizer.stylize(content, style, alpha=0.8), np.float32)
    assert ref.std() > 10 and np.abs(ours - ref).max() <= 1.0
    int8 = Stylizer.load(tiny_multilevel_path, runtime="onnx-int8")  # the shipped int8 graph gives every level
    assert int8.encoder.outputs == stylizer.encoder.outputs
    assert np.abs(np.asarray(int8.stylize(content, style, alpha=0.8), np.float32) - ref).mean() < 8
    from adain.runtimes.onnx import OnnxStylizer

    single = Stylizer.load(tiny_decoder_path, runtime="onnx")  # an encoder graph with relu4_1 alone
    with pytest.raises(ValueError, match="quantize_encoder"):
        OnnxStylizer(single.encoder, stylizer.decoder)


def test_export_is_cached(cache, onnx_stylizer, tiny_decoder_path):
    """A second load reuses the exported graphs (same files, not rewritten)."""
    graphs = sorted(cache.glob("onnx/*/*.onnx"))
    assert sorted(g.name for g in graphs) == ["decoder.onnx", "encoder.onnx"]
    mtimes = [g.stat().st_mtime_ns for g in graphs]
    again = Stylizer.load(tiny_decoder_path, runtime="onnx")
    assert again.decoder.path == onnx_stylizer.decoder.path
    assert [g.stat().st_mtime_ns for g in sorted(cache.glob("onnx/*/*.onnx"))] == mtimes


def test_int8_encoder_keeps_style_statistics(cache, tiny_decoder_path, tiny_stylizer, style_arr):
    """The int8 encoder's relu4_1 moments (what AdaIN uses) stay within a few % of the float ones."""
    int8 = Stylizer.load(tiny_decoder_path, runtime="onnx-int8")
    (m8, s8), (m, s) = [[np.asarray(v).ravel() for v in channel_stats(st.encode(style_arr)[CONTENT_LAYER])]
                        for st in (int8, tiny_stylizer)]
    assert np.abs(m8 - m).mean() / np.abs(m).mean() < 0.08
    assert np.abs(s8 - s).mean() / s.mean() < 0.08
    assert np.corrcoef(m8, m)[0, 1] > 0.98


def test_cli_exports_onnx_graphs(tmp_path, tiny_decoder_path, tiny_stylizer, content_arr):
    """`adain export --format onnx`: two graphs that reproduce the Keras encoder and decoder."""
    import onnxruntime as ort

    from adain.cli import main

    assert main(["export", str(tmp_path), "--format", "onnx", "--decoder", str(tiny_decoder_path)]) == 0
    x = content_arr[None, :64, :64]
    enc = ort.InferenceSession(str(tmp_path / "encoder.onnx"))
    feats = enc.run(None, {enc.get_inputs()[0].name: x})[0]
    ref = np.asarray(tiny_stylizer.encode(x)[CONTENT_LAYER])
    assert feats.shape == ref.shape == (1, 8, 8, 512)
    np.testing.assert_allclose(feats, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    dec = ort.InferenceSession(str(tmp_path / "decoder.onnx"))
    image = dec.run(None, {dec.get_inputs()[0].name: feats})[0]
    np.testing.assert_allclose(image, np.asarray(tiny_stylizer.decoder(feats)), atol=0.05)


def test_runtime_is_checked(tiny_decoder_path):
    with pytest.raises(ValueError, match="runtime"):
        Stylizer.load(tiny_decoder_path, runtime="tflite")
    with pytest.raises(ValueError, match="shipped"):
        Stylizer.load(tiny_decoder_path, encoder_weights="imagenet", runtime="onnx-int8")


def test_style_is_encoded_once(tiny_decoder_path, content_arr, style_arr):
    """Repeated calls with the same style (a demo moving the alpha slider) reuse its statistics."""
    stylizer = Stylizer.load(tiny_decoder_path, runtime="keras")
    calls = []
    encode = stylizer._features
    stylizer._features = lambda x: calls.append(x.shape) or encode(x)
    content, style = content_arr.astype(np.uint8), style_arr.astype(np.uint8)
    first = stylizer.stylize(content, style, alpha=1.0)
    second = stylizer.stylize(content, Image.fromarray(style), alpha=1.0)
    assert len(calls) == 3  # content, style, content
    assert np.array_equal(np.asarray(first), np.asarray(second))
    stylizer.stylize(content, style[::-1])  # another style is encoded
    assert len(calls) == 5


def test_shipped_decoder_graph_is_current():
    """weights/decoder.onnx was made from the shipped decoder.npz (else: scripts/export_onnx_graphs.py)."""
    from adain.runtimes.onnx import (
        SHIPPED_DECODER_GRAPH,
        SOURCE_KEY,
        OnnxGraph,
        file_sha1,
    )
    from adain.resources import SHIPPED_DECODER

    assert OnnxGraph(SHIPPED_DECODER_GRAPH).metadata[SOURCE_KEY] == file_sha1(SHIPPED_DECODER)


def test_one_pass_graph_is_the_two_graphs_in_one_call(content_arr, style_arr):
    """The shipped onnx-int8 stylizer runs encoder, AdaIN and decoder as one graph (stylize_int8.onnx, its
    weights read from the two shipped graphs): a cached style costs one graph call, and the picture is
    the two-graph path's (numpy AdaIN between the graphs) within rounding, for two styles mixed and α."""
    from adain.runtimes.onnx import (
        MEASURED_GRAPH,
        ONE_PASS_GRAPH,
        PARTS_KEY,
        SOURCE_KEY,
        STYLE_GRAPH,
        TILE_GRAPH,
        OnnxGraph,
        file_sha1,
        one_pass_parts,
    )
    from adain.resources import SHIPPED_DECODER

    for path in (ONE_PASS_GRAPH, STYLE_GRAPH, TILE_GRAPH, MEASURED_GRAPH):  # else: scripts/export_onnx_graphs.py
        assert OnnxGraph(path).metadata == {PARTS_KEY: one_pass_parts(), SOURCE_KEY: file_sha1(SHIPPED_DECODER)}
    s = Stylizer.load(runtime="onnx-int8")
    assert s.one_pass is not None
    assert "session" not in vars(s.encoder) and "session" not in vars(s.decoder)  # opened when first needed
    content, style = content_arr.astype(np.uint8), style_arr.astype(np.uint8)
    styles, kw = [style, style[::-1, ::-1]], dict(weights=[0.3, 0.7], alpha=0.8, max_size=None)
    s.stylize(content, styles, **kw)  # the styles are now cached
    calls = _record_calls(s, ("encoder", "decoder", "one_pass"))
    one = np.asarray(s.stylize(content, styles, **kw), np.float32)
    assert calls == ["one_pass"]
    s.one_pass = None
    two = np.asarray(s.stylize(content, styles, **kw), np.float32)
    assert calls[1:] == ["encoder", "decoder"] and two.std() > 10
    assert np.abs(one - two).mean() <= 0.1 and np.abs(one - two).max() <= 2


def test_tiles_are_one_call_each_of_the_tile_graph_and_equal_untiled(fixtures):
    """A tiled stylization on onnx-int8: the encoder graph sums the content's statistics tile by tile,
    then each tile is one call of stylize_tile_int8.onnx with them; the picture equals the untiled one."""
    s = Stylizer.load(runtime="onnx-int8")
    assert s.tile_graph is not None
    content = Image.open(fixtures / "content.png").convert("RGB").resize((480, 360))
    style = fixtures / "style.png"
    whole = np.asarray(s.stylize(content, style, max_size=None, tile_size=0), np.float32)
    calls = _record_calls(s, ("encoder", "decoder", "one_pass", "tile_graph"))
    tiled = np.asarray(s.stylize(content, style, max_size=None, tile_size=128), np.float32)
    assert calls == ["encoder"] * 20 + ["tile_graph"] * 20  # (360 + 64) x (480 + 64) in 4 x 5 tiles
    assert whole.std() > 10 and np.abs(whole - tiled).mean() <= 0.05 and np.abs(whole - tiled).max() <= 2


def test_frames_share_one_frames_statistics_through_the_tile_graph(fixtures):
    """`temporal="align"` on onnx-int8: a frame whose content statistics its shot takes is measured and
    painted in one call of the measured graph (without it: a call of the style graph, then the tile graph),
    and the frames painted with them are one tile-graph call each, measured again every REFRESH frames and
    at once on a cut."""
    from adain.temporal import REFRESH

    s = Stylizer.load(runtime="onnx-int8")
    photo = np.asarray(Image.open(fixtures / "content.png").convert("RGB").resize((96, 64)))
    other = np.asarray(Image.open(fixtures / "style.png").convert("RGB").resize((96, 64)))
    frames = [photo] * (REFRESH + 2) + [other]
    calls = _record_calls(s, ("encoder", "decoder", "one_pass", "tile_graph", "style_graph", "measured_graph"))
    for first, measured in ((["style_graph"], ["measured_graph"]), ([], ["style_graph", "tile_graph"])):
        outs = [np.asarray(o, np.float32) for o in s.stylize_frames(frames, fixtures / "style.png", max_size=None)]
        assert calls == first + measured + ["tile_graph"] * (REFRESH - 1) + measured + ["tile_graph"] + measured
        assert outs[0].std() > 10 and all(np.array_equal(out, outs[0]) for out in outs[1:-1])  # one frame, held still
        s.measured_graph, calls[:] = None, []


def test_measured_graph_paints_with_the_statistics_it_gives_of_a_region(content_arr, style_arr):
    """A video frame on its canvas (`_render_measured`) is one call of stylize_measured_int8.onnx: the
    statistics it gives are the style graph's of the same region of the same bordered canvas, and the picture
    is the tile graph's given them, within rounding. (The style graph's measure of a crop around the region,
    the path without it, sees the pools' grid at another phase: relu3_1's means moved up to 10 %.)"""
    from adain.adain_stylizer import _bordered, _pad_to_stride

    s = Stylizer.load(runtime="onnx-int8")
    content = content_arr.astype(np.float32)
    h, w = content.shape[:2]
    canvas, region = np.pad(content, ((6, 2), (2, 6), (0, 0)), mode="reflect"), np.s_[6:6 + h, 2:2 + w]
    style = s._encode_style(style_arr.astype(np.float32))
    calls = _record_calls(s, ("style_graph", "tile_graph", "measured_graph", "one_pass"))
    out, stats = s._render_measured(canvas, [style], 0.8, region)
    assert calls == ["measured_graph"]
    padded, p = _bordered(canvas)
    want = s._style_graph(_pad_to_stride(padded[None]), (6 + p, 2 + p, 6 + h + p, 2 + w + p))
    for level in s.levels:
        for ours, theirs in zip(stats[level], want[level]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    painted = s._render(canvas, [style], 0.8, content_stats=stats)
    assert out.std() > 10 and np.abs(out - painted).mean() <= 0.05 and np.abs(out - painted).max() <= 2
    s.measured_graph, calls[:] = None, []
    s._render_measured(canvas, [style], 0.8, region)
    assert calls == ["style_graph", "tile_graph"]  # measured, then painted


def test_style_graph_gives_numpys_statistics_in_one_call(content_arr, style_arr):
    """A new style is one call of style_int8.onnx (the int8 encoder with the per-channel statistics as its
    outputs): equal to the encoder graph's features reduced in numpy, and a stylization with a new style
    is two graph calls, no feature map copied out. Given a region (a video frame's place on a larger canvas)
    it measures the features whose pixels start inside it, as numpy does; the whole image's differ."""
    from adain.adain_op import channel_stats
    from adain.adain_stylizer import _pad_to_stride
    from adain.vgg_spec import level_stride

    s = Stylizer.load(runtime="onnx-int8")
    assert s.style_graph is not None
    image = _pad_to_stride(style_arr.astype(np.float32)[None])
    features = s._features(image)
    box = (5, 11, image.shape[1] - 7, image.shape[2] - 21)  # top, left, bottom, right: off every level's grid
    part = {k: channel_stats(v[:, box[0] // st:-(-box[2] // st), box[1] // st:-(-box[3] // st)])
            for k, v in features.items() for st in [level_stride(k)]}
    ref = {k: channel_stats(v) for k, v in features.items()}
    whole = (0, 0, *image.shape[1:3])
    for ours, want_all in ((s._style_graph(image, whole), ref), (s._style_graph(image, box), part)):
        for level in s.levels:
            for got, want in zip(ours[level], want_all[level]):
                assert got.shape == want.shape == (1, 1, 1, want.shape[-1])
                np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)  # float32 sums in another order
    assert np.abs(part["relu1_1"][1] - ref["relu1_1"][1]).mean() > 0.01 * np.abs(ref["relu1_1"][1]).mean()
    calls = _record_calls(s, ("encoder", "decoder", "one_pass", "style_graph"))
    s.stylize(content_arr.astype(np.uint8), style_arr.astype(np.uint8), max_size=None)
    assert calls == ["style_graph", "one_pass"]


def test_openvino_runtime_runs_the_int8_graphs_on_openvino(content_arr, style_arr):
    """runtime "openvino" compiles the onnx-int8 graphs (bf16 where the CPU has it): one style-graph and one
    one-pass call per stylization, within 2/255 of onnx-int8's picture, and within 0.5/255 in float32."""
    pytest.importorskip("openvino")
    from adain.runtimes.openvino import OpenVinoGraph

    content, style = content_arr.astype(np.uint8), style_arr.astype(np.uint8)
    ov = Stylizer.load(runtime="openvino")
    graphs = ("encoder", "decoder", "one_pass", "style_graph")
    assert all(isinstance(getattr(ov, name), OpenVinoGraph) for name in graphs)  # shipped parts recognised (metadata)
    calls = _record_calls(ov, graphs)
    ours = np.asarray(ov.stylize(content, style, max_size=None), np.float32)
    assert calls == ["style_graph", "one_pass"]
    ref = np.asarray(Stylizer.load(runtime="onnx-int8").stylize(content, style, max_size=None), np.float32)
    assert ours.shape == ref.shape and ref.std() > 10
    assert np.abs(ours - ref).mean() <= 2.0
    ov.one_pass, ov.style_graph = (OpenVinoGraph(g.path, precision="f32") for g in (ov.one_pass, ov.style_graph))
    assert np.abs(np.asarray(ov.stylize(content, style, max_size=None), np.float32) - ref).mean() <= 0.5


def test_openvino_is_fed_widths_it_runs_fast(content_arr, style_arr):
    """OpenVINO's graphs given a frame's statistics or measuring its region (the tile and measured graphs) are fed
    widths that are multiples of 16 (it ran odd multiples of 8 up to 21 % slower per pixel), reflected and
    cropped back: a content 88 px wide (152 bordered) goes in 160 px wide there, 152 to ONNX Runtime and to the
    one-pass graph (whose own statistics would take in the wider pad). The pictures (float32) differ only
    next to the right edge, where VGG's zero padding moved 8 px further out."""
    pytest.importorskip("openvino")
    from adain.runtimes.openvino import OpenVinoGraph

    content, style = content_arr[:, :88].astype(np.float32), style_arr.astype(np.float32)
    region = np.s_[4:60, 2:80]
    pictures, widths = [], []
    for runtime in ("openvino", "onnx-int8"):
        s = Stylizer.load(runtime=runtime)
        if runtime == "openvino":
            for name in ("one_pass", "tile_graph", "measured_graph", "style_graph"):
                setattr(s, name, OpenVinoGraph(getattr(s, name).path, precision="f32"))
        for graph in (s.one_pass, s.tile_graph, s.measured_graph):
            graph._run = lambda feeds, run=graph._run: widths.append(feeds[ONE_PASS_IMAGE].shape[2]) or run(feeds)
        encoded = s._encode_style(style)
        s._render(content, [encoded], 1.0)
        out, stats = s._render_measured(content, [encoded], 1.0, region)
        pictures.append([out, s._render(content, [encoded], 1.0, content_stats=stats)])
    assert widths == [152, 160, 160, 152, 152, 152]
    for ours, theirs in zip(*pictures):
        assert ours.shape == theirs.shape == content.shape and theirs.std() > 10
        assert np.abs(ours - theirs)[:, :48].max() <= 0.5 and np.abs(ours - theirs)[:, 48:].max() > 1


def test_openvino_compiles_the_one_pass_graphs_per_shape_and_bounds_its_cache(tmp_path, content_arr, style_arr):
    """The graphs are compiled for each image shape (the last OPENVINO_SHAPES kept: a shape met again within
    them is not compiled again) and give the same picture for a shape met again; the compiled-graph cache keeps
    its newest files within its limit."""
    pytest.importorskip("openvino")
    from adain.defaults import OPENVINO_SHAPES
    from adain.runtimes import openvino as openvino_runtime

    assert OPENVINO_SHAPES == 2  # the shapes below
    ov = Stylizer.load(runtime="openvino")
    content, style = content_arr.astype(np.uint8), style_arr.astype(np.uint8)
    compiles = []
    compile_graph = ov.one_pass._compile
    ov.one_pass._compile = lambda shapes: compiles.append(dict(shapes)["image"]) or compile_graph(shapes)
    first = np.asarray(ov.stylize(content, style, max_size=None))
    assert ov.stylize(content[:40], style, max_size=None).size == (content.shape[1], 40)
    np.testing.assert_array_equal(np.asarray(ov.stylize(content, style, max_size=None)), first)
    assert len(compiles) == 2 and compiles[0] != compiles[1] and compiles[0][0] == 1  # the first shape was kept
    ov.stylize(content[:48], style, max_size=None)  # a third shape: the least recently used (the second) goes
    ov.stylize(content, style, max_size=None)
    ov.stylize(content[:40], style, max_size=None)
    assert len(compiles) == 4 and compiles[3] == compiles[1]
    assert [dict(k)["image"] for k in ov.one_pass.compiled] == [compiles[0], compiles[1]]  # newest last
    for i, mb in enumerate((3, 2, 1)):  # oldest first
        blob = tmp_path / f"{i}.blob"
        blob.write_bytes(b"0" * (mb << 20))
        os.utime(blob, (i, i))
    openvino_runtime._prune(tmp_path, limit_mb=3.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.blob", "2.blob"]


def test_fastest_runtime_rule_without_a_measurement(monkeypatch, tmp_path):
    """Where `adain doctor` has not measured: OpenVINO where installed and the CPU has AMX or AVX-512 BF16
    (measured faster on an AMX Xeon and on a Zen 4), else onnx-int8 (a core install), else Keras."""
    import importlib.util

    from adain import stylizer
    from adain.runtimes import choice

    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path))
    monkeypatch.delenv("ADAIN_RUNTIME", raising=False)

    real = importlib.util.find_spec
    installed = lambda *missing: lambda name, *a: None if name in missing else real(name, *a)  # noqa: E731
    monkeypatch.setattr(importlib.util, "find_spec", installed())
    monkeypatch.setattr(choice, "cpu_flags", lambda: frozenset({"avx512f", "amx_int8", "amx_bf16"}))
    assert stylizer.fastest_runtime() == "openvino"
    monkeypatch.setattr(choice, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))  # a Zen 4
    assert stylizer.fastest_runtime() == "openvino"
    monkeypatch.setattr(choice, "cpu_flags", lambda: frozenset({"avx2", "fma"}))  # AVX2 only
    assert stylizer.fastest_runtime() == "onnx-int8"
    monkeypatch.setattr(choice, "cpu_flags", lambda: frozenset({"amx_int8"}))
    monkeypatch.setattr(importlib.util, "find_spec", installed("openvino"))
    assert stylizer.fastest_runtime() == "onnx-int8"
    monkeypatch.setattr(importlib.util, "find_spec", installed("openvino", "onnxruntime"))
    assert stylizer.fastest_runtime() == "keras"


def test_openvino_stylizes_where_its_cache_cannot_be_written(tmp_path, monkeypatch, content_arr, style_arr):
    """A read-only cache folder (a file in its way here) costs compiling every time, not an error."""
    pytest.importorskip("openvino")
    from adain.runtimes import openvino as openvino_runtime

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("ADAIN_CACHE", str(blocker))
    openvino_runtime._core.cache_clear()
    try:
        out = Stylizer.load(runtime="openvino").stylize(content_arr.astype(np.uint8), style_arr.astype(np.uint8), max_size=None)
    finally:
        openvino_runtime._core.cache_clear()
    assert out.size == (content_arr.shape[1], content_arr.shape[0]) and np.asarray(out).std() > 10


def test_openvino_stylizer_is_safe_across_threads(content_arr, style_arr):
    """Threads sharing one stylizer, at two image shapes (each graph recompiles per shape): every result
    equals the one made alone."""
    pytest.importorskip("openvino")
    from concurrent.futures import ThreadPoolExecutor

    s = Stylizer.load(runtime="openvino")
    content, style = content_arr.astype(np.uint8), style_arr.astype(np.uint8)
    jobs = [content, content[:40]] * 4
    alone = [np.asarray(s.stylize(c, style, max_size=None)) for c in jobs[:2]]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda c: np.asarray(s.stylize(c, style, max_size=None)), jobs))
    for i, out in enumerate(together):
        np.testing.assert_array_equal(out, alone[i % 2])
