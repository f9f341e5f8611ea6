"""Many seeds of one architecture, trained as one batched model.

A finding needs several independent runs (:mod:`symlib.stats`), and small models leave a CPU core
idle between kernel launches. :func:`train_seeds` trains ``K`` seeds at once: the ``K`` models are
built exactly as :func:`symlib.train.train` builds them (``make()`` under ``torch.manual_seed(seed)``),
their parameters and buffers are stacked along a new first axis (``torch.func.stack_module_state``),
and every step evaluates all ``K`` losses in one call of ``torch.func.vmap`` over
``torch.func.functional_call``::

    runs = train_seeds(lambda: RingCNN(16), loss_fn, data, seeds=range(8), steps=300, batch_size=50,
                       evaluate=lambda model, seed: {"test": test_loss(model)}, eval_every=50)
    runs.estimate("test")            # an Estimate over the 8 seeds of each run's last "test" evaluation

Each seed keeps everything a separate run has: its initial weights, its own data order (the epoch
permutation of ``fit`` for that seed; when a batch is the whole dataset, every step sees all of it in
stored order, which changes only the rounding of the mean, and the data are not copied per seed), its
own optimizer state (one optimizer over the stacked parameters: Adam, AdamW and SGD act elementwise,
so each seed's slice follows its own update), its own gradient clipping (the norm of that seed's
gradient) and its own batch-norm statistics. The result equals ``K`` separate
:func:`~symlib.train.train` runs up to floating-point rounding, which
``tests/test_seeds.py`` checks for three model families. Two things differ from ``fit``:

* ``loss_fn(model, batch)`` receives a *function* that applies the model (``model(*inputs)``), and the
  batch of one seed; it must be traceable by ``vmap`` (no ``.item()``, no data-dependent Python
  branches). A loss that draws random numbers (augmentation) draws them per seed from vmap's
  ``randomness="different"``: independent across seeds, but not the streams of separate runs;
* ``data`` is a ``TensorDataset`` that every seed draws from, or one ``TensorDataset`` per seed (of
  equal sizes: each seed its own training set); batches are stacked, so graphs of varying size cannot
  be. There is no AMP (use :func:`symlib.train.train` for it).

``compile=True`` compiles the batched loss (``torch.compile`` of the ``vmap``: one graph for all
``K`` seeds' forwards, so its elementwise operations fuse as a single model's would). What batching
buys depends on where a step's time goes: a model whose kernels are small leaves the device idle
between launches and gains up to ``K``×; a model that keeps a CPU core's arithmetic units busy (the
N-body EGNN at the paper's sizes) gains nothing, since ``K`` seeds are ``K`` times the work
(``benchmarks/bench_seeds.py`` measures both).

With ``checkpoint=`` the whole batched state (stacked weights, buffers, optimizer state, histories
and torch's RNG states, :mod:`symlib.checkpoint`) is saved every ``checkpoint_every`` steps and after
the last, and a run started again with the same arguments resumes where it stopped and ends bitwise
identical to an uninterrupted one (on the same device and software), as ``fit`` does: a long
``full``-scale sweep on Colab loses at most ``checkpoint_every`` steps to a disconnect.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

import symlib.checkpoint as ckpt
from symlib.config import default_device, progress_enabled
from symlib.stats import Estimate, estimate
from symlib.train import History, NonFiniteLossError, _due, _epoch_order

__all__ = ["Runs", "train_seeds"]


@dataclass
class Runs:
    """What :func:`train_seeds` returns: one trained model and one :class:`~symlib.train.History`
    per seed, in the order of ``seeds``."""

    seeds: list[int]
    models: list[nn.Module]
    histories: list[History]

    def estimate(self, key: str = "loss", *, by: str | None = None) -> Estimate:
        """Over the seeds: each run's last value of ``key`` (``"loss"``: the last training loss), or,
        with ``by``, its value of ``key`` at the evaluation where ``by`` was lowest (model selection)."""
        if by is None:
            return estimate(h.final(key) for h in self.histories)
        return estimate(h.best(key, by=by) for h in self.histories)


def _stacked_batches(tensors: Sequence[Tensor], orders: Tensor, start: int, size: int,
                     per_seed: bool) -> list[Tensor]:
    """Batch ``[start, start + size)`` of each seed's order, stacked: ``[K, size, ...]`` per tensor;
    with ``per_seed`` the tensors are ``[K, n, ...]`` (each seed's own data), else ``[n, ...]``."""
    index = orders[:, start:start + size]
    if per_seed:
        seed = torch.arange(index.shape[0], device=index.device)[:, None]
        return [t[seed, index] for t in tensors]
    return [t[index] for t in tensors]


def _data_tensors(data: TensorDataset | Sequence[TensorDataset], k: int) -> tuple[list[Tensor], bool]:
    """The training tensors: shared ``[n, ...]``, or stacked ``[K, n, ...]`` from one dataset per seed."""
    if isinstance(data, TensorDataset):
        return list(data.tensors), False
    if (not isinstance(data, Sequence) or len(data) != k
            or not all(isinstance(d, TensorDataset) for d in data)):
        raise TypeError("train_seeds stacks the seeds' batches: data must be a TensorDataset, or one "
                        f"TensorDataset per seed ({k}), got {type(data).__name__} (graphs of varying size: "
                        "use symlib.train.train)")
    shapes = {tuple(tuple(t.shape) for t in d.tensors) for d in data}
    if len(shapes) != 1:
        raise ValueError(f"the seeds' datasets must have equal shapes, got {sorted(shapes)}")
    return [torch.stack(ts) for ts in zip(*(d.tensors for d in data))], True


def _clip(grads: list[Tensor], max_norm: float) -> None:
    """Clip each seed's gradient to norm ``max_norm`` in place, as ``nn.utils.clip_grad_norm_`` does
    for one model: ``g ← g · min(1, max_norm / (‖g‖ + 1e-6))``, ``‖g‖`` over all of that seed's
    parameters."""
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)          # [K]
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *[1] * (g.dim() - 1)).to(g.dtype))


def _unstack(models: list[nn.Module], params: dict[str, Tensor], buffers: dict[str, Tensor]) -> None:
    """Copy each seed's slice of the stacked parameters and buffers into its own module."""
    with torch.no_grad():
        for k, model in enumerate(models):
            for name, p in model.named_parameters():
                p.copy_(params[name][k])
            for name, b in model.named_buffers():
                b.copy_(buffers[name][k])


def train_seeds(make: Callable[[], nn.Module], loss_fn: Callable[[Callable[..., Any], Any], Tensor],
                data: TensorDataset | Sequence[TensorDataset], seeds: Iterable[int], *, steps: int,
                batch_size: int,
                lr: float = 1e-3, weight_decay: float = 0.0,
                optimizer: Callable[[Iterable[Tensor]], torch.optim.Optimizer] | None = None,
                clip_grad: float | None = None,
                evaluate: Callable[[nn.Module, int], dict[str, float]] | None = None, eval_every: int = 0,
                device: str | torch.device | None = None, progress: bool | None = None,
                checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 0,
                compile: bool = False) -> Runs:
    """Train one model per seed, all at once (module docstring); arguments as for
    :func:`symlib.train.fit`, except ``evaluate(model, seed)``: called with each seed's model (in eval
    mode) and that seed, every ``eval_every`` steps and after the last, so that an evaluation can
    use the seed's own training data. ``checkpoint``: a file to save the batched run to every
    ``checkpoint_every`` steps (0: only after the last) and to resume from if it exists.
    ``compile``: ``torch.compile`` the batched loss (the evaluations run the plain per-seed models).

    Raises:
        TypeError: ``data`` is not a ``TensorDataset`` (or one per seed), or ``make`` is not a function.
        ValueError: no seeds, repeated seeds, datasets of unequal shapes, or invalid sizes.
        NonFiniteLossError: some seed's loss became nan/inf (the message names the seed and step).
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    tensors, per_seed = _data_tensors(data, len(seeds))
    if isinstance(make, nn.Module) or not callable(make):
        raise TypeError("make must be a function that builds the model, e.g. `lambda: RingCNN(16)`")
    sizes = (("steps", steps, 1), ("batch_size", batch_size, 1), ("eval_every", eval_every, 0),
             ("checkpoint_every", checkpoint_every, 0))
    for name, value, low in sizes:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    device = torch.device(device) if device is not None else default_device()
    n = tensors[0].shape[1] if per_seed else tensors[0].shape[0]
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size

    models = []
    for seed in seeds:                                   # the initial weights of train(make, seed=seed)
        torch.manual_seed(seed)
        models.append(make().to(device))
    params, buffers = stack_module_state(models)         # [K, ...] each; params are fresh leaves
    skeleton = models[0]
    opt = (optimizer(params.values()) if optimizer is not None
           else torch.optim.AdamW(params.values(), lr=lr, weight_decay=weight_decay))
    tensors = [t.to(device) for t in tensors]
    histories = [History() for _ in seeds]

    def one_seed(p: dict[str, Tensor], b: dict[str, Tensor], *batch: Tensor) -> Tensor:
        def model(*args: Any, **kwargs: Any) -> Any:
            return functional_call(skeleton, (p, b), args, kwargs)
        return loss_fn(model, batch)

    full_batch = batch_size == n       # every step sees all the data: its order changes only rounding,
    shared = (None,) * len(tensors) if full_batch and not per_seed else (0,) * len(tensors)  # so no copy
    losses_of = vmap(one_seed, in_dims=(0, 0, *shared), randomness="different")
    if compile:
        losses_of = torch.compile(losses_of)

    def record_evals(step: int) -> None:
        _unstack(models, params, buffers)
        for seed, model, history in zip(seeds, models, histories):
            model.eval()
            history.evals.append({"step": step, **{k: float(v) for k, v in evaluate(model, seed).items()}})
            model.train()

    first = 1
    if checkpoint is not None and os.path.exists(checkpoint):
        first = _resume(checkpoint, seeds, params, buffers, opt, histories) + 1
    skeleton.train()
    orders = epoch = None
    show = progress_enabled() if progress is None else progress
    for step in tqdm(range(first, steps + 1), disable=not show, desc=f"{len(seeds)} seeds",
                     dynamic_ncols=True, initial=first - 1, total=steps):
        e, b = divmod(step - 1, per_epoch)
        if full_batch:
            batch = tensors
        else:
            if e != epoch:
                orders, epoch = torch.stack([_epoch_order(n, s, e) for s in seeds]).to(device), e
            batch = _stacked_batches(tensors, orders, b * batch_size, batch_size, per_seed)
        losses = losses_of(params, buffers, *batch)
        values = losses.detach().tolist()
        bad = [(s, v) for s, v in zip(seeds, values) if not math.isfinite(v)]
        if bad:
            raise NonFiniteLossError(f"loss became {bad[0][1]} for seed {bad[0][0]} at step {step}")
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()                           # each seed's gradient, from its own loss
        if clip_grad is not None:
            _clip([p.grad for p in params.values()], clip_grad)
        opt.step()
        for history, value in zip(histories, values):
            history.step.append(step)
            history.loss.append(value)
        if evaluate is not None and ((eval_every and step % eval_every == 0) or step == steps):
            record_evals(step)
        if checkpoint is not None and _due(step, checkpoint_every, steps):
            ckpt.save(checkpoint, {"step": step, "seeds": seeds, "params": params, "buffers": buffers,
                                   "optimizer": opt.state_dict(), "histories": [asdict(h) for h in histories],
                                   **ckpt.rng_state()})
    _unstack(models, params, buffers)
    return Runs(seeds, models, histories)


def _resume(path: str | os.PathLike, seeds: list[int], params: dict[str, Tensor], buffers: dict[str, Tensor],
            opt: torch.optim.Optimizer, histories: list[History]) -> int:
    """Load the batched run saved at ``path`` into ``params``/``buffers`` (in place, so the optimizer
    keeps its tensors), ``opt`` and ``histories``, restore the RNG states; return its step."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["seeds"] != seeds:
        raise ValueError(f"checkpoint {os.fspath(path)!r} holds seeds {state['seeds']}, not {seeds}")
    with torch.no_grad():
        for mine, saved in ((params, state["params"]), (buffers, state["buffers"])):
            if mine.keys() != saved.keys() or any(mine[k].shape != saved[k].shape for k in mine):
                raise ValueError(f"checkpoint {os.fspath(path)!r} does not match the model")
            for name, tensor in mine.items():
                tensor.copy_(saved[name])
    opt.load_state_dict(state["optimizer"])
    for history, saved in zip(histories, state["histories"]):
        history.step, history.loss, history.evals = saved["step"], saved["loss"], saved["evals"]
    ckpt.set_rng_state(state)
    return int(state["step"])
