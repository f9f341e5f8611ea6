"""One figure style for the whole book, and the figures that recur across chapters.

Backgrounds are opaque white so figures stay readable on the book's dark theme; sizes and fonts are
fixed so figures line up across chapters. Call :func:`use_style` once (``symlib.setup`` does not, so
that importing symlib never changes matplotlib's global state behind a reader's back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

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


def shift_explorer(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                   titles: Sequence[str] = ("input x shifted by s", "f(shifted x)", "f(x) shifted by s"),
                   cmap: str = "gray"):
    """An ipywidgets slider that shifts an image ``x`` of shape ``[1, c, h, w]`` horizontally (with
    wrap-around) and shows the input, ``f`` of the shifted input, and the shifted ``f(x)``, for the
    first channel. For a shift-equivariant ``f`` the last two panels are identical.

    Returns the widget (an ``ipywidgets.VBox``); display it as a cell's last expression.
    """
    import ipywidgets as widgets

    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"shift_explorer expects one image of shape [1, c, h, w], got {tuple(x.shape)}")
    w = x.shape[-1]
    with torch.no_grad():
        fx = f(x)
    slider = widgets.IntSlider(value=0, min=0, max=w - 1, description="shift s")
    out = widgets.Output()

    def draw(change: object = None) -> None:
        s = slider.value
        with torch.no_grad():
            panels = (torch.roll(x, s, dims=-1), f(torch.roll(x, s, dims=-1)), torch.roll(fx, s, dims=-1))
        out.clear_output(wait=True)
        with out:
            fig, axes = subplots(3, width=9, height=3)
            for ax, p, t in zip(axes[0], panels, titles):
                image(ax, p[0, 0], t, cmap=cmap)
            plt.show()

    slider.observe(draw, names="value")
    draw()
    return widgets.VBox([slider, out])
