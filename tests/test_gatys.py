"""The classic optimisation mode: losses go down, seeds reproduce, scales reach the requested size."""

import threading

import numpy as np
import pytest
from keras import ops

from adain import Cancelled, optimize
from adain.adain_op import channel_stats
from adain.classic_budget import SECONDS_PER_MEGAPIXEL_STEP, estimated_seconds
from adain.losses import gram_matrix, moment_style_loss, total_variation


def test_loss_functions_known_values():
    x = np.zeros((1, 2, 2, 2), np.float32)
    x[0, :, :, 0] = [[1, 2], [3, 4]]
    x[0, :, :, 1] = 1.0
    g = np.asarray(ops.convert_to_numpy(gram_matrix(x)))[0]
    np.testing.assert_allclose(g, [[30 / 4, 10 / 4], [10 / 4, 1.0]])
    tv = float(total_variation(x))  # rows differ by 2, columns by 1 in channel 0; channel 1 flat
    assert abs(tv - (2 * 2 / 4 + 1 * 2 / 4)) < 1e-6
    feats = {"a": x}
    target = {"a": (ops.zeros((1, 1, 1, 2)), ops.ones((1, 1, 1, 2)))}
    mean, std = (np.asarray(ops.convert_to_numpy(v)).ravel() for v in channel_stats(x))
    expected = np.mean(mean ** 2) + np.mean((std - 1) ** 2)
    assert abs(float(moment_style_loss(feats, target)) - expected) < 1e-5


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_a_few_steps_lower_the_loss(fixtures, method):
    losses = []
    optimize(fixtures / "content.png", fixtures / "style.png", steps=8, size=48, method=method,
             learning_rate=4.0, callback=lambda step, losses_now, img: losses.append(losses_now["total"]))
    assert len(losses) >= 6 and losses[-1] < 0.8 * losses[0]


def test_noise_init_is_seeded(fixtures):
    def run(seed):
        return np.asarray(optimize(fixtures / "content.png", fixtures / "style.png", steps=2, size=32,
                                   init="noise", seed=seed, method="adam"))
    a, b, c = run(1), run(1), run(2)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 5


def test_multiscale_reaches_the_size_and_calls_back(fixtures):
    sizes = []
    out = optimize(fixtures / "content.png", fixtures / "style.png", steps=4, size=64, scales=2, method="adam",
                   callback=lambda step, _losses, img: sizes.append(img.size))
    assert out.size == (64, 64)
    assert sizes[0] == (32, 32) and sizes[-1] == (64, 64) and len(sizes) == 4


def test_luminance_mode_keeps_content_colours(fixtures, content_arr):
    from adain.color import rgb_to_yiq

    def chroma_drift(mode):
        out = np.asarray(optimize(fixtures / "content.png", fixtures / "style.png", steps=20, size=None,
                                  preserve_color=mode, method="adam", learning_rate=8.0), np.float32)
        return float(np.median(np.abs(rgb_to_yiq(out)[..., 1:] - rgb_to_yiq(content_arr)[..., 1:])))

    kept, control = chroma_drift("luminance"), chroma_drift(None)
    # The control must move the colours far more than the bound, or the test could not fail (with 4 steps it
    # moved them 1.56 < 2.0: the option could be ignored and it still passed). Measured: kept 0.0, control 20.1.
    assert kept < 2.0 < control / 2, (kept, control)


@pytest.mark.parametrize("kwargs, message", [({"method": "sgd"}, "method"), ({"init": "zeros"}, "init"),
                                             ({"steps": 0}, "steps"), ({"scales": 9}, "scales")])
def test_bad_options(fixtures, kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimize(fixtures / "content.png", fixtures / "style.png", **kwargs)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_cancel_stops_within_one_step(fixtures, method):
    cancel = threading.Event()
    steps = []

    def callback(step, losses, image):
        steps.append(step)
        if step == 2:
            cancel.set()  # as a server does from another thread

    with pytest.raises(Cancelled):
        optimize(fixtures / "content.png", fixtures / "style.png", steps=50, size=32, method=method,
                 callback=callback, cancel=cancel)
    assert steps == [1, 2]


def test_estimated_seconds_counts_every_scale():
    per_step = SECONDS_PER_MEGAPIXEL_STEP / 1e6
    assert estimated_seconds(10, (512, 256)) == pytest.approx(10 * 512 * 256 * per_step)
    # two scales: 50 steps at half size, then 50 at full size
    assert estimated_seconds(100, (512, 512), scales=2) == pytest.approx(50 * (256 ** 2 + 512 ** 2) * per_step)
