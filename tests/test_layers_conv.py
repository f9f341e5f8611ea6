"""symlib.layers.conv: the locally connected layer, against nn.Conv2d as the oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symlib.equivariance import broken, invariance_error, relative_error
from symlib.layers import count_parameters
from symlib.layers.conv import LocallyConnected2d

from helpers import assert_broken, assert_invariant, assert_matches


@pytest.mark.parametrize("k", [1, 3, 5])
def test_with_shared_weights_it_is_the_convolution(dtype: torch.dtype, k: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, k, padding=k // 2).to(dtype)
    local = LocallyConnected2d.from_conv(conv, (7, 9))
    x = torch.randn(2, 3, 7, 9, dtype=dtype)
    assert_matches(local(x), conv(x), dtype=dtype)


def test_unshared_weights_make_it_position_dependent() -> None:
    torch.manual_seed(0)
    local = LocallyConnected2d(1, 1, (6, 6), 3, bias=False).double()
    x = torch.zeros(1, 1, 6, 6, dtype=torch.float64)
    x[..., 2, 2] = 1.0
    shifted = torch.roll(x, 1, dims=-1)
    # the response to a shifted impulse is not the shifted response: each position has its own kernel
    assert relative_error(local(shifted), torch.roll(local(x), 1, dims=-1)) > broken(x.dtype)


def test_parameter_count_is_positions_times_kernel() -> None:
    layer = LocallyConnected2d(3, 64, (224, 224), 3, device="meta")
    weights = 224 * 224 * 64 * 3 * 9
    assert count_parameters(layer) == weights + 64 * 224 * 224
    assert layer.weight.device.type == "meta"


def test_gradients_flow() -> None:
    layer = LocallyConnected2d(2, 3, (4, 4), 3)
    layer(torch.randn(5, 2, 4, 4)).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None


@pytest.mark.parametrize("shape", [(1, 2, 4, 4), (1, 3, 5, 4), (3, 4, 4)])
def test_wrong_input_shape_is_named(shape: tuple[int, ...]) -> None:
    layer = LocallyConnected2d(3, 2, (4, 4), 3)
    with pytest.raises(ValueError, match=r"expects \[batch, 3, 4, 4\]"):
        layer(torch.randn(*shape))


@pytest.mark.parametrize("k", [0, 2, -1])
def test_even_or_empty_kernels_are_rejected(k: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        LocallyConnected2d(1, 1, (4, 4), k)


@pytest.mark.parametrize("conv", [
    nn.Conv2d(1, 1, 3, padding=0),
    nn.Conv2d(1, 1, 3, padding=1, stride=2),
    nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"),
    nn.Conv2d(2, 2, 3, padding=1, groups=2),
])
def test_from_conv_rejects_what_it_cannot_represent(conv: nn.Conv2d) -> None:
    with pytest.raises(ValueError, match="from_conv needs"):
        LocallyConnected2d.from_conv(conv, (6, 6))


def test_ring_cnn_is_shift_invariant_on_any_ring_length(dtype: torch.dtype) -> None:
    from symlib.groups import CyclicShift1d
    from symlib.layers.conv import RingCNN

    torch.manual_seed(0)
    net = RingCNN(channels=4).to(dtype)
    for length in (5, 12):
        s = torch.randn(3, length, dtype=dtype)
        assert net(s).shape == (3,)
        assert_invariant(net, s, CyclicShift1d(length), dtype=dtype)
    with pytest.raises(ValueError, match=r"signals \[N, L\]"):
        net(torch.randn(3, 1, 5, dtype=dtype))
    with pytest.raises(ValueError, match="odd kernel_size"):
        RingCNN(kernel_size=4)


def test_locally_connected_ring_starts_as_the_ring_cnn_and_unties(dtype: torch.dtype) -> None:
    from symlib.groups import CyclicShift1d
    from symlib.layers.conv import LocallyConnectedRing, RingCNN

    torch.manual_seed(0)
    ring = RingCNN(channels=4, kernel_size=5).to(dtype)
    torch.manual_seed(0)
    local = LocallyConnectedRing(12, channels=4, kernel_size=5).to(dtype)
    assert count_parameters(local) == 12 * count_parameters(ring)
    s = torch.randn(3, 12, dtype=dtype)
    assert local(s).shape == (3,)
    assert_matches(local(s), ring(s), dtype=dtype)             # the same seed: the same function
    with torch.no_grad():
        local.weight[0][3] += 0.5                               # untie one site's kernels
    assert_broken(invariance_error(local, s, CyclicShift1d(12)))
    with pytest.raises(ValueError, match=r"L=12"):
        local(torch.randn(3, 10, dtype=dtype))
