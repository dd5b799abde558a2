"""How well can a piecewise affine function approximate x²? Exact errors and a lower bound.

Chapter 2, section "From squares to polynomials" ({prf:ref}`prop-yarotsky-square`,
{prf:ref}`prop-square-lower-bound`).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._validate import check_flag, check_int, check_interval, check_network
from .pieces import propagate_knots

__all__ = ["sup_error_to_square", "square_error_lower_bound"]


def sup_error_to_square(net, interval=(0.0, 1.0), *, exact: bool = False):
    """``sup_{x ∈ interval} |R(Φ)(x) − x²|``, computed exactly from the knots (no sampling).

    Chapter 2, {prf:ref}`prop-yarotsky-square`; checked by ``tests/test_approximation.py``.

    Between consecutive knots ``R(Φ)(x) = αx + β``, and ``e(x) = x² − αx − β`` is convex, so ``|e|``
    is largest at an end of the segment or at the vertex ``x = α/2`` of the parabola.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network.
    interval : (a, b)
        Finite interval; default ``(0, 1)``, where Yarotsky's construction lives.
    exact : bool, keyword-only
        Rational arithmetic (returns a ``Fraction``) instead of float64 (returns a ``float``).

    Returns
    -------
    float or Fraction

    Examples
    --------
    >>> from nnlib.constructions import yarotsky_square
    >>> sup_error_to_square(yarotsky_square(2), exact=True)   # 4^-(m+1) for m = 2
    Fraction(1, 64)
    """
    check_network(net, univariate=True)
    interval = check_interval(interval, allow_none=False)
    exact = check_flag(exact, "exact")
    last = propagate_knots(net, interval, exact=exact)[-1]
    x, y = last.x, last.z[:, 0]
    x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
    alpha = (y1 - y0) / (x1 - x0)
    beta = y0 - alpha * x0
    vertex = alpha / 2
    inside = (vertex > x0) & (vertex < x1)
    err = lambda t: np.abs(t * t - alpha * t - beta)
    candidates = [err(x0), err(x1), np.where(inside, err(np.where(inside, vertex, x0)), 0)]
    worst = max(c.max() for c in candidates)   # object arrays of Fraction support .max() too
    return Fraction(worst) if exact else float(worst)


def square_error_lower_bound(num_pieces: int, interval=(0.0, 1.0)) -> float:
    """Lower bound ``(ℓ / P)² / 8`` on ``sup |f − x²|`` over ``interval`` for any ``f`` with ``P`` affine pieces.

    Chapter 2, {prf:ref}`prop-square-lower-bound`; checked by
    ``tests/test_approximation.py::test_lower_bound_holds_for_random_networks``. ``ℓ`` is the
    interval's length: some piece is at least ``ℓ / P`` long, and no affine function is closer
    than ``h² / 8`` to ``x²`` on an interval of length ``h``.

    Parameters
    ----------
    num_pieces : int
        ``P >= 1``.
    interval : (a, b)
        Finite interval, default ``(0, 1)``.

    Returns
    -------
    float

    Examples
    --------
    >>> square_error_lower_bound(4)      # (1/4)² / 8
    0.0078125
    """
    num_pieces = check_int(num_pieces, "num_pieces", minimum=1)
    a, b = check_interval(interval, allow_none=False)
    return float(((b - a) / num_pieces) ** 2 / 8)
