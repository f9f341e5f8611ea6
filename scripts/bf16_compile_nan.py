"""The bf16 autocast + ``torch.compile`` NaN of ``results/gpu_check.json``, reduced (issue 33).

On an H200 (torch 2.11) the P4CNN's first training step under bf16 autocast *and* ``torch.compile`` had
the eager loss (2.528 against 2.527) and a NaN gradient; bf16 alone and compile alone were finite. This
script takes one step from the same weights and batch in every combination that can locate it, and
prints one JSON report:

* **the layer of the stack**: ``torch.compile`` with each backend in turn, ``eager`` (Dynamo's graph
  capture only), ``aot_eager`` (+ AOTAutograd's joint forward and backward graph),
  ``aot_eager_decomp_partition`` (+ decompositions and the min-cut partitioner) and ``inductor`` (+ the
  generated kernels). The first backend whose gradients are not finite is where the bug lives: ours
  if already ``eager`` (the model), PyTorch's from ``aot_eager`` on;
* **the parameters** whose gradients are not finite, by name (the first layer whose gradient is NaN,
  counting from the loss, is where the backward pass first produced one);
* **the model**: variants of the same P4CNN that drop one ingredient each (batch norm, the spatial pool,
  the rotation group: ``z2``, an ordinary CNN), so that the op is the one the finite variants lack.

    python scripts/bf16_compile_nan.py > results/bf16_compile_nan.json        # on a CUDA machine
    python scripts/bf16_compile_nan.py --allow-cpu --backends eager aot_eager  # smoke test of the script

Without CUDA it refuses (exit 2): bf16 autocast runs other kernels on a CPU, so a CPU run reproduces
nothing; ``--allow-cpu`` runs it anyway, to test the script. Exit status 0 whatever it finds.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BACKENDS = ("eager", "aot_eager", "aot_eager_decomp_partition", "inductor")
#: The P4CNN of benchmarks/bench_train.py (where the NaN appeared), then one ingredient removed each.
VARIANTS = {
    "P4CNN (as in gpu_check)": dict(group="p4", batch_norm=True, pool_after=[1]),
    "no batch norm": dict(group="p4", batch_norm=False, pool_after=[1]),
    "no spatial pool": dict(group="p4", batch_norm=True, pool_after=[]),
    "z2 (an ordinary CNN)": dict(group="z2", batch_norm=True, pool_after=[1]),
}


def one_step(model, images, labels, *, backend: str | None, amp: bool) -> dict:
    """Loss, gradient norm and the parameters with non-finite gradients after one forward and
    backward pass of ``model`` (a fresh copy), eager when ``backend`` is None."""
    import torch
    import torch.nn.functional as F

    model = copy.deepcopy(model)
    net = model if backend is None else torch.compile(model, backend=backend)
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=amp):
        loss = F.cross_entropy(net(images), labels)
    loss.backward()
    bad = [name for name, p in model.named_parameters()
           if p.grad is not None and not torch.isfinite(p.grad).all()]
    grads = [p.grad.float().flatten() for p in model.parameters() if p.grad is not None]
    return {"loss": float(loss.detach()), "grad_norm": float(torch.cat(grads).norm()), "finite": not bad,
            "nonfinite_gradients": bad}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (a smoke test only)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)

    import torch

    from symlib.layers.gconv import GCNN

    cuda = torch.cuda.is_available()
    if not cuda and not args.allow_cpu:
        print("bf16_compile_nan: no CUDA device; the NaN was seen on CUDA, and a CPU run reproduces "
              "nothing (--allow-cpu to test the script)", file=sys.stderr)
        return 2
    device = torch.device("cuda" if cuda else "cpu")
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch, 1, 28, 28, generator=gen).to(device)
    labels = torch.randint(0, 10, (args.batch,), generator=gen).to(device)
    report = {"torch": torch.__version__, "python": platform.python_version(),
              "device": torch.cuda.get_device_name() if cuda else "cpu (smoke test, not a reproduction)",
              "batch": args.batch, "variants": {}}
    for name in args.variants:
        torch.manual_seed(0)
        model = GCNN(1, 10, [10] * 6, padding=0, **VARIANTS[name]).to(device).train()
        runs = {"eager fp32": one_step(model, images, labels, backend=None, amp=False),
                "eager bf16": one_step(model, images, labels, backend=None, amp=True)}
        for backend in args.backends:
            torch._dynamo.reset()
            try:
                runs[f"compile {backend}, bf16"] = one_step(model, images, labels, backend=backend, amp=True)
            except Exception as error:  # noqa: BLE001 - a backend that fails is a finding too
                runs[f"compile {backend}, bf16"] = {"error": f"{type(error).__name__}: {error}"[:500]}
        first = next((b for b in args.backends if not runs[f"compile {b}, bf16"].get("finite", True)), None)
        report["variants"][name] = {"runs": runs, "first_backend_with_nonfinite_gradients": first}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
