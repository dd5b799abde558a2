"""Sliders in a live kernel, a deterministic figure in the static book.

Used by every chapter that has an interactive figure (Chapter 1, §1.7 "Explore: depth and width";
the "Explore" sections of Chapters 2–5).

A chapter calls :func:`small_multiples` in one cell (the figure the book shows: several documented
parameter settings side by side) and :func:`live_sliders` in the next cell, which is tagged
``remove-output`` so the built book carries no widget views and loads no widget JavaScript, while a
reader running the notebook gets the sliders. :func:`interact_or_static` does both in one cell.
"""
from __future__ import annotations

import itertools

import matplotlib.pyplot as plt

from ._validate import check_callable

__all__ = ["interact_or_static", "small_multiples", "live_sliders"]

MAX_COLUMNS = 2          # two panels per row stay legible at phone width (390 px)
PANEL_SIZE = (2.6, 2.1)  # inches per panel


def _label(name, sliders):
    """The slider's description ("depth L") when it has one, else the parameter name."""
    widget = sliders.get(name)
    desc = getattr(widget, "description", "") if widget is not None else ""
    return desc or name.replace("_", " ")


def _check(fn, static, sliders):
    check_callable(fn, "fn")
    if not isinstance(static, dict) or not 1 <= len(static) <= 2:
        raise ValueError("static must be a dict of one or two parameter names to lists of values")
    for key, values in static.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"static[{key!r}] must be a non-empty list of values")
    if set(static) - set(sliders):
        raise ValueError(f"static names {sorted(set(static) - set(sliders))} have no slider")


def small_multiples(fn, static: dict, **sliders):
    """Draw ``fn`` once for each combination of the values in ``static``: the book's static figure.

    Panels are titled with the sliders' descriptions ("depth L = 4, format = bfloat16"), at most
    two per row so that the text stays legible on a phone.

    Parameters
    ----------
    fn : callable
        ``fn(ax, **params) -> None`` draws one panel.
    static : dict[str, list]
        One or two parameter names, each with the list of values to show.
    **sliders : ipywidgets widgets (or anything with ``.value`` and ``.description``)
        One per parameter of ``fn``; parameters not in ``static`` take the slider's value.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(fn, static, sliders)
    keys = list(static)
    fixed = {k: w.value for k, w in sliders.items() if k not in static}
    combos = [dict(zip(keys, values)) for values in itertools.product(*(static[k] for k in keys))]
    if len(keys) == 2 and len(static[keys[1]]) <= MAX_COLUMNS:
        ncols = len(static[keys[1]])   # first key down the rows, second across the columns
    else:
        ncols = min(MAX_COLUMNS, len(combos))
    nrows = -(-len(combos) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows),
                             squeeze=False, sharex=True)
    for k, combo in enumerate(combos):
        params = dict(fixed, **combo)
        ax = axes[k // ncols][k % ncols]
        fn(ax, **params)
        ax.set_title(", ".join(f"{_label(key, sliders)} = {params[key]}" for key in keys), fontsize="medium")
    for k in range(len(combos), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.tight_layout()
    # display and close explicitly: a bare plt.show() inside a function lets the inline backend
    # show the figure a second time at the end of the cell (seen under nbval)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python
        plt.show()
        return fig
    if get_ipython() is None:
        plt.show()
        return fig
    display(fig)
    plt.close(fig)
    return fig


def live_sliders(fn, **sliders):
    """Display ``fn`` with live sliders (needs a running kernel; nothing useful in a static page).

    Parameters
    ----------
    fn : callable
        ``fn(ax, **params) -> None`` draws one panel.
    **sliders : ipywidgets widgets
        One per parameter of ``fn``.

    Returns
    -------
    ipywidgets.interactive or None
        ``None`` when ipywidgets is not installed.
    """
    check_callable(fn, "fn")
    try:
        import ipywidgets
    except ImportError:  # static book only
        return None
    from IPython.display import display

    def _draw(**params):
        fig1, ax1 = plt.subplots()
        fn(ax1, **params)
        plt.show()

    widget = ipywidgets.interactive(_draw, **sliders)
    display(widget)
    return widget


def interact_or_static(fn, static: dict, **sliders):
    """Show ``fn`` with live sliders and a static small-multiples figure (both in one cell).

    ``fn(ax, **params)`` draws one panel. The static figure draws one panel for each combination
    of the values listed in ``static`` (documented parameter values, so the page shows something
    meaningful without a kernel); see :func:`small_multiples`. When ``ipywidgets`` is available,
    an ``interactive`` widget with the given ``sliders`` is displayed too (:func:`live_sliders`).
    Chapters use the two functions in separate cells so that the book can drop the widget.

    Parameters
    ----------
    fn : callable
        ``fn(ax, **params) -> None``.
    static : dict[str, list]
        Parameter values of the small multiples: with two keys the first spans the rows and the
        second the columns (when it has at most two values); otherwise panels fill rows of two.
    **sliders : ipywidgets widgets
        One slider per parameter of ``fn``.

    Returns
    -------
    matplotlib.figure.Figure
        The static figure (already displayed).
    """
    fig = small_multiples(fn, static, **sliders)
    live_sliders(fn, **sliders)
    return fig
