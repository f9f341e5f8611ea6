"""symlib.layers.attention: agreement with torch, permutation symmetry and how encodings break it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symlib.equivariance import invariance_error
from symlib.groups import Permutation, Product
from symlib.layers.attention import (
    PositionalEncoding,
    SelfAttention,
    TransformerClassifier,
    sinusoidal_encoding,
)

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_multihead_attention(dtype: torch.dtype, bias: bool) -> None:
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4, bias=bias, batch_first=True).to(dtype)
    ours = SelfAttention.from_torch(mha)
    x = torch.randn(3, 7, 16, dtype=dtype)
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[1, 5:] = True
    ref = mha(x, x, x, need_weights=False)[0]
    assert_matches(ours(x), ref, dtype=dtype)
    ref_masked = mha(x, x, x, key_padding_mask=mask, need_weights=False)[0]
    assert_matches(ours(x, mask), ref_masked, dtype=dtype)


def test_attention_is_permutation_equivariant(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    attn = SelfAttention(8, 2).to(dtype)
    x = torch.randn(2, 6, 8, dtype=dtype)
    assert_equivariant(attn, x, Permutation(6, dim=1), dtype=dtype)


def test_the_classifier_is_a_bag_of_words_without_positions(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = TransformerClassifier(10, 3, dim=16, heads=2).to(dtype)
    tokens = torch.randint(10, (4, 9))
    probe = lambda t: model(t.long())  # noqa: E731  (tokens are integers; the action permutes them)
    logits = lambda t: model.features(t.long())  # noqa: E731
    perm = Permutation(9, dim=1)
    assert_invariant(probe, tokens.double(), perm, dtype=dtype)
    assert_equivariant(logits, tokens.double(), perm, dtype=dtype)


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_positional_encodings_break_the_symmetry(kind: str) -> None:
    torch.manual_seed(0)
    model = TransformerClassifier(10, 3, dim=16, heads=2, positional=kind).double()
    tokens = torch.randint(10, (4, 9)).double()
    assert_broken(invariance_error(lambda t: model(t.long()), tokens, Permutation(9, dim=1)))


def test_sinusoidal_encoding_values() -> None:
    pe = sinusoidal_encoding(50, 8)
    assert pe.shape == (50, 8)
    assert torch.allclose(pe[0], torch.tensor([0.0, 1.0] * 4))
    assert torch.isclose(pe[3, 0], torch.sin(torch.tensor(3.0)))
    assert torch.isclose(pe[3, 3], torch.cos(torch.tensor(3.0 / 10000 ** (2 / 8))))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="divisible"):
        SelfAttention(10, 3)
    with pytest.raises(ValueError, match=r"tokens \[B, N, 8\]"):
        SelfAttention(8, 2)(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="key_padding_mask"):
        SelfAttention(8, 2)(torch.randn(2, 5, 8), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(4, 5)
    with pytest.raises(ValueError, match="kind"):
        PositionalEncoding(8, 10, "rotary")
    with pytest.raises(ValueError, match="N ≤ 10"):
        PositionalEncoding(8, 10)(torch.randn(1, 11, 8))
    with pytest.raises(ValueError, match="LongTensor"):
        TransformerClassifier(5, 2, dim=8, heads=2)(torch.randn(2, 3))


def test_masked_attention_is_equivariant_when_the_mask_moves_with_the_tokens(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    attn = SelfAttention(8, 2).to(dtype)
    x = torch.randn(3, 6, 8, dtype=dtype)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[0, 4:], mask[2, 1] = True, True
    both = Product(Permutation(6, dim=1), Permutation(6, dim=1))
    assert_equivariant(lambda xm: attn(*xm), (x, mask), both, Permutation(6, dim=1), dtype=dtype)


def test_padding_does_not_reach_the_real_tokens(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    attn = SelfAttention(8, 2).to(dtype)
    x = torch.randn(2, 5, 8, dtype=dtype)
    mask = torch.tensor([[False, False, False, True, True], [False] * 5])
    changed = x.clone()
    changed[0, 3:] = 100 * torch.randn(2, 8, dtype=dtype)          # rewrite the padding
    out, out_changed = attn(x, mask), attn(changed, mask)
    assert_matches(out_changed[0, :3], out[0, :3], dtype=dtype)
    assert_matches(out[0, :3], attn(x[:1, :3])[0], dtype=dtype)  # = no padding
    assert torch.equal(out_changed[1], out[1])


def test_positional_encodings_keep_the_dtype(dtype: torch.dtype) -> None:
    for kind in ("sinusoidal", "learned"):
        pe = PositionalEncoding(8, 10, kind).to(dtype)
        x = torch.zeros(2, 7, 8, dtype=dtype)
        y = pe(x)
        assert y.dtype == dtype and torch.equal(y[0], y[1]) and torch.equal(y[0], pe.table[:7].to(dtype))
    assert "table" in dict(PositionalEncoding(8, 10, "learned").named_parameters())
    assert "table" in dict(PositionalEncoding(8, 10, "sinusoidal").named_buffers())


def test_bad_shapes_are_named() -> None:
    attn = SelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"tokens \[B, N, 8\]"):
        attn(torch.randn(5, 8))                                     # no batch dimension
    with pytest.raises(ValueError, match="key_padding_mask"):
        attn(torch.randn(2, 5, 8), torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask"):
        attn(torch.randn(2, 5, 8), torch.zeros(5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\[B, N ≤ 10, 8\]"):
        PositionalEncoding(8, 10)(torch.randn(1, 4, 6))
    with pytest.raises(ValueError, match="LongTensor"):
        TransformerClassifier(5, 2, dim=8, heads=2)(torch.tensor([1, 2, 3]))
