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

__all__ = ["use_book_style", "plot_network", "BOOK_STYLE"]

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "font.size": 10,
    "lines.linewidth": 1.6,
    "svg.hashsalt": "nnlib",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (called in every chapter's first cell)."""
    mpl.rcParams.update(BOOK_STYLE)


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
