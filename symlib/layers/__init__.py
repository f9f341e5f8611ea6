"""Layers the chapters build, one module per family: ``conv``, ``equivariant``, ``gconv``, ``sets``,
``graphs``, ``egnn``, ``ipa``, ``attention``, and ``breaking`` (ways to break an exact symmetry)."""

from collections.abc import Sequence

from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of ``module`` (works on the ``meta`` device, so a layer far too
    large for memory can still be counted from its real definition)."""
    return sum(p.numel() for p in module.parameters())


def mlp(sizes: Sequence[int], *, activation: type[nn.Module] = nn.ReLU,
        final_activation: bool = False) -> nn.Sequential:
    """``Linear → activation → … → Linear`` through ``sizes`` (``[in, hidden…, out]``); an
    activation after the last layer too if ``final_activation``."""
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least input and output sizes, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)
