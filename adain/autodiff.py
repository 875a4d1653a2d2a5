"""The one place that calls a backend's autodiff: a branch per Keras backend.

`value_and_grad(loss_fn, variables)` runs `loss_fn()` -> (loss, aux) and returns
(loss, aux, grads w.r.t. `variables`), on TensorFlow, PyTorch or JAX.
`compile_fn(fn)` makes a step function fast where the backend can (tf.function on TensorFlow).
`no_grad()` is a context for evaluation: PyTorch would otherwise record every op for a backward pass.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager, Sequence

import keras


def value_and_grad(loss_fn: Callable, variables: Sequence[keras.Variable]):
    """(loss, aux, gradients of loss w.r.t. `variables`) of `loss_fn() -> (loss, aux)`, on any Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
        return loss, aux, tape.gradient(loss, list(variables))
    if backend == "torch":
        import torch

        values = [v.value for v in variables]
        for x in values:
            x.grad = None
        with torch.enable_grad():
            loss, aux = loss_fn()
            # backward(), not autograd.grad: DistributedDataParallel averages the gradients over its
            # processes in hooks that only backward() runs (adain.train.distributed)
            loss.backward(inputs=values)
        grads = [x.grad for x in values]
        for x in values:
            x.grad = None
        return loss.detach(), keras.tree.map_structure(lambda x: x.detach(), aux), grads
    if backend == "jax":
        import jax

        def pure(values):
            """loss_fn with the variables' values given (JAX differentiates pure functions)."""
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return loss_fn()

        (loss, aux), grads = jax.value_and_grad(pure, has_aux=True)([v.value for v in variables])
        return loss, aux, grads
    raise NotImplementedError(f"Keras backend {backend!r} is not supported (use tensorflow, torch or jax)")


def compile_fn(fn: Callable, jit: bool = False) -> Callable:
    """Graph-compile `fn` on TensorFlow (several times faster on CPU); other backends run eagerly.

    jit=True also compiles it with XLA: faster on AVX2-only CPUs, 2-4x slower than TensorFlow's oneDNN
    kernels where AVX-512 / AMX are present (`adain.train.hardware.use_xla` decides for training).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True, jit_compile=jit)
    return fn


def no_grad() -> ContextManager:
    """No autodiff bookkeeping inside (PyTorch); TensorFlow and JAX only differentiate on request."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()
