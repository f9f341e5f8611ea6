"""Does a recorded reproduction regenerate when its command runs again, here and with other kernels?

    python scripts/regeneration.py            # writes results/regeneration.json (about 15 minutes)

The data of every reproduction are the same bits on every machine (``tests/test_data_digests.py``);
training is another matter. This script runs the recorded commands of the fast rows again (every
seed of ``results/mnist1d.json``, this book's protocol, and the Linear row of
``results/nbody-authors.json``), each three times: with the kernels torch picks on this machine, and
with the kernels it falls back to on older CPUs (``ATEN_CPU_CAPABILITY=avx2``, and ``default``, the
portable ones): the nearest this machine comes to "another machine". For each row and kernel set it
records how many seeds give the recorded number exactly, the largest change of one seed's number, the
seeds' own standard deviation (the scale on which a change matters), and the page's verdict
(:func:`symlib.stats.prediction`) from the recorded seeds and from the re-run ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

#: results file -> (the arguments of ``reproduce.py`` that regenerate it, the rows checked: None = all)
CHECKS = {"mnist1d": (["mnist1d", "--protocol", "book"], None),
          "nbody-authors": (["nbody", "--data", "authors", "--models", "Linear"], ["Linear"])}
#: kernel set -> ``ATEN_CPU_CAPABILITY`` (None: torch's own choice on this machine)
KERNELS = {"this machine's": None, "avx2": "avx2", "default": "default"}


def verdict(per_seed: dict[str, float], paper: float) -> dict:
    """The page's rule on one row's seeds (the same test set as the paper's: no test-set term)."""
    from symlib.stats import estimate, prediction

    e = estimate(per_seed.values())
    test = prediction(e, paper)
    return {"mean": e.mean, "verdict": "agrees" if test.agrees else "disagrees",
            "interval": [paper + test.low, paper + test.high]}


def main() -> None:
    import reproduce
    import torch

    from symlib.stats import estimate

    code, start = reproduce.source(), time.perf_counter()
    rows, digests, commands = [], {}, []
    for name, (args, labels) in CHECKS.items():
        recorded = json.loads((ROOT / "results" / f"{name}.json").read_text())
        seeds = sorted({int(s) for row in recorded["rows"].values() for s in row["per_seed"]})
        for kernels, capability in KERNELS.items():
            env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
            if capability is not None:
                env["ATEN_CPU_CAPABILITY"] = capability
            with tempfile.TemporaryDirectory() as out:
                command = [sys.executable, str(ROOT / "scripts" / "reproduce.py"), *args,
                           "--seeds", *map(str, seeds), "--jobs", "1", "--no-checkpoints", "--out", out]
                subprocess.run(command, env={**env, "TQDM_DISABLE": "1"}, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rerun = json.loads((Path(out) / f"{name}.json").read_text())
            digests.update(rerun["settings"]["data_digests"])
            commands.append(" ".join(([f"ATEN_CPU_CAPABILITY={capability}"] if capability else [])
                                     + ["python scripts/reproduce.py", *args, "--seeds", *map(str, seeds),
                                        "--no-checkpoints"]))
            first_row = next(iter(rerun["rows"].values()))       # N-body files keep provenance per run
            used = (rerun.get("provenance") or next(iter(first_row["runs"].values()))["provenance"])
            used = used["cpu_capability"]
            for label in labels or list(recorded["rows"]):
                old, new = recorded["rows"][label], rerun["rows"][label]
                changes = [abs(new["per_seed"][s] - old["per_seed"][s]) for s in old["per_seed"]]
                rows.append({"file": name, "row": label, "kernels": kernels, "cpu_capability": used,
                             "format": recorded.get("format", ".1%"), "seeds": len(changes),
                             "identical": sum(c == 0 for c in changes), "largest_change": max(changes),
                             "seed_sd": estimate(old["per_seed"].values()).std,
                             "recorded": verdict(old["per_seed"], old["paper"]),
                             "rerun": verdict(new["per_seed"], old["paper"])})
                print(f"{name} {label} [{kernels} = {used}]: {rows[-1]['identical']}/{len(changes)} seeds "
                      f"identical, largest change {rows[-1]['largest_change']:.3g}, verdict "
                      f"{rows[-1]['recorded']['verdict']} -> {rows[-1]['rerun']['verdict']}", flush=True)
    result = {"experiment": "regeneration",
              "what": "the recorded commands of the fast rows run again on this machine, with torch's own "
                      "kernels and with the avx2 and default (portable) ones",
              "settings": {"commands": commands, "data_digests": digests},
              "checks": rows, "machine_capability": torch.backends.cpu.get_cpu_capability(),
              "provenance": reproduce.provenance(code, time.perf_counter() - start, jobs=1)}
    path = ROOT / "results" / "regeneration.json"
    path.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
