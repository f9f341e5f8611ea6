"""A linear layer whose weight lives in a solved space of equivariant maps.

Given an orthonormal basis ``{B_k}`` of the maps that commute with a group (:func:`symlib.solve.solve`),
the layer learns one coefficient per basis element:

.. math::  W = \\sum_k c_k B_k, \\qquad y = W x + b, \\qquad b \\in \\{v : ρ_\\text{out}(g) v = v\\}.

It is equivariant for every value of its parameters, and it has exactly as many weights as the
symmetry leaves free. The basis is solved once per representation pair (cached) and applied with
``einsum``.

:class:`GroupAverage` is the other classical route to invariance: average any model over a finite
group, :math:`\\bar f(x) = \\frac{1}{|G|}\\sum_{g∈G} f(g·x)` (the Reynolds operator).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symlib import portable
from symlib.groups import Action
from symlib.reps import Rep
from symlib.solve import solve

__all__ = ["EquivariantLinear", "GroupAverage"]


class EquivariantLinear(nn.Module):
    """``y = (Σ_k c_k B_k) x + b`` with ``B_k`` a basis of the ``ρ_in → ρ_out`` equivariant maps.

    Args:
        rep_in, rep_out: representations of one group (see :mod:`symlib.reps`).
        support: optional boolean ``[d_out, d_in]``, the entries allowed to be nonzero (locality);
            the others are forced to zero.
        bias: add a bias from the invariant vectors of ``rep_out`` (those with ``ρ(g) b = b``).

    Shapes: input ``[..., d_in]`` → output ``[..., d_out]``. Parameters: ``weight`` ``[k]`` and
    ``bias`` ``[k_b]``, where ``k = solve(rep_in, rep_out).shape[0]``.
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, *, support: Tensor | None = None, bias: bool = True,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        basis = solve(rep_in, rep_out, support=support)                   # [k, d_out, d_in]
        self.register_buffer("basis", basis.to(dtype))
        self.d_in, self.d_out = rep_in.dim, rep_out.dim
        k = basis.shape[0]
        # Frobenius-orthonormal basis: c ~ N(0, d_out / k) gives E‖W‖² = d_out, i.e. entries of
        # variance 1/d_in, the usual fan-in scaling.
        self.weight = nn.Parameter(portable.randn(k, dtype=dtype) * (self.d_out / max(k, 1)) ** 0.5)
        if bias:
            bias_basis = solve(rep_out.trivial(), rep_out)[:, :, 0]   # [k_b, d_out]
            self.register_buffer("bias_basis", bias_basis.to(dtype))
            self.bias = nn.Parameter(torch.zeros(bias_basis.shape[0], dtype=dtype))
        else:
            self.bias_basis, self.bias = None, None

    def matrix(self) -> Tensor:
        """The dense weight matrix ``W = Σ_k c_k B_k``, ``[d_out, d_in]``."""
        return torch.einsum("k,koi->oi", self.weight, self.basis)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.d_in:
            raise ValueError(f"EquivariantLinear expects [..., {self.d_in}], got {tuple(x.shape)}")
        y = x @ self.matrix().T
        if self.bias is not None:
            y = y + self.bias @ self.bias_basis
        return y

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, d_out={self.d_out}, free_parameters={self.weight.numel()}"


class GroupAverage(nn.Module):
    """``f̄(x) = (1/|G|) Σ_g f(g·x)``: exactly ``G``-invariant for any ``model``, at ``|G|`` times its cost.

    ``action`` must list its elements (a finite group). The best ``G``-invariant approximation of a
    target ``y(x)`` in mean squared error is its group average; what remains,
    ``y - ȳ``, is an error no ``G``-invariant model can remove.

    The ``|G|`` transformed copies of a batch ``x [N, ...]`` go through ``model`` as one batch of
    ``|G|·N`` items (one call, not ``|G|``), so ``model`` must treat the items of a batch
    independently — no batch statistics, as in batch norm in training mode.
    """

    def __init__(self, model: nn.Module, action: Action) -> None:
        super().__init__()
        elements = action.elements()
        if elements is None:
            raise ValueError(f"GroupAverage needs a finite group that lists its elements; "
                             f"{action!r} does not")
        self.model, self.action, self.elements = model, action, elements

    def forward(self, x: Tensor) -> Tensor:
        copies = torch.cat([self.action.act(g, x) for g in self.elements])       # [|G|·N, ...]
        return self.model(copies).unflatten(0, (len(self.elements), x.shape[0])).mean(dim=0)
