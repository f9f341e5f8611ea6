"""Data-parallel training for :func:`symlib.train.fit`: the process group, the wrapped model, the loss.

Launched by ``torchrun`` (which sets ``WORLD_SIZE``), or with ``distributed=True``, the same ``fit``
call trains with PyTorch's ``DistributedDataParallel``: one process per GPU (NCCL) or per CPU worker
(gloo). Every process builds the same global batch of ``batch_size`` items from the same data order
and takes its own contiguous ``batch_size / world`` slice; DDP averages the gradients, so each step
follows the gradient of the mean loss over the whole global batch, as a single process does (up to the
order of floating-point sums; batch-norm statistics are per process unless the model uses
``nn.SyncBatchNorm``). Rank 0 writes checkpoints; every rank can resume from them::

    torchrun --nproc_per_node=4 train_script.py      # calls fit(...) unchanged

End such a script with ``torch.distributed.destroy_process_group()``: a process that exits with its
group still alive can abort in teardown (gloo: "terminate called without an active exception").
"""

from __future__ import annotations

import os

import torch
from torch import nn

__all__ = ["barrier", "gpu_per_process", "init", "mean_over_processes", "wrap"]


def init(distributed: bool | None) -> tuple[int, int]:
    """``(world_size, rank)``, initialising the default process group from ``torchrun``'s
    environment if needed; ``(1, 0)`` when not distributed.

    ``distributed=None`` means: on iff launched with more than one process (``WORLD_SIZE > 1``) or a
    process group of more than one process is already initialised.

    Raises:
        RuntimeError: ``distributed`` is asked for but there is no ``torch.distributed`` or no process
            group to join.
    """
    import torch.distributed as dist

    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed is None:
        initialised = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        distributed = launched or initialised
    if not distributed:
        return 1, 0
    if not dist.is_available():
        raise RuntimeError("distributed=True, but this PyTorch build has no torch.distributed")
    if not dist.is_initialized():
        if "MASTER_ADDR" not in os.environ:
            raise RuntimeError("distributed=True needs a process group: launch with torchrun, or call "
                               "torch.distributed.init_process_group first")
        dist.init_process_group("nccl" if gpu_per_process() else "gloo")
    return dist.get_world_size(), dist.get_rank()


def gpu_per_process() -> bool:
    """Whether each process on this machine can have a CUDA device of its own, as NCCL needs (two
    processes on a one-GPU machine share it through gloo instead)."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    return torch.cuda.is_available() and torch.cuda.device_count() >= local


def wrap(model: nn.Module, device: torch.device, world: int) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel`` (on ``device``) when ``world > 1``; else
    ``model`` itself. DDP broadcasts rank 0's weights and buffers, so every process starts identical."""
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def mean_over_processes(loss: torch.Tensor, world: int) -> float:
    """The loss as a float, averaged over the processes (every process gets the same value)."""
    if world == 1:
        return loss.item()
    total = loss.detach().to(torch.float64)  # a copy, summed without losing precision
    torch.distributed.all_reduce(total)
    return total.item() / world


def barrier(world: int) -> None:
    """Wait for every process (nothing to wait for when ``world == 1``)."""
    if world > 1:
        torch.distributed.barrier()
