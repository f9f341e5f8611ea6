"""Per-atom scores that respect a molecule's symmetry, and three ways to break it (chapter 08).

:class:`AtomScorer` gives every atom of a molecule a score (a logit for "this atom reacts"). It
runs E(n)-equivariant message passing (:class:`~symlib.layers.egnn.EGNNLayer`, Satorras et al.
2021) on the complete graph of each molecule and reads out the invariant features:

.. math::  h_i^0 = E[\\mathrm{type}_i], \\qquad (h^{l+1}, x^{l+1}) = \\mathrm{EGNN}(h^l, x^l),
           \\qquad s_i = \\phi(h_i^L).

The scores are *invariant* to rotations, reflections and translations of the molecule and
*equivariant* to relabellings of its atoms, for any weights. So atoms that a symmetry of the
molecule maps onto each other get equal scores: such a model cannot choose one of them.

The remedies of the chapter, each a small change:

* **a symmetry-breaking input**: ``AtomScorer(field=True)`` adds
  :math:`(x_i - \\bar x) \\cdot F` for an external field :math:`F` to :math:`h_i^0`. The model is
  then equivariant to rotating molecule *and* field together, not the molecule alone.
  ``AtomScorer(noise=σ)`` adds Gaussian noise :math:`ε_i \\sim N(0, σ^2 I)` to the positions.
* **relaxed equivariance**: :class:`Relaxed` adds a learned non-equivariant term to an equivariant
  model, :math:`s = f_\\mathrm{eq}(x) + f_\\mathrm{break}(x)`, and offers
  :math:`\\lVert θ_\\mathrm{break} \\rVert_1` as a penalty; :class:`LabFrameTerm` is such a term,
  :math:`w \\cdot (x_i - \\bar x)`, which can learn a preferred direction of the lab.
* **canonicalisation**: :func:`canonical_choice` picks, among the atoms tied for the best score,
  the one listed first.

Shapes: ``pos [B, N, 3]``, ``types [B, N]`` (long), ``mask [B, N]`` (bool, ``True`` = a real atom),
``field [3]`` or ``[B, 3]`` → scores ``[B, N]``, ``-inf`` on padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symlib import portable
from symlib.atom_scores import top_atoms
from symlib.geometry import complete_graph
from symlib.layers import mlp
from symlib.layers.egnn import EGNNLayer

__all__ = ["AtomScorer", "LabFrameTerm", "Relaxed", "canonical_choice", "centred"]


def _check_molecules(pos: Tensor, types: Tensor, mask: Tensor) -> None:
    if pos.dim() != 3 or pos.shape[-1] != 3:
        raise ValueError(f"pos must be [B, N, 3], got {tuple(pos.shape)}")
    if types.shape != pos.shape[:2] or types.dtype != torch.long:
        raise ValueError(f"types must be a LongTensor [B, N] = {list(pos.shape[:2])}, got "
                         f"{types.dtype} {list(types.shape)}")
    if mask.shape != pos.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool [B, N] = {list(pos.shape[:2])}, got {mask.dtype} "
                         f"{list(mask.shape)}")


def centred(pos: Tensor, mask: Tensor) -> Tensor:
    """``x_i − x̄`` with ``x̄`` the mean position of each molecule's real atoms: ``[B, N, 3]``."""
    weights = mask.to(pos.dtype)[..., None]
    mean = (pos * weights).sum(dim=1, keepdim=True) / weights.sum(dim=1, keepdim=True).clamp_min(1)
    return (pos - mean) * weights


class AtomScorer(nn.Module):
    """A score per atom from EGNN message passing on each molecule's complete graph.

    Args:
        types: number of atom types.
        hidden: width of the features ``h``.
        layers: number of :class:`~symlib.layers.egnn.EGNNLayer`.
        field: read an external field ``F`` (a vector, passed to ``forward``) through the invariant
            ``(x_i − x̄)·F`` of each atom: breaks the symmetry of the molecule alone.
        noise: standard deviation (Å) of Gaussian noise added to the positions on every call,
            unless ``forward`` is given the noise explicitly.

    Shapes: see the module docstring. The inputs are checked once per call, by the model; its
    layers (:class:`~symlib.layers.egnn.EGNNLayer`) are built with ``validate = False``: they
    only see the graph the model builds.
    """

    def __init__(self, types: int = 2, hidden: int = 32, layers: int = 3, *, field: bool = False,
                 noise: float = 0.0) -> None:
        super().__init__()
        if noise < 0:
            raise ValueError(f"noise must be a non-negative standard deviation, got {noise}")
        self.types, self.field, self.noise = types, field, noise
        self.embed = nn.Embedding(types, hidden)
        self.field_embed = nn.Linear(1, hidden, bias=False) if field else None
        self.layers = nn.ModuleList(EGNNLayer(hidden) for _ in range(layers))
        for layer in self.layers:
            layer.validate = False                      # forward checks the inputs, once
        self.readout = mlp([hidden, hidden, 1], activation=nn.SiLU)

    def forward(self, pos: Tensor, types: Tensor, mask: Tensor, field: Tensor | None = None,
                noise: Tensor | None = None) -> Tensor:
        _check_molecules(pos, types, mask)
        if bool(((types < 0) | (types >= self.types)).any()):
            raise ValueError(f"types must lie in 0 … {self.types - 1}")
        if noise is not None:
            if noise.shape != pos.shape:
                raise ValueError(f"noise must have the positions' shape {tuple(pos.shape)}, "
                                 f"got {tuple(noise.shape)}")
            pos = pos + noise
        elif self.noise > 0:
            pos = pos + self.noise * portable.randn(pos.shape, dtype=pos.dtype, device=pos.device)
        b, n, _ = pos.shape
        h = self.embed(types)                                         # [B, N, hidden]
        if self.field_embed is not None:
            if field is None or field.shape not in ((3,), (b, 3)):
                raise ValueError(f"this model reads a field [3] or [B, 3], got "
                                 f"{None if field is None else tuple(field.shape)}")
            along = (centred(pos, mask) * field.to(pos.dtype).expand(b, 3)[:, None, :]).sum(-1)
            h = h + self.field_embed(along[..., None])
        elif field is not None:
            raise ValueError("this model was built without field=True: it reads no field")
        edge_index = complete_graph(*mask.shape, mask=mask)
        h, x = h.reshape(b * n, -1), pos.reshape(b * n, 3)
        v = torch.zeros_like(x)
        for layer in self.layers:
            h, x, _ = layer(h, x, v, edge_index)
        scores = self.readout(h).reshape(b, n)
        return scores.masked_fill(~mask, float("-inf"))


class LabFrameTerm(nn.Module):
    """A learned non-equivariant score ``w · (x_i − x̄)``: how far each atom lies along a direction
    ``w`` of the lab frame. Starts at ``w = 0`` (no symmetry breaking). Same call as
    :class:`AtomScorer`; returns ``[B, N]``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3))

    def forward(self, pos: Tensor, types: Tensor, mask: Tensor, field: Tensor | None = None,
                noise: Tensor | None = None) -> Tensor:
        _check_molecules(pos, types, mask)
        return centred(pos, mask) @ self.w.to(pos.dtype)


class Relaxed(nn.Module):
    """Relaxed equivariance: ``f(x) = f_eq(x) + f_break(x)``, with :meth:`penalty`
    ``= Σ |θ|`` over the parameters of ``f_break`` to add to the loss (times a strength ``λ``).

    With ``λ → ∞`` the breaking term is driven to zero and ``f`` to the equivariant ``f_eq``; with
    ``λ = 0`` it is an unconstrained model. Both parts take the same arguments.
    """

    def __init__(self, equivariant: nn.Module, breaking: nn.Module) -> None:
        super().__init__()
        if not any(True for _ in breaking.parameters()):
            raise ValueError("the breaking term has no parameters to learn or penalise")
        self.equivariant, self.breaking = equivariant, breaking

    def forward(self, *args: Tensor, **kwargs: Tensor) -> Tensor:
        return self.equivariant(*args, **kwargs) + self.breaking(*args, **kwargs)

    def penalty(self) -> Tensor:
        """``Σ |θ|`` over the breaking term's parameters (the L1 norm)."""
        return sum(p.abs().sum() for p in self.breaking.parameters())


def canonical_choice(scores: Tensor, mask: Tensor, rtol: float = 1e-4) -> Tensor:
    """Canonicalisation of a tie: among the atoms tied for the best score (within ``rtol`` of the
    scale, see :func:`symlib.atom_scores.top_atoms`), the one with the smallest index. ``[B]``.

    On a molecule without symmetry there is no tie and this is the argmax: it moves with the atoms
    when they are relabelled. On a symmetric one it depends on the labels, which is how it breaks
    the symmetry."""
    top = top_atoms(scores, mask, rtol)
    return top.to(torch.uint8).argmax(dim=1)                        # the first True
