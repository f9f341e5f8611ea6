"""symlib.audit: verdicts for models that have, and deliberately lack, each symmetry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symlib.audit import Symmetry, audit
from symlib.equivariance import tolerance
from symlib.groups import CyclicShift2d, Permutation, Product, Rot90, Trivial

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


def _circular_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode="circular"), nn.Tanh(),
                         nn.Conv2d(4, 2, 3, padding=1, padding_mode="circular"))


SYMS = [Symmetry("translation", CyclicShift2d(6, 6)), Symmetry("rotation by 90°", Rot90()),
        Symmetry("translation, pooled", CyclicShift2d(6, 6), Trivial())]


def test_a_circular_cnn_is_translation_equivariant_and_not_rotation_equivariant() -> None:
    cnn = _circular_cnn()
    report = audit(cnn, torch.randn(2, 1, 6, 6), SYMS[:2], name="circular CNN")
    assert report["translation"].holds and report["translation"].kind == "equivariant"
    assert max(report["translation"].errors.values()) < tolerance(torch.float32)  # met in both dtypes
    assert not report["rotation by 90°"].holds and report["rotation by 90°"].errors["float64"] > 1e-3
    assert report.holding() == ["translation"]
    assert next(cnn.parameters()).dtype == torch.float32 and cnn.training  # the original is untouched


def test_invariance_of_a_pooled_model_and_a_deliberately_broken_one() -> None:
    cnn = _circular_cnn().double()
    pooled = lambda x: cnn(x).mean((-2, -1))  # noqa: E731 - a plain function is audited as it is
    broken = lambda x: cnn(x)[..., 0, 0]      # noqa: E731 - reads one pixel: not invariant
    x = torch.randn(2, 1, 6, 6, dtype=torch.float64)
    sym = [SYMS[2]]
    assert audit(pooled, x, sym, dtypes=[torch.float64])["translation, pooled"].holds
    row = audit(broken, x, sym, dtypes=[torch.float64])["translation, pooled"]
    assert row.kind == "invariant" and not row.holds and row.errors["float64"] > 1e-2


def test_a_set_model_under_permutations() -> None:
    torch.manual_seed(0)
    per_element = nn.Linear(3, 3)
    mixing = nn.Linear(15, 15).double()
    x = torch.randn(5, 3)
    s = [Symmetry("permutation", Permutation(5, dim=0))]
    assert audit(per_element, x, s)["permutation"].holds
    mixed = audit(lambda v: mixing(v.flatten()).view(5, 3), x, s, dtypes=[torch.float64])
    assert not mixed["permutation"].holds


def test_the_report_renders() -> None:
    report = audit(_circular_cnn(), torch.randn(1, 1, 6, 6), SYMS[:2], name="circular CNN")
    text = str(report)
    assert text.splitlines()[0] == "audit of circular CNN"
    assert "translation" in text and "yes" in text and "no" in text
    page = report._repr_html_()
    assert page.count("<tr>") == 3 and "✓ holds" in page and "✗ broken" in page


def test_bad_requests_are_named() -> None:
    cnn, x = _circular_cnn(), torch.randn(1, 1, 6, 6)
    with pytest.raises(ValueError, match="at least one"):
        audit(cnn, x, [])
    with pytest.raises(ValueError, match="unique"):
        audit(cnn, x, [SYMS[0], SYMS[0]])
    with pytest.raises(TypeError, match="Symmetry objects"):
        audit(cnn, x, [("translation", CyclicShift2d(6, 6))])
    with pytest.raises(KeyError, match="audited"):
        audit(cnn, x, SYMS[:1])["rotation"]


def test_call_says_how_to_apply_a_model_of_several_arguments() -> None:
    torch.manual_seed(0)
    bilinear = nn.Bilinear(3, 3, 2)
    x = (torch.randn(5, 3), torch.randn(5, 3))
    both = Symmetry("permute rows of both", Product(Permutation(5), Permutation(5)), Permutation(5))
    report = audit(bilinear, x, [both], call=lambda m, inputs: m(*inputs))
    assert report["permute rows of both"].holds
