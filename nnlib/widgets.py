"""Sliders in a live kernel, a deterministic figure in the static book.

Used by every chapter that has an interactive figure (Chapter 1: depth/width explorer).
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt

from ._validate import check_callable

__all__ = ["interact_or_static"]


def interact_or_static(fn, static: dict, **sliders):
    """Show ``fn`` with live sliders and a static small-multiples figure.

    ``fn(ax, **params)`` draws one panel. The static figure draws one panel for each combination
    of the values listed in ``static`` (documented parameter values, so the page shows something
    meaningful without a kernel). When ``ipywidgets`` is available, an ``interactive`` widget with
    the given ``sliders`` is displayed too; in the built book it renders from the saved widget
    state with the output of its initial values.

    Parameters
    ----------
    fn : callable
        ``fn(ax, **params) -> None``.
    static : dict[str, list]
        Parameter values of the small multiples: with two keys the first spans the rows and the
        second the columns; with one key the panels fill rows of at most three.
    **sliders : ipywidgets widgets
        One slider per parameter of ``fn``.

    Returns
    -------
    matplotlib.figure.Figure
        The static figure (already displayed).
    """
    check_callable(fn, "fn")
    if not isinstance(static, dict) or not 1 <= len(static) <= 2:
        raise ValueError("static must be a dict of one or two parameter names to lists of values")
    for key, values in static.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"static[{key!r}] must be a non-empty list of values")
    if set(static) - set(sliders):
        raise ValueError(f"static names {sorted(set(static) - set(sliders))} have no slider")
    from IPython.display import display

    keys = list(static)
    fixed = {k: w.value for k, w in sliders.items() if k not in static}
    if len(keys) == 2:  # first key down the rows, second across the columns
        combos = [dict(zip(keys, pair)) for pair in itertools.product(static[keys[0]], static[keys[1]])]
        ncols = len(static[keys[1]])
    else:  # one key: fill rows of at most three panels
        combos = [{keys[0]: v} for v in static[keys[0]]]
        ncols = min(3, len(combos))
    nrows = -(-len(combos) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False, sharex=True)
    for k, combo in enumerate(combos):
        params = dict(fixed, **combo)
        ax = axes[k // ncols][k % ncols]
        fn(ax, **params)
        ax.set_title(", ".join(f"{key} = {params[key]}" for key in keys), fontsize=9)
    for k in range(len(combos), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.tight_layout()
    plt.show()
    try:
        import ipywidgets
    except ImportError:  # static book only
        return fig

    def _draw(**params):
        fig1, ax1 = plt.subplots()
        fn(ax1, **params)
        plt.show()

    display(ipywidgets.interactive(_draw, **sliders))
    return fig
