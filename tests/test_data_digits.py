"""symlib.data.digits: the bundled digits and their exact rotations."""

from __future__ import annotations

import pytest
import torch

from symlib.data.digits import NUM_IMAGES, load, random_transform, transformed
from symlib.groups import Dihedral4, Rot90


def test_split_shapes_ranges_and_determinism() -> None:
    train, test = load(test_size=300)
    x, y = train.tensors
    assert x.shape == (NUM_IMAGES - 300, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and set(y.tolist()) == set(range(10))
    assert len(test) == 300 and torch.equal(load(test_size=300)[1].tensors[0], test.tensors[0])
    assert not torch.equal(load(test_size=300, seed=1)[1].tensors[0], test.tensors[0])


@pytest.mark.parametrize("group", [Rot90(), Dihedral4()])
def test_transformed_holds_every_orientation_exactly(group) -> None:
    _, test = load(test_size=20)
    all_ = transformed(test, group)
    n = len(group.elements())
    assert len(all_) == 20 * n
    x, y = all_.tensors
    for k, g in enumerate(group.elements()):
        assert torch.equal(x[20 * k:20 * (k + 1)], group.act(g, test.tensors[0]))
    assert torch.equal(y, test.tensors[1].repeat(n))
    # exact: rotating back recovers the original pixels, with no interpolation
    assert torch.equal(Rot90().act(3, Rot90().act(1, test.tensors[0])), test.tensors[0])


def test_random_transform_applies_one_group_element_per_image() -> None:
    _, test = load(test_size=50)
    x = test.tensors[0]
    out = random_transform(x, Rot90(), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for a, b in zip(out, x):
        assert any(torch.equal(a, Rot90().act(g, b)) for g in range(4))
    assert not torch.equal(out, x)
    which = torch.randint(4, (len(x),), generator=torch.Generator().manual_seed(0))   # its draws, in order
    assert all(torch.equal(a, Rot90().act(int(g), b)) for a, b, g in zip(out, x, which))
    # traceable: under vmap, each of 3 stacked batches draws its own elements
    stacked = torch.func.vmap(lambda b: random_transform(b, Rot90()), randomness="different")(
        torch.stack([x[:10]] * 3))
    assert all(any(torch.equal(a, Rot90().act(g, b)) for g in range(4))
               for batch in stacked for a, b in zip(batch, x[:10]))
    assert not (torch.equal(stacked[0], stacked[1]) and torch.equal(stacked[1], stacked[2]))


@pytest.mark.parametrize("size", [0, NUM_IMAGES])
def test_bad_test_size(size: int) -> None:
    with pytest.raises(ValueError, match="test_size"):
        load(test_size=size)


def test_every_split_is_a_slice_of_one_order() -> None:
    from symlib.data import digits, sets

    x, y = digits.shuffled()
    assert x.shape == (1797, 1, 8, 8) and torch.equal(y, digits.shuffled()[1])
    train, test = digits.load(test_size=500)
    assert torch.equal(test.tensors[0], x[:500]) and torch.equal(train.tensors[0], x[500:])
    pool_x, pool_y = sets.digit_images("train")
    assert torch.equal(pool_x, x[:1000].flatten(1)) and torch.equal(pool_y, y[:1000])
    x[0] = -1                                                      # a copy: the cache is untouched
    assert digits.shuffled()[0].min() >= 0


def test_augmented_cross_entropy_turns_each_image_reproducibly() -> None:
    from symlib.data.digits import augmented_cross_entropy

    train, _ = load()
    x, y = train.tensors[0][:8], train.tensors[1][:8]
    seen = []
    model = lambda images: seen.append(images) or images.flatten(1)[:, :10]  # noqa: E731
    plain = augmented_cross_entropy()(model, (x, y))
    assert torch.equal(seen[-1], x) and plain.ndim == 0
    augmented_cross_entropy(Rot90(), seed=3)(model, (x, y))
    again = augmented_cross_entropy(Rot90(), seed=3)
    again(model, (x, y))
    assert torch.equal(seen[-1], seen[-2]) and not torch.equal(seen[-1], x)    # seeded, and turned
    assert torch.equal(seen[-1], random_transform(x, Rot90(), torch.Generator().manual_seed(3)))
