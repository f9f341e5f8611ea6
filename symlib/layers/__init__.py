"""Layers the chapters build, one module per family: ``conv``, ``equivariant``, ``gconv``, ``sets``,
``graphs``, ``egnn``, ``ipa``, ``attention``, ``breaking`` (ways to break an exact symmetry), and
``mnist1d`` (the MNIST-1D paper's two baselines).

**Forward conventions**, one per kind of input (torch_geometric's: layers and models take tensors in
their family's layout):

==============  ====================================================================================
images          ``f(x)``, ``x [B, C, H, W]`` (``conv``, ``gconv``)
rings           ``f(s)``, ``s [N, L]``: signals on a ring of ``L`` sites (``conv``: ``RingCNN``,
                ``LocallyConnectedRing``)
vectors         ``f(x)``, ``x [..., d]``: a linear map solved for a group (``equivariant``)
sets            ``f(x, batch)``: the elements of all sets stacked, ``x [N, F]``, and ``batch [N]``
                naming each element's set (torch_geometric's batch vector; ``sets``)
graphs          ``f(x, edge_index, batch)``: node features ``x [N, F]``, ``edge_index [2, E]`` (source,
                target), ``batch [N]``; a layer takes ``(x, edge_index)`` (``graphs``)
particles       layers ``EGNNLayer(h, x, v, edge_index, edge_attr)`` on any graph, or ``.dense`` on
                complete graphs; models ``f(pos [B, n, 3], vel [B, n, 3], charges [B, n])``, each
                system a complete graph (``egnn``)
molecules       padded: ``f(pos [B, N, 3], types [B, N], mask [B, N], ...)`` (``breaking``)
protein frames  ``f(s [B, N, c_s], z [B, N, N, c_z], rotations [B, N, 3, 3], translations [B, N, 3],
                mask [B, N])`` (``ipa``)
tokens          ``f(x [B, N, d])`` for a layer, ``f(tokens [B, N])`` for a classifier (``attention``)
==============  ====================================================================================

Widths are ``in_features``/``out_features`` for features per element, node or token, and
``in_channels``/``out_channels`` for image channels. A ``mask`` is ``True`` where an element
exists; the one exception keeps PyTorch's own name and meaning: ``key_padding_mask`` (attention) is
``True`` at padding, as in ``nn.MultiheadAttention``.
"""

from collections.abc import Sequence

from torch import nn

__all__ = ["count_parameters", "mlp"]


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
