"""Synthetic protein backbones: realistic N–Cα–C geometry from random torsion angles (offline).

Atoms are placed one after another by the *natural extension reference frame* (NeRF) method: each
new atom at a fixed bond length and bond angle from the previous two, rotated by a torsion angle
about the last bond. Bond lengths and angles are the ideal values of protein backbones; the
torsions φ, ψ are drawn around the α-helix and β-strand regions of the Ramachandran plot, ω = 180°.

The same bits on every machine: normals, ``sin`` and ``cos`` from :mod:`symlib.portable`, norms and
cross products written out in a fixed order (digests in :mod:`symlib.data.digests`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from symlib import portable
from symlib.groups import Euclidean3d, Product, Trivial
from symlib.symmetry import Symmetry

__all__ = ["ANGLES", "BONDS", "REGIONS", "random_backbone", "symmetries"]

BONDS = {"N-CA": 1.458, "CA-C": 1.525, "C-N": 1.329}                  # Å
ANGLES = {"N-CA-C": 111.2, "CA-C-N": 116.2, "C-N-CA": 121.7}           # degrees
REGIONS = {"helix": (-57.0, -47.0), "strand": (-120.0, 130.0)}         # (φ, ψ), degrees


def _cross(u: Tensor, v: Tensor) -> Tensor:
    """``u × v`` over the last axis, each component a written-out ``a·b − c·d``."""
    return torch.stack([u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1],
                        u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
                        u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]], dim=-1)


def _unit(v: Tensor) -> Tensor:
    return v / portable.norm3(v)[..., None]


def _place(a: Tensor, b: Tensor, c: Tensor, bond: float, angle: float, torsion: Tensor) -> Tensor:
    """The atom ``d`` with ``|cd| = bond``, angle ``bcd = angle`` (degrees), torsion ``abcd = torsion``
    (radians, float64)."""
    bc = _unit(c - b)
    n = _unit(_cross(b - a, bc))
    sin_theta, cos_theta = portable.sincos(torch.tensor(math.radians(angle), dtype=torsion.dtype))
    sin_t, cos_t = portable.sincos(torsion)
    d = (-bond * cos_theta, bond * sin_theta * cos_t, bond * sin_theta * sin_t)
    return ((c + d[0] * bc) + d[1] * _cross(n, bc)) + d[2] * n


def random_backbone(num_residues: int, *, generator: torch.Generator, helix_fraction: float = 0.5,
                    noise_degrees: float = 15.0, dtype: torch.dtype = torch.float64) -> Tensor:
    """A backbone of ``num_residues`` residues: positions ``[L, 3, 3]`` of the atoms (N, Cα, C).

    Each residue is in a helix or strand conformation (probability ``helix_fraction``) with
    Gaussian noise of ``noise_degrees`` on φ and ψ. Built in float64, then cast to ``dtype``.
    """
    if num_residues < 1:
        raise ValueError(f"num_residues must be positive, got {num_residues}")
    f64 = torch.float64
    helix = torch.rand(num_residues, generator=generator) < helix_fraction
    centre = torch.tensor([REGIONS["helix"] if h else REGIONS["strand"] for h in helix.tolist()], dtype=f64)
    noise = noise_degrees * portable.randn(num_residues, 2, generator=generator, dtype=f64)
    phi_psi = (centre + noise) * (math.pi / 180)
    omega = torch.tensor(math.pi, dtype=f64)
    atoms = [torch.tensor([0.0, 0.0, 0.0], dtype=f64), torch.tensor([BONDS["N-CA"], 0.0, 0.0], dtype=f64)]
    sin, cos = portable.sincos(torch.tensor(math.radians(ANGLES["N-CA-C"]), dtype=f64))
    atoms.append(atoms[1] + BONDS["CA-C"] * torch.stack([-cos, sin, torch.zeros((), dtype=f64)]))
    for i in range(1, num_residues):
        psi, phi = phi_psi[i - 1, 1], phi_psi[i, 0]
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["C-N"], ANGLES["CA-C-N"], psi))
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["N-CA"], ANGLES["C-N-CA"], omega))
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["CA-C"], ANGLES["N-CA-C"], phi))
    return torch.stack(atoms).reshape(num_residues, 3, 3).to(dtype)


def symmetries(*, positions: bool = False) -> list[Symmetry]:
    """Moving a protein rigidly, as a row for :func:`symlib.audit.audit` of a model of ``(s, z, R, t)``
    (residue features ``[n, c_s]``, pair features ``[n, n, c_z]``, frames ``R [n, 3, 3]`` and
    ``t [n, 3]``): a proper rigid motion ``(Q, u)`` turns every frame, ``R_i ↦ Q R_i`` and
    ``t_i ↦ Q t_i + u``, and leaves the features. Outputs that are features should not change
    (invariance); with ``positions``, outputs ``[n, 3]`` that are positions should move alike."""
    se3 = Euclidean3d()
    moved = Product(Trivial(), Trivial(), se3.on_rotations(), se3)
    return [Symmetry("rigid motion", moved, se3 if positions else Trivial())]
