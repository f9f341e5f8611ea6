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


def _frames_of(slider: plot.StaticSlider) -> list[bytes]:
    import base64

    return [base64.b64decode(f.split(",", 1)[1]) for f in slider.frames]


def test_static_slider_keeps_one_png_per_value_and_closes_its_figures() -> None:
    open_before = plt.get_fignums()
    slider = plot.shift_slider(lambda t: 2 * t, torch.rand(1, 1, 8, 8), [0, 2, 4], name="s")
    assert plt.get_fignums() == open_before, "every frame's figure is closed"
    assert slider.labels == ["0", "2", "4"]
    pngs = _frames_of(slider)
    assert len(pngs) == 3 and all(p.startswith(b"\x89PNG") for p in pngs)
    assert len(set(pngs)) == 3, "a shifted image gives a different picture"


def test_static_slider_html_is_a_pure_function_of_its_frames() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 1, 8, 8)
    a = plot.shift_slider(lambda t: t, x, [0, 1], name="same")._repr_html_()
    b = plot.shift_slider(lambda t: t, x, [0, 1], name="same")._repr_html_()
    assert a == b
    assert 'id="symlib-slider-same"' in a and 'max="1"' in a and "<output>0</output>" in a
    assert "http" not in a, "nothing is fetched: the frames are inline"


def test_static_slider_rejects_bad_names_values_and_draws() -> None:
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="lower-case"):
        plot.shift_slider(lambda t: t, x, [0, 1], name="Bad Name")
    with pytest.raises(ValueError, match="at least 2 values"):
        plot.shift_slider(lambda t: t, x, [0], name="one")
    with pytest.raises(ValueError, match="exactly one new figure"):
        plot.static_slider(lambda v: None, [0, 1], name="none", label="v")
    with pytest.raises(ValueError, match=r"\[1, c, h, w\]"):
        plot.shift_slider(lambda t: t, torch.rand(2, 1, 8, 8), [0, 1], name="two")


def test_rotation_slider_draws_one_panel_per_model_at_each_angle() -> None:
    torch.manual_seed(0)
    pos, vel, q = torch.randn(5, 3), torch.randn(5, 3), torch.ones(5)
    slider = plot.rotation_slider({"a": lambda p, v, c: p, "b": lambda p, v, c: p + v}, pos, vel, q,
                                  angles=[0, 90], name="rot")
    assert slider.labels == ["0°", "90°"] and len(set(_frames_of(slider))) == 2
