"""One figure style: a colour-blind-safe palette, paper sizes, embedded vector fonts.

Every figure function builds a :class:`PaperFigure` (a plain :class:`matplotlib.figure.Figure`
that saves with TrueType fonts embedded) under :func:`paper_rc`, sized for a one-column
(3.5 in) or two-column (7.16 in) paper layout, with constrained layout so labels do not overlap.
No pyplot state is touched: figures are independent objects, never shown, freed when dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

#: Okabe & Ito (2008) colour-blind-safe palette, in the order series use it.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = PALETTE
GREY = "#8C8C8C"
LIGHT_GREY = "#C8C8C8"
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Sequential and diverging colour maps that stay readable with colour-vision deficiencies.
SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"

#: Figure widths (inches): IEEE/ACM one-column and two-column text widths.
WIDTHS = {"single": 3.5, "double": 7.16}

#: rcParams of every figure (fonts sized for print at 100 %).
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 9,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.5,
    "grid.color": "#B0B0B0",
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.3,
    "image.cmap": SEQUENTIAL_CMAP,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,  # embed TrueType (vector) fonts, not Type 3
    "ps.fonttype": 42,
    "svg.fonttype": "path",  # glyphs as vector paths: the SVG renders the same everywhere
    "figure.constrained_layout.h_pad": 0.02,
    "figure.constrained_layout.w_pad": 0.02,
}
_SAVE_KEYS = ("pdf.fonttype", "ps.fonttype", "svg.fonttype", "savefig.pad_inches")


class PaperFigure(Figure):
    """A Figure that saves with the style's font embedding (TrueType, not Type 3) and dpi."""

    _evodse_rc: Mapping[str, Any] = RC

    def savefig(self, fname: Any, **kwargs: Any) -> None:
        rc = {k: self._evodse_rc[k] for k in _SAVE_KEYS if k in self._evodse_rc}
        kwargs.setdefault("dpi", self._evodse_rc.get("savefig.dpi", 200))
        with mpl.rc_context(rc):
            super().savefig(fname, **kwargs)


def merged_rc(rc: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The style's rcParams with the user's overrides."""
    return {**RC, **(rc or {})}


@contextlib.contextmanager
def paper_rc(rc: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Context applying the style (plus overrides) while a figure is built."""
    params = merged_rc(rc)
    with mpl.rc_context(params):
        yield params


def figure_size(size: str | tuple[float, float], height: float) -> tuple[float, float]:
    """(width, height) in inches: ``"single"``, ``"double"`` or an explicit pair."""
    if isinstance(size, str):
        if size not in WIDTHS:
            raise ValueError(f"size must be 'single', 'double' or (width, height), got {size!r}")
        return WIDTHS[size], height
    width, h = size
    return float(width), float(h)


def new_figure(
    size: str | tuple[float, float],
    height: float,
    rc: Mapping[str, Any] | None = None,
    *,
    layout: str | None = "constrained",
) -> PaperFigure:
    """An empty styled figure with constrained layout (call inside :func:`paper_rc`)."""
    fig = PaperFigure(figsize=figure_size(size, height), layout=layout)
    fig._evodse_rc = merged_rc(rc)
    return fig


def color(i: int) -> str:
    """The i-th palette colour (cycling; yellow is skipped for lines on white)."""
    usable = [c for c in PALETTE if c != YELLOW]
    return usable[i % len(usable)]


def row_major(items: list, ncols: int) -> list:
    """Reorder legend entries so matplotlib's column-wise fill reads row by row."""
    n = len(items)
    if ncols <= 1 or n <= ncols:
        return list(items)
    nrows = -(-n // ncols)
    grid = [items[r * ncols : (r + 1) * ncols] for r in range(nrows)]
    out = []
    for c in range(ncols):
        out += [row[c] for row in grid if c < len(row)]
    return out


def line_cmap():
    """The sequential map without its palest end (lines stay visible on white)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    base = colormaps[SEQUENTIAL_CMAP]
    return ListedColormap(base(np.linspace(0.0, 0.88, 256)), name=f"{SEQUENTIAL_CMAP}_lines")
