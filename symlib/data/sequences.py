"""The "dog bites man" task: a sequence task whose label depends on word order (chapter 08).

Every sentence is three words, ``A verb B``, built from a list of nouns and a list of verbs; its
label is the **agent**, the noun that does the biting: ``A``. "dog bites man" and "man bites dog"
contain the same words, as a multiset, and have different labels.

A model that sees a sentence only as a multiset of words (a bag of words, or a transformer
without positional encodings followed by pooling, which is permutation-invariant) must give the
two the same answer. :func:`order_blind_cap` computes the best accuracy any such model can reach
on a given set of sentences: group the sentences by their multiset of tokens and, in each group,
count the sentences with the most common label,

.. math::  \\mathrm{cap} = \\frac{1}{|S|} \\sum_{\\text{multisets } m} \\max_y \\,
           \\bigl|\\{s \\in S : \\mathrm{bag}(s) = m,\\ y(s) = y\\}\\bigr|.

:func:`split_by_multiset` splits sentences so that both word orders of a pair land on the same
side: on the test side the cap is then exact, ``(n_same + n_pairs) / |S|``, where
``n_same`` counts sentences like "dog bites dog" (whose bag decides the label).

Tokens: nouns are ``0 … n_nouns − 1``, verbs follow; a label is the agent's noun index. Nothing is
downloaded.

The same bits on every machine: the sentences are enumerated, and the split is a ``randperm`` of
torch's Mersenne Twister (integers only).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from symlib.groups import Permutation, Trivial
from symlib.symmetry import Call, Symmetry

__all__ = ["NOUNS", "Sentences", "VERBS", "agent_sentences", "decode", "encode", "order_blind_cap",
           "split_by_multiset", "symmetries"]

NOUNS = ("dog", "man", "cat", "woman", "horse", "child", "bird", "farmer", "fox", "teacher",
         "goat", "doctor", "wolf", "baker", "owl", "pilot")
VERBS = ("bites", "sees", "chases", "feeds", "follows", "likes", "hears", "calls", "helps", "pushes")


class Sentences:
    """Sentences as tokens ``[S, L]`` (long) with labels ``[S]`` and their vocabulary."""

    def __init__(self, tokens: Tensor, labels: Tensor, vocab: tuple[str, ...], n_nouns: int) -> None:
        if tokens.dim() != 2 or labels.shape != tokens.shape[:1]:
            raise ValueError(f"tokens must be [S, L] and labels [S], got {tuple(tokens.shape)} "
                             f"and {tuple(labels.shape)}")
        self.tokens, self.labels, self.vocab, self.n_nouns = tokens, labels, vocab, n_nouns

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __getitem__(self, idx: Tensor | slice) -> Sentences:
        return Sentences(self.tokens[idx], self.labels[idx], self.vocab, self.n_nouns)

    def text(self, i: int) -> str:
        """Sentence ``i`` as words."""
        return decode(self.tokens[i], self.vocab)

    def dataset(self) -> TensorDataset:
        """``(tokens, labels)`` as a ``TensorDataset`` for :func:`symlib.train.fit`."""
        return TensorDataset(self.tokens, self.labels)


def agent_sentences(n_nouns: int = 8, n_verbs: int = 6) -> Sentences:
    """Every sentence ``A verb B`` over the first ``n_nouns`` of :data:`NOUNS` and the first
    ``n_verbs`` of :data:`VERBS` (``n_nouns² · n_verbs`` of them, ``A = B`` included), labelled
    with the agent ``A``."""
    if not 2 <= n_nouns <= len(NOUNS) or not 1 <= n_verbs <= len(VERBS):
        raise ValueError(f"need 2 … {len(NOUNS)} nouns and 1 … {len(VERBS)} verbs, got {n_nouns}, {n_verbs}")
    a, v, b = torch.meshgrid(torch.arange(n_nouns), torch.arange(n_verbs), torch.arange(n_nouns),
                             indexing="ij")
    tokens = torch.stack([a.flatten(), n_nouns + v.flatten(), b.flatten()], dim=1)
    return Sentences(tokens, a.flatten().clone(), NOUNS[:n_nouns] + VERBS[:n_verbs], n_nouns)


def _bag(tokens: Tensor) -> tuple[int, ...]:
    return tuple(sorted(tokens.tolist()))


def split_by_multiset(sentences: Sentences, test_fraction: float = 0.3, *,
                      seed: int = 0) -> tuple[Sentences, Sentences]:
    """A random ``(train, test)`` split in which sentences with the same multiset of words (the
    two word orders of a pair) always land on the same side. Deterministic given ``seed``."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    bags = [_bag(t) for t in sentences.tokens]
    groups = sorted(set(bags))
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(seed))
    test_bags = {groups[i] for i in order[: round(test_fraction * len(groups))].tolist()}
    is_test = torch.tensor([b in test_bags for b in bags])
    return sentences[~is_test], sentences[is_test]


def order_blind_cap(tokens: Tensor, labels: Tensor) -> float:
    """The best accuracy on ``(tokens [S, L], labels [S])`` of any classifier that sees only the
    multiset of tokens of each sentence (see the module docstring)."""
    if tokens.dim() != 2 or labels.shape != tokens.shape[:1] or len(labels) == 0:
        raise ValueError(f"expected tokens [S, L] and labels [S] with S ≥ 1, got {tuple(tokens.shape)} "
                         f"and {tuple(labels.shape)}")
    counts: dict[tuple[int, ...], Counter] = defaultdict(Counter)
    for t, y in zip(tokens, labels.tolist()):
        counts[_bag(t)][y] += 1
    return sum(max(c.values()) for c in counts.values()) / len(labels)


def encode(sentence: str, vocab: tuple[str, ...]) -> Tensor:
    """``"dog bites man"`` → its tokens ``[L]``."""
    words = sentence.split()
    unknown = [w for w in words if w not in vocab]
    if unknown:
        raise ValueError(f"words not in the vocabulary: {unknown}")
    return torch.tensor([vocab.index(w) for w in words])


def decode(tokens: Tensor, vocab: tuple[str, ...]) -> str:
    """Tokens ``[L]`` → ``"dog bites man"``."""
    return " ".join(vocab[int(t)] for t in tokens)


def symmetries(n: int, *, features: Call | None = None) -> list[Symmetry]:
    """Permuting the ``n`` tokens of ``[B, n]`` sequences, as rows for :func:`symlib.audit.audit`: the
    pooled output should not change; with ``features(model, tokens)`` (per-token features
    ``[B, n, d]``), those should be permuted alike."""
    perm = Permutation(n, dim=1)
    rows = [Symmetry("token permutation (pooled)", perm, Trivial())]
    if features is not None:
        rows.insert(0, Symmetry("token permutation (features)", perm, call=features))
    return rows
