"""Run the benchmarks and print their tables (markdown) with the ratios of issue 11's targets.

    python -m benchmarks                                  # everything, CPU (1 thread, its CPU time)
    python -m benchmarks --only gconv,egnn --rounds 7
    python -m benchmarks --only gconv --threads 2 --clock wall   # two threads, wall clock
    python -m benchmarks --device cuda --only gconv,egnn,nbody,train
    python -m benchmarks --device cuda --only gconv --amp   # group convolutions in bf16
    python -m benchmarks --readme            # also write each table into its block of benchmarks/README.md

Use ``benchmarks/.venv/bin/python`` (made by ``bash benchmarks/setup_env.sh``) to have the reference
libraries; a reference that cannot be imported gives a "not installed" row. The benchmarks are never
imported by the tests or CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

if __package__ in (None, ""):          # python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks import common
from benchmarks.common import Row, table

BENCHES = ("gconv", "egnn", "nbody", "train", "seeds", "reproduce", "book")
README = Path(__file__).with_name("README.md")


def machine(device: torch.device, threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"torch {torch.__version__}"]
    for name in ("escnn", "egnn-pytorch", "numpy"):
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} not installed")
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    clock = "CPU time of the benchmarking thread" if common.CLOCK["name"] == "cpu" else "wall-clock time"
    return (f"{dt.date.today().isoformat()}; {os.cpu_count()} × {cpu}{gpu}; "
            f"{threads} torch thread{'s' * (threads != 1)}; {clock}; "
            + ", ".join(versions) + f"; load average {os.getloadavg()[0]:.1f} at start")


def targets(rows: list[Row]) -> list[str]:
    """The targets of issues 11 and 19, checked against the measured ratios."""
    out = []

    def pick(bench, impl, ratio):
        return [(r.case, r.ratios[ratio]) for r in rows
                if r.bench == bench and r.impl == impl and ratio in r.ratios]

    for case, x in pick("gconv", "symlib", "vs plain Conv2d"):
        limit = 1.1 if case.endswith("bf16 autocast") else 1.15      # issue 19's GPU target in bf16
        out.append(f"gconv  {case}: symlib / plain Conv2d = {x:.2f}× (target ≤ {limit:g}×: "
                   f"{'met' if x <= limit else 'missed'})")
    for case, x in pick("gconv", "escnn R2Conv", "vs symlib"):
        out.append(f"gconv  {case}: escnn R2Conv / symlib = {x:.2f}× (target ≥ 2×: "
                   f"{'met' if x >= 2 else 'missed'})")
    for case, x in pick("egnn", "egnn-pytorch EGNN", "vs symlib"):
        out.append(f"egnn   {case}: egnn-pytorch / symlib = {x:.2f}× (target ≥ 1.5×: "
                   f"{'met' if x >= 1.5 else 'missed'})")
    for case, x in pick("egnn", "egnn-pytorch, MLPs matched to symlib", "vs symlib"):
        out.append(f"egnn   {case}: egnn-pytorch (matched MLPs) / symlib = {x:.2f}× (same FLOPs; no target)")
    for case, x in pick("seeds", "8 seeds, one after another", "sequential / batched"):
        out.append(f"seeds  {case}: sequential / batched = {x:.2f}× (target ≥ 3×: "
                   f"{'met' if x >= 3 else 'missed'})")
    for case, x in pick("reproduce", "1 seed, compiled (as reproduce.py)", "1 seed / batched"):
        out.append(f"reproduce  {case}: 1 seed / 3 seeds batched = {x:.2f}× per seed-step (issue 32's "
                   f"target ≥ 2×, three seeds in ≤ 1.5× one seed's time: {'met' if x >= 2 else 'missed'})")
    for case, x in pick("nbody", "per-trajectory loop", "vs batched"):
        out.append(f"nbody  {case}: per-trajectory loop / batched = {x:.1f}× per system")
    for case, x in pick("book", "pytest --nbval", "of the 15-min budget"):
        out.append(f"book   {case}: {x * 15:.1f} min (target ≤ 15 min: {'met' if x <= 1 else 'missed'})")
    return out


def write_readme(key: str, text: str) -> None:
    """Replace the block between ``<!-- results:KEY -->`` and ``<!-- /results:KEY -->`` in README.md
    (appending it if missing): each benchmark and device has its own, so runs can fill them one by one."""
    start, end = f"<!-- results:{key} -->", f"<!-- /results:{key} -->"
    block = f"{start}\n{text.strip()}\n{end}"
    old = README.read_text() if README.exists() else ""
    if start in old and end in old:
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, old, flags=re.DOTALL)
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    README.write_text(new)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES),
                        help=f"comma-separated subset of {','.join(BENCHES)} (default: all)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the timings (default: 1 on a CPU, torch's default on CUDA)")
    parser.add_argument("--clock", default=None, choices=["wall", "cpu"],
                        help="wall: wall-clock time; cpu: CPU time of the benchmarking thread, robust on "
                             "a loaded machine (CPU with --threads 1 only). Default: cpu on a CPU with one "
                             "thread, else wall")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per comparison")
    parser.add_argument("--quick", action="store_true", help="fewer cases and steps (a smoke test)")
    parser.add_argument("--amp", action="store_true",
                        help="gconv: time every candidate under bf16 autocast (CUDA, or a CPU with bf16)")
    parser.add_argument("--notebooks", default="*.ipynb", help="glob in notebooks/ for the book benchmark")
    parser.add_argument("--cpu-compile", action="store_true", help="also time torch.compile on a CPU")
    parser.add_argument("--readme", action="store_true", help="write the tables into benchmarks/README.md")
    args = parser.parse_args(argv)
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    if unknown := set(only) - set(BENCHES):
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {','.join(BENCHES)}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA device")
    if args.threads is None:
        args.threads = 1 if device.type == "cpu" else torch.get_num_threads()
    if args.clock is None:
        args.clock = "cpu" if device.type == "cpu" and args.threads == 1 else "wall"
    if args.clock == "cpu" and (device.type != "cpu" or args.threads != 1):
        parser.error("--clock cpu measures one thread's CPU time: use it with --device cpu --threads 1")
    common.CLOCK["name"] = args.clock
    torch.set_num_threads(args.threads)

    command = " ".join(argv or sys.argv[1:])
    header = f"Measured {machine(device, args.threads)}; `python -m benchmarks {command}`."
    print(header, flush=True)
    all_rows = []
    for name in only:
        module = __import__(f"benchmarks.bench_{name}", fromlist=["run"])
        kwargs = {"quick": args.quick}
        if name == "book":
            kwargs["pattern"] = args.notebooks
        if name in ("train", "egnn"):
            kwargs["cpu_compile"] = args.cpu_compile
        if name == "gconv":
            kwargs["amp"] = args.amp
        rows = module.run(device, args.threads, args.rounds, **kwargs)
        all_rows += rows
        print(f"\n### {name}\n\n{table(rows)}\n", flush=True)
        if args.readme:
            summary = targets(rows)
            key = f"{device.type}:{name}{':bf16' if args.amp and name == 'gconv' else ''}"
            write_readme(key, f"{header}\n\n{table(rows)}\n"
                         + ("\n" + "\n".join(f"- {s}" for s in summary) if summary else ""))
    summary = targets(all_rows)
    if summary:
        print("Targets:\n" + "\n".join("  " + s for s in summary))
    if args.readme:
        print(f"\nwrote the tables into {README}")


if __name__ == "__main__":
    main()
