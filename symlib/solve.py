"""Solve for every linear map that commutes with a group: the equivariant layers, derived.

A representation ``ρ`` of a group assigns a matrix ``ρ(g)`` to every element ``g``. A linear map
``W`` (a ``d_out × d_in`` matrix) is *equivariant* when

.. math::  ρ_\\text{out}(g)\\, W = W\\, ρ_\\text{in}(g) \\qquad \\text{for every } g \\in G.

It is enough to impose this on generators: on a finite generating set ``{g_i}``, and, for a continuous
group, on a basis ``{A_j}`` of its Lie algebra, where it reads ``dρ_out(A) W = W dρ_in(A)``. Each
condition is linear in the entries of ``W``; with row-major ``vec``,

.. math::  \\bigl(ρ_\\text{out}(g) ⊗ I - I ⊗ ρ_\\text{in}(g)^\\top\\bigr) \\operatorname{vec}(W) = 0,

so the equivariant maps are the null space of these blocks stacked on top of each other.
:func:`solve` returns an orthonormal basis of that space (orthonormal for the Frobenius inner
product). An equivariant layer then has one learnable number per basis element.

The representations come from :mod:`symlib.reps`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from symlib.reps import RANK_TOL, Rep, check_same_group

__all__ = ["Method", "canonical", "clear_cache", "constraints", "solve", "tied_entries"]

Method = Literal["auto", "svd", "orbits"]


def constraints(rep_in: Rep, rep_out: Rep) -> Tensor:
    """The stacked linear constraints on ``vec(W)`` (row-major), ``[n_generators·d_out·d_in, d_out·d_in]``."""
    check_same_group([rep_in, rep_out], "solve")
    i_in, i_out = (torch.eye(r.dim, dtype=torch.float64) for r in (rep_in, rep_out))
    blocks = [torch.kron(go, i_in) - torch.kron(i_out, gi.T.contiguous())
              for go, gi in zip(rep_out.generators + rep_out.algebra, rep_in.generators + rep_in.algebra)]
    return torch.cat(blocks)


def _null_space_svd(c: Tensor, tol: float, scale: float) -> Tensor:
    """Orthonormal rows spanning ``{v : c v = 0}``; singular values ``≤ tol·scale`` count as zero.

    Two stages, for speed and robustness: an eigendecomposition of ``cᵀc`` (fast, and it does not
    fail on the many repeated singular values symmetric constraints have) proposes every direction
    with ``σ ≤ 1e-3·scale``; an SVD of ``c`` restricted to those few directions then applies ``tol``.
    """
    p = c.shape[1]
    if scale == 0.0:  # every generator acts as zero (a trivial Lie algebra): nothing is constrained
        return torch.eye(p, dtype=torch.float64)
    evals, evecs = torch.linalg.eigh(c.T @ c)
    candidates = evecs[:, evals <= (1e-3 * scale) ** 2]  # [p, m]
    if candidates.shape[1] == 0:
        return torch.zeros(0, p, dtype=torch.float64)
    _, s, vh = torch.linalg.svd(c @ candidates)  # [rows, m]: small
    rank = int((s > tol * scale).sum())
    return vh[rank:] @ candidates.T


def _scale(rep_in: Rep, rep_out: Rep) -> float:
    """The size of the generators, ``max_g ‖ρ_out(g)‖_rms + ‖ρ_in(g)‖_rms`` (1 for orthogonal ones):
    the yardstick for the rank tolerance, so rescaling a Lie-algebra basis changes nothing."""
    rms = lambda m: float(m.norm()) / m.shape[0] ** 0.5  # noqa: E731
    pairs = zip(rep_out.generators + rep_out.algebra, rep_in.generators + rep_in.algebra)
    return max(rms(go) + rms(gi) for go, gi in pairs)


def _orbits(rep_in: Rep, rep_out: Rep, support: Tensor | None) -> Tensor:
    """For permutation representations: indicator rows of the orbits of index pairs ``(i, j)``.

    An equivariant ``W`` satisfies ``W[σ_out(i), σ_in(j)] = W[i, j]``, so it is constant on each
    orbit of the pairs; an orbit that leaves the support must be zero.
    """
    d_out, d_in = rep_out.dim, rep_in.dim
    parent = list(range(d_out * d_in))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    pairs = torch.arange(d_out * d_in).reshape(d_out, d_in)
    for go, gi in zip(rep_out.generators, rep_in.generators):
        so, si = go.argmax(0), gi.argmax(0)  # the generator sends e_j to e_{s[j]}
        moved = pairs[so][:, si]  # pair (i, j) goes to pair (so[i], si[j])
        for a, b in zip(pairs.flatten().tolist(), moved.flatten().tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    roots = torch.tensor([find(a) for a in range(d_out * d_in)])
    labels, inverse = torch.unique(roots, return_inverse=True)
    basis = torch.zeros(len(labels), d_out * d_in, dtype=torch.float64)
    basis[inverse, torch.arange(d_out * d_in)] = 1.0
    if support is not None:
        basis = basis[(basis * (~support.flatten()).double()).sum(1) == 0]
    return basis / basis.sum(1, keepdim=True).sqrt()


_CACHE: dict[tuple, Tensor] = {}


def clear_cache() -> None:
    """Forget every solution :func:`solve` has cached (to time the solver, or free memory)."""
    _CACHE.clear()


def solve(rep_in: Rep, rep_out: Rep, *, support: Tensor | None = None, method: Method = "auto",
          tol: float = RANK_TOL) -> Tensor:
    """An orthonormal basis of the linear maps ``W: R^{d_in} → R^{d_out}`` with ``ρ_out W = W ρ_in``.

    Args:
        rep_in, rep_out: representations of the same group (same :attr:`Rep.group`).
        support: optional boolean ``[d_out, d_in]``, the entries allowed to be nonzero; the others
            are forced to zero (locality: the support of a kernel).
        method: ``"svd"`` — null space of the stacked constraints in float64, singular values
            below ``tol × scale`` count as zero (see :data:`RANK_TOL`); ``"orbits"`` — for
            permutation representations, the
            indicators of the orbits of index pairs (exact, and fast for large spaces); ``"auto"``
            uses orbits when both representations are permutations, else SVD.

    Returns:
        ``[k, d_out, d_in]`` float64, orthonormal for ``⟨A, B⟩ = Σ A_ij B_ij``; ``k`` is the number
        of free parameters of an equivariant layer. Results are cached per representation pair.

    Raises:
        ValueError: the representations belong to different groups, or the support has the wrong shape.
    """
    check_same_group([rep_in, rep_out], "solve")
    if method not in ("auto", "svd", "orbits"):
        raise ValueError(f"method must be 'auto', 'svd' or 'orbits', got {method!r}")
    permutations = rep_in.is_permutation and rep_out.is_permutation
    if method == "orbits" and not permutations:
        raise ValueError("method='orbits' needs permutation representations without a Lie algebra")
    if support is not None:
        support = torch.as_tensor(support, dtype=torch.bool)
        if support.shape != (rep_out.dim, rep_in.dim):
            raise ValueError(f"support must have shape [d_out, d_in] = [{rep_out.dim}, {rep_in.dim}], "
                             f"got {tuple(support.shape)}")
    use_orbits = method == "orbits" or (method == "auto" and permutations)
    key = (rep_in.key, rep_out.key, None if support is None else support.numpy().tobytes(), use_orbits, tol)
    if key not in _CACHE:
        if use_orbits:
            rows = _orbits(rep_in, rep_out, support)
        else:
            c, scale = constraints(rep_in, rep_out), _scale(rep_in, rep_out)
            if support is None:
                rows = _null_space_svd(c, tol, scale)
            else:
                cols = support.flatten().nonzero().squeeze(1)
                sub = _null_space_svd(c[:, cols], tol, scale)
                rows = torch.zeros(sub.shape[0], c.shape[1], dtype=torch.float64)
                rows[:, cols] = sub
        _CACHE[key] = rows.reshape(-1, rep_out.dim, rep_in.dim)
    return _CACHE[key].clone()


def canonical(basis: Tensor, tol: float = 1e-9) -> Tensor:
    """The same space in reduced row-echelon form: a sparse, readable basis (not orthonormal).

    For the shifts it returns the ``n`` shift matrices; for any permutation representation, the
    0/1 indicators of tied entries. Entries within ``tol`` of an integer are snapped to it (rounding
    noise of the elimination). ``basis``: ``[k, d_out, d_in]`` → ``[k, d_out, d_in]``.
    """
    k, shape = basis.shape[0], basis.shape[1:]
    a = basis.flatten(1).clone()
    row = 0
    for col in range(a.shape[1]):
        if row == k:
            break
        pivot = row + int(a[row:, col].abs().argmax())
        if a[pivot, col].abs() <= tol:
            continue
        a[[row, pivot]] = a[[pivot, row]]
        a[row] /= a[row, col].clone()
        others = torch.arange(k) != row
        a[others] -= a[others, col:col + 1] * a[row]
        row += 1
    a = torch.where((a - a.round()).abs() <= tol, a.round(), a) + 0.0  # snap rounding noise; no -0.0
    return a.reshape(k, *shape)


def tied_entries(basis: Tensor, decimals: int = 9) -> Tensor:
    """Which entries of every map in the span are equal: ``[d_out, d_in]`` long labels.

    Entries with the same label hold the same weight in every equivariant map (weight sharing);
    label ``-1`` marks entries that are zero in every map. Labels are numbered in order of first
    appearance (row-major).
    """
    if basis.shape[0] == 0:
        return torch.full(basis.shape[1:], -1, dtype=torch.long)
    coeffs = torch.round(basis.flatten(1).T, decimals=decimals) + 0.0  # [entries, k]; +0.0: no -0
    _, inverse = torch.unique(coeffs, dim=0, return_inverse=True)
    zero = (coeffs == 0).all(1)
    labels = torch.full_like(inverse, -1)
    order: dict[int, int] = {}
    for e, lab in enumerate(inverse.tolist()):
        if not zero[e]:
            labels[e] = order.setdefault(lab, len(order))
    return labels.reshape(basis.shape[1:])
