import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"


NETWORK = os.environ.get("ADAIN_NETWORK_TESTS") == "1"  # .ci/run sets it: those tests pip-install from an index


def pytest_collection_modifyitems(config, items):
    """Tests marked `network` (a fresh environment installed from the package index) run where asked for
    (ADAIN_NETWORK_TESTS=1, as .ci/run does), not in a bare offline `pytest`."""
    if NETWORK:
        return
    skip = pytest.mark.skip(reason="installs from the package index: set ADAIN_NETWORK_TESTS=1 (.ci/run does)")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _float32_policy():
    """A test that trains may leave Keras' global precision policy at mixed_bfloat16 (`--precision auto` on a
    CPU with bf16): the next test builds its models in float32 again."""
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def content_arr() -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "content.png").convert("RGB"), np.float32)


@pytest.fixture(scope="session")
def style_arr() -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "style.png").convert("RGB"), np.float32)


def _tiny_decoder(path: Path, skips: tuple = ()) -> Path:
    """A random, very narrow decoder saved to disk (the real one is not the point of most tests)."""
    from adain.decoder import Decoder, save_decoder

    keras.utils.set_random_seed(0)
    decoder = Decoder(width=0.05, skips=skips)
    rng = np.random.default_rng(0)
    # Random weights with unit gain and a mid-grey bias, so outputs are images with visible structure
    # (the default init shrinks activations layer by layer; a trained decoder is not the point here).
    # Skip projections get small random weights instead of their zero init, so that they matter.
    for layer in decoder.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            bias[:] = 0.5 if layer.name == "conv_out" else 0.0
            kernel = rng.normal(0, 0.01, kernel.shape).astype(np.float32) if layer.name.startswith("skip_") else kernel * 2.4
            layer.set_weights([kernel, bias])
    save_decoder(decoder, path, dtype="float32")
    return path


@pytest.fixture(scope="session")
def tiny_decoder_path(tmp_path_factory) -> Path:
    return _tiny_decoder(tmp_path_factory.mktemp("dec") / "tiny_decoder.npz")


@pytest.fixture(scope="session")
def tiny_multilevel_path(tmp_path_factory) -> Path:
    from adain.decoder import SKIP_LEVELS

    return _tiny_decoder(tmp_path_factory.mktemp("dec") / "tiny_multilevel.npz", SKIP_LEVELS)


@pytest.fixture(scope="session")
def tiny_stylizer(tiny_decoder_path):
    from adain.stylizer import Stylizer

    return Stylizer.load(tiny_decoder_path, runtime="keras")


@pytest.fixture(scope="session")
def tiny_multilevel_stylizer(tiny_multilevel_path):
    from adain.stylizer import Stylizer

    return Stylizer.load(tiny_multilevel_path, runtime="keras")
