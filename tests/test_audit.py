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
    assert text.splitlines()[2].endswith("exact") and text.splitlines()[3].endswith("broken")
    page = report._repr_html_()
    assert page.count("<tr>") == 3 and "✓ exact" in page and "✗ broken" in page


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


def test_a_row_may_say_how_to_call_the_model() -> None:
    """One audit, two views of a transformer: per-token features (a row with its own call) and the
    pooled output (the default call); and the audit's call is the default for rows without one."""
    from symlib.data.sequences import symmetries as token_symmetries
    from symlib.layers.attention import TransformerClassifier

    torch.manual_seed(0)
    model, tokens = TransformerClassifier(20, 3, dim=16, layers=1), torch.randint(20, (2, 6))
    rows = token_symmetries(6, features=lambda m, t: m.features(t))
    report = audit(model, tokens, rows)
    names = ["token permutation (features)", "token permutation (pooled)"]
    assert [r.symmetry for r in report.rows] == names and report.holding() == names
    assert [r.kind for r in report.rows] == ["equivariant", "invariant"]
    positional = TransformerClassifier(20, 3, dim=16, layers=1, positional="sinusoidal")
    assert audit(positional, tokens, rows).holding() == []
    assert token_symmetries(6)[0].name == "token permutation (pooled)" and len(token_symmetries(6)) == 1
    # the audit's call applies to rows without their own
    summed = audit(lambda x: x, tokens.double(), [rows[1]], call=lambda f, t: f(t).sum(1))
    assert summed.holding() == ["token permutation (pooled)"]


def test_the_data_modules_catalogues_for_images_sets_and_graphs() -> None:
    from torch_geometric.data import Data

    from symlib.data.graphs import symmetries as graph_symmetries
    from symlib.data.images import symmetries as image_symmetries
    from symlib.data.sets import symmetries as set_symmetries

    assert [s.name for s in image_symmetries(6)] == ["translation", "rotation by 90°"]
    assert [s.name for s in image_symmetries(6, 4)] == ["translation"]          # no 90° turn of 6×4
    pooled = lambda x: x.sum(dim=(-1, -2))  # noqa: E731
    assert audit(pooled, torch.randn(2, 1, 6, 6), image_symmetries(6)).holding() == ["translation",
                                                                                      "rotation by 90°"]
    assert audit(lambda x: x.sum(0), torch.randn(5, 3), set_symmetries(5)).holding() == ["permutation"]
    assert audit(lambda x: x[0], torch.randn(5, 3), set_symmetries(5)).holding() == []
    ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    graph = Data(x=torch.randn(4, 2), edge_index=torch.cat([ring, ring.flip(0)], 1))

    def degree_times_x(d: Data) -> torch.Tensor:  # node-wise: equivariant; summed: invariant
        return torch.bincount(d.edge_index[1], minlength=d.num_nodes)[:, None] * d.x
    assert audit(degree_times_x, graph, graph_symmetries(4)).holding() == ["relabelling"]
    summed = audit(lambda d: degree_times_x(d).sum(0), graph, graph_symmetries(4, invariant=True))
    assert summed["relabelling"].kind == "invariant" and summed["relabelling"].holds


def test_errors_by_dtype_and_the_input_device() -> None:
    report = audit(_circular_cnn(), torch.randn(2, 1, 6, 6), SYMS[:2])
    assert set(report.errors(torch.float64)) == {"translation", "rotation by 90°"}
    assert report.errors("float32")["translation"] == report["translation"].errors["float32"]
    with pytest.raises(KeyError, match="float16 was not audited"):
        report.errors(torch.float16)


def test_verdicts_exact_approximate_broken() -> None:
    """The row's verdict is the policy of symlib.equivariance: exact in every dtype, broken in some,
    approximate otherwise; ``holds`` means exact."""
    from symlib.equivariance import tolerance

    x = torch.arange(1.0, 16.0, dtype=torch.float64).view(3, 5)
    swap = torch.tensor([4, 1, 2, 3, 0])               # error of the nudge: 1e2 · tol32 · 0.089
    perm = [Symmetry("permutation", Permutation(5, dim=1), Trivial(), elements=[swap])]
    exact = audit(lambda v: v.sum(1), x, perm)
    nudged = audit(lambda v: v.sum(1) + 1e2 * tolerance(torch.float32) * v[:, 0], x, perm)
    broken = audit(lambda v: v[:, 0], x, perm)
    assert [a["permutation"].verdict for a in (exact, nudged, broken)] == ["exact", "approximate", "broken"]
    assert [a["permutation"].holds for a in (exact, nudged, broken)] == [True, False, False]
    assert set(nudged["permutation"].verdicts.values()) == {"approximate"}
    assert "approximate" in str(nudged) and "≈ approximate" in nudged._repr_html_()


def test_the_catalogues_of_spins_molecules_and_proteins() -> None:
    """Each data module's declared symmetries hold for a function that has them and fail for one
    that lacks them."""
    from symlib.data import molecules, proteins, spins
    from symlib.geometry import frames_from_points
    from symlib.layers.ipa import InvariantPointAttention

    s = torch.tensor([[1.0, 1, 1, -1, 1, -1, 1, 1]] * 2)
    s[1] = -s[1].roll(3)
    f64 = [torch.float64]
    assert audit(lambda c: spins.energy(c, h=0.0), s, spins.symmetries(8), dtypes=f64).holding() == [
        "cyclic shift", "reversal", "spin flip"]
    assert audit(spins.energy, s, spins.symmetries(8), dtypes=f64).holding() == ["cyclic shift", "reversal"]

    mols = molecules.ring_molecules(4, sizes=(6,), seed=0)
    x = (mols.pos, mols.types, mols.mask)
    distances = lambda p, t, m: ((p[:, :, None] - p[:, None]).norm(dim=-1) * m[:, None]).sum(-1)  # noqa: E731
    report = audit(distances, x, molecules.symmetries(), call=lambda f, v: f(*v))
    assert report.holding() == ["rigid motion", "relabelling"]
    height = audit(lambda p, t, m: p[..., 2] * m, x, molecules.symmetries(), call=lambda f, v: f(*v))
    assert height.holding() == ["relabelling"] and height["rigid motion"].verdict == "broken"

    torch.manual_seed(0)
    backbone = proteins.random_backbone(6, generator=torch.Generator().manual_seed(0))
    inputs = (torch.randn(6, 8, dtype=torch.float64), torch.randn(6, 6, 4, dtype=torch.float64),
              *frames_from_points(backbone[:, 0], backbone[:, 1], backbone[:, 2]))
    ipa = InvariantPointAttention(c_s=8, c_z=4)
    assert audit(ipa, inputs, proteins.symmetries(), call=lambda m, v: m(*v)).holding() == ["rigid motion"]
    frames = [proteins.symmetries(positions=True)[0]]
    assert audit(lambda v: v[3], inputs, frames, dtypes=f64).holding() == ["rigid motion"]
    assert audit(lambda v: v[3], inputs, proteins.symmetries(), dtypes=f64).holding() == []
