"""One figure style for the whole book, and exact plots of univariate networks.

Chapter 1, section "Networks and their realisation" (and every later figure).
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ._validate import check_interval
from .networks import ReLUNetwork
from .pieces import breakpoints

__all__ = ["use_book_style", "plot_network", "legend_below", "BOOK_STYLE", "MIN_FONT_PT"]

# Legible on a phone: a figure 5.2 in wide is shown about 358 CSS px wide at 390 px viewport, so
# 1 pt of text becomes about 0.96 CSS px there; 10 pt is the smallest text any figure uses
# (tests/test_book_build.py checks the rendered scale in the browser). 200 dpi PNGs stay sharp on
# high-density screens and when the page is zoomed.
MIN_FONT_PT = 10

BOOK_STYLE = {
    "figure.figsize": (5.2, 3.2),
    "figure.dpi": 200,
    "savefig.dpi": 200,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "font.size": MIN_FONT_PT,
    "lines.linewidth": 1.6,
    "svg.hashsalt": "nnlib",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (called in every chapter's first cell)."""
    mpl.rcParams.update(BOOK_STYLE)


def legend_below(ax, ncol: int | None = None, **kwargs):
    """Draw ``ax``'s legend under the axes, outside the data area, so it never covers data.

    Call it after the axis labels are set (the offset leaves room for the tick labels and the
    x label). Returns the legend, or ``None`` when nothing is labelled.
    """
    from matplotlib.transforms import ScaledTranslation

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if ncol is None:
        ncol = 1 if max(len(s) for s in labels) > 28 else min(2, len(handles))
    drop = (18 + (16 if ax.get_xlabel() else 0)) / 72  # inches below the axes
    shift = ScaledTranslation(0, -drop, ax.figure.dpi_scale_trans)
    kwargs.setdefault("frameon", False)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0),
                     bbox_transform=ax.transAxes + shift, ncol=ncol, **kwargs)


def plot_network(net: ReLUNetwork, interval, ax=None, *, mark_breakpoints: bool = True,
                 label: str | None = None, color=None, **line_kwargs):
    """Plot ``R(Φ)`` on ``interval`` exactly: a polyline through its breakpoints.

    No sampling is involved, so no piece can be missed, however small.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network (one input, one output).
    interval : (a, b)
        Finite interval.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if omitted.
    mark_breakpoints : bool
        Mark the breakpoints with dots.
    label : str, optional
        Legend label of the line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    a, b = check_interval(interval, allow_none=False)
    if ax is None:
        _, ax = plt.subplots()
    bp = breakpoints(net, (a, b))
    xs = np.concatenate([[a], bp, [b]])
    ys = net(xs)
    (line,) = ax.plot(xs, ys, label=label, color=color, **line_kwargs)
    if mark_breakpoints and bp.size:
        ax.plot(bp, ys[1:-1], "o", ms=3, color=line.get_color(),
                label=None if label is None else f"breakpoints ({bp.size})")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$R(\Phi)(x)$")
    return ax
