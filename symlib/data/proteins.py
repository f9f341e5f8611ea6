"""Synthetic protein backbones: realistic N–Cα–C geometry from random torsion angles (offline).

Atoms are placed one after another by the *natural extension reference frame* (NeRF) method: each
new atom at a fixed bond length and bond angle from the previous two, rotated by a torsion angle
about the last bond. Bond lengths and angles are the ideal values of protein backbones; the
torsions φ, ψ are drawn around the α-helix and β-strand regions of the Ramachandran plot, ω = 180°.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

BONDS = {"N-CA": 1.458, "CA-C": 1.525, "C-N": 1.329}                  # Å
ANGLES = {"N-CA-C": 111.2, "CA-C-N": 116.2, "C-N-CA": 121.7}           # degrees
REGIONS = {"helix": (-57.0, -47.0), "strand": (-120.0, 130.0)}         # (φ, ψ), degrees


def _place(a: Tensor, b: Tensor, c: Tensor, bond: float, angle: float, torsion: Tensor) -> Tensor:
    """The atom ``d`` with ``|cd| = bond``, angle ``bcd = angle`` (degrees), torsion ``abcd = torsion``."""
    bc = F.normalize(c - b, dim=-1)
    n = F.normalize(torch.cross(b - a, bc, dim=-1), dim=-1)
    theta = math.radians(angle)
    d = torch.stack([-bond * math.cos(theta) * torch.ones_like(torsion),
                     bond * math.sin(theta) * torch.cos(torsion),
                     bond * math.sin(theta) * torch.sin(torsion)], dim=-1)
    return c + d[..., :1] * bc + d[..., 1:2] * torch.cross(n, bc, dim=-1) + d[..., 2:] * n


def random_backbone(num_residues: int, *, generator: torch.Generator, helix_fraction: float = 0.5,
                    noise_degrees: float = 15.0, dtype: torch.dtype = torch.float64) -> Tensor:
    """A backbone of ``num_residues`` residues: positions ``[L, 3, 3]`` of the atoms (N, Cα, C).

    Each residue is in a helix or strand conformation (probability ``helix_fraction``) with
    Gaussian noise of ``noise_degrees`` on φ and ψ.
    """
    if num_residues < 1:
        raise ValueError(f"num_residues must be positive, got {num_residues}")
    helix = torch.rand(num_residues, generator=generator) < helix_fraction
    centre = torch.tensor([REGIONS["helix"] if h else REGIONS["strand"] for h in helix.tolist()])
    phi_psi = torch.deg2rad(centre + noise_degrees * torch.randn(num_residues, 2, generator=generator))
    phi_psi = phi_psi.to(dtype)
    omega = torch.tensor(math.pi, dtype=dtype)
    atoms = [torch.tensor([0.0, 0.0, 0.0], dtype=dtype),
             torch.tensor([BONDS["N-CA"], 0.0, 0.0], dtype=dtype)]
    angle = math.radians(ANGLES["N-CA-C"])
    ca_c = torch.tensor([-math.cos(angle), math.sin(angle), 0.0], dtype=dtype)
    atoms.append(atoms[1] + BONDS["CA-C"] * ca_c)
    for i in range(1, num_residues):
        psi, phi = phi_psi[i - 1, 1], phi_psi[i, 0]
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["C-N"], ANGLES["CA-C-N"], psi))
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["N-CA"], ANGLES["C-N-CA"], omega))
        atoms.append(_place(atoms[-3], atoms[-2], atoms[-1], BONDS["CA-C"], ANGLES["N-CA-C"], phi))
    return torch.stack(atoms).reshape(num_residues, 3, 3)
