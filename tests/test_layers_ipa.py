"""symlib.layers.ipa and symlib.data.proteins: invariance of IPA to rigid motions of the protein."""

from __future__ import annotations

import math

import pytest
import torch

from symlib.data.proteins import ANGLES, BONDS, random_backbone
from symlib.equivariance import invariance_error, tolerance
from symlib.geometry import check_rotations, frames_from_points
from symlib.groups import Euclidean3d, Product, Trivial
from symlib.layers.ipa import InvariantPointAttention

from helpers import assert_broken, assert_invariant

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


def _protein(n: int = 12, dtype: torch.dtype = torch.float64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    atoms = random_backbone(n, generator=g).to(dtype)
    r, t = frames_from_points(atoms[:, 0], atoms[:, 1], atoms[:, 2])
    s = torch.randn(n, 8, generator=g, dtype=dtype)
    z = torch.randn(n, n, 4, generator=g, dtype=dtype)
    return s, z, r, t


def _ipa(dtype: torch.dtype) -> InvariantPointAttention:
    torch.manual_seed(0)
    return InvariantPointAttention(8, 4, c=8, heads=3, query_points=4, value_points=5).to(dtype)


def test_backbone_has_ideal_geometry() -> None:
    atoms = random_backbone(30, generator=torch.Generator().manual_seed(1))
    chain = atoms.reshape(-1, 3)
    bonds = (chain[1:] - chain[:-1]).norm(dim=-1)
    expected = torch.tensor([BONDS["N-CA"], BONDS["CA-C"], BONDS["C-N"]], dtype=torch.float64)
    assert torch.allclose(bonds, expected.repeat(30)[:-1], atol=1e-10)
    a, b, c = chain[:-2], chain[1:-1], chain[2:]
    cos = ((a - b) * (c - b)).sum(-1) / ((a - b).norm(dim=-1) * (c - b).norm(dim=-1))
    angles = torch.rad2deg(torch.acos(cos))
    expected_angles = torch.tensor([ANGLES["N-CA-C"], ANGLES["CA-C-N"], ANGLES["C-N-CA"]],
                                   dtype=torch.float64).repeat(30)[:-2]
    assert torch.allclose(angles, expected_angles, atol=1e-8)


def test_frames_are_rotations_centred_on_the_alpha_carbon() -> None:
    atoms = random_backbone(10, generator=torch.Generator().manual_seed(2))
    r, t = frames_from_points(atoms[:, 0], atoms[:, 1], atoms[:, 2])
    check_rotations(r)
    assert torch.equal(t, atoms[:, 1])
    local_c = torch.einsum("nyx,ny->nx", r, atoms[:, 2] - t)  # C lies on the local x axis
    assert torch.allclose(local_c[:, 1:], torch.zeros(10, 2, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("batched", [False, True])
def test_ipa_is_invariant_to_moving_the_whole_protein(dtype: torch.dtype, batched: bool) -> None:
    ipa, (s, z, r, t) = _ipa(dtype), _protein(dtype=dtype)
    if batched:
        s, z, r, t = s[None], z[None], r[None], t[None]
    group = Euclidean3d()
    act = Product(Trivial(), Trivial(), group.on_rotations(), group)
    assert_invariant(lambda inputs: ipa(*inputs), (s, z, r, t), act, dtype=dtype)


def test_ipa_is_equivariant_to_renumbering_residues(dtype: torch.dtype) -> None:
    ipa, (s, z, r, t) = _ipa(dtype), _protein(dtype=dtype)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    out = ipa(s[perm], z[perm][:, perm], r[perm], t[perm])
    assert torch.allclose(out, ipa(s, z, r, t)[perm], atol=tolerance(dtype))


def test_attention_on_raw_coordinates_is_not_invariant() -> None:
    """The check can fail: the same attention fed global coordinates changes under a rotation."""
    torch.manual_seed(0)
    proj = torch.nn.Linear(8 + 3, 8).double()
    def naive(inputs):
        s, _, _, t = inputs
        h = proj(torch.cat([s, t], -1))
        return (h @ h.T / math.sqrt(8)).softmax(-1) @ h
    group = Euclidean3d()
    act = Product(Trivial(), Trivial(), group.on_rotations(), group)
    assert_broken(invariance_error(naive, _protein(), act))


def test_masked_residues_receive_no_attention() -> None:
    ipa, (s, z, r, t) = _ipa(torch.float64), _protein()
    mask = torch.ones(1, 12, dtype=torch.bool)
    mask[0, 8:] = False
    out = ipa(s[None], z[None], r[None], t[None], mask)
    moved = s.clone()
    moved[8:] += 5.0  # change only masked residues' features
    out2 = ipa(moved[None], z[None], r[None], t[None], mask)
    assert torch.allclose(out[0, :8], out2[0, :8], atol=1e-12)


def test_gradients_reach_every_parameter() -> None:
    ipa, (s, z, r, t) = _ipa(torch.float64), _protein()
    ipa(s, z, r, t).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ipa.parameters())


def test_bad_inputs_are_named() -> None:
    ipa, (s, z, r, t) = _ipa(torch.float64), _protein()
    with pytest.raises(ValueError, match="s must be"):
        ipa(s[:, :5], z, r, t)
    with pytest.raises(ValueError, match="z must be"):
        ipa(s, z[:5], r, t)
    with pytest.raises(ValueError, match="frames must be"):
        ipa(s, z, r[..., :2], t)
    with pytest.raises(ValueError, match="not rotations: RᵀR"):
        ipa(s, z, 2 * r, t)
    with pytest.raises(ValueError, match="determinant"):
        ipa(s, z, -r, t)
    with pytest.raises(ValueError, match="mask"):
        ipa(s[None], z[None], r[None], t[None], torch.ones(1, 12))
    with pytest.raises(ValueError, match="num_residues"):
        random_backbone(0, generator=torch.Generator())
