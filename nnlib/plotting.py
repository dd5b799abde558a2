"""One figure style for the whole book, and exact plots of univariate networks.

Chapter 1, section "Networks and their realisation" (and every later figure).
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ._validate import check_flag, check_interval, check_network
from .networks import ReLUNetwork
from .pieces import breakpoints

__all__ = ["use_book_style", "plot_network", "legend_below", "BOOK_STYLE", "MIN_FONT_PT"]

# Legible on a phone: a figure 5.2 in wide is shown about 358 CSS px wide at 390 px viewport, so
# 1 pt of text becomes about 0.96 CSS px there; 10 pt is the smallest text any figure uses
# (tests/test_book_build.py checks the rendered scale in the browser). 200 dpi PNGs stay sharp on
# high-density screens and when the page is zoomed.
#: Smallest font size in points of any figure text, legible at phone width.
MIN_FONT_PT = 10

#: The book's matplotlib rcParams (applied by :func:`use_book_style`).
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
    """Apply the book's matplotlib style :data:`BOOK_STYLE` (every chapter's first cell)."""
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


def plot_network(net: ReLUNetwork, interval=None, *, ax=None, exact: bool = False,
                 mark_breakpoints: bool = True, label: str | None = None, color=None, **line_kwargs):
    """Plot ``R(Φ)`` on ``interval`` exactly: a polyline through its breakpoints.

    Chapter 1, section "Networks and their realisation" (and every later figure of a network).
    No sampling is involved, so no piece can be missed, however small.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network (one input, one output).
    interval : (a, b), optional
        Finite interval. ``None``: all breakpoints on the real line, with a margin of a quarter of
        their span (at least 1) on each side; ``(-1, 1)`` for an affine network.
    ax : matplotlib.axes.Axes, optional, keyword-only
        Axes to draw on; a new figure is made if omitted.
    exact : bool, keyword-only
        Find the breakpoints in rational arithmetic (:func:`nnlib.pieces.breakpoints`).
    mark_breakpoints : bool, keyword-only
        Mark the breakpoints with dots.
    label : str, optional, keyword-only
        Legend label of the line.
    color : optional, keyword-only
        Line colour; further keyword arguments go to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_network(net, univariate=True)
    exact = check_flag(exact, "exact")
    mark_breakpoints = check_flag(mark_breakpoints, "mark_breakpoints")
    if interval is None:
        bp = np.asarray(breakpoints(net, None, exact=exact), dtype=np.float64)
        if bp.size:
            margin = max(1.0, (bp[-1] - bp[0]) / 4)
            a, b = float(bp[0] - margin), float(bp[-1] + margin)
        else:
            a, b = -1.0, 1.0
    else:
        a, b = check_interval(interval, allow_none=False)
        bp = np.asarray(breakpoints(net, (a, b), exact=exact), dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots()
    xs = np.concatenate([[float(a)], bp, [float(b)]])
    ys = net(xs)
    (line,) = ax.plot(xs, ys, label=label, color=color, **line_kwargs)
    if mark_breakpoints and bp.size:
        ax.plot(bp, ys[1:-1], "o", ms=3, color=line.get_color(),
                label=None if label is None else f"breakpoints ({bp.size})")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$R(\Phi)(x)$")
    return ax
