"""Commands run in a private network namespace with loopback up (`unshare -n`): Ray and torchrun bind the
machine's own address elsewhere, and tests here may use loopback only. There they find only 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def in_namespace(script: str, env: dict | None = None, **popen) -> subprocess.Popen:
    """Start shell `script` in a fresh network namespace (the repository on PYTHONPATH, `env` added)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(["unshare", "-n", "sh", "-c", f"ip link set lo up && {script}"], env=env, **popen)


def run_in_namespace(script: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run shell `script` in a fresh network namespace; its stdout and stderr together as text."""
    proc = in_namespace(script, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"timed out after {timeout} s: {script}\n{out[-3000:]}") from None
    return subprocess.CompletedProcess(script, proc.returncode, out)
