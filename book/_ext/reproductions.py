"""Sphinx extension: the ``reproductions`` directive renders ``results/*.json`` as tables (MyST).

Each file written by ``scripts/reproduce.py`` becomes one table — the paper's number beside this
book's mean ± standard error over seeds — followed by its settings and provenance, so the page shows
exactly what the files hold and nothing typed by hand. Files without ``rows`` (such as
``gpu_check.json``) are skipped. ``tests/test_results.py`` checks the files and the rendering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parents[2] / "results"


MIN_SEEDS = 3  # as symlib.stats.MIN_SEEDS: fewer runs give no standard error worth judging by


def _test_set_se(row: dict[str, Any]) -> float | None:
    """The test MSE's standard error over the test systems (mean over seeds), where the file has it."""
    per_seed = row.get("test_set_se")
    return sum(per_seed.values()) / len(per_seed) if per_seed else None


def _difference(label: str, row: dict[str, Any], fmt: str) -> tuple[str, str]:
    """The table's last cell and the sentence on agreement, for one row.

    With a test set of its own (``test_set_se``: ours is a new draw of the paper's distribution, not
    the paper's files), the paper's number and ours differ also by test-set sampling, once for each
    set: the difference's standard error is ``√(SE_seeds² + 2·SE_test²)``.
    """
    diff, n, test = row["mean"] - row["paper"], len(row["per_seed"]), _test_set_se(row)
    side = "below" if diff < 0 else "above"
    far = (f"{100 * abs(diff):.1f} points {side} the paper" if fmt.endswith("%")
           else f"{row['mean'] / row['paper']:.2f}× the paper's value")
    if row["se"] is None or n < MIN_SEEDS:
        runs = "one seed" if n == 1 else f"{n} seeds"
        if test is None:
            return "—", f"- {label}: {far}, from {runs}: no standard error, so agreement is not judged."
        z = diff / (2 ** 0.5 * test)
        within = ("within the sampling error of two test sets" if abs(z) <= 2 else
                  f"outside the sampling error of two test sets ({abs(z):.1f} standard errors)")
        return "—", (f"- {label}: {far}, {within}; from {runs}, so the spread over seeds is not measured "
                     "and agreement is not judged.")
    se = (row["se"] ** 2 + 2 * test ** 2) ** 0.5 if test is not None else row["se"]
    z = diff / se if se > 0 else float("inf")
    of = " (of the seeds and of both test sets)" if test is not None else ""
    if abs(z) <= 2:
        return f"{z:+.1f}", f"- {label}: agrees with the paper: within two standard errors{of}."
    return f"{z:+.1f}", f"- {label}: {far}, {abs(z):.1f} standard errors: a disagreement."


def _selection(label: str, row: dict[str, Any], fmt: str) -> str:
    """``label``: where its validation error was lowest and its test error at the end, per seed."""
    seeds = sorted(row["best_epoch"], key=int)
    return f"{label}: " + ", ".join(f"seed {k} epoch {row['best_epoch'][k]:,} "
                                    f"(at the end {row['final_test_mse'][k]:{fmt}})" for k in seeds)


def _runs(row: dict[str, Any]) -> dict[str, list[str]]:
    """An N-body row's seeds grouped by the provenance (a JSON key) of their runs."""
    groups: dict[str, list[str]] = {}
    for seed, run in row["runs"].items():
        groups.setdefault(json.dumps(run["provenance"], sort_keys=True), []).append(seed)
    return groups


def _provenance(p: dict[str, Any]) -> str:
    dirty = " (uncommitted changes)" if p["dirty"] else ""
    runs = "one run at a time" if p["jobs"] == 1 else f"{p['jobs']} runs side by side"
    machine = (f"; {p['libc']}, torch's {p['cpu_capability']} kernels, {p['os']}"
               if "libc" in p else "")
    return (f"commit `{p['commit'][:10]}`{dirty}, {p['date']}, {p['wall_seconds']:,} s wall with {runs} "
            f"on {p['cpu']} ({p['cores']} cores, {p['threads_per_run']} thread per run), "
            f"torch {p['torch']}, numpy {p['numpy']}, Python {p['python']}{machine}.")


def _digests(settings: dict[str, Any]) -> list[str]:
    """The data the runs used, by fingerprint (``symlib.data.digests``: the same on every machine)."""
    digests = settings.get("data_digests")
    if not digests:
        return []
    return ["Data, by SHA-256 (the digests `tests/test_data_digests.py` checks on every machine): "
            + ", ".join(f"{name} `{d[:12]}`" for name, d in digests.items()) + "."]


def table_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for one results file: a caption, a table, a sentence per row, then settings and
    provenance (the file's, or each N-body run's: seeds run at different times)."""
    fmt = result.get("format", ".1%")
    test_sets = any("test_set_se" in row for row in result["rows"].values())
    stable = any("stable_mean" in row for row in result["rows"].values())
    stable_head = f"stable test systems ({result['settings']['stable_test_systems']}) | " if stable else ""
    lines = [f"*{result['paper']}: {result['metric']}.*", "",
             "| row | paper | this book (mean ± SE over seeds) | seeds | "
             + ("SE over test systems | " if test_sets else "") + stable_head + "difference, in SEs |",
             "|:--|--:|--:|--:|" + ("--:|" if test_sets else "") + ("--:|" if stable else "") + "--:|"]
    verdicts = []
    for label, row in result["rows"].items():
        cell, verdict = _difference(label, row, fmt)
        epochs = row.get("settings", {}).get("epochs")
        if epochs is not None:
            paper = result["settings"]["epochs"]
            verdict += (f" Trained for {epochs:,} of the paper's {paper:,} epochs, the model selected "
                        "among those: a diagnostic, not a reproduction of the row.")
        se = "(no SE)" if row["se"] is None else f"± {row['se']:{fmt}}"
        test = "" if not test_sets else f"{_test_set_se(row):{fmt}} | " if "test_set_se" in row else "— | "
        on_stable = "" if not stable else f"{row['stable_mean']:{fmt}} | " if "stable_mean" in row else "— | "
        lines.append(f"| {label} | {row['paper']:{fmt}} | {row['mean']:{fmt}} {se} | "
                     f"{len(row['per_seed'])} | {test}{on_stable}{cell} |")
        verdicts.append(verdict)
    lines += [""] + verdicts
    selection = [_selection(label, row, fmt) for label, row in result["rows"].items() if "best_epoch" in row]
    if selection:
        lines += ["", "Model selection, by row: the epoch of the lowest validation error (whose test error "
                  "the table reports) and the test error after the last epoch. " + "; ".join(selection) + "."]
    settings = ", ".join(f"{k} {v}" for k, v in result["settings"].items()
                         if k not in ("reproduction", "data_digests"))
    lines += ["", f"Settings: {settings}."] + _digests(result["settings"])
    lines += [f"{label} differs: " + ", ".join(f"{k} {v}" for k, v in row["settings"].items()) + "."
              for label, row in result["rows"].items() if row.get("settings")]
    lines += [""]
    if "provenance" in result:
        lines += [f"Provenance: {_provenance(result['provenance'])}", ""]
    else:
        groups: dict[str, list[str]] = {}
        for label, row in result["rows"].items():
            for key, seeds in _runs(row).items():
                entry = label if len(seeds) == len(row["per_seed"]) else \
                    f"{label} (seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)})"
                resumed = ", ".join(f"seed {k} from step {row['runs'][k]['resumed_at_step']:,}" for k in seeds
                                    if row["runs"][k].get("resumed_at_step"))
                groups.setdefault(key, []).append(
                    f"{entry} (resumed: {resumed}; the wall time is the last part's)" if resumed else entry)
        for key, labels in groups.items():
            lines += [f"Provenance of {', '.join(labels)}: {_provenance(json.loads(key))}", ""]
    return lines


def replay_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for ``nbody-replay.json`` (``scripts/replay_check.py``): per split, how far the
    portable replay of the authors' systems is from numpy's own draws here, and the trained models'
    test MSE on both test splits."""
    lines = [f"*{result['what']}.*", "",
             "| split | systems | initial values differing | systems differing at the start | "
             "targets moved > 1e-6 | targets moved > 1e-3 | mean squared target difference | "
             "unstable systems |", "|:--|--:|--:|--:|--:|--:|--:|--:|"]
    for split, r in result["splits"].items():
        lines.append(f"| {split} | {r['systems']:,} | {r['initial_values_differing']} | "
                     f"{r['systems_with_differing_initial_state']} | {r['targets_moved_over_1e-6']} | "
                     f"{r['targets_moved_over_1e-3']} | {r['mean_squared_target_difference']:.2e} | "
                     f"{r['unstable_systems']} |")
    if result["models"]:
        lines += ["", "| model (after its last step) | test MSE, this book's replay | "
                  "test MSE, numpy's draws here | difference |", "|:--|--:|--:|--:|"]
        for label, m in result["models"].items():
            a, b = m["test_mse_portable_replay"], m["test_mse_numpy_replay"]
            lines.append(f"| {label} | {a:.5f} | {b:.5f} | {a - b:+.1e} |")
    return lines + ["", f"Provenance: {_provenance(result['provenance'])}", ""]


class Reproductions(SphinxDirective):
    """``.. reproductions::`` (MyST: a ``{reproductions}`` fence): every reproduction in ``results/``,
    or, with arguments (``{reproductions} nbody nbody-authors``), the files of those names, in that
    order, so that prose can stand between the tables."""

    optional_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        names = self.arguments[0].split() if self.arguments else None
        files = sorted(RESULTS.glob("*.json")) if names is None else [RESULTS / f"{n}.json" for n in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise self.error(f"reproductions: no such file in results/: {', '.join(missing)}")
        lines: list[str] = []
        for path in files:
            self.env.note_dependency(str(path))
            result = json.loads(path.read_text())
            if "rows" in result:
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", ""] + table_lines(result)
            elif result.get("experiment") == "nbody-replay":
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", ""] + replay_lines(result)
        if not lines:
            lines = ["No reproduction has been recorded yet: run `make reproduce`."]
        self.state.nested_parse(StringList(lines, source=str(RESULTS)), self.content_offset, container)
        return [container]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("reproductions", Reproductions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
