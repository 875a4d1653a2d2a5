"""Precision and compile mode of a training step, chosen for the CPU it runs on (one rule, backed by
bench/results/train_compile.json).

Measured (`python bench/bench_train_step.py compile`, paper-width multi-level decoder, batch 8, 256²):
on CPUs with AVX-512 (AMX Xeon, Zen 4 EPYC) TensorFlow's default oneDNN kernels beat XLA's CPU
kernels in both precisions, by 2.1-4x in mixed_bfloat16 (AMX Xeon: 2.15 vs 8.80 s; Zen 4: 5.75 vs
13.7 s); on an AVX2-only CPU bf16 is emulated and XLA in float32 won (12.6 vs 14.7 s).
"""

from __future__ import annotations

from adain.cpu import BF16_FLAGS, cpu_flags
from adain.train.config import COMPILE_MODES


def on_gpu() -> bool:
    """Whether the Keras backend computes on a GPU (PyTorch or JAX on a GPU machine)."""
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    return False


def auto_precision(flags: frozenset[str] | None = None) -> str:
    """mixed_bfloat16 on a GPU and where the CPU computes bf16 natively, float32 elsewhere."""
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if on_gpu() or any(f in flags for f in BF16_FLAGS) else "float32"


def use_xla(mode: str = "auto", flags: frozenset[str] | None = None) -> bool:
    """Whether to compile the step with XLA: as asked ("xla" / "graph"), or for "auto" only on CPUs
    without AVX-512, where XLA's kernels won; oneDNN's win wherever AVX-512 (and AMX) is there."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {mode!r}")
    if mode != "auto":
        return mode == "xla"
    flags = cpu_flags() if flags is None else flags
    return "avx512f" not in flags
