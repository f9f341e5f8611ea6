"""symlib.layers.gconv: exact p4/p4m equivariance, the export to nn.Conv2d, shapes, bad inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symlib.equivariance import invariance_error
from symlib.groups import Dihedral4, OnFeatureMaps, Rot90
from symlib.layers import count_parameters
from symlib.layers.gconv import GCNN, GroupConv, LiftingConv, group_pool

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
GROUPS = [("p4", Rot90()), ("p4m", Dihedral4())]


def _layers(group: str, dtype: torch.dtype, k: int = 3):
    torch.manual_seed(0)
    return LiftingConv(2, 3, k, group=group).to(dtype), GroupConv(3, 4, k, group=group).to(dtype)


@pytest.mark.parametrize("group,base", GROUPS)
@pytest.mark.parametrize("size", [7, 8])
def test_lifting_and_group_convs_are_exactly_equivariant(dtype, group, base, size) -> None:
    lift, gconv = _layers(group, dtype)
    maps = OnFeatureMaps(base)
    x = torch.randn(2, 2, size, size, dtype=dtype)
    y = torch.randn(2, 3, len(base.elements()), size, size, dtype=dtype)
    assert_equivariant(lift, x, base, maps, dtype=dtype)
    assert_equivariant(gconv, y, maps, maps, dtype=dtype)


@pytest.mark.parametrize("group,base", GROUPS)
def test_a_g_cnn_with_group_and_spatial_pooling_is_invariant(dtype, group, base) -> None:
    lift, gconv = _layers(group, dtype, k=5)
    net = lambda x: group_pool(gconv(torch.relu(lift(x)))).mean((-2, -1))  # noqa: E731
    assert_invariant(net, torch.randn(3, 2, 9, 9, dtype=dtype), base, dtype=dtype)


def test_a_plain_cnn_is_not_rotation_invariant() -> None:
    """The checks above can fail: an ordinary CNN changes its answer when the image turns."""
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)).double()
    net = lambda x: conv(x).mean((-2, -1))  # noqa: E731
    assert_broken(invariance_error(net, torch.randn(3, 2, 9, 9, dtype=torch.float64), Rot90()))


@pytest.mark.parametrize("group,base", GROUPS)
def test_export_computes_the_same_function(group, base) -> None:
    lift, gconv = _layers(group, torch.float64)
    order = len(base.elements())
    x = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    y = torch.randn(2, 3, order, 9, 9, dtype=torch.float64)
    plain_lift, plain_g = lift.export(), gconv.export()
    assert isinstance(plain_g, nn.Conv2d) and plain_g.in_channels == 3 * order
    assert_matches(plain_lift(x).view_as(lift(x)), lift(x))
    assert_matches(plain_g(y.flatten(1, 2)).view(2, 4, order, 9, 9), gconv(y))


@pytest.mark.parametrize("group,order", [("p4", 4), ("p4m", 8)])
def test_shapes_and_parameter_counts(group, order) -> None:
    lift, gconv = LiftingConv(3, 8, 5, group=group), GroupConv(8, 6, 3, group=group)
    x = torch.randn(2, 3, 12, 12)
    h = lift(x)
    assert h.shape == (2, 8, order, 12, 12) and gconv(h).shape == (2, 6, order, 12, 12)
    assert count_parameters(lift) == 8 * 3 * 25 + 8
    assert count_parameters(gconv) == 6 * 8 * order * 9 + 6
    assert group_pool(h).shape == group_pool(h, "mean").shape == (2, 8, 12, 12)


def test_gradients_flow_through_the_transformed_filters() -> None:
    lift, gconv = _layers("p4m", torch.float64)
    gconv(lift(torch.randn(1, 2, 7, 7, dtype=torch.float64))).square().sum().backward()
    assert lift.weight.grad is not None and gconv.weight.grad is not None and gconv.bias.grad is not None


def test_feature_map_action_obeys_the_group_laws() -> None:
    for base in (Rot90(), Dihedral4()):
        maps = OnFeatureMaps(base)
        y = torch.randn(2, len(base.elements()), 5, 5)
        for g in base.elements():
            for h in base.elements():
                assert torch.equal(maps.act(base.compose(g, h), y), maps.act(g, maps.act(h, y)))
            assert torch.equal(maps.act(base.inverse(g), maps.act(g, y)), y)


def test_bad_inputs_are_named() -> None:
    lift, gconv = _layers("p4", torch.float32)
    with pytest.raises(ValueError, match="square images"):
        lift(torch.randn(1, 2, 7, 8))
    with pytest.raises(ValueError, match=r"\[B, 2, s, s\]"):
        lift(torch.randn(1, 3, 7, 7))
    with pytest.raises(ValueError, match=r"group feature maps \[B, 3, 4, s, s\]"):
        gconv(torch.randn(1, 3, 8, 7, 7))
    with pytest.raises(ValueError, match="unknown group"):
        LiftingConv(1, 1, 3, group="p6")
    with pytest.raises(ValueError, match="odd"):
        GroupConv(1, 1, 4)
    with pytest.raises(ValueError, match="aggr"):
        group_pool(torch.randn(1, 1, 4, 3, 3), "sum")
    with pytest.raises(ValueError, match="group feature maps"):
        OnFeatureMaps(Rot90()).act(1, torch.randn(1, 3, 5, 5))
    with pytest.raises(TypeError, match="Rot90 or Dihedral4"):
        OnFeatureMaps(Rot90)  # the class, not an instance


# --- the G-CNN classifier --------------------------------------------------------------------------

def _gcnn(group: str, dtype: torch.dtype = torch.float64, **kw) -> GCNN:
    torch.manual_seed(0)
    kw = {"channels": [3, 4], "pool_after": [0], **kw}
    return GCNN(1, 5, group=group, **kw).to(dtype).eval()


@pytest.mark.parametrize("group,base", GROUPS)
@pytest.mark.parametrize("train", [False, True])
def test_gcnn_with_the_invariant_head_is_exactly_invariant(dtype, group, base, train) -> None:
    """Also in training mode: batch-norm statistics are shared by a channel's orientations."""
    net = _gcnn(group, dtype).train(train)
    assert_invariant(net, torch.randn(4, 1, 8, 8, dtype=dtype), base, dtype=dtype)


@pytest.mark.parametrize("group,base", GROUPS)
def test_gcnn_orientation_head_has_equivariant_features_but_is_not_invariant(group, base) -> None:
    net = _gcnn(group, head="orientation")
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    maps = OnFeatureMaps(base)
    assert_equivariant(net.features, x, base, maps, dtype=torch.float64)
    assert_broken(invariance_error(net, x, base))


def test_valid_padding_and_even_kernels_stay_equivariant() -> None:
    """Cohen & Welling's architecture: unpadded 3×3 convolutions and a 4×4 top layer."""
    net = _gcnn("p4", channels=[3, 3, 4], kernel_size=3, padding=0, pool_after=[1])
    assert_invariant(net, torch.randn(2, 1, 12, 12, dtype=torch.float64), Rot90(), dtype=torch.float64)
    top = GroupConv(3, 2, 4, padding=0).double()
    y = torch.randn(2, 3, 4, 6, 6, dtype=torch.float64)
    assert top(y).shape == (2, 2, 4, 3, 3)
    assert_equivariant(top, y, OnFeatureMaps(Rot90()), OnFeatureMaps(Rot90()), dtype=torch.float64)


def test_z2_is_an_ordinary_cnn() -> None:
    """Same code, trivial group: every layer exports to a Conv2d of the original shape, and the
    model is not rotation invariant."""
    net = _gcnn("z2")
    assert net.order == 1
    assert [tuple(c.export().weight.shape) for c in net.convs] == [(3, 1, 3, 3), (4, 3, 3, 3)]
    assert_broken(invariance_error(net, torch.randn(4, 1, 8, 8, dtype=torch.float64), Rot90()))


def test_half_the_channels_gives_about_the_same_parameters() -> None:
    z2 = GCNN(1, 10, [16, 32, 32], group="z2")
    p4 = GCNN(1, 10, [8, 16, 16], group="p4")
    assert abs(count_parameters(p4) / count_parameters(z2) - 1) < 0.05


def test_gcnn_bad_configurations_are_named() -> None:
    with pytest.raises(ValueError, match="channels is empty"):
        GCNN(1, 10, [])
    with pytest.raises(ValueError, match="head"):
        GCNN(1, 10, [4], head="flatten")
    with pytest.raises(ValueError, match="pool_after"):
        GCNN(1, 10, [4], pool_after=[1])
    with pytest.raises(ValueError, match="even size"):
        _gcnn("p4", pool_after=[0, 1])(torch.randn(1, 1, 6, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        LiftingConv(1, 1, 3, padding=-1)


def test_circular_padding_adds_exact_cyclic_shift_equivariance() -> None:
    from symlib.groups import CyclicShift2d

    torch.manual_seed(0)
    lift = LiftingConv(1, 2, 3, padding_mode="circular").double()
    x = torch.randn(2, 1, 6, 6, dtype=torch.float64)
    shifts = CyclicShift2d(6, 6)
    assert_equivariant(lift, x, shifts, shifts, dtype=torch.float64)
    plain = lift.export()
    assert plain.padding_mode == "circular"
    assert_matches(plain(x).view(2, 2, 4, 6, 6), lift(x))
    net = GCNN(1, 3, [2, 2], group="p4", padding_mode="circular").double().eval()
    assert_invariant(net, x, shifts, dtype=torch.float64)
    assert_invariant(net, x, Rot90(), dtype=torch.float64)
    with pytest.raises(ValueError, match="padding_mode"):
        GroupConv(1, 1, 3, padding_mode="reflect")


@pytest.mark.parametrize("group", ["z2", "p4", "p4m"])
def test_the_gathered_filter_bank_is_the_transformed_filters(group) -> None:
    """expanded_weight gathers with a precomputed index; it must equal the equation entry for entry,
    and its gradient must be bitwise the equation's too (the stored notebooks' training runs)."""
    torch.manual_seed(0)
    for layer in (LiftingConv(2, 3, 3, group=group).double(), GroupConv(3, 2, 3, group=group).double()):
        bank = layer.expanded_weight()
        assert torch.equal(bank, layer._transform(layer.weight))
        g = torch.randn_like(bank)
        (grad,) = torch.autograd.grad(bank, layer.weight, g)
        (expected,) = torch.autograd.grad(layer._transform(layer.weight), layer.weight, g)
        assert torch.equal(grad, expected)
