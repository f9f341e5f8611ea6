"""Group-equivariant convolutions on the groups p4 and p4m (Cohen & Welling 2016).

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
that plain ``nn.Conv2d``. Rotating (or mirroring) the input image by ``g`` rotates every output map
by ``g`` and moves orientation ``h`` to ``g·h`` (:class:`symlib.groups.OnFeatureMaps`), exactly, for
odd kernels with "same" zero padding and stride 1. :func:`group_pool` over the orientation axis
gives maps that simply rotate with the input; a global spatial pool then gives invariants.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symlib.groups import Dihedral4, Rot90

GROUPS = {"p4": Rot90, "p4m": Dihedral4}


def _group(name: str) -> Rot90 | Dihedral4:
    if name not in GROUPS:
        raise ValueError(f"unknown group {name!r}: expected one of {', '.join(GROUPS)}")
    return GROUPS[name]()


class _GConvBase(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, group: str,
                 bias: bool, weight_shape: tuple[int, ...], fan_in: int) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        self.group_name, self.group = group, _group(group)
        self.elements = self.group.elements()
        self.order = len(self.elements)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        bound = 1 / math.sqrt(fan_in)  # nn.Conv2d's default scale, for the expanded fan-in
        self.weight = nn.Parameter(torch.empty(weight_shape).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound)) if bias else None

    def expanded_weight(self) -> Tensor:
        raise NotImplementedError

    def _expanded_bias(self) -> Tensor | None:
        # one bias per output channel, shared by its orientations (a different bias per orientation
        # would break equivariance)
        return None if self.bias is None else self.bias.repeat_interleave(self.order)

    def _conv(self, x: Tensor) -> Tensor:
        y = F.conv2d(x, self.expanded_weight(), self._expanded_bias(), padding=self.kernel_size // 2)
        return y.view(y.shape[0], self.out_channels, self.order, *y.shape[-2:])

    def export(self) -> nn.Conv2d:
        """The plain ``nn.Conv2d`` that computes this layer (on the flattened orientation axis)."""
        w = self.expanded_weight().detach()
        conv = nn.Conv2d(w.shape[1], w.shape[0], self.kernel_size, padding=self.kernel_size // 2,
                         bias=self.bias is not None, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            conv.weight.copy_(w)
            if self.bias is not None:
                conv.bias.copy_(self._expanded_bias())
        return conv

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"group={self.group_name}, bias={self.bias is not None}")


class LiftingConv(_GConvBase):
    """Image → group feature map: ``y[o, h] = x ⋆ (h·W_o) + b_o``.

    Shapes: ``[B, C_in, s, s]`` → ``[B, C_out, |H|, s, s]``. Parameters: ``C_out·C_in·k²`` weights
    (as many as a plain conv with ``C_out`` outputs) and ``C_out`` biases.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *,
                 group: str = "p4", bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, group, bias,
                         (out_channels, in_channels, kernel_size, kernel_size),
                         in_channels * kernel_size**2)

    def expanded_weight(self) -> Tensor:
        """``[C_out·|H|, C_in, k, k]``: every filter in every orientation."""
        w = torch.stack([self.group.act(h, self.weight) for h in self.elements], dim=1)
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
                 group: str = "p4", bias: bool = True) -> None:
        order = len(_group(group).elements())
        super().__init__(in_channels, out_channels, kernel_size, group, bias,
                         (out_channels, in_channels, order, kernel_size, kernel_size),
                         in_channels * order * kernel_size**2)
        # source[a, b]: which stored orientation feeds input orientation b for output orientation a,
        # i.e. the index of h_a⁻¹·g_b
        index = {self._key(g): i for i, g in enumerate(self.elements)}
        source = [[index[self._key(self.group.compose(self.group.inverse(h), g))] for g in self.elements]
                  for h in self.elements]
        self.register_buffer("source", torch.tensor(source), persistent=False)

    @staticmethod
    def _key(g: object) -> object:
        return g if isinstance(g, int) else tuple(g)

    def expanded_weight(self) -> Tensor:
        """``[C_out·|H|, C_in·|H|, k, k]``: the filters for every output orientation."""
        w = torch.stack([self.group.act(h, self.weight[:, :, self.source[a]])
                         for a, h in enumerate(self.elements)], dim=1)   # [O, |H|, I, |H|, k, k]
        return w.reshape(self.out_channels * self.order, self.in_channels * self.order,
                         self.kernel_size, self.kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != self.order \
                or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"{type(self).__name__} ({self.group_name}) expects group feature maps "
                             f"[B, {self.in_channels}, {self.order}, s, s], got {tuple(x.shape)}")
        return self._conv(x.flatten(1, 2))


def group_pool(x: Tensor, reduce: str = "max") -> Tensor:
    """Pool over the orientation axis: ``[B, C, |H|, s, s]`` → ``[B, C, s, s]``. The result rotates
    (mirrors) with the input like an ordinary image, without the orientation shuffle."""
    if x.dim() != 5:
        raise ValueError(f"group_pool expects group feature maps [B, C, |H|, s, s], got {tuple(x.shape)}")
    if reduce == "max":
        return x.amax(dim=2)
    if reduce == "mean":
        return x.mean(dim=2)
    raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
