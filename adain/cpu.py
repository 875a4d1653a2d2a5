"""What the CPU offers: its feature flags, read once (the training's precision and the default runtime
are chosen by them)."""

from __future__ import annotations

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
