"""Sphinx extension: the ``reproductions`` directive renders ``results/*.json`` as tables (MyST).

Each file written by ``scripts/reproduce.py`` becomes one table — the paper's number beside this
book's mean ± standard error over seeds, the 95% prediction interval for one run of our setup and the
verdict of the page's one rule (:func:`prediction_interval`: the paper's number is judged as one more
run) — followed by its settings and provenance, so the page shows exactly what the files hold and
nothing typed by hand. Files without ``rows`` (such as
``gpu_check.json``) are skipped. ``tests/test_results.py`` checks the files and the rendering.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parents[2] / "results"


#: The page judges a row from this many seeds on: fewer give no spread over seeds worth predicting from.
JUDGED_SEEDS = 3


def _test_set_se(row: dict[str, Any]) -> float | None:
    """The test MSE's standard error over the test systems (mean over seeds), where the file has it."""
    per_seed = row.get("test_set_se")
    return sum(per_seed.values()) / len(per_seed) if per_seed else None


def prediction_interval(row: dict[str, Any], same_test_set: bool) -> tuple[float, float, float]:
    """The 95% prediction interval for one new run of our setup, ``(low, high, df)``: the paper's
    single number is judged as one more run (:func:`symlib.stats.prediction`, the rule the chapters'
    full-scale claims use too).

    ``mean ± t₀.₉₇₅,ν · √V`` with ``V = s²(1 + 1/n)`` (``s`` the SD over our ``n`` seeds: a new run's
    scatter plus our mean's) and ``ν = n − 1``. Where the paper's test set is not ours
    (``same_test_set`` false: a fresh draw of its distribution) each number also carries its own test
    set's sampling error, ``V += 2 × SE_test²``, with Welch–Satterthwaite degrees of freedom. On the
    paper's own test set the two share it, and the term cancels.
    """
    from symlib.stats import estimate, prediction

    runs = estimate(row["per_seed"].values())
    test = _test_set_se(row)
    judged = prediction(runs, row["paper"], test_set_se=0.0 if same_test_set or test is None else test)
    half = (judged.high - judged.low) / 2
    return runs.mean - half, runs.mean + half, judged.df


def _interval(low: float, high: float, fmt: str) -> str:
    """``low to high`` in the table's format, with more digits where that format would print one
    number twice (a model that barely depends on its seed)."""
    for spec in [fmt] + [f".{d}f" for d in range(5, 9)] * (not fmt.endswith("%")):
        cell = f"{low:{spec}} to {high:{spec}}"
        if f"{low:{spec}}" != f"{high:{spec}}":
            return cell
    return cell


def _verdict(label: str, row: dict[str, Any], fmt: str, result: dict[str, Any]) -> tuple[str, str, str]:
    """The table's interval and verdict cells and the sentence under the table, for one row: the
    page's one rule (:func:`prediction_interval`); "not judged" below :data:`JUDGED_SEEDS` seeds or
    at a shortened schedule."""
    n, paper, mean = len(row["per_seed"]), row["paper"], row["mean"]
    side = "below" if mean < paper else "above"
    far = (f"{100 * abs(mean - paper):.1f} points {side} the paper" if fmt.endswith("%")
           else f"{mean / paper:.2f}× the paper's value")
    epochs, paper_epochs = row.get("settings", {}).get("epochs"), result["settings"].get("epochs")
    if epochs is not None and epochs != paper_epochs:
        return "—", "not judged", (f"- {label}: not judged: trained for {epochs:,} of the paper's "
                                   f"{paper_epochs:,} epochs, the model selected among those ({far}): a "
                                   "diagnostic, not a reproduction of the row.")
    if n < JUDGED_SEEDS:
        runs = "one seed" if n == 1 else f"{n} seeds"
        return "—", "not judged", (f"- {label}: not judged: {runs}, fewer than {JUDGED_SEEDS}, so the spread "
                                   f"over seeds is not measured ({far}).")
    same = result["settings"]["same_test_set_as_paper"]
    low, high, df = prediction_interval(row, same)
    inside = low <= paper <= high
    sets = ("on the paper's own test set" if same else
            "widened by the sampling error of two test sets, ours being a fresh draw")
    cell = _interval(low, high, fmt)
    if inside:
        return cell, "agrees", (f"- {label}: agrees: the paper's {paper:{fmt}} lies inside the 95% "
                                f"prediction interval for one run of our setup, {cell} ({n} seeds, {sets}).")
    return cell, "disagrees", (f"- {label}: disagrees: the paper's {paper:{fmt}} lies outside the 95% "
                               f"prediction interval for one run of our setup, {cell} ({n} seeds, {sets}; "
                               f"{far}).")


def forest_span(seeds: list[float], ends: list[float]) -> tuple[float, float]:
    """The forest plot's x-axis, as ratios to the paper's number: 0.75× to 1.33× or, wider, every seed
    and every interval end between ¼× and 4×, with a 10% margin (on a log axis). Interval ends farther
    out (below zero, say) are left outside: the plot cuts them at the edge."""
    shown = seeds + [e for e in ends if 0.25 <= e <= 4]
    return min(0.75, min(shown) / 1.1), max(1 / 0.75, max(shown) * 1.1)


def forest_svg(result: dict[str, Any]) -> str:
    """A forest plot of one table as inline SVG: per row, our seeds (dots), the 95% prediction
    interval for one run (a bar; none where the row is not judged) and the paper's number (the line
    at 1×), all divided by the paper's number so that rows of different sizes share one axis.

    The axis is logarithmic (a ratio of 2 and one of ½ lie equally far from 1×) and spans
    :func:`forest_span`; an interval reaching farther (below zero, say, where one seed lies far from
    the others) is cut at the edge and ends in an arrowhead there."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    rows = list(result["rows"].items())
    colours = {"agrees": "#2b7bba", "disagrees": "#c0392b", "not judged": "#7f7f7f"}
    with plt.rc_context({"svg.hashsalt": "symmetry-book", "svg.fonttype": "none", "font.size": 9}):
        fig, ax = plt.subplots(figsize=(6.4, 0.55 * len(rows) + 0.9))
        drawn = []                                   # label, verdict, seeds and interval as ratios
        for label, row in reversed(rows):
            word = _verdict(label, row, result.get("format", ".1%"), result)[1]
            interval = (None if word == "not judged" else
                        prediction_interval(row, result["settings"]["same_test_set_as_paper"])[:2])
            drawn.append((label, word, [v / row["paper"] for v in row["per_seed"].values()],
                          interval and tuple(end / row["paper"] for end in interval)))
        left, right = forest_span([v for *_, seeds, _ in drawn for v in seeds],
                                  [e for *_, interval in drawn for e in interval or ()])
        for y, (_, word, seeds, interval) in enumerate(drawn):
            if interval:                                # cut at the axis, an arrowhead where it goes on
                low, high = max(interval[0], left), min(interval[1], right)
                ax.plot([low, high], [y, y], lw=5, alpha=0.35, color=colours[word], solid_capstyle="butt")
                for end, marker in ((low, "<"), (high, ">")):
                    if end in (left, right):
                        ax.plot([end], [y], marker, ms=7, alpha=0.6, color=colours[word], clip_on=False)
            ax.plot(seeds, [y] * len(seeds), "o", ms=4, color=colours[word])
            ax.annotate(word, (1, y), xytext=(8, 0), textcoords="offset points",
                        xycoords=("axes fraction", "data"), va="center", fontsize=8, color=colours[word])
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(left, right)
        coarse, fine = (0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10), (0.8, 0.9, 1, 1.1, 1.25, 1.5)
        ticks = coarse if right / left > 3 else fine
        ticks = [t for t in ticks if left <= t <= right]
        ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yticks(range(len(drawn)), [label for label, *_ in drawn])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlabel(f"{result['metric']}, this book's ÷ the paper's (the line at 1×)")
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    # as wide as the column and no wider (its viewBox keeps the proportions): readable on a phone
    return re.sub(r'^<svg([^>]*?) width="([^"]+)" height="[^"]+"',
                  r'<svg\1 style="width: \2; max-width: 100%; height: auto"', svg, count=1)


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


def regenerate_lines(result: dict[str, Any]) -> list[str]:
    """The commands that regenerate a file's rows (its ``regenerate``; for an N-body file, per row and
    per group of seeds run together: ``--models``, ``--seeds``, ``--batched`` where they were one
    batched model, and ``--device cuda`` where they trained on a GPU)."""
    command = result.get("regenerate")
    if command is None:
        return []
    if not any("runs" in row for row in result["rows"].values()):
        return [f"Regenerate: `{command}`."]
    commands = []
    for label, row in result["rows"].items():
        groups: dict[tuple[tuple[int, ...] | None, bool], list[str]] = {}
        for seed, run in row["runs"].items():
            batch, gpu = run.get("batched_with"), run["provenance"]["device"].startswith("cuda")
            groups.setdefault((tuple(batch) if batch else None, gpu), []).append(seed)
        epochs = row.get("settings", {}).get("epochs")
        for (batch, gpu), seeds in groups.items():
            model = f"'{label}'" if " " in label else label
            flags = ((" --batched" if batch else "") + (f" --epochs {epochs}" if epochs else "")
                     + (" --device cuda" if gpu else ""))
            commands.append(f"`{command} --models {model} --seeds {' '.join(seeds)}{flags}`")
    return ["Regenerate, row by row: " + "; ".join(commands) + "."]


def table_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for one results file: a caption, a table, a sentence per row, then settings and
    provenance (the file's, or each N-body run's: seeds run at different times)."""
    fmt = result.get("format", ".1%")
    test_sets = any("test_set_se" in row for row in result["rows"].values())
    stable = any("stable_mean" in row for row in result["rows"].values())
    stable_head = f"stable test systems ({result['settings']['stable_test_systems']}) | " if stable else ""
    lines = [f"*{result['paper']}: {result['metric']}.*", "",
             "| row | paper | this book (mean ± SE over seeds) | seeds | "
             + ("SE over test systems | " if test_sets else "") + stable_head
             + "95% prediction interval, one run | verdict |",
             "|:--|--:|--:|--:|" + ("--:|" if test_sets else "") + ("--:|" if stable else "") + "--:|:--|"]
    verdicts = []
    for label, row in result["rows"].items():
        cell, word, verdict = _verdict(label, row, fmt, result)
        se = "(no SE)" if row["se"] is None else f"± {row['se']:{fmt}}"
        test = "" if not test_sets else f"{_test_set_se(row):{fmt}} | " if "test_set_se" in row else "— | "
        on_stable = "" if not stable else f"{row['stable_mean']:{fmt}} | " if "stable_mean" in row else "— | "
        lines.append(f"| {label} | {row['paper']:{fmt}} | {row['mean']:{fmt}} {se} | "
                     f"{len(row['per_seed'])} | {test}{on_stable}{cell} | {word} |")
        verdicts.append(verdict)
    lines += [""] + verdicts
    selection = [_selection(label, row, fmt) for label, row in result["rows"].items() if "best_epoch" in row]
    if selection:
        lines += ["", "Model selection, by row: the epoch of the lowest validation error (whose test error "
                  "the table reports) and the test error after the last epoch. " + "; ".join(selection) + "."]
    settings = ", ".join(f"{k} {v}" for k, v in result["settings"].items()
                         if k not in ("reproduction", "data_digests", "same_test_set_as_paper"))
    lines += ["", f"Settings: {settings}."] + _digests(result["settings"]) + regenerate_lines(result)
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


def test_sets_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for ``nbody-test-sets.json`` (``scripts/nbody_test_sets.py``): per trained model, its
    test MSE on each test set, and the largest standard error over the systems of one set."""
    sets = list(result["sets"])
    lines = [f"*{result['what']}.*", "",
             "| model (after its last step) | " + " | ".join(sets) + " | largest SE over systems |",
             "|:--|" + "--:|" * (len(sets) + 1)]
    for label, row in result["models"].items():
        se = max(row[name]["se"] for name in sets)
        lines.append(f"| {label} | " + " | ".join(f"{row[name]['mse']:.5f}" for name in sets)
                     + f" | {se:.5f} |")
    digests = ", ".join(f"{name} `{r['digest'][:12]}`" for name, r in result["sets"].items())
    return lines + ["", f"Data (SHA-256): {digests}.", "",
                    f"Provenance: {_provenance(result['provenance'])}", ""]


def regeneration_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for ``regeneration.json`` (``scripts/regeneration.py``): per row and kernel set,
    how many seeds regenerate exactly, the largest change of one seed beside the seeds' own standard
    deviation, and the verdict from the recorded seeds and from the re-run ones."""
    lines = [f"*{result['what']}.*", "",
             "| file | row | kernels | seeds identical | largest change of one seed | SD over seeds | "
             "mean, recorded → re-run | verdict, recorded → re-run |", "|:--|:--|:--|--:|--:|--:|--:|:--|"]
    for c in result["checks"]:
        fmt = c["format"]

        def size(x: float, points: bool = fmt.endswith("%")) -> str:
            return f"{100 * x:.1f} points" if points else f"{x:.1e}"
        change = "none" if c["largest_change"] == 0 else size(c["largest_change"])
        means = f"{c['recorded']['mean']:{fmt}} → {c['rerun']['mean']:{fmt}}"
        lines.append(f"| `{c['file']}` | {c['row']} | {c['kernels']} ({c['cpu_capability']}) | "
                     f"{c['identical']} of {c['seeds']} | {change} | {size(c['seed_sd'])} | {means} | "
                     f"{c['recorded']['verdict']} → {c['rerun']['verdict']} |")
    return lines + ["", f"Provenance: {_provenance(result['provenance'])}", ""]


def compare_lines(results: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """MyST Markdown: the rows of several results files side by side, for the rows in at least two of
    ``results`` (``(name, result)`` in the order given), after the paper's number: each cell our mean
    over the seeds, the number of seeds and, where the file has them, the standard error over the test
    systems and the mean on the stable test systems (N-body). Descriptive: no verdict (each file's own
    table gives those)."""
    models = [m for m in dict.fromkeys(m for _, r in results for m in r["rows"])
              if sum(m in r["rows"] for _, r in results) >= 2]
    lines = ["| row | paper | " + " | ".join(f"`results/{name}.json`" for name, _ in results) + " |",
             "|:--|--:|" + "--:|" * len(results)]
    for model in models:
        first = next((r for _, r in results if model in r["rows"]))
        cells = [f"{first['rows'][model]['paper']:{first.get('format', '.1%')}}"]
        for _, result in results:
            row = result["rows"].get(model)
            if row is None:
                cells.append("—")
                continue
            fmt = result.get("format", ".1%")
            test = _test_set_se(row)
            cell = f"{row['mean']:{fmt}} ({len(row['per_seed'])} seed{'s' * (len(row['per_seed']) > 1)}"
            cell += f"; ± {test:{fmt}} over test systems)" if test is not None else ")"
            if "stable_mean" in row:
                cell += f"; stable {row['stable_mean']:{fmt}}"
            cells.append(cell)
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines.append("")
    for model in models:                   # the steps from file to file, where a row is in consecutive files
        steps = []
        for (a, ra), (b, rb) in zip(results, results[1:]):
            if model in ra["rows"] and model in rb["rows"]:
                before, after = ra["rows"][model]["mean"], rb["rows"][model]["mean"]
                fmt = ra.get("format", ".1%")
                change = (f"{100 * (after - before):+.1f} points" if fmt.endswith("%")
                          else f"{after - before:+{fmt}} ({after / before - 1:+.1%})")
                steps.append(f"from `{a}` to `{b}` {change}")
        if steps:
            lines.append(f"- {model}, the mean's change " + "; ".join(steps) + ".")
    return lines + [""]


class Reproductions(SphinxDirective):
    """``.. reproductions::`` (MyST: a ``{reproductions}`` fence): every reproduction in ``results/``,
    or, with arguments (``{reproductions} nbody nbody-authors``), the files of those names, in that
    order, so that prose can stand between the tables. With the ``:compare:`` flag, one table of the
    named files' models side by side instead (:func:`compare_lines`)."""

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {"compare": directives.flag}

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        names = self.arguments[0].split() if self.arguments else None
        files = sorted(RESULTS.glob("*.json")) if names is None else [RESULTS / f"{n}.json" for n in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise self.error(f"reproductions: no such file in results/: {', '.join(missing)}")
        if "compare" in self.options:
            for path in files:
                self.env.note_dependency(str(path))
            lines = compare_lines([(f.stem, json.loads(f.read_text())) for f in files])
            self.state.nested_parse(StringList(lines, source=str(RESULTS)), self.content_offset, container)
            return [container]
        lines: list[str] = []
        for path in files:
            self.env.note_dependency(str(path))
            result = json.loads(path.read_text())
            if "rows" in result:
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", "", "```{raw} html",
                          forest_svg(result), "```", "",
                          "*Each row: our seeds (dots) and the 95% prediction interval for one run (bar), "
                          "divided by the paper's number (the line at 1×); colour and label: the verdict.*",
                          ""] + table_lines(result)
            elif result.get("experiment") == "nbody-replay":
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", ""] + replay_lines(result)
            elif result.get("experiment") == "nbody-test-sets":
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", "", *test_sets_lines(result)]
            elif result.get("experiment") == "regeneration":
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", "",
                          *regeneration_lines(result)]
        if not lines:
            lines = ["No reproduction has been recorded yet: run `make reproduce`."]
        self.state.nested_parse(StringList(lines, source=str(RESULTS)), self.content_offset, container)
        return [container]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("reproductions", Reproductions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
