"""Run configuration shared by every chapter: experiment scale, device, seeding.

A chapter's ``parameters`` cell sets ``SCALE`` (``"ci"`` by default, ``"full"`` on a GPU); papermill
can override it (``papermill chapter.ipynb out.ipynb -p SCALE full``). Everything an experiment sizes
by scale goes through :meth:`Setup.pick`, so a chapter states both budgets side by side::

    setup = symlib.setup(SCALE)
    steps = setup.pick(ci=300, full=20_000)

Budgets are counted in steps or samples, never in seconds, so results do not depend on machine load.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import torch

__all__ = ["SCALES", "Scale", "Setup", "cache_dir", "check_scale", "default_device", "progress_enabled",
           "seed_everything", "setup"]

Scale = Literal["ci", "full"]
SCALES: tuple[str, ...] = ("ci", "full")
T = TypeVar("T")


def check_scale(scale: str) -> Scale:
    """Return ``scale`` if it is a known scale, else raise ``ValueError`` naming the valid ones."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(map(repr, SCALES))}")
    return scale  # type: ignore[return-value]


def default_device() -> torch.device:
    """The best available device: CUDA, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, *, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and, optionally, make torch deterministic.

    With ``deterministic=True`` torch refuses nondeterministic kernels, cuDNN autotuning is off and
    TF32 matmuls are disabled (TF32 rounds float32 products to 10 mantissa bits, which would show up
    as spurious equivariance errors on Ampere and later GPUs). Returns a fresh ``torch.Generator``
    seeded with ``seed`` for code that wants an explicit random stream.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; it must be set before the first CUDA call.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Setup:
    """The resolved configuration of one chapter run.

    Attributes:
        scale: ``"ci"`` (small, CPU, minutes) or ``"full"`` (the published experiment sizes, GPU).
        device: where models and batches live.
        seed: the seed everything was initialised with.
    """

    scale: Scale
    device: torch.device
    seed: int

    def pick(self, *, ci: T, full: T) -> T:
        """Return the value for the current scale: ``setup.pick(ci=200, full=20_000)``."""
        return ci if self.scale == "ci" else full

    def __str__(self) -> str:
        return f"scale={self.scale} device={self.device.type} seed={self.seed}"


def setup(scale: str = "ci", *, seed: int = 0, device: str | torch.device | None = None,
          deterministic: bool = True) -> Setup:
    """Validate the scale, choose the device, seed everything; the first call of every chapter.

    Args:
        scale: ``"ci"`` or ``"full"``.
        seed: global seed (Python, NumPy, torch).
        device: force a device (``"cpu"``, ``"cuda"``); default :func:`default_device`.
        deterministic: see :func:`seed_everything`.
    """
    scale = check_scale(scale)
    dev = torch.device(device) if device is not None else default_device()
    seed_everything(seed, deterministic=deterministic)
    return Setup(scale=scale, device=dev, seed=seed)


def progress_enabled() -> bool:
    """Whether progress bars are shown: yes, unless ``SYMLIB_PROGRESS=0`` (set by tests and the
    notebook executor, so stored outputs and ``pytest --nbval`` never see a progress bar)."""
    return os.environ.get("SYMLIB_PROGRESS", "1") != "0"


def cache_dir() -> Path:
    """Where generated and downloaded datasets are kept: ``$SYMLIB_CACHE``, default ``~/.cache/symlib``."""
    return Path(os.environ.get("SYMLIB_CACHE", Path.home() / ".cache" / "symlib"))
