"""Group-equivariant convolutions on the groups p4 and p4m (Cohen & Welling 2016), and the G-CNN
classifiers built from them.

A p4 feature map has an extra *orientation* axis: ``[batch, channels, |H|, height, width]``, where
``H`` is ``C4`` (4 rotations, p4) or ``D4`` (4 rotations × mirror, p4m); orientation ``i`` belongs to
the element ``H.elements()[i]`` of :class:`symlib.groups.Rot90` / :class:`symlib.groups.Dihedral4`.

* :class:`LiftingConv` maps an image to a p4 feature map by correlating it with every transformed
  copy of each filter: ``y[o, h] = x ⋆ (h·W_o)``.
* :class:`GroupConv` maps p4 feature maps to p4 feature maps: for output orientation ``h`` the filter
  is transformed spatially by ``h`` *and* its orientation axis is permuted,
  ``(h·W)(g, p) = W(h⁻¹g, h⁻¹p)``.

Both build the transformed filters once per forward pass and make **one** ``conv2d`` call, so their
cost is that of a plain convolution with ``|H|`` times more channels; :meth:`export` returns exactly
that plain ``nn.Conv2d``. Every entry of the transformed filter bank is a copy of one stored weight,
so the bank is one ``index_select`` with an index computed once at construction (the group action
applied to the *positions* of the weights), and its backward one ``index_add``: building it costs
next to nothing beside the convolution. Rotating (or mirroring) the input image by ``g`` rotates
every output map by ``g`` and moves orientation ``h`` to ``g·h`` (:class:`symlib.groups.OnFeatureMaps`),
exactly, for stride 1 and any symmetric padding ("same" for odd kernels by default, or "valid" with
``padding=0``). With ``padding_mode="circular"`` the image is a torus and the layers are also
exactly equivariant to cyclic shifts, as a circular ``nn.Conv2d`` is. :func:`group_pool` over the
orientation axis gives maps that simply rotate with the
input; a global spatial pool then gives invariants. :class:`GCNN` stacks these layers into a
classifier; with ``group="z2"`` the same code builds the ordinary CNN it is compared with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symlib.groups import Dihedral4, Rot90, Trivial

__all__ = ["GCNN", "GROUPS", "GroupConv", "LiftingConv", "group_pool", "spatial_max_pool"]

#: ``z2`` is the trivial point group: only translations, so its layers are ordinary convolutions
#: (Cohen & Welling's Z2CNN baseline, built by exactly the same code as the P4CNN).
GROUPS = {"z2": Trivial, "p4": Rot90, "p4m": Dihedral4}


def _group(name: str) -> Trivial | Rot90 | Dihedral4:
    if name not in GROUPS:
        raise ValueError(f"unknown group {name!r}: expected one of {', '.join(GROUPS)}")
    return GROUPS[name]()


class _GConvBase(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, group: str,
                 bias: bool, padding: int | None, padding_mode: str, weight_shape: tuple[int, ...],
                 fan_in: int) -> None:
        super().__init__()
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be positive, got {kernel_size}")
        self.padding = kernel_size // 2 if padding is None else padding
        if padding is None and kernel_size % 2 == 0:
            raise ValueError(f"'same' padding (padding=None) needs an odd kernel_size, got {kernel_size}; "
                             "pass padding=0 for a valid convolution")
        if self.padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        if padding_mode not in ("zeros", "circular"):
            raise ValueError(f"padding_mode must be 'zeros' or 'circular', got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.group_name, self.group = group, _group(group)
        self.elements = self.group.elements()
        self.order = len(self.elements)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        bound = 1 / math.sqrt(fan_in)  # nn.Conv2d's default scale, for the expanded fan-in
        self.weight = nn.Parameter(torch.empty(weight_shape).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound)) if bias else None

    def _transform(self, w: Tensor) -> Tensor:
        """The filter bank built from a tensor ``w`` of the weight's shape (the layer's equation)."""
        raise NotImplementedError

    def _register_expansion(self) -> None:
        # where each entry of the filter bank comes from: the bank of the weights' flat positions.
        # Stored back to front, so that the backward (index_add in index order) sums the |H| gradient
        # contributions of each weight from the last orientation to the first, as autograd does
        # through the equation (_transform): the gradient is the equation's, bit for bit (tested),
        # not merely equal up to rounding.
        positions = self._transform(torch.arange(self.weight.numel()).view(self.weight.shape))
        self.register_buffer("expansion", positions.flatten().flip(0), persistent=False)
        self._expanded_shape = tuple(positions.shape)

    def expanded_weight(self) -> Tensor:
        """``[C_out·|H|, C_in(·|H|), k, k]``: every filter in every orientation, the weight of the plain
        convolution this layer computes."""
        # equal to self._transform(self.weight), entry for entry: one gather instead of |H| rotations
        bank = self.weight.reshape(-1).index_select(0, self.expansion).flip(0)
        return bank.view(self._expanded_shape)

    def _expanded_bias(self) -> Tensor | None:
        # one bias per output channel, shared by its orientations (a different bias per orientation
        # would break equivariance)
        # (expand + reshape, not repeat_interleave: no device synchronisation on CUDA)
        return None if self.bias is None else self.bias[:, None].expand(-1, self.order).reshape(-1)

    def _conv(self, x: Tensor) -> Tensor:
        pad = self.padding
        if self.padding_mode == "circular" and pad:   # the image as a torus: exact for cyclic shifts too
            x, pad = F.pad(x, (pad, pad, pad, pad), mode="circular"), 0
        y = F.conv2d(x, self.expanded_weight(), self._expanded_bias(), padding=pad)
        return y.view(y.shape[0], self.out_channels, self.order, *y.shape[-2:])

    def export(self) -> nn.Conv2d:
        """The plain ``nn.Conv2d`` that computes this layer (on the flattened orientation axis)."""
        w = self.expanded_weight().detach()
        conv = nn.Conv2d(w.shape[1], w.shape[0], self.kernel_size, padding=self.padding,
                         padding_mode=self.padding_mode,
                         bias=self.bias is not None, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            conv.weight.copy_(w)
            if self.bias is not None:
                conv.bias.copy_(self._expanded_bias())
        return conv

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"padding={self.padding}, padding_mode={self.padding_mode}, group={self.group_name}, "
                f"bias={self.bias is not None}")


class LiftingConv(_GConvBase):
    """Image → group feature map: ``y[o, h] = x ⋆ (h·W_o) + b_o``.

    Shapes: ``[B, C_in, s, s]`` → ``[B, C_out, |H|, s, s]``. Parameters: ``C_out·C_in·k²`` weights
    (as many as a plain conv with ``C_out`` outputs) and ``C_out`` biases.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 group: str = "p4", bias: bool = True, padding: int | None = None,
                 padding_mode: str = "zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, group, bias, padding, padding_mode,
                         (out_channels, in_channels, kernel_size, kernel_size),
                         in_channels * kernel_size**2)
        self._register_expansion()

    def _transform(self, w: Tensor) -> Tensor:
        w = torch.stack([self.group.act(h, w) for h in self.elements], dim=1)   # [O, |H|, I, k, k]
        return w.reshape(self.out_channels * self.order, self.in_channels, self.kernel_size, self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"{type(self).__name__} expects square images [B, {self.in_channels}, s, s], "
                             f"got {tuple(x.shape)}")
        return self._conv(x)


class GroupConv(_GConvBase):
    """Group feature map → group feature map: ``y[o, h] = Σ_i x_i ⋆ (h·W_{o,i}) + b_o``, where ``h``
    rotates (mirrors) the filter spatially and permutes its orientation axis: ``(h·W)(g) = h·W(h⁻¹g)``.

    Shapes: ``[B, C_in, |H|, s, s]`` → ``[B, C_out, |H|, s, s]``. Parameters: ``C_out·C_in·|H|·k²``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 group: str = "p4", bias: bool = True, padding: int | None = None,
                 padding_mode: str = "zeros") -> None:
        order = len(_group(group).elements())
        super().__init__(in_channels, out_channels, kernel_size, group, bias, padding, padding_mode,
                         (out_channels, in_channels, order, kernel_size, kernel_size),
                         in_channels * order * kernel_size**2)
        # source[a, b]: which stored orientation feeds input orientation b for output orientation a,
        # i.e. the index of h_a⁻¹·g_b
        index = {self._key(g): i for i, g in enumerate(self.elements)}
        source = [[index[self._key(self.group.compose(self.group.inverse(h), g))] for g in self.elements]
                  for h in self.elements]
        self.register_buffer("source", torch.tensor(source), persistent=False)
        self._register_expansion()

    @staticmethod
    def _key(g: object) -> object:
        return g if isinstance(g, int) else tuple(g)

    def _transform(self, w: Tensor) -> Tensor:
        w = torch.stack([self.group.act(h, w[:, :, self.source[a]])
                         for a, h in enumerate(self.elements)], dim=1)   # [O, |H|, I, |H|, k, k]
        return w.reshape(self.out_channels * self.order, self.in_channels * self.order,
                         self.kernel_size, self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != self.order \
                or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"{type(self).__name__} ({self.group_name}) expects group feature maps "
                             f"[B, {self.in_channels}, {self.order}, s, s], got {tuple(x.shape)}")
        return self._conv(x.flatten(1, 2))


def spatial_max_pool(x: Tensor) -> Tensor:
    """2×2 max pool of every orientation's map: ``[B, C, |H|, s, s]`` → ``[B, C, |H|, s/2, s/2]``.
    Exactly equivariant only when ``s`` is even (the windows then rotate onto windows)."""
    if x.dim() != 5:
        raise ValueError(f"spatial_max_pool expects group feature maps [B, C, |H|, s, s], "
                         f"got {tuple(x.shape)}")
    b, c, g, s, _ = x.shape
    if s % 2:
        raise ValueError(f"{s}×{s} maps: a 2×2 max pool needs an even size to commute exactly with rotations")
    return F.max_pool2d(x.reshape(b, c * g, s, s), 2).reshape(b, c, g, s // 2, s // 2)


def group_pool(x: Tensor, aggr: str = "max") -> Tensor:
    """Pool over the orientation axis: ``[B, C, |H|, ...]`` → ``[B, C, ...]``. Of group feature maps
    ``[B, C, |H|, s, s]`` the result rotates (mirrors) with the input like an ordinary image, without
    the orientation shuffle; of spatially pooled features ``[B, C, |H|]`` it is invariant."""
    if x.dim() < 3:
        raise ValueError(f"group_pool expects group features [B, C, |H|, ...], got {tuple(x.shape)}")
    if aggr == "max":
        return x.amax(dim=2)
    if aggr == "mean":
        return x.mean(dim=2)
    raise ValueError(f"aggr must be 'max' or 'mean', got {aggr!r}")


class GCNN(nn.Module):
    """A G-CNN image classifier (Cohen & Welling's Z2CNN / P4CNN family).

    ``len(channels)`` blocks of ``conv → BatchNorm → ReLU`` — a :class:`LiftingConv`, then
    :class:`GroupConv` layers, all on ``group`` — with a 2×2 spatial max pool after the blocks listed
    in ``pool_after``, then a head:

    * ``head="invariant"``: max over orientations and positions, then ``Linear(C, classes)``. Exactly
      invariant to ``group`` (for ``z2``: to nothing but the translations the pooling absorbs).
    * ``head="orientation"``: max over positions only, then ``Linear(C·|H|, classes)``: the features
      are equivariant but the head can read the orientation, so the model is *not* invariant.

    Batch norm statistics are shared by the orientations of a channel (``BatchNorm3d`` over
    ``[B, C, |H|, s, s]``), which keeps every block equivariant.

    Shapes: ``[B, in_channels, s, s]`` → logits ``[B, num_classes]``. With ``group="z2"`` every
    layer is an ordinary ``Conv2d`` (orientation axis of size 1), so a Z2 and a P4 model differ in
    nothing but the group. Giving the P4 model half the channels gives both about the same number of
    parameters; the P4 model then does about 4× the multiply-adds.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: Sequence[int], *,
                 group: str = "p4", kernel_size: int = 3, padding: int | None = None,
                 padding_mode: str = "zeros", pool_after: Sequence[int] = (), head: str = "invariant",
                 batch_norm: bool = True) -> None:
        super().__init__()
        if not channels:
            raise ValueError("GCNN needs at least one block: channels is empty")
        if head not in ("invariant", "orientation"):
            raise ValueError(f"head must be 'invariant' or 'orientation', got {head!r}")
        if any(not 0 <= i < len(channels) for i in pool_after):
            raise ValueError(f"pool_after indexes blocks 0..{len(channels) - 1}, got {list(pool_after)}")
        self.group_name, self.head_kind, self.pool_after = group, head, tuple(pool_after)
        self.in_channels = in_channels
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        for i, (c_in, c_out) in enumerate(zip([in_channels, *channels[:-1]], channels)):
            layer = LiftingConv if i == 0 else GroupConv
            self.convs.append(layer(c_in, c_out, kernel_size, group=group, padding=padding,
                                    padding_mode=padding_mode, bias=not batch_norm))
            self.norms.append(nn.BatchNorm3d(c_out) if batch_norm else nn.Identity())
        self.order = self.convs[0].order
        features = channels[-1] * (self.order if head == "orientation" else 1)
        self.head = nn.Linear(features, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """The last block's group feature maps ``[B, C, |H|, s', s']`` (equivariant)."""
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = torch.relu(norm(conv(x)))
            if i in self.pool_after:
                x = spatial_max_pool(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        h = self.features(x).amax(dim=(-2, -1))       # [B, C, |H|]: global spatial max pool
        h = group_pool(h) if self.head_kind == "invariant" else h.flatten(1)
        return self.head(h)

    def extra_repr(self) -> str:
        return f"group={self.group_name}, head={self.head_kind}, pool_after={list(self.pool_after)}"
