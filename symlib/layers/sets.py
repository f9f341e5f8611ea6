"""Layers on sets: DeepSets and the permutation-equivariant layer (Zaheer et al., 2017).

A set has no first element, so a function of a set must not depend on the order in which its
elements are listed. DeepSets writes an invariant function as

.. math::  f(X) = \\rho\\Big(\\operatorname{pool}_{x \\in X} \\phi(x)\\Big),
           \\qquad \\operatorname{pool} \\in \\{\\textstyle\\sum, \\text{mean}, \\max\\},

and an equivariant layer (one output per element) as

.. math::  y_i = \\Lambda x_i + \\Gamma \\operatorname{pool}_{j} x_j + b,

which for one feature is the ``λ x + γ Σ x`` that :mod:`symlib.solve` derives from the symmetry
(chapter 06).

**The batch convention** (the whole library uses it; it is torch_geometric's): a batch of ``B``
sets of different sizes is one flat tensor ``x`` of shape ``[N, F]`` holding all ``N`` elements,
and a ``LongTensor`` ``batch`` of shape ``[N]`` with ``batch[i]`` the set (``0 … B-1``) that row
``i`` belongs to, exactly ``Batch.batch`` of ``Batch.from_data_list``. ``B`` is ``num_sets`` if
given (so that trailing empty sets keep their place), else ``batch.max() + 1``; ``batch=None``
means one set. Pooling is ``torch_geometric.utils.scatter``. ``Batch.batch`` is sorted, but nothing
here relies on it: reordering the rows of ``x`` and ``batch`` together relabels the elements of
every set at once, and that is exactly the symmetry these layers respect (a test checks it). Only
:class:`PaddedMLP`, the baseline that is *not* symmetric, reads the order of rows: the ``k``-th row
of a set (in row order) is its element ``k``.

Inputs are checked: :func:`check_sets` raises ``ValueError`` naming what is wrong (a ``batch`` of
the wrong length, dtype or sign, a wrong feature size).

**Validation at the boundary.** Checking a ``batch`` reads its values (``batch.min()``,
``batch.max()``), which on a GPU waits for the device. So a model checks its inputs once, at its
own ``forward``, and the layers inside it do not check them again: :class:`EquivariantSetLayer`
(like every layer of the library that a model may own) has a plain attribute ``validate``, ``True``
by default, so that a layer called on its own checks its inputs; a model that owns such a layer
sets ``layer.validate = False`` when it builds it, and checks its own inputs instead. Pooling inside
a model uses the unchecked :func:`_pool`; the public :func:`pool` and :func:`to_padded` check.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from symlib.layers import mlp

__all__ = ["AGGREGATIONS", "DeepSets", "EquivariantSetLayer", "PaddedMLP", "check_sets", "pool",
           "to_padded"]

#: The aggregations (``aggr``) every set and graph layer accepts.
AGGREGATIONS = ("sum", "mean", "max")


def _check_aggr(aggr: str, what: str = "aggregation") -> str:
    if aggr not in AGGREGATIONS:
        raise ValueError(f"unknown {what} {aggr!r}: expected one of {', '.join(AGGREGATIONS)}")
    return aggr


def check_sets(x: Tensor, batch: Tensor | None = None, *, features: int | None = None,
               num_sets: int | None = None, who: str = "set layer") -> int:
    """Check a flat batch of sets ``(x [N, F], batch [N])``; return the number of sets ``B``.

    Raises:
        ValueError: ``x`` is not a 2D floating tensor (with ``features`` columns, if given);
            ``batch`` is not a 1D ``LongTensor`` with one entry per row of ``x``; it has negative
            entries or entries ``>= num_sets``; or the batch is empty and ``num_sets`` is not given.
    """
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        what = f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{who} expects elements x as a floating tensor [N, F], got {what}")
    if features is not None and x.shape[1] != features:
        raise ValueError(f"{who} expects {features} features per element, got x of shape {tuple(x.shape)}")
    if batch is None:
        return 1
    if not isinstance(batch, Tensor) or batch.dtype != torch.long or batch.dim() != 1:
        what = f"{batch.dtype} tensor of shape {tuple(batch.shape)}" if isinstance(batch, Tensor) \
            else type(batch).__name__
        raise ValueError(f"{who} expects batch as a LongTensor [N] (the set of each row), got {what}")
    if batch.shape[0] != x.shape[0]:
        raise ValueError(f"{who}: batch has {batch.shape[0]} entries but x has {x.shape[0]} rows; "
                         "batch[i] must name the set of row i")
    if batch.numel() == 0:
        if num_sets is None:
            raise ValueError(f"{who}: an empty batch needs num_sets")
        return num_sets
    lo, hi = int(batch.min()), int(batch.max())
    if lo < 0:
        raise ValueError(f"{who}: batch has negative set index {lo}")
    if num_sets is not None and hi >= num_sets:
        raise ValueError(f"{who}: batch names set {hi}, but num_sets is {num_sets}")
    return hi + 1 if num_sets is None else num_sets


def _num_sets(batch: Tensor | None, num_sets: int | None) -> int:
    """The number of sets ``B`` of a batch already checked (no checks: see :func:`check_sets`)."""
    if batch is None:
        return 1
    if num_sets is not None:
        return num_sets
    return int(batch.max()) + 1 if batch.numel() else 0


def _pool(x: Tensor, batch: Tensor | None, aggr: str, num_sets: int) -> Tensor:
    """:func:`pool` without checks, for inputs a model has checked: ``[N, F]`` → ``[num_sets, F]``."""
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    return scatter(x, batch, dim=0, dim_size=num_sets, reduce=aggr)


def pool(x: Tensor, batch: Tensor | None = None, aggr: str = "sum", *,
         num_sets: int | None = None) -> Tensor:
    """Pool the elements of each set: ``[N, F]`` → ``[B, F]``, with ``aggr`` in sum, mean, max.

    Empty sets (possible only with ``num_sets``) pool to zeros, as in torch_geometric.
    """
    _check_aggr(aggr)
    b = check_sets(x, batch, num_sets=num_sets, who="pool")
    return _pool(x, batch, aggr, b)


class EquivariantSetLayer(nn.Module):
    """The permutation-equivariant layer ``y_i = Λ x_i + Γ pool_j x_j + b`` (pool over ``i``'s set).

    Shapes: ``x [N, in_features]``, ``batch [N]`` → ``[N, out_features]``. Parameters: ``lam``
    (``Λ`` and ``b``, a ``Linear``) and ``gamma`` (``Γ``, a ``Linear`` without bias). With one
    feature in and out and ``aggr="sum"`` it is ``λ x_i + γ Σ_j x_j + b``: the weight matrix
    ``λ I + γ 1 1ᵀ`` that solving the permutation constraint gives (see :mod:`symlib.solve`).
    With ``mean`` or ``max`` the pooled term is rescaled or nonlinear, still equivariant.

    Attributes:
        validate: check the inputs at every call (:func:`check_sets`; the default). A model that
            owns the layer and has checked its own inputs sets it to ``False``: the layer then
            trusts ``x`` and ``batch`` and reads no values of ``batch`` beyond what it needs.
    """

    # check the inputs at every call; an owning model that has checked them sets it to False
    validate: bool = True

    def __init__(self, in_features: int, out_features: int, *, aggr: str = "sum",
                 bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.aggr = _check_aggr(aggr)
        self.lam = nn.Linear(in_features, out_features, bias=bias)
        self.gamma = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x: Tensor, batch: Tensor | None = None, *, num_sets: int | None = None) -> Tensor:
        if self.validate:
            b = check_sets(x, batch, features=self.in_features, num_sets=num_sets, who=type(self).__name__)
        else:
            b = _num_sets(batch, num_sets)
        pooled = _pool(x, batch, self.aggr, b)                            # [B, in]
        index = batch if batch is not None else torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return self.lam(x) + self.gamma(pooled)[index]                     # [N, out]

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, aggr={self.aggr!r}"


class DeepSets(nn.Module):
    """``f(X) = ρ(pool_{x ∈ X} φ(x))``: one output per set, invariant to the order of its elements.

    Args:
        in_features, out_features: sizes of an element and of a set's output.
        hidden: width of ``φ``'s layers (and of the pooled representation).
        phi_layers: linear layers in ``φ``, each followed by a ReLU.
        rho_layers: linear layers in ``ρ`` (ReLUs between them); ``1`` makes ``ρ`` affine.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.

    Shapes: ``x [N, in_features]``, ``batch [N]`` → ``[B, out_features]``. The same weights apply to
    sets of every size: nothing in the model depends on ``N`` or on the size of a set.
    """

    def __init__(self, in_features: int, out_features: int, *, hidden: int = 64, phi_layers: int = 2,
                 rho_layers: int = 1, aggr: str = "sum") -> None:
        super().__init__()
        if phi_layers < 1 or rho_layers < 1:
            raise ValueError(f"phi_layers and rho_layers must be >= 1, got {phi_layers}, {rho_layers}")
        self.in_features = in_features
        self.aggr = _check_aggr(aggr)
        self.phi = mlp([in_features] + [hidden] * phi_layers, final_activation=True)
        self.rho = mlp([hidden] * rho_layers + [out_features])

    def forward(self, x: Tensor, batch: Tensor | None = None, *, num_sets: int | None = None) -> Tensor:
        b = check_sets(x, batch, features=self.in_features, num_sets=num_sets, who=type(self).__name__)
        return self.rho(_pool(self.phi(x), batch, self.aggr, b))

    def extra_repr(self) -> str:
        return f"aggr={self.aggr!r}"


def to_padded(x: Tensor, batch: Tensor | None, max_size: int, *,
              num_sets: int | None = None) -> tuple[Tensor, Tensor]:
    """Lay the sets out as rows of a zero-padded tensor: ``[N, F]`` → ``[B, max_size, F]``.

    Element ``k`` of a set is its ``k``-th row of ``x`` in row order (so, unlike everything else
    here, the result depends on the order of rows). Returns ``(padded, position)`` with
    ``position [N]`` the slot of each row, so that ``padded[batch, position] == x``.

    Raises:
        ValueError: a set has more than ``max_size`` elements (or the batch is malformed).
    """
    b = check_sets(x, batch, num_sets=num_sets, who="to_padded")
    return _to_padded(x, batch, max_size, b)


def _to_padded(x: Tensor, batch: Tensor | None, max_size: int, b: int) -> tuple[Tensor, Tensor]:
    """:func:`to_padded` of ``b`` sets a model has checked (the size limit is still checked)."""
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    counts = torch.bincount(batch, minlength=b)
    if x.shape[0] and int(counts.max()) > max_size:
        raise ValueError(f"to_padded: a set has {int(counts.max())} elements, more than max_size={max_size}")
    order = torch.argsort(batch, stable=True)                       # rows grouped by set, in row order
    start = torch.cumsum(counts, 0) - counts                        # first slot of each set in `order`
    position = torch.empty_like(batch)
    position[order] = torch.arange(x.shape[0], device=x.device) - start[batch[order]]
    padded = x.new_zeros(b, max_size, x.shape[1])
    padded[batch, position] = x
    return padded, position


class PaddedMLP(nn.Module):
    """The baseline that ignores the symmetry: an MLP on the zero-padded concatenation of a set.

    Each set is padded to ``max_size`` elements and flattened to ``max_size · in_features`` numbers
    (:func:`to_padded`), so every position has its own weights. It accepts sets of up to
    ``max_size`` elements; its output changes when the elements are reordered.

    Shapes: ``x [N, in_features]``, ``batch [N]`` → ``[B, out_features]``.
    """

    def __init__(self, in_features: int, out_features: int, max_size: int, *, hidden: int = 64,
                 layers: int = 2) -> None:
        super().__init__()
        self.in_features, self.max_size = in_features, max_size
        self.net = mlp([max_size * in_features] + [hidden] * layers + [out_features])

    def forward(self, x: Tensor, batch: Tensor | None = None, *, num_sets: int | None = None) -> Tensor:
        b = check_sets(x, batch, features=self.in_features, num_sets=num_sets, who=type(self).__name__)
        padded, _ = _to_padded(x, batch, self.max_size, b)
        return self.net(padded.flatten(1))

    def extra_repr(self) -> str:
        return f"max_size={self.max_size}"
