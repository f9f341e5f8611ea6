"""symlib.layers.mnist1d: the MNIST-1D paper's baselines, their shapes and parameter counts."""

from __future__ import annotations

import torch

from symlib.layers import count_parameters
from symlib.layers.mnist1d import Residual, cnn, residual_mlp


def test_shapes_and_the_published_parameter_counts() -> None:
    x = torch.randn(7, 40)
    assert residual_mlp()(x).shape == (7, 10) and cnn()(x).shape == (7, 10)
    assert count_parameters(residual_mlp()) == 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10 == 15_210
    assert count_parameters(cnn()) == (5 * 25 + 25) + 2 * (3 * 25 * 25 + 25) + (125 * 10 + 10) == 5_210


def test_the_residual_step_adds_its_input() -> None:
    torch.manual_seed(0)
    f = torch.nn.Linear(4, 4)
    x = torch.randn(3, 4)
    assert torch.equal(Residual(f)(x), x + f(x))


def test_the_cnn_is_not_shift_invariant_but_sees_every_position() -> None:
    """Strided convolutions and a linear head: every input position matters."""
    torch.manual_seed(0)
    model = cnn()
    x = torch.randn(1, 40, requires_grad=True)
    model(x).sum().backward()
    assert (x.grad.abs() > 0).all()


def test_the_default_sizes_are_mnist1ds() -> None:
    """The layers take the sizes as arguments (layers never import data); the defaults are the data's."""
    from symlib.data.mnist1d import LENGTH, NUM_CLASSES
    from symlib.layers.mnist1d import cnn, residual_mlp

    signals = torch.zeros(2, LENGTH)
    assert residual_mlp()(signals).shape == cnn()(signals).shape == (2, NUM_CLASSES)
