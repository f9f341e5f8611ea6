"""Invariant point attention (IPA), the attention of AlphaFold 2's structure module (Jumper et al.
2021, supplementary Algorithm 22).

Every residue ``i`` has a single representation ``s_i``, pair representations ``z_ij`` and a
*frame* ``T_i = (R_i, t_i)``: a rotation and a position, the residue's local coordinate system.
Besides the usual scalar queries, keys and values, each head predicts 3D *points* in the residue's
local frame, and compares them in the global frame:

.. math::

    a_{ij}^h = \\operatorname{softmax}_j\\Bigl( w_L \\bigl( \\tfrac{1}{\\sqrt{c}}\\, q_i^h\\cdot k_j^h
        + b_{ij}^h - \\tfrac{γ^h w_C}{2} \\sum_p \\lVert T_i ∘ \\vec q_i^{hp} - T_j ∘ \\vec k_j^{hp} \\rVert^2
        \\bigr)\\Bigr), \\qquad
    \\vec o_i^{hp} = T_i^{-1} ∘ \\sum_j a_{ij}^h \\, (T_j ∘ \\vec v_j^{hp}).

Moving the whole protein by one rigid motion ``T`` replaces every ``T_i`` by ``T ∘ T_i``. Distances
between global points do not change, and ``T_i^{-1}`` undoes ``T`` on the way back, so the layer's
output is exactly *invariant*: "rotate the protein and the internal representations stay the same".

Shapes (a leading batch dimension ``B`` is optional throughout): ``s [B, N, c_s]``,
``z [B, N, N, c_z]``, rotations ``R [B, N, 3, 3]``, translations ``t [B, N, 3]``, optional
``mask [B, N]`` (``True`` = residue present) → ``[B, N, c_s]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symlib.geometry import check_rotations

__all__ = ["InvariantPointAttention"]


class InvariantPointAttention(nn.Module):
    """Invariant point attention (see module docstring).

    Args:
        c_s, c_z: widths of the single and pair representations.
        c: width of each head's scalar queries, keys and values.
        heads: number of heads ``H``.
        query_points, value_points: 3D points per head for queries/keys and for values.
    """

    def __init__(self, c_s: int, c_z: int, c: int = 16, heads: int = 4, query_points: int = 4,
                 value_points: int = 8) -> None:
        super().__init__()
        self.c_s, self.c_z, self.c, self.heads = c_s, c_z, c, heads
        self.qp, self.vp = query_points, value_points
        self.to_qkv = nn.Linear(c_s, 3 * heads * c, bias=False)
        self.to_qk_points = nn.Linear(c_s, 2 * heads * query_points * 3, bias=False)
        self.to_v_points = nn.Linear(c_s, heads * value_points * 3, bias=False)
        self.to_bias = nn.Linear(c_z, heads, bias=False)
        self.point_weight = nn.Parameter(torch.full((heads,), math.log(math.e - 1)))  # softplus → 1
        self.out = nn.Linear(heads * (c_z + c + 4 * value_points), c_s)
        self.w_c = math.sqrt(2 / (9 * query_points))
        self.w_l = math.sqrt(1 / 3)

    def forward(self, s: Tensor, z: Tensor, rotations: Tensor, translations: Tensor,
                mask: Tensor | None = None) -> Tensor:
        unbatched = s.dim() == 2
        if unbatched:
            s, z, rotations, translations = s[None], z[None], rotations[None], translations[None]
            mask = None if mask is None else mask[None]
        b, n, _ = self._check(s, z, rotations, translations, mask)
        h, c = self.heads, self.c

        q, k, v = self.to_qkv(s).view(b, n, h, 3 * c).split(c, dim=-1)       # [B, N, H, c]
        qp, kp = self.to_qk_points(s).view(b, n, h, 2 * self.qp, 3).split(self.qp, dim=-2)
        vp = self.to_v_points(s).view(b, n, h, self.vp, 3)                   # local frame

        def to_global(points: Tensor) -> Tensor:                             # T_i ∘ p
            return torch.einsum("bnxy,bnhpy->bnhpx", rotations, points) + translations[:, :, None, None]

        qp, kp, vp = to_global(qp), to_global(kp), to_global(vp)
        scalar = torch.einsum("bihc,bjhc->bhij", q, k) / math.sqrt(c)
        dist2 = (qp[:, :, None] - kp[:, None]).square().sum((-1, -2))        # [B, N, N, H]
        gamma = F.softplus(self.point_weight)
        logits = self.w_l * (scalar + self.to_bias(z).permute(0, 3, 1, 2)
                             - 0.5 * self.w_c * gamma[:, None, None] * dist2.permute(0, 3, 1, 2))
        if mask is not None:
            logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
        a = logits.softmax(dim=-1)                                           # [B, H, N, N]

        o_pair = torch.einsum("bhij,bijz->bihz", a, z)
        o = torch.einsum("bhij,bjhc->bihc", a, v)
        o_pts = torch.einsum("bhij,bjhpx->bihpx", a, vp) - translations[:, :, None, None]
        o_pts = torch.einsum("bnyx,bnhpy->bnhpx", rotations, o_pts)          # T_i⁻¹ ∘ (·)
        features = [o_pair, o, o_pts.flatten(-2), o_pts.norm(dim=-1)]
        out = self.out(torch.cat([f.flatten(2) for f in features], dim=-1))
        return out[0] if unbatched else out

    def _check(self, s: Tensor, z: Tensor, r: Tensor, t: Tensor, mask: Tensor | None) -> tuple[int, int, int]:
        if s.dim() != 3 or s.shape[-1] != self.c_s:
            raise ValueError(f"s must be [B, N, {self.c_s}], got {tuple(s.shape)}")
        b, n, _ = s.shape
        if z.shape != (b, n, n, self.c_z):
            raise ValueError(f"z must be [B, N, N, c_z] = {[b, n, n, self.c_z]}, got {list(z.shape)}")
        if r.shape != (b, n, 3, 3) or t.shape != (b, n, 3):
            raise ValueError(f"frames must be rotations [B, N, 3, 3] and translations [B, N, 3], "
                             f"got {list(r.shape)} and {list(t.shape)}")
        check_rotations(r)
        if mask is not None and (mask.shape != (b, n) or mask.dtype != torch.bool):
            raise ValueError(f"mask must be a bool tensor [B, N] = {[b, n]}, got {mask.dtype} "
                             f"{list(mask.shape)}")
        return b, n, self.c_s
