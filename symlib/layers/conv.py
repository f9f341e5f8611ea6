"""Convolution and its relatives: what locality and weight sharing each contribute.

A 2D convolution is two constraints on a fully connected layer at once:

* **locality** — output pixel ``p`` only sees the ``k×k`` window around ``p``;
* **weight sharing** — every window uses the same kernel.

:class:`LocallyConnected2d` keeps the first and drops the second (a different kernel at every
position), so comparing FC, locally connected and convolutional layers separates the two savings.
:class:`RingCNN` is the 1D convolutional network for signals on a ring (periodic boundary), and
:class:`LocallyConnectedRing` the same network with its weights untied site by site.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["LocallyConnected2d", "LocallyConnectedRing", "RingCNN"]


class LocallyConnected2d(nn.Module):
    """A convolution without weight sharing: every output position has its own ``k×k`` kernel.

    .. math::  y_{o,p} = b_{o,p}
               + \\sum_{c} \\sum_{\\delta \\in [k]^2} W_{p,o,c,\\delta}\\, x_{c,\\, p+\\delta}

    Args:
        in_channels, out_channels: ``C_in`` and ``C_out``.
        in_size: ``(H, W)`` of the input; a locally connected layer is tied to one image size.
        kernel_size: ``k`` (odd); ``padding="same"`` keeps the spatial size, with zeros outside.
        bias: a separate bias per output channel *and* position.

    Shapes: input ``[batch, C_in, H, W]`` → output ``[batch, C_out, H, W]``.
    Parameters: ``H·W·C_out·C_in·k²`` weights (``H·W·C_out`` biases) — a convolution has ``C_out·C_in·k²``.
    Pass ``device="meta"`` to count parameters of sizes that would not fit in memory.
    """

    def __init__(self, in_channels: int, out_channels: int, in_size: tuple[int, int], kernel_size: int,
                 *, bias: bool = True, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size, self.kernel_size = tuple(in_size), kernel_size
        positions = in_size[0] * in_size[1]
        fan_in = in_channels * kernel_size**2
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(positions, out_channels, fan_in, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, positions, **factory)) if bias else None
        if self.weight.device.type != "meta":
            bound = 1 / math.sqrt(fan_in)  # the same scale as nn.Conv2d's default initialisation
            nn.init.uniform_(self.weight, -bound, bound)
            if self.bias is not None:
                nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, in_size: tuple[int, int]) -> LocallyConnected2d:
        """The locally connected layer whose every position uses ``conv``'s kernel: equal outputs."""
        k = conv.kernel_size[0]
        if conv.kernel_size != (k, k) or conv.stride != (1, 1) or conv.padding != (k // 2, k // 2) \
                or conv.padding_mode != "zeros" or conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError("from_conv needs a square, stride-1, 'same' zero-padded, ungrouped Conv2d")
        layer = cls(conv.in_channels, conv.out_channels, in_size, k, bias=conv.bias is not None,
                    device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(conv.weight.reshape(conv.out_channels, -1).expand_as(layer.weight))
            if conv.bias is not None:
                layer.bias.copy_(conv.bias[:, None].expand_as(layer.bias))
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or tuple(x.shape[-2:]) != self.in_size:
            raise ValueError(f"{type(self).__name__} expects [batch, {self.in_channels}, "
                             f"{self.in_size[0]}, {self.in_size[1]}], got {tuple(x.shape)}")
        patches = F.unfold(x, self.kernel_size, padding=self.kernel_size // 2)  # [B, C_in·k², H·W]
        y = torch.einsum("bip,poi->bop", patches, self.weight)                  # [B, C_out, H·W]
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(x.shape[0], self.out_channels, *self.in_size)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, in_size={self.in_size}, "
                f"kernel_size={self.kernel_size}, bias={self.bias is not None}")


class RingCNN(nn.Module):
    r"""A CNN for a signal on a ring, summed into one number: ``[N, L]`` → ``[N]``.

    ``layers`` circular ``Conv1d`` layers (kernel ``k``, ``channels`` wide, ReLU), a ``1×1`` readout to
    one value per site, and a **sum** over the sites:

    .. math::  f(s) = \sum_i e_θ\bigl(s_{i-r}, …, s_{i+r}\bigr), \qquad r = \text{layers}·(k-1)/2,

    an extensive quantity built from local terms, like the energy of a chain. Circular padding makes
    it exactly invariant to cyclic shifts, for every weight and every ring length (the same weights
    run on any ``L``).
    """

    def __init__(self, channels: int = 16, kernel_size: int = 3, layers: int = 2) -> None:
        super().__init__()
        if kernel_size % 2 == 0 or layers < 1:
            raise ValueError(f"need an odd kernel_size and layers >= 1, got {kernel_size}, {layers}")
        convs: list[nn.Module] = []
        for i in range(layers):
            convs += [nn.Conv1d(1 if i == 0 else channels, channels, kernel_size, padding=kernel_size // 2,
                                padding_mode="circular"), nn.ReLU()]
        self.body = nn.Sequential(*convs, nn.Conv1d(channels, 1, 1))

    def forward(self, s: Tensor) -> Tensor:
        if s.dim() != 2:
            raise ValueError(f"RingCNN expects signals [N, L], got {tuple(s.shape)}")
        return self.body(s[:, None]).sum(dim=(1, 2))


class LocallyConnectedRing(nn.Module):
    r""":class:`RingCNN` with every site's kernels its own: locality without weight sharing.

    The same layers, windows and sum over sites as a ring CNN, but layer ``ℓ`` at site ``i`` uses its
    own weights ``W^{(ℓ)}_i`` and bias ``b^{(ℓ)}_i``:

    .. math::  h^{(ℓ+1)}_i = \mathrm{ReLU}\Bigl(b^{(ℓ)}_i + \sum_{t} W^{(ℓ)}_{i,t}\, h^{(ℓ)}_{i+t-r}\Bigr),
               \qquad f(s) = \sum_i \bigl(b_i + w_i \cdot h^{(L)}_i\bigr),

    indices mod ``length`` and ``r = (k-1)/2``. It is tied to one ring length and is not
    shift-invariant, except where its sites happen to agree. A new one starts from a freshly
    initialised :class:`RingCNN`'s weights, copied to every site, so under the same seed it computes
    exactly what that ring CNN computes until training unties them.

    Args:
        length: the number of sites ``L``.
        channels, kernel_size, layers: as in :class:`RingCNN`.

    Shapes: ``[N, L]`` → ``[N]``. Parameters: ``L`` times the ring CNN's.
    """

    def __init__(self, length: int, channels: int = 16, kernel_size: int = 3, layers: int = 2) -> None:
        super().__init__()
        if length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.length, self.kernel_size = length, kernel_size
        convs = [m for m in RingCNN(channels, kernel_size, layers).body if isinstance(m, nn.Conv1d)]
        # [L, out, in·k] and [L, out]: the ring CNN's kernels, one copy per site
        self.weight = nn.ParameterList(nn.Parameter(c.weight.detach().flatten(1).repeat(length, 1, 1))
                                       for c in convs)
        self.bias = nn.ParameterList(nn.Parameter(c.bias.detach().repeat(length, 1)) for c in convs)

    def forward(self, s: Tensor) -> Tensor:
        if s.dim() != 2 or s.shape[1] != self.length:
            raise ValueError(f"LocallyConnectedRing expects signals [N, L={self.length}], "
                             f"got {tuple(s.shape)}")
        r = self.kernel_size // 2
        h = s[:, :, None]                                                   # [N, L, channels]
        last = len(self.weight) - 1
        for layer, (w, b) in enumerate(zip(self.weight, self.bias)):
            if layer < last:  # site i sees sites i - r … i + r, in the order of Conv1d's taps
                h = torch.stack([h.roll(d, 1) for d in range(r, -r - 1, -1)], dim=-1).flatten(2)
            h = torch.einsum("nlc,loc->nlo", h, w) + b                      # site l's own weights
            h = h.relu() if layer < last else h
        return h.sum(dim=(1, 2))
