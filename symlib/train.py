"""One small, device-agnostic training loop shared by every chapter.

``fit`` trains for a fixed number of *steps* (never epochs or seconds), so a run is a pure function of
its arguments: the data order of epoch ``e`` is ``randperm(n)`` under a generator seeded from
``(seed, e)``, and checkpoints carry the model, optimizer, history and global RNG states. A run
interrupted at any step and resumed from its last checkpoint therefore ends bitwise identical to an
uninterrupted one (on the same device and software versions)::

    history = fit(model, lambda m, b: F.mse_loss(m(b[0]), b[1]), TensorDataset(x, y),
                  steps=1000, batch_size=64, checkpoint="checkpoints/ch3.pt", checkpoint_every=200)

Checkpoints are written and read by :mod:`symlib.checkpoint`. Launched by ``torchrun``, or with
``distributed=True``, the same call trains data-parallel over the processes (:mod:`symlib.distributed`).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import hashlib
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import Dataset, TensorDataset, default_collate
from tqdm.auto import tqdm

import symlib.checkpoint as ckpt
import symlib.distributed as ddp
from symlib.config import default_device, progress_enabled

__all__ = ["History", "NonFiniteLossError", "fit", "step_flops", "to_device", "train"]


class NonFiniteLossError(RuntimeError):
    """The training loss became nan or inf; the message names the step (``"... at step 17"``)."""


@dataclass
class History:
    """What ``fit`` recorded. Plain lists and dicts, so it survives ``torch.load(weights_only=True)``.

    Attributes:
        step: 1-based step number of each recorded training loss.
        loss: training loss of that step (same length as ``step``).
        evals: one dict per evaluation: ``{"step": s, **evaluate(model)}``.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)

    def final(self, key: str = "loss") -> float:
        """The last training loss (``key="loss"``), or the last recorded value of eval metric ``key``."""
        if key == "loss" and self.loss:
            return self.loss[-1]
        for record in reversed(self.evals):
            if key in record:
                return record[key]
        known = sorted({k for r in self.evals for k in r} | ({"loss"} if self.loss else set()))
        raise KeyError(f"no recorded value for {key!r}; recorded: {known}")

    def at(self, step: int) -> dict[str, float]:
        """The evaluation recorded at ``step``: ``{"step": step, metric: value, ...}``."""
        for record in self.evals:
            if record["step"] == step:
                return record
        raise KeyError(f"no evaluation at step {step}; evaluated at {[r['step'] for r in self.evals]}")

    def best(self, key: str, by: str) -> float:
        """Eval metric ``key`` at the evaluation where metric ``by`` was lowest (model selection, e.g.
        the test error at the lowest validation error); evaluations without ``by`` are skipped."""
        chosen = [r for r in self.evals if by in r and key in r]
        if not chosen:
            raise KeyError(f"no evaluation recorded both {key!r} and {by!r}")
        return min(chosen, key=lambda r: r[by])[key]

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """``(steps, values)`` of eval metric ``key`` over training (``"loss"``: every training step)."""
        if key == "loss":
            return list(self.step), list(self.loss)
        pairs = [(r["step"], r[key]) for r in self.evals if key in r]
        if not pairs:
            known = sorted({k for r in self.evals for k in r} - {"step"})
            raise KeyError(f"no evaluation recorded {key!r}; recorded: {known}")
        steps, values = zip(*pairs)
        return list(steps), list(values)


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move a batch to ``device``: tensors, (named)tuples/lists/dicts of them, anything with ``.to()``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    if hasattr(batch, "to"):  # torch_geometric Batch / Data
        return batch.to(device)
    return batch


def step_flops(model: nn.Module, loss_fn: Callable[[nn.Module, Any], torch.Tensor], batch: Any, *,
               elementwise: bool = False) -> int:
    """Floating-point operations of one training step, forward and backward, on ``batch``.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add of matrix products and
    convolutions, the operations that dominate; elementwise work is not counted). With
    ``elementwise`` every other operator is counted too, one operation per element it outputs: sums
    and products, nonlinearities, reductions, the scatter-sums of message passing, gathers and copies
    alike (views are free): an upper-end estimate of the work the matrix count leaves out. The model
    is deep-copied first, so batch-norm statistics and gradients of ``model`` are left untouched.
    """
    from torch.utils.flop_counter import FlopCounterMode

    clone = copy.deepcopy(model).train()
    counter = FlopCounterMode(display=False)
    others = _OutputElements()
    with counter, (others if elementwise else contextlib.nullcontext()):
        loss_fn(clone, batch).backward()
    flops = int(counter.get_total_flops())
    if not elementwise:
        return flops
    matrix_ops = {str(op) for op in counter.get_flop_counts().get("Global", {})}   # counted already
    return flops + sum(n for op, n in others.elements.items() if op not in matrix_ops)


class _OutputElements(TorchDispatchMode):
    """Counts, per operator (``str`` of its overload packet, e.g. ``"aten.add"``), the elements of the
    tensors it outputs; views and other operators that compute nothing are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if not getattr(func, "is_view", False) and func.overloadpacket not in _FREE:
            tensors = out if isinstance(out, (tuple, list)) else (out,)
            self.elements[str(func.overloadpacket)] += sum(t.numel() for t in tensors
                                                          if isinstance(t, torch.Tensor))
        return out


#: Operators that allocate or relabel but compute nothing.
_FREE = {getattr(torch.ops.aten, name) for name in (
    "detach", "empty", "empty_like", "empty_strided", "full", "lift_fresh", "new_empty", "new_zeros", "ones",
    "ones_like", "zeros", "zeros_like")}


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``range(n)`` used in ``epoch``: a pure function of ``(seed, epoch)``."""
    digest = hashlib.blake2b(f"symlib.fit:{seed}:{epoch}".encode(), digest_size=8).digest()
    gen = torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
    return torch.randperm(n, generator=gen)


def _collate(data: Dataset | Sequence, idx: torch.Tensor) -> Any:
    """Gather items ``idx`` of ``data`` into one batch (a PyG ``Batch`` for graphs)."""
    if isinstance(data, TensorDataset):  # fast path, same result as default_collate
        return [t[idx] for t in data.tensors]
    items = [data[i] for i in idx.tolist()]
    if "torch_geometric" in sys.modules:  # graphs imply it is loaded; spare others its ~3 s import
        from torch_geometric.data import Batch
        from torch_geometric.data.data import BaseData

        if isinstance(items[0], BaseData):
            return Batch.from_data_list(items)
    return default_collate(items)


def _check_arguments(data: Dataset | Sequence, steps: int, batch_size: int, eval_every: int,
                     checkpoint_every: int, clip_grad: float | None) -> int:
    """Check :func:`fit`'s counts, ``clip_grad`` and ``data``; return ``len(data)``."""
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1),
                             ("eval_every", eval_every, 0), ("checkpoint_every", checkpoint_every, 0)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if clip_grad is not None and not clip_grad > 0:
        raise ValueError(f"clip_grad must be positive or None, got {clip_grad}")
    if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(f"data must be a map-style Dataset or a sequence, got {type(data).__name__}")
    n = len(data)
    if n == 0:
        raise ValueError("data is empty")
    return n


def _device_and_amp(device: str | torch.device | None, amp: bool | None,
                    world: int) -> tuple[torch.device, bool]:
    """:func:`fit`'s device (this process's own GPU in a multi-GPU job) and whether to use bf16 autocast."""
    if device is None and world > 1 and ddp.gpu_per_process():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    device = torch.device(device) if device is not None else default_device()
    if amp is None:
        amp = device.type == "cuda" and torch.cuda.is_bf16_supported()
    elif amp and (device.type != "cuda" or not torch.cuda.is_bf16_supported()):
        raise ValueError(f"amp=True needs a CUDA device with bf16 support, got device {device}")
    return device, amp


def _loss_value(loss: Any, step: int, world: int) -> float:
    """The loss of ``step`` as a float (mean over the processes), once checked to be a finite scalar."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn must return a scalar tensor, got {type(loss).__name__}")
    if loss.ndim != 0:
        raise ValueError(f"loss_fn must return a scalar tensor, got shape {tuple(loss.shape)}")
    value = ddp.mean_over_processes(loss, world)
    if not math.isfinite(value):
        raise NonFiniteLossError(f"loss became {value} at step {step}")
    return value


def _due(step: int, every: int, steps: int) -> bool:
    """Whether something done every ``every`` steps (0: never) and after the last step is due at ``step``."""
    return (every > 0 and step % every == 0) or step == steps


def _record_eval(model: nn.Module, evaluate: Callable[[nn.Module], dict[str, float]], history: History,
                 step: int) -> None:
    """Call ``evaluate(model)`` in eval mode and append ``{"step": step, **metrics}`` to ``history``."""
    model.eval()
    metrics = evaluate(model)
    model.train()
    history.evals.append({"step": step, **{k: float(v) for k, v in metrics.items()}})


def fit(model: nn.Module, loss_fn: Callable[[nn.Module, Any], torch.Tensor], data: Dataset | Sequence,
        *, steps: int, batch_size: int, lr: float = 1e-3, weight_decay: float = 0.0,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] | None = None,
        seed: int = 0, device: str | torch.device | None = None, amp: bool | None = None,
        compile: bool = False, clip_grad: float | None = None,
        evaluate: Callable[[nn.Module], dict[str, float]] | None = None, eval_every: int = 0,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 0, resume: bool = True,
        callback: Callable[[int, float], None] | None = None, progress: bool | None = None,
        distributed: bool | None = None, shuffle: bool = True) -> History:
    """Train ``model`` for ``steps`` optimizer steps on minibatches of ``data``; return its History.

    Each step ``s`` (1-based) uses batch ``s - 1`` of the epoch order (see module docstring); the last
    incomplete batch of each epoch is dropped, so every batch has exactly ``min(batch_size, len(data))``
    items. Per step: forward (``loss_fn(model, batch)`` under bf16 autocast if ``amp``), nan/inf check,
    backward, optional gradient clipping, optimizer step; then evaluation, checkpoint and ``callback``
    when due, in that order.

    Args:
        model: initialised by the caller; moved to ``device`` in place.
        loss_fn: ``(model, batch on device) -> scalar loss``. Gets the compiled model if ``compile``.
        data: a map-style Dataset (e.g. ``TensorDataset``) or a sequence of torch_geometric ``Data``.
        steps: total number of optimizer steps (including those of a resumed checkpoint).
        batch_size: items per batch, capped at ``len(data)``.
        lr, weight_decay: for the default optimizer, ``AdamW``; ignored if ``optimizer`` is given.
        optimizer: factory ``params -> Optimizer``, e.g. ``lambda p: torch.optim.SGD(p, lr=0.1)``.
        seed: seeds the data order and, on a fresh run, torch's global RNG (dropout etc.).
        device: default :func:`symlib.config.default_device`.
        amp: bf16 autocast. ``None``: on iff the device is CUDA with bf16 support. Pass
            ``amp=False`` to reproduce published float32 numbers, or where exactness matters.
        compile: ``torch.compile`` the model for ``loss_fn`` (``evaluate`` gets the plain model).
        clip_grad: max global gradient norm, or ``None``.
        evaluate: ``model -> {metric: value}``, called in eval mode (no ``no_grad``: add your own)
            every ``eval_every`` steps (0: never) and after the last step.
        checkpoint: file to save to (and resume from); saved every ``checkpoint_every`` steps
            (0: only at the end) and after the last step. Ignored when ``None``.
        resume: continue from ``checkpoint`` if it exists; if its step >= ``steps``, load the
            weights and return its history without training.
        callback: ``(step, loss)`` after each step; may raise (e.g. ``KeyboardInterrupt``) to stop.
        progress: tqdm bar; default :func:`symlib.config.progress_enabled` (rank 0 only).
        distributed: data-parallel over the processes of a ``torch.distributed`` job
            (:mod:`symlib.distributed`). ``None``: on iff launched by ``torchrun`` with more than
            one process. ``batch_size`` must then be a multiple of the number of processes.
        shuffle: ``False`` takes the batches in the data's own order every epoch (items ``0..B-1``,
            then ``B..2B-1``, ...), as training loops that slice the data do; the default draws
            the epoch order described in the module docstring.

    Raises:
        NonFiniteLossError: the loss of some step is nan/inf (raised before that optimizer step).
        ValueError, TypeError: invalid arguments or a non-scalar loss.
    """
    n = _check_arguments(data, steps, batch_size, eval_every, checkpoint_every, clip_grad)
    world, rank = ddp.init(distributed)
    device, amp = _device_and_amp(device, amp, world)
    batch_size = min(batch_size, n)
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} must be a multiple of the number of processes ({world})")
    batches_per_epoch, local = n // batch_size, batch_size // world
    progress = (progress_enabled() if progress is None else progress) and rank == 0

    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = (optimizer(params) if optimizer is not None
           else torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay))
    history, start = History(), 0
    if checkpoint is not None and resume and os.path.exists(checkpoint):
        state = ckpt.load(checkpoint, model)
        history, start = History(**state["history"]), state["step"]
        if start >= steps:
            return history
        ckpt.resume(state, opt)
    else:
        torch.manual_seed(seed)
    net = ddp.wrap(model, device, world)
    net = torch.compile(net) if compile else net

    was_training, order, order_epoch = model.training, None, -1
    bar = tqdm(total=steps, initial=start, disable=not progress, desc="fit", dynamic_ncols=True)
    try:
        model.train()
        for step in range(start + 1, steps + 1):
            epoch, b = divmod(step - 1, batches_per_epoch)
            if epoch != order_epoch:
                order, order_epoch = _epoch_order(n, seed, epoch) if shuffle else torch.arange(n), epoch
            first = b * batch_size + rank * local        # this process's slice of the global batch
            batch = to_device(_collate(data, order[first:first + local]), device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_fn(net, batch)
            value = _loss_value(loss, step, world)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(params, clip_grad)
            opt.step()
            history.step.append(step)
            history.loss.append(value)
            if evaluate is not None and _due(step, eval_every, steps):
                _record_eval(model, evaluate, history, step)
            if checkpoint is not None and _due(step, checkpoint_every, steps):
                if rank == 0:
                    ckpt.save(checkpoint, ckpt.snapshot(step, model, opt, asdict(history)))
                ddp.barrier(world)  # nobody runs ahead of a checkpoint it may resume from
            bar.update(1)
            if step % 10 == 0 or step == steps:
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            if callback is not None:
                callback(step, value)
    finally:
        bar.close()
        model.train(was_training)
    return history


def train(make: Callable[[], nn.Module], loss_fn: Callable[[nn.Module, Any], torch.Tensor],
          data: Dataset | Sequence, *, seed: int = 0, **kwargs: Any) -> tuple[nn.Module, History]:
    """Build a model with ``make()`` under ``torch.manual_seed(seed)`` and train it with :func:`fit`
    (same ``seed``, and every other keyword of ``fit``); return ``(model, history)``.

    One seed decides the whole run, initial weights included: ``train(lambda: EGNN(64, 4), loss, data,
    seed=s, steps=1000, batch_size=100)`` is the same run on every call, and runs that differ only in
    ``seed`` are independent repetitions.
    """
    if isinstance(make, nn.Module) or not callable(make):
        raise TypeError("make must be a function that builds the model (e.g. `lambda: EGNN(64, 4)`), "
                        f"got {type(make).__name__}; to train an existing model call fit()")
    torch.manual_seed(seed)
    model = make()
    if not isinstance(model, nn.Module):
        raise TypeError(f"make() must return an nn.Module, got {type(model).__name__}")
    return model, fit(model, loss_fn, data, seed=seed, **kwargs)
