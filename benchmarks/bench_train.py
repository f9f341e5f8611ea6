"""``symlib.train.fit``'s GPU path: bf16 autocast (``amp=True``) and ``torch.compile`` (``compile=True``)
against eager float32 on the same model, through ``fit`` itself.

Two models: Cohen & Welling's P4CNN (:class:`~symlib.layers.gconv.GCNN`, p4, 10 channels, rotated-MNIST
sized inputs) and the N-body :class:`~symlib.layers.egnn.EGNN` (its forward on ``[B, n, 3]`` tensors,
trained with :func:`symlib.data.nbody.loss`). For each setting:

* time per step: a first ``fit`` call of a few steps warms up (and compiles: its time, less those
  steps, is reported as the start-up cost), then ``fit`` calls of ``steps`` steps on the same model
  are timed, interleaved across settings, round after round; the fastest round counts (as in
  :mod:`benchmarks.common`). ``fit``'s whole loop is timed: batching, forward, backward, AdamW;
* the equivariance error of the trained model, evaluated the way it was trained (under bf16 autocast
  for ``amp``, through ``torch.compile`` for ``compile``): the invariance error of the P4CNN's logits
  under the 4 rotations, the equivariance error of the EGNN's predicted displacement under 8 random
  rotations (relative errors in float64, as everywhere in symlib).

bf16 autocast is CUDA-only in ``fit``; those rows say so on a CPU. ``torch.compile`` runs on a CPU too,
but compiling costs minutes on two cores, so it runs there only with ``--cpu-compile``.
Float32 means PyTorch's defaults: on CUDA, cuDNN convolutions may use TF32.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from benchmarks.common import Row, _timer, sync
from symlib.data import nbody
from symlib.equivariance import equivariance_error, invariance_error
from symlib.groups import Euclidean3d, Product, Rot90, Trivial
from symlib.layers.egnn import EGNN
from symlib.layers.gconv import GCNN
from symlib.train import NonFiniteLossError, fit

SETTINGS = {"eager fp32": (False, False), "bf16 autocast": (True, False),
            "torch.compile": (False, True), "bf16 autocast + compile": (True, True)}


def _problems(device: torch.device) -> dict[str, tuple]:
    """``name: (make model, data, loss_fn, batch, error(model, wrap))``."""
    gen = torch.Generator().manual_seed(0)
    cuda = device.type == "cuda"
    images = torch.randn(2048 if cuda else 256, 1, 28, 28, generator=gen)
    labels = torch.randint(0, 10, (len(images),), generator=gen)
    probe = images[:16].to(device)

    def gcnn_error(model, wrap):
        model.eval()
        with torch.no_grad():
            err = invariance_error(lambda x: wrap(model)(x).float(), probe, Rot90()).max
        model.train()
        return err

    n = 1000 if cuda else 200
    pos, vel = torch.randn(n, 5, 3, generator=gen), torch.randn(n, 5, 3, generator=gen)
    charges = (torch.randint(0, 2, (n, 5), generator=gen) * 2 - 1).float()
    target = pos + vel + 0.1 * torch.randn(n, 5, 3, generator=gen)
    se3 = Euclidean3d(translations=False)
    sample = tuple(t[:20].to(device) for t in (pos, vel, charges))
    elements = [se3.sample(torch.Generator().manual_seed(i)) for i in range(8)]

    def egnn_error(model, wrap):
        def f(inputs):
            p, v, q = inputs
            return (wrap(model)(p, v, q) - p).float()
        with torch.no_grad():
            act = Product(se3, se3.on_vectors(), Trivial())
            return equivariance_error(f, sample, act, se3.on_vectors(), elements=elements).max

    return {
        "P4CNN (GCNN p4, 6×10 ch), batch " + ("128" if cuda else "32"):
            (lambda: GCNN(1, 10, [10] * 6, group="p4", padding=0, pool_after=[1]),
             TensorDataset(images, labels), lambda m, b: F.cross_entropy(m(b[0]), b[1]),
             128 if cuda else 32, gcnn_error),
        "EGNN (4 × 64), batch 100 systems":
            (lambda: EGNN(64, 4), TensorDataset(pos, vel, charges, target), nbody.loss, 100,
             egnn_error),
    }


def _wrap(device: torch.device, amp: bool, compiled: bool):
    """How a trained model is called for its equivariance error: the way ``fit`` trained it."""
    def wrap(model):
        model = torch.compile(model) if compiled else model

        def call(*args):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                return model(*args)
        return call
    return wrap


def _first_step(base, loss_fn, data, batch: int, device: torch.device, amp: bool, compiled: bool) -> str:
    """Loss and gradient norm of one step from the initial weights, eager against this setting: where
    a setting diverges, whether its very first forward/backward already differs from eager mode."""
    out = []
    for label, comp in (("eager", False), ("this setting", compiled)):
        model = copy.deepcopy(base).to(device)
        net = torch.compile(model) if comp else model
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = loss_fn(net, [t.to(device) for t in data[:batch]])
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).norm()
        out.append(f"{label}: loss {loss.item():.4g}, |grad| {grad.item():.4g}")
    return "first step from the same weights, " + " vs ".join(out)


def _problem(case: str, make, data, loss_fn, batch: int, error, *, device: torch.device, rounds: int,
             steps: int, warm: int, cpu_compile: bool) -> list[Row]:
    from torch._dynamo.utils import counters

    cuda = device.type == "cuda"
    torch.manual_seed(0)
    base = make()
    runnable, skipped = {}, {}
    for name, (amp, compiled) in SETTINGS.items():
        if amp and not (cuda and torch.cuda.is_bf16_supported()):
            skipped[name] = "skipped: bf16 autocast needs a CUDA GPU with bf16"
        elif compiled and not cuda and not cpu_compile:
            skipped[name] = "skipped on CPU (minutes to compile on 2 cores): --cpu-compile"
        else:
            runnable[name] = (copy.deepcopy(base).to(device), amp, compiled)

    def train(name: str, n: int) -> float:
        model, amp, compiled = runnable[name]
        clock = _timer()
        sync(device)
        start = clock()
        fit(model, loss_fn, data, steps=n, batch_size=batch, device=device, amp=amp,
            compile=compiled, progress=False)
        sync(device)
        return clock() - start

    startup, graphs = {}, {}
    for name in list(runnable):
        before = counters["stats"]["unique_graphs"]
        try:
            startup[name] = train(name, warm)
        except NonFiniteLossError as e:          # a setting that diverges is a result, not a crash
            skipped[name] = f"training failed: {e}; " + _first_step(base, loss_fn, data, batch, device,
                                                                     *runnable[name][1:])
            del runnable[name]
            continue
        graphs[name] = counters["stats"]["unique_graphs"] - before
    times: dict[str, list[float]] = {name: [] for name in runnable}
    for _ in range(rounds):
        for name in runnable:
            before = counters["stats"]["unique_graphs"]
            times[name].append(train(name, steps) / steps)
            graphs[name] += counters["stats"]["unique_graphs"] - before   # recompiles show here
    rows = []
    for name in SETTINGS:
        if name in skipped:
            rows.append(Row("train", case, name, None, {}, skipped[name]))
            continue
        model, amp, compiled = runnable[name]
        per_step = min(times[name])          # the fastest round (see benchmarks.common)
        ratio = {}
        if "eager fp32" in times and name != "eager fp32":
            ratio["vs eager fp32"] = per_step / min(times["eager fp32"])
        extra = startup[name] - warm * per_step
        note = (f"equivariance error {error(model, _wrap(device, amp, compiled)):.1e}; "
                f"first call +{max(extra, 0):.1f} s")
        if compiled:
            note += f"; {graphs[name]} graph(s) compiled"
        rows.append(Row("train", case, name, per_step, ratio, note))
    return rows


def run(device: torch.device, threads: int, rounds: int, quick: bool = False,
        cpu_compile: bool = False) -> list[Row]:
    steps, warm = (20, 5) if quick else (50, 10)
    return [row for case, problem in _problems(device).items()
            for row in _problem(case, *problem, device=device, rounds=rounds, steps=steps, warm=warm,
                                cpu_compile=cpu_compile)]
