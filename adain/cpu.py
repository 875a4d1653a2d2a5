"""What the CPU offers: its feature flags, read once (the training's precision and the default runtime
are chosen by them)."""

from __future__ import annotations

import platform
from functools import lru_cache

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # native bf16 matrix maths (oneDNN uses them); elsewhere bf16 is emulated
AMX_FLAGS = ("amx_int8", "amx_bf16")  # Intel's matrix units (Sapphire Rapids and later Xeons)


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (/proc/cpuinfo; empty where there is none, as on macOS and Windows).

    Example: `"avx512f" in cpu_flags()`.
    """
    try:
        with open("/proc/cpuinfo") as f:
            line = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        return frozenset()
    return frozenset(line.split(":", 1)[-1].split())


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo's, else the platform's): what a measured runtime winner is kept for.

    Example: `cpu_model()` gives e.g. "AMD EPYC 9R14 96-Core Processor".
    """
    try:
        with open("/proc/cpuinfo") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        name = ""
    return name or platform.processor() or platform.machine()
