"""One figure style for the whole book, and the figures that recur across chapters.

Backgrounds are opaque white so figures stay readable on the book's dark theme; sizes and fonts are
fixed so figures line up across chapters. Call :func:`use_style` once (``symlib.setup`` does not, so
that importing symlib never changes matplotlib's global state behind a reader's back).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from symlib.geometry import rotate_about_z

__all__ = ["FIGSIZE", "SHIFT_TITLES", "STYLE", "StaticSlider", "image", "rotated_predictions",
           "rotation_explorer", "rotation_slider", "shift_explorer", "shift_slider", "static_slider",
           "subplots", "use_style"]

#: Single-column width × height in inches; chapters scale the width for multi-panel figures.
FIGSIZE = (6.4, 3.6)
#: A diverging colormap for signed values (weights, errors) and a sequential one for magnitudes.
DIVERGING, SEQUENTIAL = "RdBu_r", "viridis"

STYLE: dict[str, object] = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "image.cmap": SEQUENTIAL,
    "figure.constrained_layout.use": True,
}


def use_style() -> None:
    """Apply the book's matplotlib style (idempotent)."""
    mpl.rcParams.update(STYLE)


def subplots(ncols: int = 1, nrows: int = 1, *, width: float | None = None,
             height: float | None = None, **kwargs: object) -> tuple[Figure, np.ndarray]:
    """``plt.subplots`` in the book's style; always returns a 2D array of axes ``[nrows, ncols]``."""
    use_style()
    w = width if width is not None else FIGSIZE[0] if ncols == 1 else 3.2 * ncols
    h = height if height is not None else FIGSIZE[1] * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, **kwargs)
    return fig, axes


def _as_array(a: torch.Tensor | np.ndarray) -> np.ndarray:
    return a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def image(ax: Axes, a: torch.Tensor | np.ndarray, title: str = "", *, signed: bool = False,
          cmap: str | None = None, colorbar: bool = False, vmax: float | None = None) -> None:
    """Show a 2D array (a weight matrix, a feature map, a photo) without ticks.

    ``signed=True`` uses a diverging colormap centred on zero; otherwise ``cmap`` (default viridis).
    """
    arr = _as_array(a)
    if arr.ndim != 2:
        raise ValueError(f"image expects a 2D array, got shape {arr.shape}")
    if signed:
        m = vmax if vmax is not None else float(np.abs(arr).max()) or 1.0
        im = ax.imshow(arr, cmap=DIVERGING, vmin=-m, vmax=m)
    else:
        im = ax.imshow(arr, cmap=cmap or SEQUENTIAL, vmin=0 if vmax is not None else None, vmax=vmax)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)


def _shift_drawer(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, titles: Sequence[str],
                  cmap: str) -> Callable[[int], None]:
    """``draw(s)``: three panels (x shifted by s, f of it, f(x) shifted by s) in a new figure."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"a shift explorer expects one image of shape [1, c, h, w], got {tuple(x.shape)}")
    with torch.no_grad():
        fx = f(x)

    def draw(s: int) -> None:
        with torch.no_grad():
            panels = (torch.roll(x, s, dims=-1), f(torch.roll(x, s, dims=-1)), torch.roll(fx, s, dims=-1))
        _, axes = subplots(3, width=9, height=3)
        for ax, p, t in zip(axes[0], panels, titles):
            image(ax, p[0, 0], t, cmap=cmap)

    return draw


SHIFT_TITLES = ("input x shifted by s", "f(shifted x)", "f(x) shifted by s")


def shift_explorer(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                   titles: Sequence[str] = SHIFT_TITLES, cmap: str = "gray"):
    """An ipywidgets slider that shifts an image ``x`` of shape ``[1, c, h, w]`` horizontally (with
    wrap-around) and shows the input, ``f`` of the shifted input, and the shifted ``f(x)``, for the
    first channel. For a shift-equivariant ``f`` the last two panels are identical.

    Returns the widget (an ``ipywidgets.VBox``); display it as a cell's last expression. For readers
    without a kernel, :func:`shift_slider` draws the same panels as a static slider.
    """
    import ipywidgets as widgets

    draw = _shift_drawer(f, x, titles, cmap)
    return _slider_view(widgets.IntSlider(value=0, min=0, max=x.shape[-1] - 1, description="shift s"), draw)


def shift_slider(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, shifts: Sequence[int], *,
                 name: str, titles: Sequence[str] = SHIFT_TITLES, cmap: str = "gray") -> StaticSlider:
    """:func:`shift_explorer`'s panels at each of ``shifts``, precomputed: a :class:`StaticSlider`."""
    return static_slider(_shift_drawer(f, x, titles, cmap), shifts, name=name, label="shift s")


def _slider_view(slider: Any, draw: Callable[[int], None]) -> Any:
    """``slider`` above a figure that ``draw(slider.value)`` redraws whenever the slider moves."""
    import ipywidgets as widgets

    out = widgets.Output()

    def redraw(change: object = None) -> None:
        out.clear_output(wait=True)
        with out:
            draw(slider.value)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])


def rotated_predictions(axes: Sequence[Axes], predictors: dict[str, Callable], pos: torch.Tensor,
                        vel: torch.Tensor, charges: torch.Tensor, degrees: float,
                        target: torch.Tensor | None = None, lim: float | None = None) -> None:
    """Draw, in one panel per predictor, a particle system rotated by ``degrees`` about the z axis
    through its centroid, seen from above (the x–y plane).

    Each predictor maps ``(pos [n, 3], vel [n, 3], charges [n])`` to predicted positions ``[n, 3]``.
    A panel shows the rotated input (grey dots, velocity arrows), the rotated ``target`` (black
    crosses), the prediction *for* the rotated system (filled dots) and the prediction for the
    original system, rotated afterwards (open circles), each pair joined by a line. For an
    equivariant predictor every filled dot sits inside its circle, whatever the angle.
    """
    if pos.dim() != 2 or pos.shape[-1] != 3 or vel.shape != pos.shape or charges.shape != pos.shape[:1]:
        raise ValueError(f"expected pos, vel [n, 3] and charges [n], got {tuple(pos.shape)}, "
                         f"{tuple(vel.shape)}, {tuple(charges.shape)}")
    if len(axes) != len(predictors):
        raise ValueError(f"need one axis per predictor: {len(axes)} axes, {len(predictors)} predictors")
    centre = pos.mean(0)

    def turn(x: torch.Tensor) -> torch.Tensor:  # points, about the system's centroid
        return rotate_about_z(x, degrees, centre)

    pos_r, vel_r = turn(pos), rotate_about_z(vel, degrees)
    for ax, (name, f) in zip(axes, predictors.items()):
        with torch.no_grad():
            moved, original = _as_array(f(pos_r, vel_r, charges)), _as_array(turn(f(pos, vel, charges)))
        p, v = _as_array(pos_r), _as_array(vel_r)
        ax.scatter(p[:, 0], p[:, 1], c="0.6", s=25, label="input (rotated)")
        ax.quiver(p[:, 0], p[:, 1], v[:, 0], v[:, 1], color="0.6", angles="xy", scale_units="xy", scale=1)
        if target is not None:
            t = _as_array(turn(target))
            ax.scatter(t[:, 0], t[:, 1], c="k", marker="x", s=40, label="true positions (rotated)")
        for a, b in zip(moved, original):  # how far apart the two predictions are
            ax.plot([a[0], b[0]], [a[1], b[1]], color="C3", lw=1)
        ax.scatter(moved[:, 0], moved[:, 1], c="C3", s=30, label="prediction for the rotated input")
        ax.scatter(original[:, 0], original[:, 1], facecolors="none", edgecolors="C0", s=140,
                   linewidths=1.5, label="prediction for the original, rotated")
        c = _as_array(centre)
        if lim is not None:
            ax.set(xlim=(c[0] - lim, c[0] + lim), ylim=(c[1] - lim, c[1] + lim))
        ax.set_aspect("equal")
        ax.set(title=f"{name}, rotated by {degrees:.0f}°", xlabel="x", ylabel="y")


def _rotation_drawer(predictors: dict[str, Callable], pos: torch.Tensor, vel: torch.Tensor,
                     charges: torch.Tensor, target: torch.Tensor | None) -> Callable[[int], None]:
    """``draw(degrees)``: :func:`rotated_predictions` in a new figure, one panel per predictor, with
    axis limits fixed for every angle."""
    centre = pos.mean(0)
    pts = [pos] + ([target] if target is not None else [])
    lim = 1.15 * max(float((p - centre)[:, :2].norm(dim=-1).max()) for p in pts) + 0.5

    def draw(degrees: int) -> None:
        _, axes = subplots(len(predictors), width=4.2 * len(predictors), height=4.4)
        rotated_predictions(axes[0], predictors, pos, vel, charges, degrees, target, lim)
        axes[0, 0].legend(loc="lower left", fontsize=7)

    return draw


def rotation_explorer(predictors: dict[str, Callable], pos: torch.Tensor, vel: torch.Tensor,
                      charges: torch.Tensor, target: torch.Tensor | None = None, *, step: int = 15):
    """An ipywidgets slider for a rotation angle about the z axis, redrawing
    :func:`rotated_predictions` for one particle system: rotate the system, and see whether each
    model's prediction rotates with it. Returns the widget (an ``ipywidgets.VBox``); for readers
    without a kernel, :func:`rotation_slider` draws the same panels as a static slider."""
    import ipywidgets as widgets

    draw = _rotation_drawer(predictors, pos, vel, charges, target)
    return _slider_view(widgets.IntSlider(value=0, min=0, max=360, step=step, description="angle (°)"), draw)


def rotation_slider(predictors: dict[str, Callable], pos: torch.Tensor, vel: torch.Tensor,
                    charges: torch.Tensor, target: torch.Tensor | None = None, *, angles: Sequence[int],
                    name: str) -> StaticSlider:
    """:func:`rotation_explorer`'s panels at each of ``angles`` (degrees), precomputed: a
    :class:`StaticSlider`."""
    draw = _rotation_drawer(predictors, pos, vel, charges, target)
    return static_slider(draw, angles, name=name, label="angle", fmt=lambda a: f"{a}°")


class StaticSlider:
    """A slider over precomputed figures that needs no kernel: displayed, it is HTML (a range input, the
    frames as PNG data URIs, and a few lines of inline JavaScript that swap them), so it works in the
    rendered book, offline, with no server and nothing fetched. Where scripts do not run (an untrusted
    notebook, the PDF) the first frame shows.

    The HTML is a pure function of the frames: its element id comes from ``name``, so a notebook's
    stored output changes only where the pictures do (``nbval_sanitize.cfg`` masks the PNG payloads,
    whose bytes may differ between machines; the rest is compared).

    Attributes:
        name: the element id's suffix (``symlib-slider-<name>``), unique on its page.
        label: what the slider sets, shown beside it.
        labels: each frame's value, as shown.
        frames: each frame as a ``data:image/png;base64,...`` URI.
    """

    def __init__(self, name: str, label: str, labels: Sequence[str], frames: Sequence[str]) -> None:
        self.name, self.label, self.labels, self.frames = name, label, list(labels), list(frames)

    def _repr_html_(self) -> str:
        import html
        import json

        root = f"symlib-slider-{self.name}"
        data = json.dumps({"labels": self.labels, "frames": self.frames}).replace("</", "<\\/")
        return (
            f'<div class="symlib-slider" id="{root}">\n'
            f'<label>{html.escape(self.label)} <input type="range" min="0" max="{len(self.frames) - 1}" '
            f'step="1" value="0" aria-label="{html.escape(self.label)}"> '
            f"<output>{html.escape(self.labels[0])}</output></label>\n"
            f'<img alt="{html.escape(self.label)} = {html.escape(self.labels[0])}" src="{self.frames[0]}">\n'
            f'<script type="application/json">{data}</script>\n'
            "<script>(() => {\n"
            f'  const root = document.getElementById("{root}");\n'
            "  const data = JSON.parse(\n"
            "    root.querySelector('script[type=\"application/json\"]').textContent);\n"
            '  const input = root.querySelector("input"), img = root.querySelector("img");\n'
            '  const out = root.querySelector("output");\n'
            '  input.addEventListener("input", () => {\n'
            "    const k = Number(input.value);\n"
            "    img.src = data.frames[k]; out.textContent = data.labels[k];\n"
            "    img.alt = `${input.getAttribute(\"aria-label\")} = ${data.labels[k]}`;\n"
            "  });\n"
            "})();</script>\n"
            "</div>"
        )

    def __repr__(self) -> str:
        return f"StaticSlider({self.name!r}: {self.label} in {self.labels})"


_SLIDER_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def static_slider(draw: Callable[[Any], None], values: Sequence[Any], *, name: str, label: str,
                  fmt: Callable[[Any], str] = str, dpi: int = 72) -> StaticSlider:
    """Call ``draw(v)`` for every ``v`` in ``values`` (each call draws one new figure, e.g. with
    :func:`subplots`), keep each figure as a PNG and close it; return the :class:`StaticSlider` that
    shows them. ``name``: lower-case letters, digits and hyphens, unique on its page.
    """
    if not _SLIDER_NAME.fullmatch(name):
        raise ValueError(f"name must be lower-case letters, digits and hyphens, got {name!r}")
    if len(values) < 2:
        raise ValueError(f"a slider needs at least 2 values, got {len(values)}")
    frames = []
    for v in values:
        before = set(plt.get_fignums())
        draw(v)
        new = [n for n in plt.get_fignums() if n not in before]
        if len(new) != 1:
            raise ValueError(f"draw({v!r}) must draw exactly one new figure, it drew {len(new)}")
        fig = plt.figure(new[0])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        plt.close(fig)
        frames.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
    return StaticSlider(name, label, [fmt(v) for v in values], frames)
