"""Self-attention and positional encodings: the transformer's symmetry, and how it is broken.

Multi-head self-attention (Vaswani et al. 2017) on tokens ``x [B, N, d]``:

.. math::  \\mathrm{head}_h = \\operatorname{softmax}\\Bigl(
           \\frac{(x W_Q^h)(x W_K^h)^\\top}{\\sqrt{d/H}}\\Bigr)\\, x W_V^h,
           \\qquad y = [\\mathrm{head}_1, …, \\mathrm{head}_H]\\, W_O.

Nothing in it refers to a token's position: permuting the tokens permutes the output rows the same
way (permutation *equivariance*), and a pooled output is permutation *invariant*. Word order is
invisible to it until a **positional encoding** is added to the tokens, which is exactly what
breaks the symmetry.

:class:`SelfAttention` keeps the parameter names of ``torch.nn.MultiheadAttention``
(``in_proj_weight``, ``in_proj_bias``, ``out_proj``), so a state dict moves between the two and the
outputs agree to rounding (tested).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symlib import portable

__all__ = ["PositionalEncoding", "SelfAttention", "TransformerClassifier", "sinusoidal_encoding"]


class SelfAttention(nn.Module):
    """Multi-head self-attention, numerically equal to ``nn.MultiheadAttention(dim, heads,
    batch_first=True)(x, x, x, key_padding_mask=mask)[0]``.

    Shapes: ``x [B, N, dim]``, optional ``key_padding_mask [B, N]`` (bool, ``True`` = padding, as in
    torch) → ``[B, N, dim]``.
    """

    def __init__(self, dim: int, heads: int, *, bias: bool = True) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.dim, self.heads = dim, heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim)) if bias else None
        self.out_proj = nn.Linear(dim, dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)  # torch's initialisation
        if bias:
            nn.init.zeros_(self.out_proj.bias)

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> SelfAttention:
        """A copy of a (``batch_first``, self-attention) ``nn.MultiheadAttention``."""
        layer = cls(mha.embed_dim, mha.num_heads, bias=mha.in_proj_bias is not None)
        layer.load_state_dict({k: v for k, v in mha.state_dict().items()
                               if k in layer.state_dict()})
        return layer.to(mha.in_proj_weight.dtype)

    def forward(self, x: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"SelfAttention expects tokens [B, N, {self.dim}], got {tuple(x.shape)}")
        b, n, _ = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))  # [B, H, N, d/H]
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if key_padding_mask is not None:
            if key_padding_mask.shape != (b, n) or key_padding_mask.dtype != torch.bool:
                raise ValueError(f"key_padding_mask must be bool [B, N] = {[b, n]}, got "
                                 f"{key_padding_mask.dtype} {list(key_padding_mask.shape)}")
            logits = logits.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        out = (logits.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, self.dim)
        return self.out_proj(out)


def sinusoidal_encoding(length: int, dim: int) -> Tensor:
    """The fixed encoding of Vaswani et al.: ``PE[p, 2i] = sin(p / 10000^{2i/d})``,
    ``PE[p, 2i+1] = cos(p / 10000^{2i/d})``. Returns ``[length, dim]`` (``dim`` even)."""
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    position = torch.arange(length, dtype=torch.float64)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.zeros(length, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * frequency)
    pe[:, 1::2] = torch.cos(position * frequency)
    return pe.float()


class PositionalEncoding(nn.Module):
    """Adds a position code to each token: ``x[:, p] + PE[p]``, ``[B, N, dim] → [B, N, dim]``.

    Args:
        kind: ``"sinusoidal"`` (fixed) or ``"learned"`` (an embedding per position).
        max_len: the longest sequence it can encode.
    """

    def __init__(self, dim: int, max_len: int, kind: str = "sinusoidal") -> None:
        super().__init__()
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"kind must be 'sinusoidal' or 'learned', got {kind!r}")
        self.kind, self.max_len = kind, max_len
        if kind == "sinusoidal":
            self.register_buffer("table", sinusoidal_encoding(max_len, dim))
        else:
            self.table = nn.Parameter(0.02 * portable.randn(max_len, dim))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] > self.max_len or x.shape[-1] != self.table.shape[-1]:
            raise ValueError(f"PositionalEncoding expects [B, N ≤ {self.max_len}, {self.table.shape[-1]}], "
                             f"got {tuple(x.shape)}")
        return x + self.table[: x.shape[1]].to(x.dtype)


class TransformerClassifier(nn.Module):
    """Token embedding, optional positional encoding, ``layers`` pre-norm transformer blocks
    (self-attention + MLP, residual), mean pooling over tokens, linear classifier.

    Without a positional encoding the whole model is invariant to permutations of the tokens: it
    sees a sentence as a bag of words. Shapes: ``tokens [B, N]`` (long) → logits ``[B, num_classes]``.
    """

    def __init__(self, vocab: int, num_classes: int, *, dim: int = 32, heads: int = 4, layers: int = 2,
                 positional: str | None = None, max_len: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.position = PositionalEncoding(dim, max_len, positional) if positional else None
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"norm1": nn.LayerNorm(dim), "attn": SelfAttention(dim, heads),
                           "norm2": nn.LayerNorm(dim),
                           "mlp": nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))})
            for _ in range(layers))
        self.head = nn.Linear(dim, num_classes)

    def features(self, tokens: Tensor) -> Tensor:
        """Per-token features before pooling: ``[B, N, dim]`` (permutation-equivariant without
        a positional encoding)."""
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(f"tokens must be a LongTensor [B, N], got {tokens.dtype} {tuple(tokens.shape)}")
        h = self.embed(tokens)
        if self.position is not None:
            h = self.position(h)
        for block in self.blocks:
            h = h + block["attn"](block["norm1"](h))
            h = h + block["mlp"](block["norm2"](h))
        return h

    def forward(self, tokens: Tensor) -> Tensor:
        return self.head(self.features(tokens).mean(dim=1))
