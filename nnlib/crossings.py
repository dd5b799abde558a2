"""Level crossings of piecewise-affine functions: total variation, the Banach indicatrix, random levels.

Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`: a neuron ``ϱ(h + b)`` adds a kink
where ``h(x) = -b``; for a random ``b`` the expected number of such points is
``∫ N_h(t) p(t) dt <= sup p · V(h)``, because the indicatrix ``N_h`` integrates to the total
variation ``V(h)``. :mod:`nnlib.theory` builds the one-step bound on these tools.

A piecewise-affine function on ``[x_0, x_{K-1}]`` is given by its *knots*: strictly increasing
``x`` and the values ``y = h(x)``; ``h`` is affine between consecutive knots. Knot arrays may be
float arrays or sequences of :class:`fractions.Fraction` (then every result is exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._validate import as_generator, as_real_array, check_flag, check_interval, check_network, check_real

__all__ = ["total_variation", "neuron_variations", "Indicatrix", "indicatrix", "Uniform", "Gaussian",
           "expected_crossings"]


# ---------------------------------------------------------------------------- knots
def _as_knots(x, y):
    """Validate knot arrays; return float64 arrays, or object arrays of Fraction if any is a Fraction."""
    if isinstance(x, (str, bytes)) or isinstance(y, (str, bytes)):
        raise TypeError("x and y must be real numeric arrays, got a string")
    if _has_fraction(x) or _has_fraction(y):   # exact mode: every result is a Fraction
        xs = _fraction_array(x, "x")
        ys = _fraction_array(y, "y")
    else:
        xs = as_real_array(x, "x", ndim=1)
        ys = as_real_array(y, "y", ndim=1)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y must have the same shape, got {xs.shape} and {ys.shape}")
    if xs.shape[0] < 2:
        raise ValueError(f"x must hold at least two knots (the ends of the interval), got {xs.shape[0]}")
    if not np.all(xs[1:] > xs[:-1]):
        raise ValueError("x must be strictly increasing")
    return xs, ys


def _has_fraction(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype == object and any(isinstance(e, Fraction) for e in v.flat)
    return isinstance(v, (list, tuple)) and any(isinstance(e, Fraction) for e in v)


def _fraction_array(v, name: str) -> np.ndarray:
    """An object array of Fraction (ints and floats convert exactly)."""
    items = list(np.asarray(v, dtype=object).reshape(-1)) if np.ndim(v) == 1 else None
    if items is None:
        raise ValueError(f"{name} must be 1-dimensional, got shape {np.shape(v)}")
    out = np.empty(len(items), dtype=object)
    for k, e in enumerate(items):
        out[k] = Fraction(check_real(e, f"{name}[{k}]"))
    return out


def _output_knots(net, interval, exact=False, name="net"):
    """Knots and values of ``R(Φ)`` on a finite interval (exact knot propagation)."""
    from .pieces import propagate_knots

    check_network(net, name, univariate=True)
    interval = check_interval(interval, allow_none=False)
    last = propagate_knots(net, interval, exact=exact)[-1]
    return last.x, last.z[:, 0]


def total_variation(x, y=None, *, interval=None, exact: bool = False):
    """Total variation ``V(h) = Σ_k |h(x_{k+1}) - h(x_k)|`` of a piecewise-affine ``h``.

    Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`. For a continuous function that is
    affine between consecutive knots, the variation is attained by the knot partition itself.

    Two forms: ``total_variation(x, y)`` for knot arrays, and ``total_variation(net, interval)``
    (or ``total_variation(net, interval=(a, b))``) for the output of a univariate network on a
    finite interval, following the convention ``(net, interval, *, exact)`` of every function that
    analyses a network.

    Parameters
    ----------
    x : array_like, shape ``(K,)``, or ReLUNetwork
        Strictly increasing knots (float or :class:`~fractions.Fraction`), or a univariate network.
    y : array_like, shape ``(K,)``, or (a, b)
        Values at the knots; when ``x`` is a network, the second positional argument is the
        interval (same as ``interval=``).
    interval : (a, b), keyword-only
        Finite interval; required for a network (positionally or by keyword), not allowed with
        knot arrays.
    exact : bool, keyword-only
        For a network: propagate the knots in rational arithmetic (result a Fraction).

    Returns
    -------
    float or Fraction
        ``V(h)`` (a Fraction if any knot or value is a Fraction, or ``exact=True``).

    Raises
    ------
    TypeError, ValueError
        Non-numeric or non-finite knots, ``x`` not strictly increasing, shape mismatch, fewer than
        two knots, a missing/superfluous ``y`` or ``interval``.

    Examples
    --------
    >>> total_variation([0, 1, 2], [0, 2, 1])
    3.0
    >>> from nnlib.constructions import hat
    >>> total_variation(hat(), (-1, 2))          # up 1 and down 1
    2.0
    """
    from .networks import ReLUNetwork

    exact = check_flag(exact, "exact")
    if isinstance(x, ReLUNetwork):
        if y is not None and interval is not None:
            raise TypeError("interval given twice: positionally (second argument) and as interval=")
        interval = y if interval is None else interval
        if interval is None:
            raise ValueError("interval must be given (a finite (a, b)) when the first argument is a ReLUNetwork")
        x, y = _output_knots(x, interval, exact, name="x")
    else:
        if interval is not None:
            raise ValueError("interval is only used with a ReLUNetwork; knot arrays define their own interval")
        if y is None:
            raise ValueError("y (the values at the knots) must be given with knot arrays x")
        x, y = _as_knots(x, y)
    d = np.abs(np.diff(y))
    return sum(d, Fraction(0)) if d.dtype == object else float(d.sum())


def neuron_variations(net, interval, *, exact: bool = False) -> list:
    """Variations ``V_D(h_{j,i})`` of the pre-bias inputs ``h_{j,i}(x) = (A_j x^(j-1)(x))_i``.

    Chapter 4 "The main theorem", {prf:ref}`thm-one-step-bound`. ``h_{j,i}`` differs from the
    pre-activation ``z_{j,i} = h_{j,i} + b_{j,i}`` by a constant, so both have the same variation; it
    is computed exactly from the knots of :func:`nnlib.pieces.propagate_knots`, on which every
    ``z_{j,i}`` is affine between consecutive knots.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network.
    interval : (a, b)
        Finite interval ``D``.
    exact : bool, keyword-only
        Rational arithmetic (object arrays of Fraction).

    Returns
    -------
    list of numpy.ndarray
        One array of shape ``(N_j,)`` per hidden layer ``j = 1, …, L-1`` (float64, or object).

    Examples
    --------
    >>> from nnlib.constructions import sawtooth
    >>> [v.tolist() for v in neuron_variations(sawtooth(2), (0, 1))]   # h = x, then h = Δ(x)
    [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    """
    from .pieces import propagate_knots

    check_network(net, univariate=True)
    exact = check_flag(exact, "exact")
    interval = check_interval(interval, allow_none=False)
    record = propagate_knots(net, interval, exact=exact)[:-1]
    return [np.abs(np.diff(rec.z, axis=0)).sum(axis=0) for rec in record]


# ---------------------------------------------------------------------------- indicatrix
@dataclass(frozen=True)
class Indicatrix:
    """The Banach indicatrix ``N_h(t) = #{x ∈ [x_0, x_{K-1}] : h(x) = t}`` as a step function.

    Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`.

    Attributes
    ----------
    levels : numpy.ndarray, shape ``(m,)``
        The distinct values of ``h`` at its knots, sorted (float64 or object array of Fraction).
    counts : numpy.ndarray of int64, shape ``(m - 1,)``
        ``counts[k] = N_h(t)`` for every ``t`` strictly between ``levels[k]`` and ``levels[k+1]``.
        ``N_h(t) = 0`` for ``t`` outside ``[levels[0], levels[-1]]``.
    """

    levels: np.ndarray
    counts: np.ndarray
    _x: np.ndarray = field(repr=False)
    _y: np.ndarray = field(repr=False)

    def integral(self):
        """``∫ N_h(t) dt`` (equal to the total variation of ``h``: Banach's indicatrix theorem)."""
        widths = np.diff(self.levels)
        terms = [int(c) * w for c, w in zip(self.counts, widths)]
        return sum(terms, Fraction(0)) if self.levels.dtype == object else float(sum(terms, 0.0))

    def __call__(self, t):
        """``N_h(t)`` at one level ``t`` (any real, levels included): an int, or ``math.inf``
        if ``h`` is constant equal to ``t`` on a segment."""
        t = check_real(t, "t")
        y = self._y
        if np.any((y[1:] == t) & (y[:-1] == t)):
            return math.inf
        strictly_inside = ((y[:-1] < t) & (t < y[1:])) | ((y[1:] < t) & (t < y[:-1]))
        return int(np.count_nonzero(y == t) + np.count_nonzero(strictly_inside))


def indicatrix(x, y) -> Indicatrix:
    """Number of solutions of ``h(x) = t`` for all levels ``t`` at once.

    Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`. Each non-flat segment
    ``[x_k, x_{k+1}]`` contributes one solution for every ``t`` strictly between its end values, and a
    flat one contributes none except at its own level (a null set). Hence between consecutive
    knot levels ``N_h`` is constant, and ``∫ N_h(t) dt = Σ_k |y_{k+1} - y_k| = V(h)``.

    Parameters
    ----------
    x, y : array_like, shape ``(K,)``
        Strictly increasing knots and values (float or Fraction), ``K >= 2``.

    Returns
    -------
    Indicatrix
        ``levels`` (sorted distinct ``y``) and ``counts`` (one per gap between levels).

    Examples
    --------
    >>> ind = indicatrix([0, 1, 2], [0, 2, 1])
    >>> ind.levels, ind.counts
    (array([0., 1., 2.]), array([1, 2]))
    """
    x, y = _as_knots(x, y)
    levels = np.array(sorted(set(y.tolist())), dtype=y.dtype)
    lo = np.minimum(y[:-1], y[1:]) if y.dtype != object else np.array([min(a, b) for a, b in zip(y[:-1], y[1:])], dtype=object)
    hi = np.maximum(y[:-1], y[1:]) if y.dtype != object else np.array([max(a, b) for a, b in zip(y[:-1], y[1:])], dtype=object)
    # A segment from level index i to level index k covers the gaps i, …, k-1: difference array.
    i = np.searchsorted(levels, lo)
    k = np.searchsorted(levels, hi)
    diff = np.zeros(levels.shape[0], dtype=np.int64)
    np.add.at(diff, i, 1)
    np.add.at(diff, k, -1)
    counts = np.cumsum(diff)[:-1]
    return Indicatrix(levels, counts, x, y)


# ---------------------------------------------------------------------------- bias laws
@dataclass(frozen=True)
class Uniform:
    """The uniform law on ``[low, high]`` (density ``1/(high - low)``).

    Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd` and {prf:ref}`lem-level-crossings`.
    """

    low: float
    high: float

    def __post_init__(self):
        low = check_real(self.low, "low", allow_fraction=False)
        high = check_real(self.high, "high", allow_fraction=False)
        if not low < high:
            raise ValueError(f"Uniform needs low < high, got low={low}, high={high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def density_bound(self) -> float:
        """``sup p = 1 / (high - low)``."""
        return 1.0 / (self.high - self.low)

    def cdf(self, t) -> np.ndarray:
        """``P(B <= t)`` for an array of levels (float64)."""
        t = np.asarray(t, dtype=np.float64)
        return np.clip((t - self.low) / (self.high - self.low), 0.0, 1.0)

    def mass(self, lo, hi) -> np.ndarray:
        """``P(lo < B < hi)`` elementwise, for arrays with ``lo <= hi``."""
        return self.cdf(hi) - self.cdf(lo)

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` independent draws (float64) from ``rng`` (a seed, a generator, or ``None``:
        nnlib's default generator)."""
        return as_generator(rng, "rng").uniform(self.low, self.high, size=size)

    def __neg__(self) -> "Uniform":
        return Uniform(-self.high, -self.low)


@dataclass(frozen=True)
class Gaussian:
    """The normal law ``N(mean, std²)`` (density bound ``1/(std √(2π))``).

    Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`.
    """

    mean: float
    std: float

    def __post_init__(self):
        mean = check_real(self.mean, "mean", allow_fraction=False)
        std = check_real(self.std, "std", allow_fraction=False)
        if not std > 0:
            raise ValueError(f"Gaussian needs std > 0, got std={std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def density_bound(self) -> float:
        """``sup p = 1 / (std √(2π))``."""
        return 1.0 / (self.std * math.sqrt(2.0 * math.pi))

    def mass(self, lo, hi) -> np.ndarray:
        """``P(lo < B < hi)`` elementwise, for arrays with ``lo <= hi``.

        Differences of ``erfc`` on the side of the mean where both ends lie, so that masses far in a
        tail are not lost to cancellation (``Φ(hi) - Φ(lo)`` with both close to 1 would be).
        """
        erfc = np.frompyfunc(math.erfc, 1, 1)
        a = (np.asarray(lo, dtype=np.float64) - self.mean) / (self.std * math.sqrt(2.0))
        b = (np.asarray(hi, dtype=np.float64) - self.mean) / (self.std * math.sqrt(2.0))
        upper = 0.5 * (erfc(a) - erfc(b)).astype(np.float64)      # accurate when a, b >= 0
        lower = 0.5 * (erfc(-b) - erfc(-a)).astype(np.float64)    # accurate when a, b <= 0
        return np.where(a >= 0, upper, lower)

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` independent draws (float64) from ``rng`` (a seed, a generator, or ``None``:
        nnlib's default generator)."""
        return as_generator(rng, "rng").normal(self.mean, self.std, size=size)

    def __neg__(self) -> "Gaussian":
        return Gaussian(-self.mean, self.std)


def _check_law(law, name="bias_law"):
    if not isinstance(law, (Uniform, Gaussian)):
        raise TypeError(f"{name} must be nnlib.crossings.Uniform or nnlib.crossings.Gaussian, got {type(law).__name__}")
    return law


# ---------------------------------------------------------------------------- crossings
def expected_crossings(h, bias_law, *, interval=None) -> float:
    """``E #{x ∈ D : h(x) = B}`` for a random level ``B`` with the given law, exactly.

    Chapter 4 "The main theorem", {prf:ref}`lem-level-crossings`:
    ``E #h^{-1}(B) = ∫ N_h(t) p(t) dt = Σ_k P(B strictly between y_k and y_{k+1})``, the sum over the
    non-flat segments (each holds exactly one solution for such ``B``); flat segments and knot
    levels are hit with probability 0. Consequently ``E #h^{-1}(B) <= sup p · V(h)``.

    Parameters
    ----------
    h : ReLUNetwork or (x, y)
        A univariate network (its output ``R(Φ)`` on ``interval``) or knot arrays ``(x, y)``,
        ``x`` strictly increasing, shape ``(K,)`` each.
    bias_law : Uniform or Gaussian
        The law of ``B``.
    interval : (a, b), keyword-only
        Finite ``D``; required for a network, not allowed for knot arrays.

    Returns
    -------
    float
    """
    from .networks import ReLUNetwork

    bias_law = _check_law(bias_law)
    if isinstance(h, ReLUNetwork):
        if interval is None:
            raise ValueError("interval must be given (a finite (a, b)) when h is a ReLUNetwork")
        x, y = _output_knots(h, interval)
    else:
        if interval is not None:
            raise ValueError("interval is only used with a ReLUNetwork; knot arrays define their own interval")
        if not isinstance(h, (tuple, list)) or len(h) != 2:
            raise TypeError(f"h must be a ReLUNetwork or a pair (x, y) of knot arrays, got {type(h).__name__}")
        x, y = _as_knots(*h)
        y = y.astype(np.float64)
    lo, hi = np.minimum(y[:-1], y[1:]), np.maximum(y[:-1], y[1:])
    return float(np.sum(bias_law.mass(lo, hi)))
