"""The diagrams' drawing kit: colours, text and arrow styles, a blank canvas, and a rounded box."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .plots import NotebookFigure

PATH_COLOUR, PATH_FACE = "#1f6fb4", "#e4effa"
GREY, GREY_FACE, GREY_TEXT = "#b8b8b8", "#f3f3f3", "#8f8f8f"
STOP_COLOUR, STOP_FACE = "#d62728", "#fde3e2"
INK, REGION_FACE, REGION_EDGE = "#1b1b1b", "#fafafa", "#d5d5d5"
# A box's edge, face and text colours: on the message's path, where it stopped, or off the path.
STATES = {
    "path": (PATH_COLOUR, PATH_FACE, INK),
    "stop": (STOP_COLOUR, STOP_FACE, INK),
    "grey": (GREY, GREY_FACE, GREY_TEXT),
}
TITLE: dict[str, Any] = {"ha": "left", "va": "top", "fontsize": 14, "fontweight": "bold", "color": INK}
BOX_TITLE: dict[str, Any] = dict(ha="center", va="center", zorder=3, fontsize=9.5, fontweight="bold")
BOX_DETAIL: dict[str, Any] = dict(ha="center", va="center", zorder=3, fontsize=9)
ARROW: dict[str, Any] = dict(arrowstyle="-|>", mutation_scale=18, shrinkA=1.5, shrinkB=1.5, zorder=4)
LABEL_BOX = dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.9)
LABEL: dict[str, Any] = dict(
    fontsize=8.5, linespacing=1.15, multialignment="center", zorder=5, bbox=LABEL_BOX
)


def new_axes(ax: Axes | None, figsize: tuple[float, float], size: tuple[float, float]) -> tuple[Figure, Axes]:
    """`ax` (or the axes of a new NotebookFigure of `figsize`) bare, spanning (0, 0) to `size`."""
    if ax is None:
        ax = NotebookFigure(figsize=figsize).add_axes((0.0, 0.0, 1.0, 1.0))
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    ax.set_axis_off()
    ax.set(xlim=(0, size[0]), ylim=(0, size[1]))
    return fig, ax


def rounded(x0: float, y0: float, x1: float, y1: float, **style: Any) -> FancyBboxPatch:
    """A box with rounded corners from (x0, y0) to (x1, y1)."""
    return FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=1.3", **style)
