"""Data-parallel training on torchrun: PyTorch's DistributedDataParallel (DDP) on the Keras torch backend.

Launched by `torchrun`, which starts one process per GPU (or per CPU socket) on each machine and sets
RANK, WORLD_SIZE and LOCAL_RANK; `World.from_env()` reads them (one process, rank 0 of 1, without).
The exchange of gradients is DDP's own: the decoder is wrapped in `DistributedDataParallel`, whose
hooks average the gradients over the processes during `backward()` (`adain.autodiff`), so each process
applies the same update with the same Adam state and keeps the same weights. DDP also broadcasts
rank 0's weights when it wraps the decoder. What this module adds is the agreement between steps: the
global batch's losses and whether to stop (a signal, a plateau seen by rank 0's validation, the time
limit), so that every process stops after the same step.

The learning-rate rule: `--batch` is the global batch (all processes together) and `--lr` is the rate
of that batch; with gradients averaged, an update does not depend on how the batch is split, so a
run resumes with another number of processes without a change of rate (the run's state.json records
the world size of each segment). Only rank 0 writes the run folder: checkpoints, logs, validation.

Example (two processes on this machine; the same command with --nnodes and --rdzv-endpoint spans machines):

    torchrun --nproc-per-node 2 --no-python adain train --content photos --style paintings --out runs/ddp
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class World:
    """This process's place in a data-parallel run.

    Args:
        rank: this process's index over all machines (0 writes the run folder).
        size: the number of processes.
        local_rank: its index on its machine (the GPU it drives).
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> World:
        """The world torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK), else one process."""
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run folder."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


def join(world: World) -> None:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs); pick this process's GPU before any
    Keras variable is made. A no-op for one process or when already joined."""
    if not world.parallel:
        return
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeError(f"data-parallel training runs on the torch backend (KERAS_BACKEND=torch), not {keras.backend.backend()!r}")
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", store=attempt_store(), rank=world.rank, world_size=world.size)


def attempt_store():
    """torchrun's key-value store (MASTER_ADDR, MASTER_PORT), in a namespace of this attempt's own.

    torchrun's agent keeps one store for the whole job, restarts included: in the shared store a restarted
    rank can read the addresses the dead attempt's processes wrote there and fail to connect to them
    (pytorch/pytorch#135712, #167288; seen here with gloo). The namespace is the restart count, which
    every process on a machine shares; with several machines and `--max-restarts`, set
    TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 for torchrun: rank 0 then hosts a fresh store for each attempt
    and no namespace is added.
    """
    import torch.distributed as dist

    store, _, _ = next(dist.rendezvous("env://"))
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return store
    return dist.PrefixStore(f"adain/attempt-{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)


def wrap(decoder, world: World):
    """The decoder as DDP wraps it (rank 0's weights broadcast, gradients averaged in backward), or None
    for one process. Call the wrapper for the training forward pass."""
    if not world.parallel:
        return None
    import torch

    on_gpu = torch.cuda.is_available()
    return torch.nn.parallel.DistributedDataParallel(decoder, device_ids=[world.local_rank] if on_gpu else None)


def agree(values: list[float], world: World) -> np.ndarray:
    """The mean over the processes of each value (losses; flags, which are then > 0 where any process
    set them). One small all-reduce per step; the values as they are for one process."""
    if not world.parallel:
        return np.asarray(values, np.float64)
    import torch
    import torch.distributed as dist

    device = "cuda" if torch.cuda.is_available() else "cpu"
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return total.cpu().numpy() / world.size


def barrier(world: World) -> None:
    """Wait until every process is here (rank 0 preparing the run folder for the others)."""
    if world.parallel:
        import torch.distributed as dist

        dist.barrier()


def leave(world: World) -> None:
    """Leave the process group (after the last step; torchrun then ends the job)."""
    if world.parallel:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
