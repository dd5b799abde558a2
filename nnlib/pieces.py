"""Exact breakpoints, affine pieces and activation regions of univariate ReLU networks.

Chapter 1, sections "Affine pieces and activation regions" and "Counting pieces exactly"
({prf:ref}`def-pieces`, {prf:ref}`alg-knot-propagation`).

The method is *knot propagation*, never sampling. Between two consecutive knots every neuron's
pre-activation is affine in the input ``x``, so its values at the knots determine it completely.
Layer by layer we

1. evaluate the pre-activations ``Z = H A_jᵀ + b_j`` at the current knots (``H`` = layer input),
2. insert a new knot wherever a pre-activation changes sign *strictly* inside a segment, at the
   exact zero of the affine segment (linear interpolation is exact there),
3. apply the ReLU.

On the whole real line the two unbounded rays are segments too; they are described by the value
at the outermost knot and the slope. At the end, a knot is a *breakpoint* iff the output's slope
differs on its two sides: the maximal affine pieces are the segments between breakpoints.

``exact=True`` runs the same propagation on numpy object arrays of :class:`fractions.Fraction`
(floats convert exactly), so every comparison is exact; it is the oracle the float mode is
tested against.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validate import check_interval, check_int
from .networks import ReLUNetwork

__all__ = [
    "breakpoints",
    "count_pieces",
    "count_activation_regions",
    "count_regions_on_grid",
    "propagate_knots",
    "LayerKnots",
]

# Slopes are propagated by the chain rule (not by finite differences), so two segments with the
# same activation pattern get bit-identical slopes. Different patterns whose slopes agree
# mathematically (a kink whose effect is cancelled downstream) may differ by rounding; this
# relative tolerance merges those in float mode. Exact mode compares exactly.
SLOPE_RTOL = 1e-9
# Float mode only: new knots closer than this (relative to the largest |knot|) are one knot.
# Interpolation puts a zero within a few ulps of the scale; genuine gaps are many orders larger.
KNOT_RTOL = 2.0**-40


@dataclass(frozen=True)
class LayerKnots:
    """The state of the propagation after one layer.

    Attributes
    ----------
    x : numpy.ndarray, shape ``(K,)``
        Sorted knots (float64, or object array of ``Fraction`` in exact mode). On a bounded
        interval the first and last knots are its endpoints.
    z : numpy.ndarray, shape ``(K, N_j)``
        Pre-activations of layer ``j`` at the knots.
    slope : numpy.ndarray, shape ``(K + 1, N_j)``
        ``dz/dx`` on each segment: row 0 is the left ray, row ``k`` the segment
        ``(x[k-1], x[k])``, row ``K`` the right ray (the ray rows are unused on a bounded interval).
    """

    x: np.ndarray
    z: np.ndarray
    slope: np.ndarray


def _check_univariate(net) -> ReLUNetwork:
    if not isinstance(net, ReLUNetwork):
        raise TypeError(f"net must be a ReLUNetwork, got {type(net).__name__}")
    if net.widths[0] != 1 or net.widths[-1] != 1:
        raise ValueError(
            f"net must have one input and one output (widths (1, …, 1)), got widths {net.widths}; "
            "piece counting here is for univariate networks"
        )
    return net


def _to_exact(a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [Fraction(float(v)) for v in a.flat]
    return out


def _initial_state(interval, exact: bool):
    """Knots, layer input ``H`` and slopes of the identity map ``x ↦ x``."""
    conv = Fraction if exact else float
    if interval is None:
        # One anchor knot at 0 (not a breakpoint of anything): the line is two rays.
        x = np.array([conv(0)], dtype=object if exact else np.float64)
    else:
        a, b = interval
        x = np.array([conv(a), conv(b)], dtype=object if exact else np.float64)
    H = x[:, None].copy()
    one = Fraction(1) if exact else 1.0
    D = np.full((x.shape[0] + 1, 1), one, dtype=object if exact else np.float64)
    return x, H, D


def _layer(x, H, D, edge, A, b, bounded: bool):
    """Propagate one affine layer ``z = A h + b``; return knots, ``Z`` at knots, slopes, edges.

    ``H`` is the layer input at the knots, ``D`` its slope on the ``K + 1`` segments (rays
    included), ``edge`` marks knots where an earlier layer's activation pattern changes.
    """
    Z = H @ A.T + b
    DZ = D @ A.T
    K = x.shape[0]

    # Strict sign changes inside bounded segments: z_k z_{k+1} < 0.
    seg, neu = np.nonzero((Z[:-1] * Z[1:]) < 0)
    z0, z1 = Z[seg, neu], Z[seg + 1, neu]
    t = z0 / (z0 - z1)
    new_x = [x[seg] + t * (x[seg + 1] - x[seg])]
    new_Z = [Z[seg] + t[:, None] * (Z[seg + 1] - Z[seg])]
    new_seg = [seg + 1]                      # segment row in D (row k = (x[k-1], x[k]))
    new_neu = [neu]
    if not bounded:
        # Left ray: z(x_0 - s) = Z_0 - s DZ_0 vanishes at s = Z_0 / DZ_0 > 0.
        (neu_l,) = np.nonzero(Z[0] * DZ[0] > 0)
        s = Z[0, neu_l] / DZ[0, neu_l]
        new_x.insert(0, x[0] - s)
        new_Z.insert(0, Z[0][None, :] - s[:, None] * DZ[0][None, :])
        new_seg.insert(0, np.zeros(neu_l.shape, dtype=np.intp))
        new_neu.insert(0, neu_l)
        # Right ray: z(x_K + s) = Z_K + s DZ_K vanishes at s = -Z_K / DZ_K > 0.
        (neu_r,) = np.nonzero(Z[-1] * DZ[-1] < 0)
        s = -Z[-1, neu_r] / DZ[-1, neu_r]
        new_x.append(x[-1] + s)
        new_Z.append(Z[-1][None, :] + s[:, None] * DZ[-1][None, :])
        new_seg.append(np.full(neu_r.shape, K, dtype=np.intp))
        new_neu.append(neu_r)
    nx = np.concatenate(new_x)
    nZ = np.concatenate(new_Z) if nx.shape[0] else np.empty((0, Z.shape[1]), dtype=Z.dtype)
    nseg = np.concatenate(new_seg)
    nneu = np.concatenate(new_neu)
    nZ[np.arange(nx.shape[0]), nneu] = 0  # the crossing neuron is exactly zero at its own knot

    if nx.shape[0]:
        # New knots already come grouped by segment in increasing order (np.nonzero is row-major);
        # only knots of several neurons inside one segment need ordering, so a stable sort of a
        # nearly sorted array is cheap.
        order = np.argsort(nx, kind="stable")
        nx, nZ, nseg = nx[order], nZ[order], nseg[order]
        # Merge: a new knot in segment row s goes right after old knot s-1.
        M = K + nx.shape[0]
        is_new = np.zeros(M, dtype=bool)
        is_new[nseg + np.arange(nx.shape[0])] = True
        x2 = np.empty(M, dtype=x.dtype)
        Z2 = np.empty((M, Z.shape[1]), dtype=Z.dtype)
        x2[is_new], x2[~is_new] = nx, x
        Z2[is_new], Z2[~is_new] = nZ, Z
        edge2 = np.zeros(M, dtype=bool)
        edge2[~is_new] = edge
        # Segment row of each new segment: number of old knots to its left.
        old_left = np.concatenate([[0], np.cumsum(~is_new)])
        DZ2 = DZ[old_left]
        # Coincident knots (two neurons vanish at the same point): keep one, zero for both.
        # In float mode the interpolated zeros of such neurons differ by rounding (e.g. -4e-16
        # and 0.0), so knots within KNOT_RTOL of the knot scale count as coincident.
        if x2.dtype == object:
            dup = x2[1:] == x2[:-1]
        else:
            dup = np.diff(x2) <= KNOT_RTOL * np.max(np.abs(x2))
        if dup.any():
            keep = np.concatenate([[True], ~dup])
            starts = np.flatnonzero(keep)
            zero = np.logical_or.reduceat(Z2 == 0, starts, axis=0)
            x2, Z2 = x2[keep], Z2[keep]
            Z2[zero] = 0
            DZ2 = DZ2[np.concatenate([keep, [True]])]
            edge2 = np.logical_or.reduceat(edge2, starts)
        x, Z, DZ, edge = x2, Z2, DZ2, edge2
    return x, Z, DZ, edge


def _segment_active(Z, DZ):
    """On/off pattern of every neuron on every segment (rows as in :class:`LayerKnots`)."""
    # No pre-activation changes sign strictly inside a segment any more, so the sum of the
    # endpoint values has the sign of the segment; on the rays, look one unit outwards.
    inner = (Z[:-1] + Z[1:]) > 0
    left = (Z[0] - DZ[0]) > 0
    right = (Z[-1] + DZ[-1]) > 0
    return np.vstack([left[None, :], inner, right[None, :]])


def _run(net, interval, exact, record=None):
    net = _check_univariate(net)
    interval = check_interval(interval)
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be True or False, got {type(exact).__name__}")
    bounded = interval is not None
    x, H, D = _initial_state(interval, exact)
    region_edge = np.zeros(x.shape[0], dtype=bool)  # True where the activation pattern changes
    layers = net.layers
    for j, (A, b) in enumerate(layers, start=1):
        if exact:
            A, b = _to_exact(A), _to_exact(b)
        last = j == len(layers)
        if last:
            Z, DZ = H @ A.T + b, D @ A.T
            if record is not None:
                record.append(LayerKnots(x, Z, DZ))
            return x, Z[:, 0], DZ[:, 0], region_edge, bounded
        x, Z, DZ, region_edge = _layer(x, H, D, region_edge, A, b, bounded)
        if record is not None:
            record.append(LayerKnots(x, Z, DZ))
        active = _segment_active(Z, DZ)
        # Knot k separates segment rows k and k+1.
        region_edge = region_edge | np.any(active[:-1] != active[1:], axis=1)
        H = np.where(Z > 0, Z, 0 if exact else 0.0)
        D = np.where(active, DZ, Fraction(0) if exact else 0.0)
    raise AssertionError("unreachable")


def _interior(x, bounded):
    """Indices of knots that are interior points of the domain (endpoints are not breakpoints)."""
    return np.arange(1, x.shape[0] - 1) if bounded else np.arange(x.shape[0])


def breakpoints(net, interval=None, exact=False) -> np.ndarray:
    """Breakpoints of the realisation of a univariate network: where its slope changes.

    Chapter 1, {prf:ref}`alg-knot-propagation`; tested in ``tests/test_pieces.py``.

    Parameters
    ----------
    net : ReLUNetwork
        A network with ``widths[0] == widths[-1] == 1``.
    interval : (a, b) or None
        Finite ``a < b``, or ``None`` for the whole real line. The endpoints are never breakpoints.
    exact : bool
        ``False``: float64 propagation. ``True``: the same propagation in rational arithmetic
        (``fractions.Fraction``); the result is then an object array of ``Fraction``.

    Returns
    -------
    numpy.ndarray, shape ``(P - 1,)``
        The sorted breakpoints; ``P`` is the number of maximal affine pieces.
    """
    x, _, slope, _, bounded = _run(net, interval, exact)
    idx = _interior(x, bounded)
    left, right = slope[idx], slope[idx + 1]
    if exact:
        changed = left != right
    else:
        changed = np.abs(left - right) > SLOPE_RTOL * np.maximum(np.abs(left), np.abs(right))
    return x[idx[changed]]


def count_pieces(net, interval=None, exact=False) -> int:
    """Number of maximal affine pieces of ``R(Φ)`` on ``interval`` (``None``: the whole line).

    Chapter 1, {prf:ref}`def-pieces`; tested in ``tests/test_pieces.py`` against ``exact=True``
    and against hand-made networks with known answers. Parameters as in :func:`breakpoints`.

    Returns
    -------
    int
    """
    return int(breakpoints(net, interval, exact).shape[0]) + 1


def count_activation_regions(net, interval=None, exact=False) -> int:
    """Number of maximal intervals on which the on/off pattern of all hidden neurons is constant.

    Chapter 1, {prf:ref}`def-pieces`. A neuron is *on* where its pre-activation is > 0. Patterns
    are compared on the open segments between knots, so a neuron that only touches zero at one
    point does not split a region. Always ``count_pieces <= count_activation_regions``.

    Parameters and returns as in :func:`count_pieces`.
    """
    x, _, _, edge, bounded = _run(net, interval, exact)
    return int(np.count_nonzero(edge[_interior(x, bounded)])) + 1


def propagate_knots(net, interval=None, exact=False) -> list:
    """The propagation state after every layer, for pictures of the algorithm.

    Returns
    -------
    list of LayerKnots
        One entry per layer ``j = 1, …, L``: the knots after layer ``j``'s ReLU splits, and the
        pre-activations ``z^(j)`` at those knots (for the last layer, the output).
    """
    record: list = []
    _run(net, interval, exact, record)
    return record


def count_regions_on_grid(net, interval, num_points: int) -> int:
    """Activation regions *seen* by sampling ``num_points`` equally spaced points of ``interval``.

    This is the sampling method many papers use; it can only undercount, since two grid points
    with different patterns have at least one region boundary between them, while regions
    narrower than the grid spacing can fall between two points. Chapter 1, section
    "Sampling undercounts".

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network.
    interval : (a, b)
        Finite interval (sampling cannot cover the whole line).
    num_points : int
        Number of grid points, >= 2.
    """
    net = _check_univariate(net)
    a, b = check_interval(interval, allow_none=False)
    num_points = check_int(num_points, "num_points", minimum=2, maximum=10**9)
    # Evaluate in chunks so that memory stays bounded for very fine grids.
    changes, prev = 0, None
    chunk = max(1, 2**22 // max(1, net.num_neurons))
    grid_index = np.arange(num_points)
    for start in range(0, num_points, chunk):
        xs = a + (b - a) * (grid_index[start:start + chunk] / (num_points - 1))
        pat = net.activation_pattern(xs)
        if prev is not None:
            pat = np.vstack([prev, pat])
        changes += int(np.count_nonzero(np.any(pat[1:] != pat[:-1], axis=1)))
        prev = pat[-1:]
    return changes + 1
