"""symlib.plot: panels of a particle system turned about the z axis, and the rotation explorer widget
(the rotation itself, symlib.geometry.rotate_about_z, is tested in test_geometry.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from symlib import plot  # noqa: E402


def _system(n: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, 3, generator=g, dtype=torch.float64),
            torch.randn(n, 3, generator=g, dtype=torch.float64), torch.ones(n, dtype=torch.float64))


def test_panels_draw_both_predictions_and_check_shapes() -> None:
    pos, vel, q = _system()
    _, axes = plot.subplots(2)
    plot.rotated_predictions(axes[0], {"a": lambda p, v, c: p + v, "b": lambda p, v, c: p},
                             pos, vel, q, 45, target=pos + vel)
    assert axes[0, 0].get_title() == "a, rotated by 45°"
    assert len(axes[0, 0].collections) == 5  # input, arrows, target, two predictions
    with pytest.raises(ValueError, match="one axis per predictor"):
        plot.rotated_predictions(axes[0, :1], {"a": None, "b": None}, pos, vel, q, 0)
    with pytest.raises(ValueError, match="charges"):
        plot.rotated_predictions(axes[0], {"a": None, "b": None}, pos, vel, q[:2], 0)
    plt.close("all")


def test_explorer_feeds_the_rotated_system_to_the_models() -> None:
    pos, vel, q = _system()
    seen = []

    def f(p: torch.Tensor, v: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        seen.append((p.clone(), v.clone()))
        return p + v

    box = plot.rotation_explorer({"f": f}, pos, vel, q, step=30)
    slider = box.children[0]
    assert (slider.min, slider.max, slider.step) == (0, 360, 30)
    slider.value = 90
    centre = pos.mean(0)
    rotated = [s for s in seen if not torch.equal(s[0], pos)][-1]
    assert torch.allclose(rotated[0], plot.rotate_about_z(pos, 90, centre))
    assert torch.allclose(rotated[1], plot.rotate_about_z(vel, 90))
    plt.close("all")
