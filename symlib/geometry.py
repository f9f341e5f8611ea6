"""Small pieces of 3-D geometry the library shares, written once: random rotations, the complete graph
of each system in a batch, rotations about the z axis, and frames.

* :func:`random_rotations` — ``[num, 3, 3]`` rotations, uniform (Haar) on SO(3);
* :func:`complete_graph` — ``edge_index`` connecting every pair of nodes within each of ``B`` systems,
  and :func:`neighbours`, the same graph as an ``[n, n − 1]`` table;
* :func:`rotate_about_z` — points turned by an angle about the z axis through a centre;
* :func:`frames_from_points` — backbone frames ``(R, t)`` from three atoms (AlphaFold's Gram–Schmidt);
* :func:`check_rotations` — a clear error unless matrices are rotations.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from symlib import portable

__all__ = ["check_rotations", "complete_graph", "frames_from_points", "neighbours", "random_rotations",
           "rotate_about_z"]


def random_rotations(num: int, generator: torch.Generator | None = None, *,
                     dtype: torch.dtype = torch.float64) -> Tensor:
    """``num`` rotation matrices ``[num, 3, 3]``, uniform (Haar) on SO(3), the same bits on every machine.

    Unit quaternions from four normal draws (:func:`symlib.portable.rotations`: arithmetic only, no
    QR factorisation whose rounding would depend on LAPACK), drawn in float64 from ``generator``
    (torch's global RNG if ``None``), then cast to ``dtype``. Applied to row vectors as ``x ↦ x Rᵀ``.
    """
    if num < 0:
        raise ValueError(f"num must be non-negative, got {num}")
    return portable.rotations(num, generator).to(dtype)


def complete_graph(batch: int, n: int, *, mask: Tensor | None = None,
                   device: torch.device | str | None = None) -> Tensor:
    """``edge_index [2, E]`` joining every ordered pair of distinct nodes within each of ``batch``
    systems of ``n`` nodes, numbered ``b·n + i`` (torch_geometric's batching of disjoint graphs).

    Edges run from source ``edge_index[0]`` to target ``edge_index[1]``, grouped by system, then by
    source: ``E = batch · n(n−1)``. With ``mask [batch, n]`` (bool, ``True`` = the node exists, as
    in padded batches), edges touching a padding node are left out. ``device`` defaults to the
    mask's.
    """
    if mask is not None:
        if mask.dtype != torch.bool or mask.shape != (batch, n):
            raise ValueError(f"mask must be a bool tensor of shape [{batch}, {n}], got {mask.dtype} "
                             f"{tuple(mask.shape)}")
        device = mask.device if device is None else device
    src = torch.arange(n, device=device).repeat_interleave(max(n - 1, 0))   # grouped by source
    dst = neighbours(n, device).flatten()                              # its n - 1 others, in order
    base = torch.arange(batch, device=device)[:, None] * n
    edges = torch.stack([(base + src).flatten(), (base + dst).flatten()])
    if mask is None:
        return edges
    return edges[:, (mask[:, src] & mask[:, dst]).flatten()]


def neighbours(n: int, device: torch.device | str | None = None) -> Tensor:
    """``[n, n − 1]``: row ``i`` lists the other nodes of a complete graph, ``0 … n−1`` without ``i``
    (the dense form of :func:`complete_graph`: node ``i``'s neighbours on their own axis). Built by
    arithmetic, ``j + [j ≥ i]``, so it costs no host synchronisation on a GPU."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    i = torch.arange(n, device=device)[:, None]
    j = torch.arange(max(n - 1, 0), device=device)[None, :]
    return j + (j >= i).long()


def rotate_about_z(x: Tensor, degrees: float, centre: Tensor | None = None) -> Tensor:
    """Points ``[..., 3]`` turned by ``degrees`` counter-clockwise about the z axis through ``centre``
    (default the origin, which is also how directions such as velocities turn)."""
    if x.shape[-1] != 3:
        raise ValueError(f"rotate_about_z expects points of shape [..., 3], got {tuple(x.shape)}")
    a = math.radians(degrees)
    r = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]],
                     dtype=x.dtype, device=x.device)
    c = torch.zeros(3, dtype=x.dtype, device=x.device) if centre is None else centre.to(x)
    return (x - c) @ r.T + c


def frames_from_points(x1: Tensor, x2: Tensor, x3: Tensor) -> tuple[Tensor, Tensor]:
    """Backbone frames by Gram–Schmidt (AlphaFold 2, Algorithm 21): origin at ``x2`` (the Cα atom),
    first axis towards ``x3`` (C), second axis in the plane of ``x1`` (N). ``[..., 3]`` each →
    ``(R [..., 3, 3], t [..., 3])`` with ``R`` a rotation (columns are the local axes)."""
    e1 = F.normalize(x3 - x2, dim=-1)
    u = x1 - x2
    e2 = F.normalize(u - (e1 * u).sum(-1, keepdim=True) * e1, dim=-1)
    e3 = torch.cross(e1, e2, dim=-1)
    return torch.stack([e1, e2, e3], dim=-1), x2


def check_rotations(r: Tensor) -> None:
    """Raise ``ValueError`` unless every ``[..., 3, 3]`` matrix in ``r`` is a rotation (RᵀR = I, det +1)."""
    if r.shape[-2:] != (3, 3):
        raise ValueError(f"rotations must be [..., 3, 3], got {tuple(r.shape)}")
    tol = 1e3 * torch.finfo(r.dtype).eps if r.is_floating_point() else 0.0   # a few digits of slack
    eye = torch.eye(3, dtype=r.dtype, device=r.device)
    with torch.autocast(r.device.type, enabled=False):     # checked in r's own dtype, also under autocast
        gram = r.transpose(-1, -2) @ r
    if not torch.allclose(gram, eye.expand_as(r), atol=tol):
        raise ValueError("frames are not rotations: RᵀR differs from the identity")
    if (torch.linalg.det(r) <= 0).any():
        raise ValueError("frames are not rotations: a determinant is negative (a reflection)")
