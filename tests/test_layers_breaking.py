"""symlib.layers.breaking: the equivariant atom scorer and the ways it breaks its symmetry."""

from __future__ import annotations

from unittest import mock

import pytest
import torch

from symlib.atom_scores import orbit_spread
from symlib.data.molecules import FIELD, ring_molecules
from symlib.equivariance import broken, equivariance_error, invariance_error, relative_error, tolerance
from symlib.groups import Euclidean3d, Permutation, Product
from symlib.layers import breaking, egnn
from symlib.layers.breaking import AtomScorer, LabFrameTerm, Relaxed, canonical_choice

from helpers import DEEP_STACK_FACTOR, assert_broken, assert_equivariant, assert_invariant

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
E3 = Euclidean3d(reflections=True)
RELABEL, RELABEL_OUT = Product(*[Permutation(8, dim=1)] * 3), Permutation(8, dim=1)


def _generic(dtype: torch.dtype, num: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """8-atom rings with random offsets: molecules without symmetry, no padding."""
    mols = ring_molecules(num, sizes=(8,), seed=3, dtype=dtype)
    offsets = torch.randn(mols.pos.shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    return mols.pos + 0.1 * offsets, mols.types, mols.mask


def _scorer(dtype: torch.dtype, **kwargs: object) -> AtomScorer:
    torch.manual_seed(0)
    return AtomScorer(hidden=16, layers=2, **kwargs).to(dtype)


def test_scores_are_e3_invariant_and_permutation_equivariant(dtype: torch.dtype) -> None:
    model = _scorer(dtype)
    pos, types, mask = _generic(dtype)
    assert_invariant(lambda p: model(p, types, mask), pos, E3, dtype=dtype)
    assert_equivariant(lambda x: model(*x), (pos, types, mask), RELABEL, RELABEL_OUT, dtype=dtype)


def test_equivalent_atoms_get_equal_scores(dtype: torch.dtype) -> None:
    mols = ring_molecules(50, seed=4, dtype=dtype)
    with torch.no_grad():
        scores = _scorer(dtype)(mols.pos, mols.types, mols.mask)
    # orbit_spread is relative to the largest |score| of a molecule, not to each score: rounding
    # relative to a small score can be larger, hence the deep-stack slack
    assert float(orbit_spread(scores, mols.orbit, mols.mask).max()) <= DEEP_STACK_FACTOR * tolerance(dtype)
    # while atoms of different orbits differ by more than any rounding: the "broken" level
    assert float(orbit_spread(scores, torch.zeros_like(mols.orbit), mols.mask).median()) > broken(dtype)


def test_padding_changes_nothing() -> None:
    model = _scorer(torch.float64)
    mols = ring_molecules(20, seed=5, dtype=torch.float64)
    with torch.no_grad():
        batch = model(mols.pos, mols.types, mols.mask)
        for m in range(3):
            n = int(mols.atoms[m])
            alone = model(mols.pos[m:m + 1, :n], mols.types[m:m + 1, :n], mols.mask[m:m + 1, :n])
            assert torch.allclose(batch[m, :n], alone[0], rtol=1e-10, atol=1e-12)
            assert bool(torch.isneginf(batch[m, n:]).all())


def test_the_field_breaks_rotations_of_the_molecule_alone() -> None:
    model = _scorer(torch.float64, field=True)
    pos, types, mask = _generic(torch.float64)
    field = torch.tensor(FIELD, dtype=torch.float64)
    joint = Product(E3, E3.on_vectors())
    assert_invariant(lambda x: model(x[0], types, mask, x[1]), (pos, field), joint, dtype=torch.float64)
    assert_broken(invariance_error(lambda p: model(p, types, mask, field), pos, E3))
    per_molecule = field.expand(pos.shape[0], 3)
    assert torch.equal(model(pos, types, mask, per_molecule), model(pos, types, mask, field))
    with pytest.raises(ValueError, match="field"):
        model(pos, types, mask)
    with pytest.raises(ValueError, match="field=True"):
        _scorer(torch.float64)(pos, types, mask, field)


def test_noise() -> None:
    pos, types, mask = _generic(torch.float64)
    noisy, plain = _scorer(torch.float64, noise=0.05), _scorer(torch.float64)
    assert torch.equal(noisy(pos, types, mask, noise=torch.zeros_like(pos)), plain(pos, types, mask))
    assert not torch.equal(noisy(pos, types, mask), noisy(pos, types, mask))   # fresh noise per call
    eps = 0.05 * torch.randn(pos.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    error = invariance_error(lambda p: noisy(p, types, mask, noise=eps), pos, E3)
    assert_broken(error)            # noise that does not rotate with the molecule breaks the symmetry,
    assert error.max < 1.0          # but moves the scores by less than their own size (relative error 1)
    with pytest.raises(ValueError, match="noise"):
        noisy(pos, types, mask, noise=eps[:, :4])
    with pytest.raises(ValueError, match="non-negative"):
        AtomScorer(noise=-1.0)


def test_relaxed_model_is_the_sum_and_its_penalty_the_l1_norm() -> None:
    pos, types, mask = _generic(torch.float64)
    term = LabFrameTerm().double()
    assert torch.equal(term(pos, types, mask), torch.zeros(pos.shape[:2], dtype=torch.float64))
    with torch.no_grad():
        term.w.copy_(torch.tensor([0.5, -1.0, 2.0]))
    centred = pos - pos.mean(dim=1, keepdim=True)
    assert torch.allclose(term(pos, types, mask), centred @ term.w)
    assert torch.allclose(term(pos + 3.0, types, mask), term(pos, types, mask))   # translations
    base = _scorer(torch.float64)
    model = Relaxed(base, term)
    assert torch.allclose(model(pos, types, mask), base(pos, types, mask) + term(pos, types, mask))
    assert float(model.penalty().detach()) == pytest.approx(3.5)
    assert_broken(invariance_error(lambda p: model(p, types, mask), pos, E3))
    assert_equivariant(lambda x: model(*x), (pos, types, mask), RELABEL, RELABEL_OUT, dtype=torch.float64)
    with pytest.raises(ValueError, match="no parameters"):
        Relaxed(base, torch.nn.Identity())


def test_canonical_choice() -> None:
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    scores = torch.tensor([[0.0, 1.0, 1.0, 9.0], [3.0, 1.0, 2.0, 0.0]])
    assert canonical_choice(scores, mask).tolist() == [1, 0]
    model = _scorer(torch.float64)
    pos, types, mask8 = _generic(torch.float64)

    def choice(x: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return torch.nn.functional.one_hot(canonical_choice(model(*x), x[2]), 8).double()

    # one-hot choices of 6 molecules: the error is 0, or at least √2/√6 once one choice moves, so
    # the tolerance asks as much as an error of exactly 0
    assert_equivariant(choice, (pos, types, mask8), RELABEL, RELABEL_OUT, dtype=torch.float64)
    benzene = ring_molecules(8, sizes=(8,), max_hetero=0, seed=0, dtype=torch.float64)
    symmetric = (benzene.pos, benzene.types, benzene.mask)
    assert_broken(equivariance_error(choice, symmetric, RELABEL, RELABEL_OUT))  # ≥ √2/√8, as above


def test_bad_inputs_are_named() -> None:
    model = _scorer(torch.float32)
    pos, types, mask = _generic(torch.float32)
    with pytest.raises(ValueError, match=r"pos must be \[B, N, 3\]"):
        model(pos[..., :2], types, mask)
    with pytest.raises(ValueError, match="types must be a LongTensor"):
        model(pos, types.float(), mask)
    with pytest.raises(ValueError, match="mask must be bool"):
        model(pos, types, mask.long())
    with pytest.raises(ValueError, match="types must lie in"):
        model(pos, types + 2, mask)
    assert relative_error(model(pos, types, mask), model(pos, types, mask)) == 0.0


def test_the_scorer_checks_its_inputs_once_and_its_layers_not_again() -> None:
    """_check_molecules once per call; the EGNN layers, which only see the graph the model builds,
    check nothing (they did once each)."""
    model = _scorer(torch.float32)
    pos, types, mask = _generic(torch.float32)
    assert not any(layer.validate for layer in model.layers)
    with mock.patch.object(breaking, "_check_molecules", wraps=breaking._check_molecules) as molecules, \
            mock.patch.object(egnn, "_check_graph", wraps=egnn._check_graph) as graph:
        model(pos, types, mask)
    assert (molecules.call_count, graph.call_count) == (1, 0)
