"""symlib.data.sequences: the dog-bites-man sentences, the multiset split and the order-blind cap."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import torch

from symlib.data.sequences import (
    NOUNS,
    VERBS,
    Sentences,
    agent_sentences,
    decode,
    encode,
    order_blind_cap,
    split_by_multiset,
)


def _bags(s: Sentences) -> set[tuple[int, ...]]:
    return {tuple(sorted(t.tolist())) for t in s.tokens}


def test_every_sentence_once_labelled_with_its_agent() -> None:
    s = agent_sentences(5, 3)
    assert len(s) == 5 * 3 * 5 and s.tokens.shape == (75, 3) and s.tokens.dtype == torch.long
    assert len({tuple(t.tolist()) for t in s.tokens}) == 75
    assert torch.equal(s.labels, s.tokens[:, 0])
    assert bool((s.tokens[:, [0, 2]] < 5).all()) and bool((s.tokens[:, 1] >= 5).all())
    assert s.vocab == NOUNS[:5] + VERBS[:3]
    i = next(k for k in range(len(s)) if s.text(k) == "man bites dog")
    assert s.vocab[s.labels[i]] == "man"


def test_split_keeps_both_orders_together() -> None:
    s = agent_sentences(8, 6)
    train, test = split_by_multiset(s, 0.3, seed=1)
    assert len(train) + len(test) == len(s)
    assert not (_bags(train) & _bags(test))
    assert abs(len(_bags(test)) / len(_bags(s)) - 0.3) < 0.01
    again = split_by_multiset(s, 0.3, seed=1)[1]
    assert torch.equal(again.tokens, test.tokens)
    assert not torch.equal(split_by_multiset(s, 0.3, seed=2)[1].tokens, test.tokens)


def test_order_blind_cap_against_a_bag_of_words_oracle() -> None:
    s = agent_sentences(6, 2)
    _, test = split_by_multiset(s, 0.5, seed=0)
    same = int((test.tokens[:, 0] == test.tokens[:, 2]).sum())
    pairs = (len(test) - same) // 2
    assert order_blind_cap(test.tokens, test.labels) == pytest.approx((same + pairs) / len(test))
    # the oracle: for every bag, predict its most common label (what the cap assumes is best)
    groups: dict[tuple[int, ...], Counter] = {}
    for t, y in zip(test.tokens, test.labels.tolist()):
        groups.setdefault(tuple(sorted(t.tolist())), Counter())[y] += 1
    best = sum(c.most_common(1)[0][1] for c in groups.values()) / len(test)
    assert order_blind_cap(test.tokens, test.labels) == pytest.approx(best)
    # no order-blind rule does better: try every choice of label per bag, on a small set
    small = agent_sentences(2, 1)
    bags = sorted({tuple(sorted(t.tolist())) for t in small.tokens})
    top = max(sum(choice[bags.index(tuple(sorted(t.tolist())))] == y
                  for t, y in zip(small.tokens, small.labels.tolist())) / len(small)
              for choice in itertools.product(range(2), repeat=len(bags)))
    assert order_blind_cap(small.tokens, small.labels) == pytest.approx(top) == pytest.approx(3 / 4)


def test_order_matters_once_the_first_word_is_known() -> None:
    s = agent_sentences(4, 2)
    marked = torch.cat([s.tokens[:, :1] + len(s.vocab), s.tokens], dim=1)
    assert order_blind_cap(marked, s.labels) == 1.0


def test_encode_decode_roundtrip_and_bad_arguments() -> None:
    s = agent_sentences(3, 2)
    assert decode(encode("cat sees dog", s.vocab), s.vocab) == "cat sees dog"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        encode("cat eats dog", s.vocab)
    with pytest.raises(ValueError, match="nouns"):
        agent_sentences(1, 2)
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_multiset(s, 1.0)
    with pytest.raises(ValueError, match="tokens"):
        order_blind_cap(s.tokens[0], s.labels)
    with pytest.raises(ValueError, match="tokens"):
        Sentences(s.tokens, s.labels[:-1], s.vocab, 3)


def test_dataset_pairs_tokens_with_labels() -> None:
    from symlib.data.sequences import agent_sentences

    sentences = agent_sentences(3, 2)
    tokens, labels = sentences.dataset().tensors
    assert torch.equal(tokens, sentences.tokens) and torch.equal(labels, sentences.labels)
