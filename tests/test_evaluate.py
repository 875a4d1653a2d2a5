"""`adain evaluate`: scores of what a user gets, with baselines that are exact where they must be."""

import re

import pytest

from adain.cli import main
from adain.evaluate import score_files


def test_baselines_vanish_when_content_and_style_are_one_image(fixtures, tiny_decoder_path):
    """With the same image as content and style, AdaIN's target is that image's own features: as an
    output it has zero content loss and zero style loss, while a random decoder's output does not."""
    image = fixtures / "style.png"
    (row,) = score_files([f"{image}:{image}"], tiny_decoder_path, size=64)
    assert row["style_image_content_loss"] < 1e-6 and row["content_image_style_loss"] < 1e-6
    assert row["content_loss"] > 0.1 and row["style_loss"] > 0.1


def test_cli_reports_pairs_and_mean(fixtures, tiny_decoder_path, capsys):
    pair = f"{fixtures / 'content.png'}:{fixtures / 'style.png'}"
    assert main(["evaluate", "--pairs", pair, pair, "--decoder", str(tiny_decoder_path), "--size", "64"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0] == lines[1]
    numbers = [float(x) for x in re.findall(r"content_loss (\S+) .* style_loss (\S+) ", lines[0])[0]]
    mean = dict(re.findall(r"(\w+) ([\d.]+)", lines[2].removeprefix("mean: ")))
    assert float(mean["content_loss"]) == pytest.approx(numbers[0], abs=1e-3)
    assert float(mean["total_loss"]) == pytest.approx(numbers[0] + 10 * numbers[1], abs=1e-2)


def test_runtimes_score_alike(fixtures, tiny_decoder_path, tmp_path, monkeypatch):
    """The float ONNX runtime scores as Keras does (its outputs equal Keras' within 1/255)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    monkeypatch.setenv("ADAIN_CACHE", str(tmp_path))
    pair = [f"{fixtures / 'content.png'}:{fixtures / 'style.png'}"]
    keras_row, onnx_row = (score_files(pair, tiny_decoder_path, 64, rt)[0] for rt in ("keras", "onnx"))
    assert onnx_row["content_loss"] == pytest.approx(keras_row["content_loss"], rel=0.02)
    assert onnx_row["style_loss"] == pytest.approx(keras_row["style_loss"], rel=0.02)


def test_grid_scores_are_the_means_over_every_pairing(content_arr, style_arr, tiny_decoder_path):
    """evaluate_grid encodes each input once; its scores equal pair-by-pair AdaIN losses, averaged."""
    import numpy as np

    from adain.decoder import load_decoder
    from adain.encoder import build_encoder
    from adain.evaluate import adain_losses, evaluate_grid, summarize
    from adain.vgg_spec import STYLE_LAYERS

    encoder, decoder = build_encoder(STYLE_LAYERS), load_decoder(tiny_decoder_path)
    contents = np.stack([content_arr[:48, :48], content_arr[-48:, -48:]])
    styles = np.stack([style_arr[:48, :48], style_arr[-48:, -48:], style_arr[:48, -48:]])
    scores, outputs = evaluate_grid(encoder, decoder, contents, styles)
    assert len(scores) == 3 and outputs.shape == (2, 48, 48, 3)
    pairwise = [adain_losses(encoder, decoder, c[None], s[None])[1] for s in styles for c in contents]
    assert summarize(scores)["content_loss"] == pytest.approx(np.mean([float(p[0]) for p in pairwise]), rel=1e-4)
    assert summarize(scores)["style_loss"] == pytest.approx(np.mean([float(p[1]) for p in pairwise]), rel=1e-4)
    np.testing.assert_allclose(outputs[1], np.asarray(pairwise[3][2])[0], atol=1e-2)  # content 1 x style 1
