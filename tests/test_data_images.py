"""symlib.data.images: the bundled photographs."""

from __future__ import annotations

import pytest
import torch

from symlib.data.images import photo


@pytest.mark.parametrize("gray,channels", [(True, 1), (False, 3)])
def test_shape_range_and_determinism(gray: bool, channels: int) -> None:
    x = photo(32, gray=gray)
    assert x.shape == (1, channels, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.equal(x, photo(32, gray=gray))


def test_both_photos_and_dtype() -> None:
    a, b = photo(16, name="china.jpg"), photo(16, name="flower.jpg", dtype=torch.float64)
    assert b.dtype == torch.float64 and not torch.allclose(a.double(), b)


@pytest.mark.parametrize("kwargs,match", [({"size": 0}, "size"), ({"size": 428}, "size"),
                                          ({"name": "cat.jpg"}, "unknown photo")])
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        photo(**kwargs)
