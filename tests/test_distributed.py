"""Data-parallel training under torchrun (gloo, two processes on this CPU, tiny images): the split step is
the one-process step, the shards are disjoint and cover the data, a killed rank is restarted and the run
goes on from its checkpoint with every step logged once, rank 0 alone writes, and a run resumes with
another number of processes.

torchrun runs inside a private network namespace (`namespace.in_namespace`): it finds only loopback there.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from namespace import in_namespace, run_in_namespace
from PIL import Image

from adain.data import CropSampler
from adain.train.logs import read_csv
from adain.train.state import checkpoint_dir

pytest.importorskip("torch")
BIN = Path(sys.executable).parent
LR = 1e-3
RECIPE = ["--batch", "4", "--crop", "32", "--width", "0.1", "--val-count", "1", "--val-size", "32", "--lr", str(LR),
          "--warmup", "0", "--precision", "float32", "--ema", "0", "--checkpoint-minutes", "0"]
TORCH = {"KERAS_BACKEND": "torch"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp_data")
    rng = np.random.default_rng(0)
    for kind in ("content", "style"):
        (root / kind).mkdir()
        for i in range(9):
            base = rng.uniform(0, 255, (1, 1, 3))
            Image.fromarray(np.clip(base + rng.normal(0, 30, (48, 48, 3)), 0, 255).astype(np.uint8)).save(root / kind / f"{i}.png")
    return root


def _train(data: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return [str(BIN / "adain"), "train", "--content", str(data / "content"), "--style", str(data / "style"),
            "--out", str(out), "--steps", str(steps), "--val-every", str(steps), *RECIPE, *extra]


def _torchrun(args: list[str], processes: int = 2, *options: str) -> str:
    """The shell command that runs `adain train` args under torchrun on this machine."""
    return " ".join([str(BIN / "torchrun"), "--standalone", f"--nproc-per-node {processes}", *options, "--no-python", *args])


def _check(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def _weights(run: Path) -> dict[str, np.ndarray]:
    with np.load(checkpoint_dir(run) / "decoder.npz") as f:
        return {k: f[k] for k in f.files if f[k].dtype.kind == "f"}


def _max_difference(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def test_shards_are_disjoint_cover_the_data_and_make_the_one_process_batch(tmp_path):
    files = []
    for i in range(12):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((40, 40, 3), i * 20, np.uint8)).save(files[-1])
    whole = CropSampler(files, 16, 4, seed=5)
    ranks = [CropSampler(files, 16, 4, seed=5, rank=r, world=2) for r in range(2)]
    for step in (0, 1, 7):  # the two processes' crops, in rank order, are the one-process batch
        np.testing.assert_array_equal(np.concatenate([s.batch_at(step) for s in ranks]), whole.batch_at(step))
    epoch = len(files) // 4  # steps 0-2 read positions 0-11: one epoch
    shards = [{s.file_at(p) for step in range(epoch) for p in s.positions(step)} for s in ranks]
    assert not shards[0] & shards[1]
    assert shards[0] | shards[1] == set(files)
    assert all(len(shard) == len(files) // 2 for shard in shards)
    second = {whole.file_at(p) for step in range(epoch, 2 * epoch) for p in whole.positions(step)}
    assert second == set(files)  # the next epoch: every file again, in another order
    assert [whole.file_at(p) for p in range(12)] != [whole.file_at(p) for p in range(12, 24)]
    with pytest.raises(ValueError, match="split evenly"):
        CropSampler(files, 16, 5, seed=5, rank=0, world=2)


def test_two_processes_take_the_step_of_one_process_with_the_whole_batch(data, tmp_path):
    one, two, half = tmp_path / "one", tmp_path / "two", tmp_path / "half"
    _check(subprocess.run(_train(data, one, 1), env={**os.environ, **TORCH}, capture_output=True, text=True))
    _check(subprocess.run(_train(data, half, 1, "--batch", "2"), env={**os.environ, **TORCH}, capture_output=True, text=True))
    out = _check(run_in_namespace(_torchrun(_train(data, two, 1))))  # KERAS_BACKEND=torch is the default under torchrun
    assert "2 processes x 2 pairs = global batch 4; lr 0.001 is the global batch's" in out
    split, whole, control = _weights(two), _weights(one), _weights(half)
    assert _max_difference(split, whole) < 0.01 * LR  # measured 5.8e-7: float rounding of the gradients' sum
    assert _max_difference(control, whole) > 0.5 * LR  # half the batch: Adam's first step moves weights by ~lr
    assert json.loads((two / "state.json").read_text())["state"]["history"][-1]["world_size"] == 2
    np.testing.assert_allclose(read_csv(two / "log.csv")["loss"], read_csv(one / "log.csv")["loss"], rtol=1e-5)


def _rank_pid(rank: int, marker: str) -> int | None:
    """The pid of the worker of `rank` whose command line holds `marker` (not torchrun itself)."""
    for proc in Path("/proc").iterdir():
        try:
            env, cmd = (proc / "environ").read_bytes().split(b"\0"), (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and marker.encode() in cmd and b"torchrun" not in cmd:
            return int(proc.name)
    return None


def test_a_killed_rank_is_restarted_and_the_run_resumes_once_per_step(data, tmp_path):
    run, logs, steps = tmp_path / "run", tmp_path / "logs", 8
    command = _torchrun(_train(data, run, steps, "--resume"), 2, "--max-restarts 1", f"--log-dir {logs}", "--tee 3")
    proc = in_namespace(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed, deadline = None, time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        if killed is None and (run / "log.csv").exists() and len((run / "log.csv").read_text().splitlines()) > 3:
            killed = _rank_pid(1, str(run))
            os.kill(killed, signal.SIGKILL)  # rank 1 dies after step 3 or so; rank 0 is left waiting for it
        time.sleep(0.1)
    out, _ = proc.communicate(timeout=60)
    assert killed and proc.returncode == 0, out[-4000:]
    assert read_csv(run / "log.csv")["step"].tolist() == list(range(1, steps + 1))  # none lost, none repeated
    history = json.loads((run / "state.json").read_text())["state"]["history"]
    resumed_at = history[1]["step"]
    assert len(history) == 2 and 3 <= resumed_at < steps  # torchrun's restart went on from the last checkpoint
    attempts = sorted(logs.glob("*/attempt_*"))
    assert len(attempts) == 2
    written = [int(line.split()[3].rstrip(":")) for a in attempts for line in (a / "0" / "stdout.log").read_text().splitlines()
               if line.startswith("checkpoint of step")]
    assert written == list(range(1, steps + 1))  # rank 0 writes each step's checkpoint once
    assert not any("checkpoint of step" in (a / "1" / "stdout.log").read_text() for a in attempts)  # rank 1 never

    # the same run goes on with one process: the recorded world sizes and the log follow
    _check(subprocess.run(_train(data, run, steps + 2, "--resume"), env={**os.environ, **TORCH}, capture_output=True, text=True))
    history = json.loads((run / "state.json").read_text())["state"]["history"]
    assert [s["world_size"] for s in history] == [2, 2, 1] and history[-1]["step"] == steps
    assert read_csv(run / "log.csv")["step"].tolist() == list(range(1, steps + 3))


def test_each_restart_joins_in_a_namespace_of_its_own_in_torchruns_store(monkeypatch):
    """torchrun's agent keeps one store for the job: what a dead attempt wrote there (its processes'
    addresses) must be out of sight of the next attempt, or a restarted rank connects to a dead port."""
    import datetime

    from torch.distributed import TCPStore

    from adain.train.distributed import attempt_store

    agent = TCPStore("127.0.0.1", 0, is_master=True, timeout=datetime.timedelta(seconds=10))  # the agent's
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(agent.port), "RANK": "0", "WORLD_SIZE": "1",
           "TORCHELASTIC_USE_AGENT_STORE": "True"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    attempt_store().set("rank_0", "the dead attempt's address")
    assert agent.check(["adain/attempt-0/rank_0"])
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert not attempt_store().check(["rank_0"])  # the restart does not see it
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "False")  # rank 0 hosts the attempt's own store: no namespace
    monkeypatch.setenv("RANK", "1")  # (rank 1 is its client)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert attempt_store().check(["adain/attempt-0/rank_0"])


def test_stopped_by_a_signal_every_process_stops_after_the_same_step_with_one_checkpoint(data, tmp_path):
    run = tmp_path / "run"
    proc = in_namespace("exec " + _torchrun(_train(data, run, 1000)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True)
    deadline = time.monotonic() + 600
    while not ((run / "log.csv").exists() and len((run / "log.csv").read_text().splitlines()) > 3):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0][-4000:]
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # torchrun passes it on to both workers
    out, _ = proc.communicate(timeout=120)
    assert "stopped by a signal" in out, out[-4000:]
    step = json.loads((run / "state.json").read_text())["state"]["step"]
    assert read_csv(run / "log.csv")["step"].tolist() == list(range(1, step + 1))
    assert sorted(p.name for p in run.glob("ckpt-*")) == [f"ckpt-{step:08d}"]
