"""Decoder training: a tiny run lowers the loss, checkpoints, resumes exactly, skips bad files."""

import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from adain.data import CropSampler, list_images, split_holdout
from adain.train import TrainConfig, Trainer
from adain.train.config import STYLE_WEIGHT
from adain.train.logs import read_csv
from adain.train.state import OPTIMIZER_FILE, TrainState, checkpoint_dir


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for kind in ("content", "style/sub"):
        (root / kind).mkdir(parents=True)
        for i in range(7):
            base = rng.uniform(0, 255, (1, 1, 3))
            grad = np.linspace(0, 1, 80)[None, :, None] * rng.uniform(-80, 80, (1, 1, 3))
            noise = rng.normal(0, 40 if kind != "content" else 8, (80, 80, 3))
            Image.fromarray(np.clip(base + grad + noise, 0, 255).astype(np.uint8)).save(root / kind / f"{i}.png")
    (root / "content" / "broken.jpg").write_text("not an image")
    return root / "content", root / "style"


def config(folders, out, steps, **kw):
    defaults = dict(batch=2, crop=32, width=0.1, val_count=2, val_size=32, val_every=3, checkpoint_minutes=0.0, lr=1e-3,
                    warmup=0)
    return TrainConfig(str(folders[0]), str(folders[1]), str(out), steps=steps, **{**defaults, **kw})


def read_log(run):
    return read_csv(run / "log.csv")


def test_tiny_run_learns_checkpoints_and_resumes(folders, tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(folders, run, steps=12))
    trainer.fit()
    assert read_log(run)["step"].tolist() == list(range(1, 13))
    assert read_csv(run / "val.csv")["step"].tolist() == [0, 3, 6, 9, 12]  # untrained, then every 3
    for name in ("state.json", "best_decoder.npz", "val.csv", "loss_curve.png", "val_grid.png"):
        assert (run / name).exists(), name
    assert checkpoint_dir(run) == run / "ckpt-00000012"  # the last step's folder, the only one kept
    assert sorted(p.name for p in run.glob("ckpt-*")) == ["ckpt-00000012"]
    assert {p.name for p in checkpoint_dir(run).iterdir()} == {"decoder.npz", "ema_decoder.npz", OPTIMIZER_FILE}

    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(config(folders, run, steps=14))
    resumed = Trainer(config(folders, run, steps=14), resume=True)
    assert resumed.state.step == 12
    resumed.fit()
    assert read_log(run)["step"].tolist() == list(range(1, 15))


def test_the_committed_checkpoint_resumes(folders, tmp_path):
    """`adain train --resume` on the decoder-v3 checkpoint in weights/training_v3 as scripts/training_checkpoint.sh
    restores it (git holds the moving average alone, float16, and no optimizer state: it serves as the raw weights
    too) takes one more step and keeps its logs and recipe history. (Histories written as lists by earlier
    checkpoints load too: test_recipe_changes_mark_where_crop_or_lr_changed.)"""
    import json

    from adain.resources import WEIGHTS_DIR
    from adain.train.state import restore_checkpoint

    saved = WEIGHTS_DIR / "training_v3"
    if not saved.exists():
        pytest.skip("the training checkpoints live in the repository, not in the installed package")
    run = tmp_path / "v3"
    restore_checkpoint(saved, run)
    before = TrainState.load(run)
    recipe = json.loads((saved / "state.json").read_text())["config"]
    trainer = Trainer(config(folders, run, steps=before.step + 1, multilevel=True, width=recipe["width"],
                             identity=recipe["identity"], val_every=10_000), resume=True)
    # Adam's moments restart, and so does its own step count; the lr schedule continues from the run's step.
    assert trainer.optimizer.iterations.numpy() == 0 and trainer.state.adam_start == before.step
    assert trainer.schedule.offset == before.step
    state = trainer.fit()
    assert state.step == before.step + 1
    assert read_log(run)["step"].tolist() == list(range(1, before.step + 2))
    reloaded = TrainState.load(run)
    assert reloaded.history[:-1] == before.history and reloaded.history[-1].crop == 32
    assert Trainer(config(folders, run, steps=before.step + 1, multilevel=True), resume=True).state.step == before.step + 1


def test_training_steps_lower_the_loss(folders, tmp_path):
    """The gradient/optimizer plumbing works: repeated steps on one batch fit it."""
    trainer = Trainer(config(folders, tmp_path / "fit", steps=1))
    content, style = trainer.content.batch_at(0), trainer.style.batch_at(0)
    encoded = trainer._encode_fn(content, style)
    losses = [float(trainer._step_fn(*encoded)[0]) for _ in range(16)]
    assert np.mean(losses[-4:]) < 0.7 * losses[0]  # measured 0.46-0.59 (seeds 0-2); without updates 1.0


def weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_ema_tracks_the_moving_average_and_is_checkpointed(folders, tmp_path):
    trainer = Trainer(config(folders, tmp_path / "ema", steps=1, ema=0.75))
    before = weights(trainer.ema)
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(trainer.decoder)))  # starts as a copy
    trainer.fit()
    after, raw = weights(trainer.ema), weights(trainer.decoder)
    for old, new, w in zip(before, after, raw):
        np.testing.assert_allclose(new, 0.75 * old + 0.25 * w, rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(after, raw))
    resumed = Trainer(config(folders, tmp_path / "ema", steps=2, ema=0.75), resume=True)
    assert all(np.array_equal(a, b) for a, b in zip(weights(resumed.ema), after))
    assert resumed.shipped is resumed.ema
    assert Trainer(config(folders, tmp_path / "raw", steps=1, ema=0.0)).ema is None


def test_reused_encodings_resume_mid_group_exactly(folders, tmp_path):
    """--reuse 2: step 3 reuses step 2's encoded batch with the styles rolled; stopping after step 3
    and resuming gives the same weights as running straight through."""
    straight = Trainer(config(folders, tmp_path / "straight", steps=4, reuse=2, val_every=100))
    straight.fit()
    Trainer(config(folders, tmp_path / "split", steps=3, reuse=2, val_every=100)).fit()
    resumed = Trainer(config(folders, tmp_path / "split", steps=4, reuse=2, val_every=100), resume=True)
    resumed.fit()
    for a, b in zip(weights(straight.decoder), weights(resumed.decoder)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="reuse"):
        Trainer(config(folders, tmp_path / "bad", steps=1, reuse=3))


def test_adam_restarting_from_zero_moments_ramps_the_lr_up(folders, tmp_path):
    """A resume without the optimizer's state (a committed checkpoint) first moves each weight by at most
    lr / warmup: Adam's first update is about ±lr on every weight whatever its gradient."""
    from adain.decoder import load_decoder

    run = tmp_path / "warm"
    Trainer(config(folders, run, steps=2)).fit()
    (checkpoint_dir(run) / OPTIMIZER_FILE).unlink()
    before = [v.numpy() for v in load_decoder(checkpoint_dir(run) / "decoder.npz").trainable_variables]
    for warmup, bounds in ((10, (0.5e-4, 1.01e-4)), (0, (0.5e-3, 1.01e-3))):
        shutil.copytree(run, tmp_path / f"w{warmup}")
        Trainer(config(folders, tmp_path / f"w{warmup}", steps=3, warmup=warmup), resume=True).fit()
        after = [v.numpy() for v in load_decoder(checkpoint_dir(tmp_path / f"w{warmup}") / "decoder.npz").trainable_variables]
        biggest = max(float(np.abs(a - b).max()) for a, b in zip(after, before))
        assert bounds[0] < biggest < bounds[1], (warmup, biggest)


def test_data_order_is_a_function_of_step(folders):
    files, _ = split_holdout(list_images(folders[1]), 2)
    a = CropSampler(files, 16, 2, seed=3).batch_at(5)
    b = CropSampler(files, 16, 2, seed=3).batch_at(5)
    c = CropSampler(files, 16, 2, seed=3).batch_at(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Loaded by a pool of threads, the batches still come in step order.
    sampler = CropSampler(files, 16, 2, seed=3, workers=3)
    batches = sampler.iterate(4, stride=2)
    for step in (4, 6, 8, 10, 12):
        np.testing.assert_array_equal(next(batches), sampler.batch_at(step))
    batches.close()


def test_holdout_is_disjoint_and_stable(folders):
    files = list_images(folders[0])
    assert len(files) == 8  # recursive listing includes the unreadable file
    train, val = split_holdout(files, 2)
    assert len(val) == 2 and not set(train) & set(val)
    assert split_holdout(list(reversed(files)), 2)[1] == val


def test_unreadable_files_are_skipped_and_counted(folders):
    files = list_images(folders[0])
    sampler = CropSampler(files, 16, 8, seed=0)
    for step in range(6):
        assert sampler.batch_at(step).shape == (8, 16, 16, 3)
    assert [p.name for p in sampler.skipped] == ["broken.jpg"]


def test_sigkill_mid_run_resumes_from_the_last_checkpoint(folders, tmp_path):
    """kill -9 a real `adain train` process, run the same command again: it continues, losing only
    the steps after the last checkpoint, and the logs have each step once."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "killed"
    cmd = [sys.executable, "-m", "adain.cli", "train", "--content", str(folders[0]), "--style", str(folders[1]),
           "--out", str(run), "--steps", "400", "--batch", "2", "--crop", "32", "--width", "0.1", "--val-count", "2",
           "--val-every", "1000", "--checkpoint-minutes", "0", "--resume"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline:
        state = run / "state.json"
        if state.exists() and json.loads(state.read_text())["state"]["step"] >= 4:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = json.loads((run / "state.json").read_text())["state"]["step"]
    assert saved >= 4
    cmd[cmd.index("400")] = str(saved + 3)
    assert subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=240).returncode == 0
    assert read_log(run)["step"].tolist() == list(range(1, saved + 4))
    assert json.loads((run / "state.json").read_text())["state"]["step"] == saved + 3


def test_sigterm_saves_a_checkpoint_of_the_last_step(folders, tmp_path):
    """`kill` (SIGTERM) stops training with a checkpoint of exactly the steps done, even between
    the timed checkpoints."""
    import json
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "terminated"
    cmd = [sys.executable, "-m", "adain.cli", "train", "--content", str(folders[0]), "--style", str(folders[1]),
           "--out", str(run), "--steps", "400", "--batch", "2", "--crop", "32", "--width", "0.1", "--val-count", "2",
           "--val-every", "1000", "--checkpoint-minutes", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not ((run / "log.csv").exists() and len(read_log(run)["step"]) >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    state = json.loads((run / "state.json").read_text())["state"]
    assert state["step"] >= 3
    assert state["step"] == len(read_log(run)["step"])
    # The weights are those of exactly that many steps (SIGTERM used to land between a step's update and
    # its count): the same run straight through to that step in this process.
    from adain.decoder import load_decoder

    straight = Trainer(TrainConfig(str(folders[0]), str(folders[1]), str(tmp_path / "straight"), steps=state["step"],
                                   batch=2, crop=32, width=0.1, val_count=2, val_every=1000, checkpoint_minutes=100))
    straight.fit()
    saved = load_decoder(checkpoint_dir(run) / "decoder.npz")
    for a, b in zip(weights(straight.decoder), weights(saved)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_improvement_compares_the_last_hours_with_the_best_before(tmp_path):
    from adain.train.logs import improvement

    path = tmp_path / "val.csv"
    path.write_text("step,elapsed_s,content_loss,style_loss,total_loss\n"
                    "0,0,9,9,100\n100,3600,9,9,50\n200,7200,9,9,60\n300,10800,9,9,49\n")
    assert improvement(path, 2.0) == pytest.approx(0.02)  # best 49 in the last 2 h vs best 50 before
    assert improvement(path, 1.0) == pytest.approx(0.02)
    assert improvement(path, 0.5) == pytest.approx(0.02)
    assert improvement(path, 3.0) == pytest.approx(0.51)  # vs the untrained 100
    assert improvement(path, 4.0) is None  # history shorter than the window
    path.write_text("step,elapsed_s,content_loss,style_loss,total_loss\n0,0,9,9,100\n100,3600,9,9,101\n")
    assert improvement(path, 0.5) == pytest.approx(-0.01)


def test_recipe_changes_mark_where_crop_or_lr_changed():
    from adain.train.plots import recipe_changes
    from adain.train.state import Segment

    history = [[0, 0.0, 128, 8, "float32"], [400, 3600.0, 128, 8, "float32", 3e-4],  # first segment: no lr recorded
               [900, 7200.0, 256, 8, "float32", 3e-4], [950, 9000.0, 256, 8, "float32", 3e-4],
               [990, 10800.0, 128, 8, "float32", 1e-4], [1000, 11000.0, 128, 8, "float32", 1e-4, 10.0],  # λ 10 as before
               [1100, 14400.0, 128, 8, "float32", 1e-4, 15.0]]
    history = [Segment.from_json(seg) for seg in history]  # as earlier checkpoints wrote them: lists
    assert recipe_changes(history) == [(900, 2.0, "256² crops"), (990, 3.0, "128² crops, lr 0.0001"), (1100, 4.0, "λ 15")]
    assert recipe_changes(history[:1]) == []


def test_a_flat_validation_curve_stops_the_run(folders, tmp_path):
    """With an improvement no run can make (100 %) over a tiny window, training stops at the first
    validation that has history before the window, with a checkpoint there."""
    import json

    run = tmp_path / "flat"
    trainer = Trainer(config(folders, run, steps=50, val_every=2, plateau_hours=1e-9, min_improvement=1.0))
    trainer.fit()
    assert trainer.state.step == 2
    assert json.loads((run / "state.json").read_text())["state"]["step"] == 2


def test_multilevel_run_with_identity_pairs_grows_an_init_decoder_and_resumes(folders, tmp_path, tiny_decoder_path):
    """--init a paper decoder with --multilevel: step 0 gives exactly its images (skip paths at zero);
    the checkpoint and a resume keep the skip levels; identity pairs add their loss."""
    from adain.decoder import SKIP_LEVELS, decoder_levels, load_decoder
    from adain.evaluate import evaluate_grid
    from adain.train.loop import decoder_step

    run = tmp_path / "ml"
    kw = dict(multilevel=True, identity=1, sharp_crops=True, style_augment=True, init=str(tiny_decoder_path),
              width=0.05, val_every=100)
    trainer = Trainer(config(folders, run, steps=2, **kw))
    assert decoder_levels(trainer.decoder) == ("relu4_1", *SKIP_LEVELS)
    val = (trainer.val_content[:2], trainer.val_style[:2])
    _, grown = evaluate_grid(trainer.encoder, trainer.decoder, *val)
    _, paper = evaluate_grid(trainer.encoder, load_decoder(tiny_decoder_path), *val)
    np.testing.assert_allclose(grown, paper, atol=1e-3)

    content, style = trainer.content.batch_at(0), trainer.style.batch_at(0)
    feats, stats, identity_images, _ = trainer._encode(content, style)
    np.testing.assert_array_equal(np.asarray(identity_images), content[-1:])  # the last pair: content as style
    own = trainer._encode(content, np.concatenate([style[:-1], content[-1:]]))[1]
    for level, (mean, _) in stats.items():
        np.testing.assert_allclose(np.asarray(mean), np.asarray(own[level][0]), rtol=1e-5, atol=1e-5)
    opt = keras.optimizers.Adam(0.0)
    with_id = float(decoder_step(trainer.encoder, trainer.decoder, opt, feats, stats, STYLE_WEIGHT, identity_images)[0])
    without = float(decoder_step(trainer.encoder, trainer.decoder, opt, feats, stats, STYLE_WEIGHT)[0])
    assert with_id > without

    trainer.fit()
    resumed = Trainer(config(folders, run, steps=3, **kw), resume=True)
    assert decoder_levels(resumed.decoder) == decoder_levels(resumed.ema) == ("relu4_1", *SKIP_LEVELS)
    resumed.fit()
    assert read_log(run)["step"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="identity"):
        TrainConfig("a", "b", "c", batch=2, identity=1, reuse=2)


def test_shift_consistency_loss_values():
    """0 for outputs that move with their input; the MSE over the shared place, edges left out, otherwise."""
    from adain.losses import shift_consistency_loss

    whole = np.random.default_rng(0).uniform(0, 255, (2, 40, 40, 3)).astype(np.float32)
    moved = whole[:, 3:35, 5:37].copy()  # the window at (dy, dx) = (3, 5), 8 px smaller
    assert float(shift_consistency_loss(whole, moved, (3, 5), 4)) == 0.0
    assert float(shift_consistency_loss(whole, moved, (5, 3), 4)) > 0.05
    moved[:, :4] += 255.0  # inside the left-out edge
    assert float(shift_consistency_loss(whole, moved, (3, 5), 4)) == 0.0
    moved[:, 4:28, 4:28] += 25.5  # 0.1 on the 0-1 scale, everywhere measured
    assert float(shift_consistency_loss(whole, moved, (3, 5), 4)) == pytest.approx(0.01, rel=1e-4)


def test_the_consistency_term_is_in_the_step(folders, tmp_path, tiny_decoder_path):
    """--consistency: the contents' window at the shift given is encoded, and its output enters the step's
    loss with the weight given (the total grows by exactly weight x the term). Whether the term steadies a
    real decoder is measured on the real one (issue #33's note), not on a tiny one."""
    from adain.decoder import decoder_inputs
    from adain.evaluate import targets_of
    from adain.losses import shift_consistency_loss
    from adain.train.config import CONSISTENCY_MARGIN
    from adain.train.loop import decoder_step

    with pytest.raises(ValueError, match="crop over 40"):
        config(folders, tmp_path / "small", steps=1, crop=32, consistency=1.0)
    trainer = Trainer(config(folders, tmp_path / "run", steps=3, consistency=300.0, crop=64, val_every=100,
                             init=str(tiny_decoder_path), width=0.05))
    trainer.fit()
    content, style = trainer.content.batch_at(0), trainer.style.batch_at(0)
    feats, stats, _, moved = trainer._encode(content, style, np.array([3, 5], np.int32))
    window = trainer.encoder(content[:, 3:59, 5:61])
    np.testing.assert_allclose(np.asarray(moved[0]["relu4_1"]), np.asarray(window["relu4_1"]), rtol=1e-4, atol=1e-3)
    decoder, opt = trainer.decoder, keras.optimizers.Adam(0.0)
    outs = [decoder(decoder_inputs(decoder, targets_of(f, stats))) for f in (feats, moved[0])]
    term = float(shift_consistency_loss(*outs, (3, 5), CONSISTENCY_MARGIN))
    plain = float(decoder_step(trainer.encoder, decoder, opt, feats, stats, STYLE_WEIGHT)[0])
    both = float(decoder_step(trainer.encoder, decoder, opt, feats, stats, STYLE_WEIGHT, moved=moved, consistency=2.0)[0])
    assert term > 1e-4 and both - plain == pytest.approx(2.0 * term, rel=1e-3)


def test_sharp_crops_are_never_upsampled_and_augmented_styles_vary():
    from adain.data import random_crop

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (256, 300, 3), dtype=np.uint8)
    for _ in range(5):  # the short side is already the crop size: a sharp crop is a window of the pixels
        crop = random_crop(Image.fromarray(pixels), 256, rng, sharp=True)
        assert any(np.array_equal(crop, pixels[:, x:x + 256]) or np.array_equal(crop[:, ::-1], pixels[:, x:x + 256])
                   for x in range(45))
    flat = Image.fromarray(np.broadcast_to(np.array([200, 100, 0], np.uint8), (40, 40, 3)).copy())
    plain = {tuple(random_crop(flat, 16, rng)[0, 0]) for _ in range(20)}
    augmented = {tuple(random_crop(flat, 16, rng, augment=True)[0, 0]) for _ in range(20)}
    assert plain == {(200.0, 100.0, 0.0)} and len(augmented) >= 3  # colour channels permuted


def test_identity_loss_values():
    from adain.losses import identity_loss

    img = np.full((1, 4, 4, 3), 255.0, np.float32)
    feats = {"a": np.ones((1, 2, 2, 8), np.float32), "b": np.zeros((1, 1, 1, 8), np.float32)}
    assert float(identity_loss(img, img, feats, feats, 50.0)) == 0.0
    off = {"a": feats["a"] + 2.0, "b": feats["b"]}  # MSE 4 on one of two layers
    assert float(identity_loss(img, np.zeros_like(img), off, feats, 50.0)) == pytest.approx(50.0 + 2.0)


def test_compile_mode_and_precision_follow_the_cpu():
    """XLA only without AVX-512 (oneDNN's kernels win where it is: bench/results/train_compile.json); bf16
    where the CPU computes it natively."""
    from adain.train.hardware import auto_precision, use_xla

    avx2, zen4 = frozenset({"avx2", "fma"}), frozenset({"avx2", "avx512f", "avx512_bf16"})
    amx = frozenset({"avx512f", "amx_bf16"})
    assert use_xla("auto", avx2) and not use_xla("auto", zen4) and not use_xla("auto", amx)
    assert use_xla("xla", zen4) and not use_xla("graph", avx2)
    assert auto_precision(avx2) == "float32" and auto_precision(zen4) == auto_precision(amx) == "mixed_bfloat16"
    with pytest.raises(ValueError, match="compile mode"):
        use_xla("jit")
    with pytest.raises(ValueError, match="multiple of val_every"):
        TrainConfig("a", "b", "c", val_every=100, full_val_every=150)


def test_a_widened_decoder_computes_the_same_and_its_copies_can_learn_apart(tmp_path):
    """--widen: twice the channels, the same output (Net2WiderNet), the copies' outgoing weights split unevenly."""
    from adain.decoder import SKIP_LEVELS, Decoder, load_decoder, save_decoder

    keras.utils.set_random_seed(3)
    narrow = Decoder(0.25, SKIP_LEVELS)
    rng = np.random.default_rng(0)
    for layer in narrow.layers:
        if layer.name.startswith("skip_"):
            layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) for w in layer.get_weights()])
    save_decoder(narrow, tmp_path / "narrow.npz", dtype="float32")
    wide = load_decoder(tmp_path / "narrow.npz", width=0.5)
    channels = [m.get_layer("conv1").weights[0].shape[-1] for m in (narrow, wide)]
    assert wide.width == 0.5 and channels[1] == 2 * channels[0]
    x = {k: rng.uniform(0, 2, (1, 4 * 2 ** i, 4 * 2 ** i, c)).astype(np.float32)
         for i, (k, c) in enumerate((("relu4_1", 512), ("relu3_1", 256), ("relu2_1", 128), ("relu1_1", 64)))}
    a, b = np.asarray(narrow(x)), np.asarray(wide(x))
    assert np.abs(a - b).max() < 1e-3 * np.abs(a).mean()
    kernel = np.asarray(wide.get_layer("conv2").weights[0])
    half = kernel.shape[2] // 2
    assert not np.allclose(kernel[:, :, :half], kernel[:, :, half:])  # the two copies' shares differ
    with pytest.raises(ValueError, match="whole multiple"):
        load_decoder(tmp_path / "narrow.npz", width=0.6)


def _first_update(folders, run):
    """Median |Δw| over one resumed step of `run` of the raw decoder's weights that moved (in this tiny
    random decoder many ReLUs are dead: their weights get no gradient)."""
    from adain.decoder import load_decoder

    before = np.concatenate([v.numpy().ravel() for v in load_decoder(checkpoint_dir(run) / "decoder.npz").trainable_variables])
    state = TrainState.load(run)
    Trainer(config(folders, run, steps=state.step + 1, val_every=10_000), resume=True).fit()
    after = np.concatenate([v.numpy().ravel() for v in load_decoder(checkpoint_dir(run) / "decoder.npz").trainable_variables])
    moved = np.abs(after - before)
    return float(np.median(moved[moved > 0]))


def test_a_resume_at_a_late_step_without_optimizer_state_updates_at_the_schedules_rate(folders, tmp_path):
    """Issue #36: a checkpoint handed over without Adam's moments, resumed at step 5,000 with no warm-up,
    moves the weights by the schedule's rate (Adam's first update is about ±lr per weight), not ~3x it
    as when Adam's step count was set to the run's step (its bias correction then off). Measured: 1.00x
    (3.1x before the fix)."""
    import json

    run = tmp_path / "late"
    Trainer(config(folders, run, steps=2)).fit()
    (checkpoint_dir(run) / OPTIMIZER_FILE).unlink()
    manifest = json.loads((run / "state.json").read_text())
    manifest["state"]["step"] = 5000
    (run / "state.json").write_text(json.dumps(manifest))
    rate = 1e-3 / (1 + 5e-5 * 5000)  # config(): lr 1e-3, the default decay
    assert 1 / 1.5 < _first_update(folders, run) / rate < 1.5


def test_a_resume_inside_the_warmup_with_optimizer_state_equals_an_uninterrupted_run(folders, tmp_path):
    """Adam's moments, its step count and the warm-up's progress come back with the checkpoint: stopping
    at step 2 of a 4-step warm-up and resuming gives the weights of a run straight through."""
    straight = Trainer(config(folders, tmp_path / "straight", steps=4, warmup=4, val_every=100))
    straight.fit()
    Trainer(config(folders, tmp_path / "split", steps=2, warmup=4, val_every=100)).fit()
    resumed = Trainer(config(folders, tmp_path / "split", steps=4, warmup=4, val_every=100), resume=True)
    assert resumed.optimizer.iterations.numpy() == 2 and resumed.state.adam_start == 0
    resumed.fit()
    for a, b in zip(weights(straight.decoder), weights(resumed.decoder)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # Control: the same resume with the warm-up's state lost (Adam restarted) ends elsewhere.
    Trainer(config(folders, tmp_path / "lost", steps=2, warmup=4, val_every=100)).fit()
    (checkpoint_dir(tmp_path / "lost") / OPTIMIZER_FILE).unlink()
    lost = Trainer(config(folders, tmp_path / "lost", steps=4, warmup=4, val_every=100), resume=True)
    lost.fit()
    assert max(float(np.abs(a - b).max()) for a, b in zip(weights(straight.decoder), weights(lost.decoder))) > 1e-5


def test_a_checkpoint_is_one_unit_whatever_step_a_kill_lands_on(folders, tmp_path):
    """A checkpoint write killed half-way (here: an exception from inside the folder's writing) leaves
    state.json naming the previous whole checkpoint; the half-written folder is never read and is
    removed by the next checkpoint."""
    from adain.train.state import commit_checkpoint

    run = tmp_path / "unit"
    trainer = Trainer(config(folders, run, steps=2, val_every=100))
    trainer.fit()
    saved = weights(trainer.decoder)

    def dies_half_way(folder):
        (folder / "decoder.npz").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        commit_checkpoint(run, 3, dies_half_way)
    assert (run / "ckpt-00000003.tmp").exists() and checkpoint_dir(run).name == "ckpt-00000002"
    resumed = Trainer(config(folders, run, steps=3, val_every=100), resume=True)
    assert resumed.state.step == 2
    for a, b in zip(saved, weights(resumed.decoder)):
        np.testing.assert_array_equal(a, b)
    resumed.fit()
    assert [p.name for p in run.glob("ckpt-*")] == ["ckpt-00000003"]


def test_best_weights_saved_after_the_checkpoint_are_never_replaced_by_worse(folders, tmp_path):
    """The best weights carry their score: a run killed after saving a new best but before its next
    checkpoint resumes with that score as the one to beat (the checkpoint's state.json is older)."""
    import json

    from adain.decoder import decoder_meta

    run = tmp_path / "best"
    Trainer(config(folders, run, steps=3, val_every=3)).fit()
    meta, val = decoder_meta(run / "best_decoder.npz"), read_csv(run / "val.csv")
    best = int(np.argmin(val["total_loss"]))
    assert meta["by"] == "best_val" and meta["step"] == val["step"][best]
    assert meta["score"] == pytest.approx(val["total_loss"][best], rel=1e-6)
    manifest = json.loads((run / "state.json").read_text())
    manifest["state"]["best_val"] = float("inf")  # as if the kill came before the checkpoint recorded it
    (run / "state.json").write_text(json.dumps(manifest))
    assert Trainer(config(folders, run, steps=4, val_every=3), resume=True).state.best_val == meta["score"]


def test_step_time_leaves_out_a_pause():
    """A step during which the process used no CPU (stopped, or here asleep) counts its CPU time at the
    usual rate, not its wall time: SIGSTOP while benchmarking no longer inflates the logged step time."""
    import time

    from adain.train.clock import StepClock

    clock = StepClock()
    busy = []
    for _ in range(3):
        clock.start()
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass
        busy.append(clock.stop())
    clock.start()
    time.sleep(0.3)
    paused = clock.stop()
    assert min(busy) > 0.03 and paused < 0.03
