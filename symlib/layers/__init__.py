"""Layers the chapters build, one module per family (``conv``; later ``gconv``, ``sets``, ...)."""

from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of ``module`` (works on the ``meta`` device, so a layer far too
    large for memory can still be counted from its real definition)."""
    return sum(p.numel() for p in module.parameters())
