"""Checkpoints that let :func:`symlib.train.fit` resume a run exactly where it stopped.

A checkpoint is one ``torch.save`` file holding plain tensors, lists and dicts (so it loads with
``torch.load(weights_only=True)``, which runs no pickled code): the step reached, the model's and the
optimizer's state dicts, the run's history, and torch's global RNG states (CPU, and every CUDA device).
Together with ``fit``'s data order, a pure function of ``(seed, epoch)``, that is the whole state of a
run: a run interrupted at any step and resumed from its last checkpoint ends **bitwise identical** to
an uninterrupted one, on the same device and software versions (another GPU, PyTorch or BLAS may round
differently, and then the two runs agree only to rounding).

:func:`save` writes atomically (a temporary file next to the target, then ``os.replace``), so a run
killed while saving leaves the previous checkpoint intact and no partial file behind::

    save("checkpoints/ch3.pt", snapshot(step, model, opt, asdict(history)))
    state = load("checkpoints/ch3.pt", model)   # weights restored; state["step"], state["history"]
    resume(state, opt)                          # optimizer and RNG restored: continue at state["step"] + 1
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch
from torch import nn

__all__ = ["load", "resume", "rng_state", "save", "set_rng_state", "snapshot"]


def rng_state() -> dict[str, Any]:
    """Torch's global RNG states: ``{"rng_cpu": tensor, "rng_cuda": [tensor per CUDA device]}``."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"rng_cpu": torch.get_rng_state(), "rng_cuda": list(cuda)}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states that :func:`rng_state` captured (the CUDA ones only where CUDA is
    available and they were captured)."""
    torch.set_rng_state(state["rng_cpu"])
    if state["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng_cuda"])


def snapshot(step: int, model: nn.Module, optimizer: torch.optim.Optimizer,
             history: dict[str, Any]) -> dict[str, Any]:
    """The state of a run after ``step`` steps, as :func:`save` writes it and :func:`load` reads it.

    ``history`` is the run's record as plain lists and dicts (``dataclasses.asdict(History)``).
    """
    return {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "history": history, **rng_state()}


def save(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` atomically: write a temp file next to ``path``, then ``os.replace`` it.

    Creates ``path``'s directory if needed. On any error (the temp file is removed and) the error is
    raised again, with whatever was at ``path`` before left untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path: str | os.PathLike, model: nn.Module) -> dict[str, Any]:
    """Read the checkpoint at ``path`` (``weights_only=True``, onto the CPU), load its weights into
    ``model`` and return the whole state (``"step"``, ``"history"``, ... as :func:`snapshot` made it).

    Raises:
        RuntimeError: the checkpoint's weights do not fit ``model``; the message names the file.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise RuntimeError(f"checkpoint {os.fspath(path)!r} does not match the model: {e}") from e
    return state


def resume(state: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    """Continue the run that :func:`load` read: restore ``optimizer``'s state, then the global RNG
    states, so the next step is the one the interrupted run would have taken."""
    optimizer.load_state_dict(state["optimizer"])
    set_rng_state(state)
