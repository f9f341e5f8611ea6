"""symlib.plot: the style and the shift explorer widget."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from symlib import plot  # noqa: E402


def test_style_has_opaque_backgrounds() -> None:
    plot.use_style()
    for key in ("figure.facecolor", "axes.facecolor", "savefig.facecolor"):
        assert matplotlib.rcParams[key] == "white"
    assert matplotlib.rcParams["savefig.transparent"] is False


def test_subplots_always_returns_a_grid() -> None:
    fig, axes = plot.subplots(3, nrows=2)
    assert axes.shape == (2, 3)
    plt.close(fig)


def test_image_is_centred_for_signed_data_and_rejects_non_2d() -> None:
    fig, axes = plot.subplots()
    plot.image(axes[0, 0], torch.tensor([[-1.0, 3.0]]), "w", signed=True)
    assert axes[0, 0].images[0].get_clim() == (-3.0, 3.0)
    with pytest.raises(ValueError, match="2D"):
        plot.image(axes[0, 0], torch.zeros(2, 2, 2))
    plt.close(fig)


def test_shift_explorer_redraws_when_the_slider_moves() -> None:
    x = torch.rand(1, 1, 8, 8)
    seen = []

    def f(t: torch.Tensor) -> torch.Tensor:
        seen.append(t.clone())
        return t

    box = plot.shift_explorer(f, x)
    slider = box.children[0]
    assert slider.max == 7
    slider.value = 3
    assert torch.equal(seen[-1], torch.roll(x, 3, dims=-1))
    plt.close("all")


def test_shift_explorer_needs_one_image() -> None:
    with pytest.raises(ValueError, match=r"\[1, c, h, w\]"):
        plot.shift_explorer(lambda t: t, torch.rand(2, 1, 8, 8))
