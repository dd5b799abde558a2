"""Sliders in a live kernel, a deterministic figure in the static book.

Used by every chapter that has an interactive figure (Chapter 1: depth/width explorer).
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt

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
        Parameter values of the small multiples; the first two keys span rows and columns.
    **sliders : ipywidgets widgets
        One slider per parameter of ``fn``.

    Returns
    -------
    matplotlib.figure.Figure
        The static figure (already displayed).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(static, dict) or not 1 <= len(static) <= 2:
        raise ValueError("static must be a dict of one or two parameter names to lists of values")
    for key, values in static.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"static[{key!r}] must be a non-empty list of values")
    if set(static) - set(sliders):
        raise ValueError(f"static names {sorted(set(static) - set(sliders))} have no slider")
    from IPython.display import display

    keys = list(static)
    rows = static[keys[0]]
    cols = static[keys[1]] if len(keys) == 2 else [None]
    fixed = {k: w.value for k, w in sliders.items() if k not in static}
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(3.0 * len(cols), 2.4 * len(rows)),
                             squeeze=False, sharex=True)
    for (r, rv), (c, cv) in itertools.product(enumerate(rows), enumerate(cols)):
        params = dict(fixed, **{keys[0]: rv})
        if cv is not None:
            params[keys[1]] = cv
        ax = axes[r][c]
        fn(ax, **params)
        ax.set_title(", ".join(f"{k} = {params[k]}" for k in keys), fontsize=9)
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
