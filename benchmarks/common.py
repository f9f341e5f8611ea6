"""What every benchmark shares: interleaved timing with ``torch.utils.benchmark``, rows, tables.

Ratios are what the benchmarks report, and they are only meaningful when both sides ran under the same
conditions. On a shared 2-core machine the load changes from second to second, so :func:`compare`
times the candidates *interleaved*: round after round, each candidate once per round (a
``blocked_autorange`` of a fraction of a second, i.e. several blocks of runs), in an order that
rotates from round to round. A candidate's time is its fastest block over all rounds: interference
from other processes only ever adds time, so the minimum is the estimate least disturbed by it, and
both sides of a ratio had the same chances.
"""

from __future__ import annotations

import math
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.utils import benchmark


@dataclass
class Row:
    """One line of a result table: ``seconds`` per call (``None`` when it did not run, with ``note``
    saying why), and ``ratios`` such as ``{"vs plain Conv2d": 1.03}`` (time of this row / time of the
    named row, from the same rounds)."""

    bench: str
    case: str
    impl: str
    seconds: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    note: str = ""


def clear(*owners: torch.nn.Module | torch.Tensor) -> None:
    """Drop the gradients of modules' parameters and of tensors, as a training step does."""
    for owner in owners:
        for p in owner.parameters() if isinstance(owner, torch.nn.Module) else [owner]:
            p.grad = None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: What :func:`compare` measures: ``"wall"`` (wall-clock time, ``torch.utils.benchmark``'s default
#: timer, synchronising CUDA) or ``"cpu"`` (CPU time of the calling thread). With one torch thread
#: every op runs in the calling thread, so its CPU time is the work done, whatever else the machine
#: runs: the clock for a shared, loaded CPU. Set by ``python -m benchmarks --clock``.
CLOCK = {"name": "wall"}


def _timer() -> Callable[[], float]:
    return time.thread_time if CLOCK["name"] == "cpu" else timeit.default_timer


def _autocast(fn: Callable[[], object], device: torch.device) -> Callable[[], object]:
    def call() -> object:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            return fn()
    return call


def compare(candidates: dict[str, Callable[[], object] | None], *, device: torch.device,
            threads: int, rounds: int = 3, min_run_time: float = 0.3,
            warmup: int = 2, amp: bool = False) -> dict[str, list[float]]:
    """Seconds per call of each candidate that is not ``None``: one entry per timed block, of all
    rounds (timed interleaved). ``amp``: every call under bf16 autocast (as ``fit`` trains on a GPU).

    Each candidate runs ``warmup`` times first (allocator, lazy initialisation, ``torch.compile``).
    ``torch.utils.benchmark`` sets the thread count for the measurement and synchronises CUDA
    (with the wall clock).
    """
    ready = {name: fn for name, fn in candidates.items() if fn is not None}
    if amp:
        ready = {name: _autocast(fn, device) for name, fn in ready.items()}
    for fn in ready.values():
        for _ in range(warmup):
            fn()
        sync(device)
    times: dict[str, list[float]] = {name: [] for name in ready}
    names = list(ready)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:   # each round starts elsewhere
            fn = ready[name]
            kwargs = {"timer": _timer()} if CLOCK["name"] == "cpu" else {}
            timer = benchmark.Timer("fn()", globals={"fn": fn}, num_threads=threads, **kwargs)
            times[name].extend(timer.blocked_autorange(min_run_time=min_run_time).times)
    return times


def best_ratio(times: dict[str, list[float]], a: str, b: str) -> float | None:
    """``best(a) / best(b)``, the fastest block of each."""
    if a not in times or b not in times:
        return None
    return min(times[a]) / min(times[b])


def rows_from(bench: str, case: str, times: dict[str, list[float]],
              refs: dict[str, str], missing: dict[str, str] | None = None) -> list[Row]:
    """Rows for one case: each candidate's best time and its ratio to every reference in ``refs``
    (``{"vs plain Conv2d": "plain Conv2d (limit)"}``); ``missing`` names candidates that did not run."""
    rows = []
    for name, ts in times.items():
        ratios = {label: r for label, ref in refs.items() if ref != name
                  and (r := best_ratio(times, name, ref)) is not None}
        rows.append(Row(bench, case, name, min(ts), ratios))
    for name, why in (missing or {}).items():
        rows.append(Row(bench, case, name, None, {}, why))
    return rows


def fmt_time(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def table(rows: list[Row]) -> str:
    """A markdown table of ``rows`` (one benchmark)."""
    labels = list(dict.fromkeys(k for r in rows for k in r.ratios))
    head = ["case", "implementation", "time"] + labels + ["note"]
    align = ["---"] * 2 + ["---:"] * (len(head) - 3) + ["---"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        ratios = [(f"{r.ratios[k]:.2f}×" if r.ratios[k] >= 0.1 else f"{r.ratios[k]:.3f}×")
                  if k in r.ratios else "" for k in labels]
        lines.append("| " + " | ".join([r.case, r.impl, fmt_time(r.seconds), *ratios, r.note]) + " |")
    return "\n".join(lines)


def flops(fn: Callable[[], object]) -> int:
    """Floating-point operations of one call of ``fn`` (``torch.utils.flop_counter``: matmuls and
    convolutions, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
