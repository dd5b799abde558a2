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

Performance (``benchmarks/bench_pieces.py``, results in ``benchmarks/results/pieces.md``): the
new knots of a layer arrive in segment order, so they are *merged* into the old ones, never
re-sorted; arrays are freed as soon as their successor exists and elementwise work is done in
place. When every segment is split exactly once (the sawtooth, Yarotsky's square) the new knots
are written straight into the odd rows of the merged arrays. With many knots the ``(K, n)``
arrays are column-major, so each pass runs along the long knot axis. Activation-region
bookkeeping is only done for :func:`count_activation_regions`. The same propagation for many
networks at once (to record training at every step) is in :mod:`nnlib.tracking`.
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


# Rows processed per block when a pass over all knots would otherwise need a full-size temporary.
_BLOCK = 1 << 16
# Below this many new knots per layer, numpy call overhead dominates and simpler code paths win.
_SMALL = 4096


def _order(a):
    """``"F"`` for a column-major 2-D array (that is not also row-major), else ``"C"``."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def _crossings(Z):
    """Strict sign changes of neuron ``i`` between knots ``k`` and ``k + 1``: bool ``(K - 1, n)``."""
    pos = Z > 0
    neg = Z < 0
    cross = pos[:-1] & neg[1:]
    cross |= neg[:-1] & pos[1:]
    return cross


def _sort_within_segments(nseg, nx, *arrays):
    """Order the new knots of each segment by position (segments themselves are already ordered).

    ``np.flatnonzero`` lists crossings segment by segment, so only segments that receive several
    knots (several neurons vanishing inside one segment) need sorting; a stable sort of just those
    knots by ``x`` orders them within their segment and keeps the segments in order.
    """
    if nseg.shape[0] < 2:
        return nseg, nx, arrays
    if nseg.shape[0] <= _SMALL:
        # Few knots: one sort by (segment, x) is cheaper than finding the groups. Sorting by the
        # segment first keeps every knot in its own segment even if rounding put it an ulp outside.
        order = np.lexsort((nx, nseg))
        return nseg[order], nx[order], tuple(a[order] for a in arrays)
    same = nseg[1:] == nseg[:-1]
    if not same.any():
        return nseg, nx, arrays
    grouped = np.zeros(nseg.shape[0], dtype=bool)
    grouped[1:] |= same
    grouped[:-1] |= same
    idx = np.flatnonzero(grouped)
    order = idx[np.argsort(nx[idx], kind="stable")]
    nx = nx.copy()
    nx[idx] = nx[order]
    out = []
    for a in arrays:
        a = a.copy()
        a[idx] = a[order]
        out.append(a)
    return nseg, nx, tuple(out)


def _split_every_segment(parts, zero):
    """Merge step when every bounded segment holds exactly one crossing (``K - 1`` new knots).

    ``parts = [x, Z, DZ, edge, f, seg]`` (``f`` flat crossing indices, ``seg = f // n``) is
    emptied so that each old array is freed as soon as its merged successor exists. New knot
    ``i`` becomes row ``2i + 1``; old knot ``k`` row ``2k``; old segment row ``k`` becomes rows
    ``2k - 1`` and ``2k``. The arithmetic is the same as in :func:`_split_general`.
    """
    x, Z, DZ, edge, g, seg, neu = parts
    parts.clear()
    K, n = Z.shape
    M = 2 * K - 1
    if seg is None:                               # a single neuron ``neu`` crosses everywhere
        del g
        t = np.subtract(Z[:-1, neu], Z[1:, neu])
        np.divide(Z[:-1, neu], t, out=t)          # t = z0 / (z0 - z1) ∈ [0, 1]
    else:
        t = _segment_t(Z, g, seg, neu)
        del g
    x2 = np.empty(M, dtype=x.dtype)
    x2[0::2] = x
    xn = x2[1::2]
    np.subtract(x[1:], x[:-1], out=xn)
    xn *= t
    xn += x[:-1]                                  # x0 + t (x1 - x0)
    del x, xn
    order = _order(Z)
    Z2 = np.empty((M, n), dtype=Z.dtype, order=order)
    Z2[0::2] = Z
    Zn = Z2[1::2]
    np.subtract(Z[1:], Z[:-1], out=Zn)
    Zn *= t[:, None]
    Zn += Z[:-1]                                  # Z0 + t (Z1 - Z0): exact on the affine segment
    del Z, Zn, t
    # The crossing neuron is exactly zero at its own knot (row 2 seg + 1).
    if seg is None:
        Z2[1::2, neu] = zero
    else:
        idx = neu * M
        del neu
        seg *= 2
        idx += seg
        idx += 1
        del seg
        if order == "F":
            Z2.T.reshape(-1)[idx] = zero          # Z2.T is a contiguous (n, M) view
        else:
            Z2.reshape(-1)[(idx % M) * n + idx // M] = zero
        del idx
    DZ2 = np.empty((M + 1, n), dtype=DZ.dtype, order=_order(DZ))
    DZ2[0] = DZ[0]
    DZ2[1:M:2] = DZ[1:K]
    DZ2[2:M:2] = DZ[1:K]
    DZ2[M] = DZ[K]
    del DZ
    if edge is not None:
        edge2 = np.zeros(M, dtype=bool)
        edge2[0::2] = edge
        edge = edge2
    return x2, Z2, DZ2, edge


def _segment_t(Z, g, seg, neu):
    """``t = z0 / (z0 - z1)`` of the one crossing neuron of every segment, in segment order."""
    K = Z.shape[0]
    Zt = Z.T                                      # (n, K); contiguous if Z is column-major
    if not Zt.flags.c_contiguous:
        Zt = np.ascontiguousarray(Zt)
    Zf = Zt.reshape(-1)
    idx = g + neu                                 # flat index neu K + seg of z0 in Zt
    del g
    z0 = Zf[idx]
    idx += 1
    z1 = Zf[idx]
    del idx, Zt, Zf
    np.subtract(z0, z1, out=z1)
    np.divide(z0, z1, out=z0)                     # t = z0 / (z0 - z1) ∈ [0, 1]
    del z1
    if seg.shape[0] and (seg[0] != 0 or seg[-1] != K - 2 or not np.all(seg[1:] > seg[:-1])):
        t = np.empty(K - 1, dtype=z0.dtype)
        t[seg] = z0                               # back to segment order
    else:
        t = z0
    return t


def _split_general(parts, bounded, zero):
    """Merge step in general: any number of crossings per segment, rays on the whole line.

    ``parts`` as in :func:`_split_every_segment`. Returns the merged knots, values and slopes
    (before the removal of coincident knots).
    """
    x, Z, DZ, edge, seg, neu = parts
    parts.clear()
    K, n = Z.shape
    z0 = Z[seg, neu]
    z1 = Z[seg + 1, neu]
    np.subtract(z0, z1, out=z1)
    t = np.divide(z0, z1, out=z0)                 # t = z0 / (z0 - z1) ∈ [0, 1]
    del z1
    x0 = x[seg]
    x1 = x[seg + 1]
    nx = x1 - x0
    nx *= t
    nx += x0                                      # x0 + t (x1 - x0)
    del x0, x1
    nZ = Z[seg]
    tmp = Z[seg + 1]
    tmp -= nZ
    tmp *= t[:, None]
    nZ += tmp                                     # Z0 + t (Z1 - Z0): exact on the affine segment
    del tmp, t
    nseg = seg + 1                                # segment row (row k = (x[k-1], x[k]))
    del seg
    if not bounded:
        # Rays: z(x_end + s) = Z_end + s DZ_end vanishes at x_end − Z_end / DZ_end, which lies on
        # the left ray iff Z_0 DZ_0 > 0 and on the right ray iff Z_K DZ_K < 0.
        ends, slopes = Z[[0, -1]], DZ[[0, K]]
        prod = ends * slopes
        on_ray = np.empty((2, n), dtype=bool)
        np.greater(prod[0], 0, out=on_ray[0])
        np.less(prod[1], 0, out=on_ray[1])
        side, rneu = np.nonzero(on_ray)                 # left-ray crossings first
        if side.shape[0]:
            r = ends[side, rneu] / slopes[side, rneu]
            rx = x[[0, -1]][side] - r
            rZ = ends[side] - r[:, None] * slopes[side]
            nl = int(np.count_nonzero(on_ray[0]))
            nx = np.concatenate((rx[:nl], nx, rx[nl:]))
            nZ = np.concatenate((rZ[:nl], nZ, rZ[nl:]))
            nseg = np.concatenate((side[:nl] * K, nseg, side[nl:] * K))
            neu = np.concatenate((rneu[:nl], neu, rneu[nl:]))
    n_new = nx.shape[0]
    if n_new == 0:
        return x, Z, DZ, edge
    nZ[np.arange(n_new), neu] = zero              # the crossing neuron is exactly 0
    del neu
    nseg, nx, (nZ,) = _sort_within_segments(nseg, nx, nZ)
    # New knot i goes right after old knot nseg[i] - 1.
    M = K + n_new
    is_new = np.zeros(M, dtype=bool)
    is_new[nseg + np.arange(n_new)] = True
    is_old = ~is_new
    x2 = np.empty(M, dtype=x.dtype)
    x2[is_new] = nx
    x2[is_old] = x
    del x, nx
    Z2 = np.empty((M, n), dtype=Z.dtype, order=_order(Z))
    Z2[is_new] = nZ
    Z2[is_old] = Z
    del Z, nZ
    if edge is not None:
        edge2 = np.zeros(M, dtype=bool)
        edge2[is_old] = edge
        edge = edge2
    del is_new, is_old
    reps = np.bincount(nseg, minlength=K + 1)
    reps += 1
    del nseg
    DZ2 = np.repeat(DZ, reps, axis=0)             # a split segment keeps its slope
    return x2, Z2, DZ2, edge


def _layer(state, A, b, bounded: bool, zero, want_edge: bool, record):
    """Propagate one hidden layer ``z = A h + b`` followed by the ReLU, in place where possible.

    ``state = [x, H, D, edge]`` holds the sorted knots, the layer input at the knots, its slope on
    the ``K + 1`` segment rows (rays included) and, if ``want_edge``, the knots where an earlier
    layer's activation pattern changes. The list is emptied and refilled, so that the old arrays
    are freed as soon as they are no longer needed (peak memory is what limits the sawtooth).
    """
    x, H, D, edge = state
    state.clear()
    # Many knots: column-major (K, n) arrays, so that each neuron's values are contiguous and the
    # elementwise passes below run along the long knot axis instead of rows of length n. Few
    # knots (call overhead dominates): row-major, which numpy handles with less per-call work.
    if x.shape[0] >= _SMALL:
        Z = (A @ H.T).T
        DZ = (A @ D.T).T
    else:
        Z = H @ A.T
        DZ = D @ A.T
    del H, D
    Z += b
    K, n = Z.shape

    # 1. New knots: strict sign changes inside bounded segments, at the exact zero of the segment.
    cross = _crossings(Z)
    fast = False
    if bounded and K >= 2:
        g = np.flatnonzero(cross.T)               # neuron-major: g = neu (K - 1) + seg
        if g.shape[0] == K - 1:
            if g[0] // (K - 1) == g[-1] // (K - 1):
                # One neuron crosses in every segment (the hat neuron ϱ(g − ½) of the sawtooth).
                fast, neu, seg = True, int(g[0] // (K - 1)), None
            else:
                neu, seg = np.divmod(g, K - 1)
                hit = np.zeros(K - 1, dtype=bool)
                hit[seg] = True
                fast = bool(hit.all())
                del hit
    if fast:
        # Every segment is split exactly once (the sawtooth and Yarotsky's square): write the new
        # knots straight into the odd rows of the merged arrays, without gathers or temporaries.
        del cross
        parts = [x, Z, DZ, edge, g, seg, neu]
        del x, Z, DZ, edge, g, seg, neu
        x, Z, DZ, edge = _split_every_segment(parts, zero)
    else:
        f = np.flatnonzero(cross)                 # segment-major: f = seg n + neu
        del cross
        seg, neu = np.divmod(f, n)
        del f
        parts = [x, Z, DZ, edge, seg, neu]
        del x, Z, DZ, edge, seg, neu
        x, Z, DZ, edge = _split_general(parts, bounded, zero)
    if x.shape[0] > K:
        # Coincident knots (two neurons vanish at the same point): keep one, zero for both.
        # In float mode the interpolated zeros of such neurons differ by rounding (e.g. -4e-16
        # and 0.0), so knots within KNOT_RTOL of the knot scale count as coincident (the knots
        # are sorted, so the scale max|x| is attained at an end).
        dup = _coincident(x, isinstance(zero, Fraction))
        if dup is not None:
            keep = np.concatenate([[True], ~dup])
            starts = np.flatnonzero(keep)
            zeros = np.logical_or.reduceat(Z == 0, starts, axis=0)
            x, Z = x[keep], Z[keep]
            Z[zeros] = zero
            DZ = DZ[np.concatenate([keep, [True]])]
            if want_edge:
                edge = np.logical_or.reduceat(edge, starts)
        del dup

    if record is not None:
        record.append(LayerKnots(x, Z.copy(), DZ.copy()))

    # 3. On/off pattern per segment. No pre-activation changes sign strictly inside a segment any
    #    more, so the sum of the endpoint values has the sign of the segment; on the rays, look one
    #    unit outwards. Inactive neurons get slope 0, then the ReLU is applied to the values.
    left_on = (Z[0] - DZ[0]) > 0
    right_on = (Z[-1] + DZ[-1]) > 0
    M, n = Z.shape
    if want_edge:
        off = np.empty((M + 1, n), dtype=bool)
        np.logical_not(left_on, out=off[0])
        np.less_equal(Z[:-1] + Z[1:], 0, out=off[1:M])
        np.logical_not(right_on, out=off[M])
        # Knot k separates segment rows k and k + 1.
        edge |= (off[:-1] != off[1:]).any(axis=1)
        np.copyto(DZ, zero, where=off)
        del off
    else:
        DZ[0][~left_on] = zero
        DZ[M][~right_on] = zero
        for r0 in range(1, M, _BLOCK):
            r1 = min(M, r0 + _BLOCK)
            off = np.add(Z[r0 - 1:r1 - 1], Z[r0:r1]) <= 0
            np.copyto(DZ[r0:r1], zero, where=off)
    if isinstance(zero, Fraction):
        Z = np.where(Z > 0, Z, zero)
    else:
        np.maximum(Z, 0.0, out=Z)
    state.extend([x, Z, DZ, edge])


def _run(net, interval, exact, record=None, want_edge=False, want_values=True):
    """Propagate through all layers; return knots, output values, output slopes, edges, bounded."""
    net = _check_univariate(net)
    interval = check_interval(interval)
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be True or False, got {type(exact).__name__}")
    bounded = interval is not None
    zero = Fraction(0) if exact else 0.0
    x, H, D = _initial_state(interval, exact)
    # True where the activation pattern changes (only tracked for count_activation_regions).
    state = [x, H, D, np.zeros(x.shape[0], dtype=bool) if want_edge else None]
    del x, H, D
    layers = net.layers
    for j, (A, b) in enumerate(layers, start=1):
        if exact:
            A, b = _to_exact(A), _to_exact(b)
        if j < len(layers):
            _layer(state, A, b, bounded, zero, want_edge, record)
            continue
        x, H, D, edge = state
        state.clear()
        DZ = (A @ D.T).T
        del D
        if want_values or record is not None:
            Z = (A @ H.T).T + b
        else:
            Z = None
        del H
        if record is not None:
            record.append(LayerKnots(x, Z, DZ))
        return x, (None if Z is None else Z[:, 0]), DZ[:, 0], edge, bounded
    raise AssertionError("unreachable")


def _coincident(x, exact):
    """``dup[k]``: knot ``k + 1`` coincides with knot ``k``; ``None`` if no two knots coincide.

    Scanned in blocks, so that the common case (no coincidences) needs no full-size temporary.
    """
    if exact:
        dup = x[1:] == x[:-1]
        return dup if dup.any() else None
    tol = KNOT_RTOL * max(-x[0], x[-1])             # max |x| of sorted knots
    n = x.shape[0] - 1
    for r0 in range(0, n, _BLOCK):
        r1 = min(n, r0 + _BLOCK)
        if (x[r0 + 1:r1 + 1] - x[r0:r1] <= tol).any():
            return x[1:] - x[:-1] <= tol
    return None


def _changed(x, slope, bounded, exact):
    """Interior knots (endpoints of a bounded interval excluded) where the output slope changes."""
    K = x.shape[0]
    if bounded:
        xs, left, right = x[1:K - 1], slope[1:K - 1], slope[2:K]
    else:
        xs, left, right = x, slope[:K], slope[1:K + 1]
    if exact:
        return xs, left != right
    # |left − right| > SLOPE_RTOL max(|left|, |right|), in blocks (no full-size float temporaries).
    changed = np.empty(xs.shape[0], dtype=bool)
    for r0 in range(0, xs.shape[0], _BLOCK):
        r1 = min(xs.shape[0], r0 + _BLOCK)
        lb, rb = left[r0:r1], right[r0:r1]
        diff = np.abs(lb - rb)
        scale = np.maximum(np.abs(lb), np.abs(rb))
        scale *= SLOPE_RTOL
        np.greater(diff, scale, out=changed[r0:r1])
    return xs, changed


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
    x, _, slope, _, bounded = _run(net, interval, exact, want_values=False)
    xs, changed = _changed(x, slope, bounded, exact)
    return xs[changed]


def count_pieces(net, interval=None, exact=False) -> int:
    """Number of maximal affine pieces of ``R(Φ)`` on ``interval`` (``None``: the whole line).

    Chapter 1, {prf:ref}`def-pieces`; tested in ``tests/test_pieces.py`` against ``exact=True``
    and against hand-made networks with known answers. Parameters as in :func:`breakpoints`.

    Returns
    -------
    int
    """
    x, _, slope, _, bounded = _run(net, interval, exact, want_values=False)
    return int(np.count_nonzero(_changed(x, slope, bounded, exact)[1])) + 1


def count_activation_regions(net, interval=None, exact=False) -> int:
    """Number of maximal intervals on which the on/off pattern of all hidden neurons is constant.

    Chapter 1, {prf:ref}`def-pieces`. A neuron is *on* where its pre-activation is > 0. Patterns
    are compared on the open segments between knots, so a neuron that only touches zero at one
    point does not split a region. Always ``count_pieces <= count_activation_regions``.

    Parameters and returns as in :func:`count_pieces`.
    """
    x, _, _, edge, bounded = _run(net, interval, exact, want_edge=True, want_values=False)
    inner = edge[1:x.shape[0] - 1] if bounded else edge
    return int(np.count_nonzero(inner)) + 1


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
