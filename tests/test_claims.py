"""Tests for symlib.claims: the checked-claims block that ends every chapter."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from symlib.claims import ClaimFailed, Claims

CHAPTER = "00 · the calculation"


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_passing_claims_print_one_line_each_with_header_and_footer(capsys) -> None:
    with Claims(CHAPTER) as claims:
        claims.check("a 3×3 conv has 1,728 weights", 3 * 3 * 192 == 1_728)
        claims.check("the ratio is above 5,500", 6_000 > 5_500)
    assert lines(capsys) == [
        f"Claims of chapter {CHAPTER}",
        "✓  a 3×3 conv has 1,728 weights",
        "✓  the ratio is above 5,500",
        "all 2 claims hold (0 findings, 2 checks)",
    ]
    assert claims.failed == []
    assert claims.results == [("a 3×3 conv has 1,728 weights", True), ("the ratio is above 5,500", True)]


def test_output_is_deterministic(capsys) -> None:
    def run() -> list[str]:
        with Claims(CHAPTER) as claims:
            claims.check("one", True)
        return lines(capsys)

    assert run() == run()


def test_false_claim_raises_at_exit_listing_it(capsys) -> None:
    with pytest.raises(ClaimFailed, match=re.escape("1 of 3 claims are false: the error is below 1e-6")):
        with Claims(CHAPTER) as claims:
            claims.check("the loss decreased", True)
            claims.check("the error is below 1e-6", 1e-3 < 1e-6)
            claims.check("training took 300 steps", True)  # later claims are still checked and printed
    out = lines(capsys)
    assert out == [
        f"Claims of chapter {CHAPTER}",
        "✓  the loss decreased",
        "✗ FALSE  the error is below 1e-6",
        "✓  training took 300 steps",
    ]  # no "all ... hold" footer
    assert claims.failed == ["the error is below 1e-6"]


def test_every_false_claim_is_listed() -> None:
    with pytest.raises(ClaimFailed, match=re.escape("2 of 2 claims are false: first; second")):
        with Claims(CHAPTER) as claims:
            claims.check("first", False)
            claims.check("second", False)


def test_claim_failed_is_an_assertion_error() -> None:
    # so pytest (and nbval) report it as a failed check, not as a crash
    assert issubclass(ClaimFailed, AssertionError)


@pytest.mark.parametrize(
    "value",
    [torch.tensor(True), torch.tensor([1.0]), 1.0, 0.0, 1, 0, None, "yes", np.float64(1.0), np.array([True])],
    ids=["tensor-bool", "tensor-float", "float-1", "float-0", "int-1", "int-0", "None", "str", "np-float",
         "np-array"],
)
def test_non_bool_claims_raise_type_error(value, capsys) -> None:
    with pytest.raises(TypeError, match=rf"claim 'x': expected a bool, got {type(value).__name__}"):
        with Claims(CHAPTER) as claims:
            claims.check("x", value)
    assert claims.results == []  # nothing recorded, and the TypeError is not masked by ClaimFailed
    assert lines(capsys) == [f"Claims of chapter {CHAPTER}"]


@pytest.mark.parametrize("value", [np.bool_(True), np.float64(1e-8) < 1e-6, np.array([1, 2]).sum() == 3],
                         ids=["np.bool_", "np-comparison", "np-reduction"])
def test_numpy_bools_are_accepted(value, capsys) -> None:
    with Claims(CHAPTER) as claims:
        assert claims.check("numpy says so", value) is None        # nothing to display in a cell
    assert claims.results == [("numpy says so", True)] and type(claims.results[0][1]) is bool
    assert lines(capsys)[1:] == ["✓  numpy says so", "all 1 claims hold (0 findings, 1 check)"]


def test_false_numpy_bool_fails() -> None:
    with pytest.raises(ClaimFailed, match="numpy says no"):
        with Claims(CHAPTER) as claims:
            claims.check("numpy says no", np.bool_(False))


def test_tensor_comparisons_pass_once_converted(capsys) -> None:
    """A tensor comparison is refused as it is (see above), accepted once converted to a Python bool,
    and then judged by its value: a true one holds, a false one fails the block."""
    err = torch.tensor(1e-7)
    with Claims(CHAPTER) as claims:
        claims.check("converted with bool()", bool(err < 1e-6))
        claims.check("converted with .item()", (err < 1e-6).item())
    assert claims.results == [("converted with bool()", True), ("converted with .item()", True)]
    assert lines(capsys)[1:] == ["✓  converted with bool()", "✓  converted with .item()",
                                 "all 2 claims hold (0 findings, 2 checks)"]
    with pytest.raises(ClaimFailed, match=re.escape("1 of 1 claims are false: converted, but false")):
        with Claims(CHAPTER) as claims:
            claims.check("converted, but false", (err < 1e-8).item())
    assert claims.failed == ["converted, but false"]


def test_empty_block_raises() -> None:
    with pytest.raises(ClaimFailed, match=re.escape(f"chapter {CHAPTER} checked no claims")):
        with Claims(CHAPTER):
            pass


def test_exceptions_inside_the_block_propagate_unchanged() -> None:
    with pytest.raises(KeyError, match="missing"):
        with Claims(CHAPTER) as claims:
            claims.check("a false claim before the crash", False)
            raise KeyError("missing")


def test_claims_and_glued_values_are_recorded_when_asked(tmp_path, monkeypatch) -> None:
    """``SYMLIB_RECORD=DIR``: one JSON line per claim and glued value, in ``DIR/<pid>.jsonl``."""
    import json
    import os

    import numpy as np

    from symlib.claims import glue

    monkeypatch.setenv("SYMLIB_RECORD", str(tmp_path / "rec"))
    glue("ratio", np.float64(0.5))
    with pytest.raises(ClaimFailed):
        with Claims("xx · test") as claims:
            claims.check("holds", True)
            claims.check("fails", False)
    lines = [json.loads(s) for s in (tmp_path / "rec" / f"{os.getpid()}.jsonl").read_text().splitlines()]
    assert lines == [{"kind": "glue", "name": "ratio", "value": 0.5},
                     {"kind": "claim", "type": "check", "chapter": "xx · test", "statement": "holds",
                      "holds": True, "stats": []},
                     {"kind": "claim", "type": "check", "chapter": "xx · test", "statement": "fails",
                      "holds": False, "stats": []}]


def test_nothing_is_recorded_by_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SYMLIB_RECORD", raising=False)
    monkeypatch.chdir(tmp_path)
    with Claims("xx · test") as claims:
        claims.check("holds", True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "stored"), [
    (0.2491247069147027, 0.24912), (5575.111111111111, 5575.11), (116508.44444444444, 116508.44),
    (8.070486364886165e-05, 8.0705e-05), (0.00123935599218235, 0.0012394), (2.2441e-16, 2.2441e-16),
    (3.0, 3.0), (0.0, 0.0), (float("inf"), float("inf")), (7, 7), (True, True), ("1.7e-02", "1.7e-02")])
def test_glue_stores_floats_at_the_precision_the_prose_needs(monkeypatch, value, stored) -> None:
    import myst_nb

    from symlib import claims

    kept = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display: kept.setdefault(name, v))
    claims.glue("x", value)
    assert kept["x"] == stored and type(kept["x"]) is type(stored)


def test_claims_checked_across_cells_close_at_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    claims = Claims("99 · spread out")
    claims.check("one holds", True)
    assert capsys.readouterr().out == "✓  one holds\n"             # printed where it is checked
    claims.check("two holds", 1 < 2)
    claims.close()
    assert capsys.readouterr().out == ("✓  two holds\nClaims of chapter 99 · spread out\nfindings: none\n"
                                       "checks:\n✓  one holds\n✓  two holds\n"
                                       "all 2 claims hold (0 findings, 2 checks)\n")
    late = Claims("99")
    late.check("false", False)
    with pytest.raises(ClaimFailed, match="1 of 1 claims are false: false"):
        late.close()
    with pytest.raises(ClaimFailed, match="checked no claims"):
        Claims("empty").close()


def test_findings_carry_their_test_and_close_groups_them(capsys) -> None:
    from symlib.stats import estimate, welch

    test = welch(estimate([1.0, 1.1, 1.2, 1.15]), estimate([0.5, 0.55, 0.6, 0.52]))
    claims = Claims(CHAPTER)
    claims.check("a 3×3 conv has 1,728 weights", True)
    claims.finding("A beats B by more than 0.3", test.above(0.3), test)
    claims.close()
    out = lines(capsys)
    assert out[:3] == ["✓  a 3×3 conv has 1,728 weights", "✓  A beats B by more than 0.3",
                       f"   ⟨stat⟩ {test}"]
    assert out[3:] == [f"Claims of chapter {CHAPTER}", "findings:", "✓  A beats B by more than 0.3",
                       "checks:", "✓  a 3×3 conv has 1,728 weights",
                       "all 2 claims hold (1 finding, 1 check)"]
    with pytest.raises(TypeError, match="test"):
        claims.finding("a finding without its test", True)
    with pytest.raises(TypeError, match="test"):
        claims.finding("a finding with a number for a test", True, 0.05)


def test_the_sanitizer_blanks_a_findings_numbers_and_only_them() -> None:
    """nbval compares the claim line; the ⟨stat⟩ line's numbers vary with training and machine."""
    import configparser
    from pathlib import Path

    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg", encoding="utf-8")
    section = cfg["the numbers of a finding's test"]
    line = "   ⟨stat⟩ +0.25 [95% CI +0.13, +0.37], n = 8/5, p = 0.0032: resolved"
    assert re.sub(section["regex"], section["replace"], line) == "   ⟨stat⟩"
    assert re.sub(section["regex"], section["replace"], "✓  A beats B") == "✓  A beats B"
