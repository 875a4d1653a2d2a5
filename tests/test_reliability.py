"""Every file of the hostile corpus gives a correct output or one clear error: API and CLI."""

import numpy as np
import pytest
from corpus import EXPECT_OK, make_corpus

from adain import ImageError
from adain.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", sorted(EXPECT_OK))
def test_api(corpus, tiny_stylizer, fixtures, name):
    if EXPECT_OK[name]:
        out = tiny_stylizer.stylize(corpus[name], fixtures / "style.png")
        assert out.mode == "RGB" and min(out.size) >= 16
        if name == "exif_rotated.jpg":
            assert out.size == (40, 48)  # 48x40 stored, displayed rotated
        # the same file as a style works too
        assert np.asarray(tiny_stylizer.stylize(fixtures / "content.png", corpus[name])).shape == (96, 96, 3)
    else:
        with pytest.raises(ImageError) as info:
            tiny_stylizer.stylize(corpus[name], fixtures / "style.png")
        assert name in str(info.value) or "too small" in str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECT_OK))
def test_cli(corpus, tiny_decoder_path, fixtures, tmp_path, capsys, name):
    out = tmp_path / ("o.gif" if name.endswith("animated.gif") else "o.png")  # frames go to a sequence (#38)
    code = main(["stylize", str(corpus[name]), str(fixtures / "style.png"), "-o", str(out),
                 "--decoder", str(tiny_decoder_path)])
    err = capsys.readouterr().err
    assert code == (0 if EXPECT_OK[name] else 2)
    if not EXPECT_OK[name]:
        assert err.startswith("adain: error: ") and err.count("\n") == 1


def test_huge_style_image_is_bounded(tiny_stylizer, fixtures, tmp_path):
    """A 6000x5000 style is encoded at style_size, not at full size."""
    from PIL import Image

    big = tmp_path / "big_style.jpg"
    Image.open(fixtures / "style.png").resize((6000, 5000)).save(big, quality=70)
    calls = []
    original = tiny_stylizer._features  # the encoder network's hook: content and style both go through it
    tiny_stylizer._features = lambda x: calls.append(np.shape(x)) or original(x)
    try:
        tiny_stylizer.stylize(fixtures / "content.png", big)
    finally:
        del tiny_stylizer._features
    assert len(calls) == 2 and max(max(shape[1:3]) for shape in calls) <= 512
