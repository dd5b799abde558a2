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

Float mode is *exact or refuses*: it never returns a count that differs from ``exact=True``.

* While all data are dyadic with few enough bits (the sawtooth, Yarotsky's square, float16
  weights), float64 arithmetic is exact and a cheap certificate, kept per neuron and layer, says
  so: signs, zeros and coincident knots are then decided exactly in float (the certificate and
  the integer slope arithmetic below are in the internal module ``nnlib._dyadic``).
* Otherwise float decides only what it decides with a margin: a pre-activation with
  ``|z| <= ZERO_RTOL`` × its magnitude (a float ``0.0`` included), two knots within
  ``KNOT_RTOL × max|x|`` of each other, or output slopes within ``SLOPE_RTOL`` are *uncertain*.
  Around each uncertain knot the same propagation is re-run in rational arithmetic on a small
  window between its neighbouring knots, and the exact knots, values and slopes replace the float
  ones there. Output slopes within ``SLOPE_RTOL`` of each other, equal floats included, at a knot
  where an activation pattern changes are compared exactly: the slope of each neighbouring piece
  at one point, in integer arithmetic on the dyadic floats. No exact arithmetic is needed where
  both slopes are certainly 0: every last hidden slope is a float 0 and no float slope 0 of the
  run came from nonzero terms (cancellation, underflow), or float shows, with the margin, a layer
  whose neurons are all off. Values and slopes outside float64's range are refused, including
  exact ones of a window that would round to 0. Beyond ``EXACT_WORK`` exact operations float
  mode raises a ``ValueError`` that suggests ``exact=True``.

The same engine runs ``B`` networks of one shape at once (:func:`batched_states`, for recording
training); a network of a batch with an uncertain decision is re-run on its own.

Performance (``benchmarks/bench_pieces.py``, results in ``benchmarks/results/pieces.md``): the
new knots of a layer arrive in segment order, so they are *merged* into the old ones, never
re-sorted; arrays are freed as soon as their successor exists and elementwise work is done in
place. When every segment is split exactly once (the sawtooth, Yarotsky's square) the new knots
are written straight into the odd rows of the merged arrays. With many knots the ``(K, n)``
arrays are column-major, so each pass runs along the long knot axis. Activation-region
bookkeeping is only done for :func:`count_activation_regions`. :func:`network_state` and
:func:`batched_states` (one network or a batch, for recording training) run the same engine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._dyadic import Certificate, dyadic_ints, exact_slope_at, exact_slopes_at, slopes_differ
from ._validate import as_real_array, check_flag, check_int, check_interval, check_network
from .networks import ReLUNetwork

__all__ = [
    "breakpoints",
    "count_pieces",
    "count_activation_regions",
    "count_regions_on_grid",
    "propagate_knots",
    "network_state",
    "batched_states",
    "LayerKnots",
    "MAX_MEMORY_BYTES",
]

# Slopes are propagated by the chain rule (not by finite differences), so two segments with the
# same activation pattern get bit-identical slopes. Different patterns whose slopes agree
# mathematically (a kink whose effect is cancelled downstream) may differ by rounding; slopes this
# close are compared exactly (see below). Exact mode compares exactly.
SLOPE_RTOL = 1e-9
# Float mode is exact-or-refuse. Float arithmetic decides only what it decides with a wide margin;
# everything closer is decided exactly (rational arithmetic on a small window around the few
# affected knots) or refused with a ValueError. The margins:
# * two adjacent knots closer than KNOT_RTOL × (the larger |x| of their neighbouring knots) may be
#   one knot or two (interpolated zeros carry rounding relative to the segment they were found in);
KNOT_RTOL = 2.0**-40
# * a non-zero pre-activation with |z| <= ZERO_RTOL × (|A_i|·max|h| + |b_i|) may have the wrong
#   sign (a missed or spurious crossing at that knot);
ZERO_RTOL = 2.0**-40
# * slopes that differ by at most SLOPE_RTOL (relative), including exactly equal slopes at a knot,
#   may or may not change there (a kink cancelled downstream).
# * float64 keeps its relative accuracy only between about 2^-1022 and 2^1024: a layer whose values
#   could exceed _HUGE, or are all below _TINY, is refused; every margin also has an absolute part
#   of a few units of the smallest subnormal, and slopes closer than _TINY are compared exactly.
_HUGE, _TINY, _ULP0 = 2.0**1020, 2.0**-1000, 2.0**-1073
# Exact decisions cost rational operations; float mode refuses beyond this many (about 1 s).
EXACT_WORK = 1_000_000
#: Counting refuses (ValueError naming the estimate) when the knots of a layer would need more memory
#: than this: about 8 (2 + 3 N) bytes per knot of a width-N layer (knots, values, slopes, temporaries).
MAX_MEMORY_BYTES = 6 * 2**30


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
_MAX, _MIN = np.maximum.reduce, np.minimum.reduce   # reductions without ndarray.max's wrapper
_ANY = np.logical_or.reduce                       # (ndarray.any's wrapper costs more than a tiny pass)
_LEFT_RIGHT = np.array([[1], [-1]])               # the outward direction of the left and right ray
                                                  # (integers: a Fraction times a float is a float)


def _order(a):
    """``"F"`` for a column-major 2-D array (that is not also row-major), else ``"C"``."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def _crossings(Z):
    """Strict sign changes of neuron ``i`` between knots ``k`` and ``k + 1``: bool ``(K - 1, n)``."""
    # Few entries: fewer calls (signs, not products, which could underflow to 0). More (from about
    # 2,000 entries on, measured): bool arrays, 1 byte per entry, not the 8 of a float sign array
    # (faster passes, and the sawtooth's peak memory).
    if Z.size <= 2048 and Z.dtype != object:
        s = np.sign(Z)
        s = s[:-1] * s[1:]
        return s < 0
    pos = Z > 0
    neg = Z < 0
    cross = pos[:-1] & neg[1:]
    cross |= neg[:-1] & pos[1:]
    return cross


def _sort_within_segments(nseg, nx, nZ):
    """Order the new knots of each segment by position (segments themselves are already ordered);
    ``nx`` and ``nZ`` (their values) may be reordered in place.

    ``nonzero`` lists crossings segment by segment, so only segments that receive several
    knots (several neurons vanishing inside one segment) need sorting: just those knots are sorted
    by (segment, ``x``). Sorting them by ``x`` alone would interleave the segments of different
    networks of a batch, whose positions are not ordered across networks.
    """
    if nseg.shape[0] < 2:
        return nseg, nx, nZ
    if nseg.shape[0] <= _SMALL:
        # Few knots: one sort by (segment, x) is cheaper than finding the groups. Sorting by the
        # segment first keeps every knot in its own segment even if rounding put it an ulp outside.
        order = np.lexsort((nx, nseg))
        return nseg.take(order), nx.take(order), nZ.take(order, axis=0)
    same = nseg[1:] == nseg[:-1]
    if not same.any():
        return nseg, nx, nZ
    grouped = np.zeros(nseg.shape[0], dtype=bool)
    grouped[1:] |= same
    grouped[:-1] |= same
    idx = grouped.nonzero()[0]
    order = idx[np.lexsort((nx[idx], nseg[idx]))]
    for a in (nx, nZ):                            # in place: the caller's fresh arrays
        a[idx] = a[order]                         # (the right side is gathered first)
    return nseg, nx, nZ


def _split_every_segment(parts, zero, cert=None):
    """Merge step when every bounded segment holds exactly one crossing (``K - 1`` new knots).

    ``parts = [x, Z, DZ, edge, g, seg, neu]`` as :func:`_one_split_per_segment` gives them is
    emptied so that each old array is freed as soon as its merged successor exists. New knot
    ``i`` becomes row ``2i + 1``; old knot ``k`` row ``2k``; old segment row ``k`` becomes rows
    ``2k - 1`` and ``2k``. The arithmetic is the same as in :func:`_interior_knots`.
    """
    x, Z, DZ, edge, g, seg, neu = parts
    parts.clear()
    K, n = Z.shape
    M = 2 * K - 1
    if seg is None:                               # a single neuron ``neu`` crosses everywhere
        del g
        t = np.subtract(Z[:-1, neu], Z[1:, neu])
        np.divide(Z[:-1, neu], t, out=t)          # t = z0 / (z0 - z1) ∈ [0, 1]
        if cert is not None:
            cert.knots(t)
    else:
        t = _segment_t(Z, g, seg, neu, cert)
        del g
    x2 = np.empty(M, dtype=x.dtype)
    x2[0::2] = x
    xn = x2[1::2]
    np.subtract(x[1:], x[:-1], out=xn)
    xn *= t
    xn += x[:-1]                                  # x0 + t (x1 - x0) >= x0 (t >= 0)
    if xn.dtype != object and not (cert is not None and cert.exact):   # (exact: no rounding)
        np.minimum(xn, x[1:], out=xn)             # rounding must not leave the segment
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


def _segment_t(Z, g, seg, neu, cert=None):
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
    if cert is not None:
        cert.knots(z0)
    del z1
    if seg.shape[0] and (seg[0] != 0 or seg[-1] != K - 2 or not np.all(seg[1:] > seg[:-1])):
        t = np.empty(K - 1, dtype=z0.dtype)
        t[seg] = z0                               # back to segment order
    else:
        t = z0
    return t


def _ray_crossings(x, Z, DZ, cert):
    """Zeros on the two rays of the whole line: ``(x, Z, segment row, neuron, number on the left)``
    or ``None``.

    ``z(x_end + s) = Z_end + s DZ_end`` vanishes at ``x_end − Z_end / DZ_end``, which lies on the left
    ray iff ``Z_0 DZ_0 > 0`` and on the right ray iff ``Z_K DZ_K < 0``; left-ray crossings come first.
    """
    K, n = Z.shape
    if K >= 2:                                    # rows 0 and K - 1 as views (cheaper than a gather)
        ends, xend = Z[::K - 1], x[::K - 1]
    else:
        ends, xend = Z[[0, 0]], x[[0, 0]]
    slopes = DZ[::K]                              # rows 0 and K
    # sign(Z_0) DZ_0 > 0, -sign(Z_K) DZ_K > 0 (exact; the product Z DZ itself could underflow to 0)
    on_ray = np.sign(ends) * slopes * _LEFT_RIGHT > 0
    side, rneu = on_ray.nonzero()
    if not side.shape[0]:
        return None
    dz = slopes[side, rneu]
    r = ends[side, rneu] / dz
    rx = xend.take(side) - r
    if rx.dtype != object:                        # (at most 2 N values: Python is cheaper here)
        if not (max(map(abs, rx.tolist())) < _HUGE and min(map(abs, dz.tolist())) > _TINY):
            raise _range_error("a kink on a ray lies beyond 1e307 or has a slope below 1e-301")
    rZ = ends.take(side, axis=0) - r[:, None] * slopes.take(side, axis=0)
    if cert is not None and cert.exact:
        cert.rays(xend, ends, slopes, side, rneu, r, rx, rZ)
    nl = side.shape[0] - np.count_nonzero(side)   # (side: 0 on the left ray, 1 on the right)
    side *= K                                     # the left ray is segment row 0, the right row K
    return rx, rZ, side, rneu, nl


def _interior_knots(x, Z, f, cert):
    """The knots inside bounded segments at the flat crossings ``f = seg n + neu`` (segment-major,
    non-empty; may be changed): ``(nx, nZ, nseg, neu)``, ``nseg`` the segment row (knot ``k`` ends
    row ``k``)."""
    n = Z.shape[1]
    seg, neu = np.divmod(f, n)
    nseg = seg + 1                                # segment row (row k = (x[k-1], x[k]))
    if Z.flags.c_contiguous:                      # (take is cheaper than fancy indexing)
        Zf = Z.reshape(-1)
        z0 = Zf.take(f)
        f += n
        z1 = Zf.take(f)
        del Zf
    else:
        z0 = Z[seg, neu]
        z1 = Z[nseg, neu]
    np.subtract(z0, z1, out=z1)
    t = np.divide(z0, z1, out=z0)                 # t = z0 / (z0 - z1) ∈ [0, 1]
    if cert is not None:
        cert.knots(t)
    del z1
    x0 = x.take(seg)
    x1 = x.take(nseg)
    nx = x1 - x0
    nx *= t
    nx += x0                                      # x0 + t (x1 - x0)
    if nx.dtype != object:                        # rounding must not leave the segment
        np.minimum(nx, x1, out=nx)
        np.maximum(nx, x0, out=nx)
    del x0, x1
    nZ = Z.take(seg, axis=0)
    del seg
    tmp = Z.take(nseg, axis=0)
    tmp -= nZ
    tmp *= t[:, None]
    nZ += tmp                                     # Z0 + t (Z1 - Z0): exact on the affine segment
    return nx, nZ, nseg, neu


def _split_general(parts, bounded, zero, batch=None, cert=None):
    """Merge step in general: any number of crossings per segment, rays on the whole line.

    ``parts = [x, Z, DZ, edge, f]`` (``f = seg n + neu`` the flat crossing indices, segment-major)
    is emptied. Returns the merged knots, values and slopes (before the removal of coincident knots).
    """
    x, Z, DZ, edge, f = parts
    parts.clear()
    new = _interior_knots(x, Z, f, cert) if f.shape[0] else None
    del f
    rays = None if bounded else _ray_crossings(x, Z, DZ, cert)
    if rays is None:
        if new is None:
            return x, Z, DZ, edge
        nx, nZ, nseg, neu = new
    elif new is None:
        nx, nZ, nseg, neu, _ = rays
    else:                                         # left-ray knots, interior knots, right-ray knots
        nl = rays[4]
        nx, nZ, nseg, neu = (np.concatenate((r[:nl], v, r[nl:])) for r, v in zip(rays, new))
    del new, rays
    n_new = nx.shape[0]
    nZ[np.arange(n_new), neu] = zero              # the crossing neuron is exactly 0
    del neu
    nseg, nx, nZ = _sort_within_segments(nseg, nx, nZ)
    parts = [x, Z, DZ, edge, nseg, nx, nZ]
    del x, Z, DZ, edge, nseg, nx, nZ              # the merge frees each array once copied
    return _merge_new_knots(parts, batch)


def _merge_new_knots(parts, batch):
    """Insert the new knots ``nx`` (values ``nZ``, sorted, new knot ``i`` right after old knot
    ``nseg[i] - 1``) among the old ones; a split segment keeps its slope.

    ``parts = [x, Z, DZ, edge, nseg, nx, nZ]`` is emptied, so that each array is freed once copied.
    """
    x, Z, DZ, edge, nseg, nx, nZ = parts
    parts.clear()
    K, n = Z.shape
    n_new = nx.shape[0]
    M = K + n_new
    is_new = np.zeros(M, dtype=bool)
    is_new[nseg + np.arange(n_new)] = True
    is_old = ~is_new
    if batch is not None:                         # new knots belong to their segment's network
        gid2 = np.empty(M, dtype=batch["gid"].dtype)
        gid2[is_new] = batch["gid"][nseg]
        gid2[is_old] = batch["gid"]
        batch["gid"] = gid2
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
    DZ2 = DZ.repeat(reps, axis=0)                 # a split segment keeps its slope
    return x2, Z2, DZ2, edge


def _layer(state, A, b, bounded: bool, zero, want_edge: bool, record, oracle=None, depth=0, batch=None,
           cert=None, scale=None):
    """Propagate one hidden layer ``z = A h + b`` followed by the ReLU, in place where possible.

    ``state = [x, H, D, edge]`` holds the sorted knots, the layer input at the knots, its slope on
    the ``K + 1`` segment rows (rays included) and, if ``want_edge``, the knots where an earlier
    layer's activation pattern changes. The list is emptied and refilled, so that the old arrays
    are freed as soon as they are no longer needed (peak memory is what limits the sawtooth).

    Float mode passes the ``oracle`` (:class:`_Oracle`) that decides the uncertain cases exactly.
    ``batch`` (float mode, bounded interval) propagates ``B`` networks of one shape at once:
    ``A`` is ``(B, N_j, N_{j-1})``, ``b`` is ``(B, N_j)``, ``batch["gid"]`` says which network each
    knot belongs to (network ``g``'s knots are consecutive) and a network with an uncertain case is
    only marked in ``batch["unsure"]`` (it is then re-run on its own, with the oracle).
    ``record`` (if not ``None``) receives the layer after the split, before the ReLU: a list gets a
    :class:`LayerKnots` copy appended, a function is called with the pre-activations and slopes.
    ``scale`` = ``(max|A|, max|b|)`` if known (:attr:`ReLUNetwork.max_abs_weights`).
    """
    x, H, D, edge = state
    state.clear()
    spans = []
    originals = x if depth == 1 else None         # the first layer's knots before the split (sorted)
    if oracle is not None or batch is not None:
        # Float mode: signs within the margin of zero are uncertain (unless the certificate holds).
        certified = cert is not None and cert.layer(A, b, H, D)
        if not certified:
            dprev = None if oracle is None else oracle.dbound
            thresh, dbound, amax = _sign_margin(x, H, D, A, b, depth, dprev, scale)
        if oracle is not None:                    # |DZ| <= dbound: the next layer's |D| too
            oracle.dbound = None if certified else dbound
    if batch is not None:
        gid = batch["gid"]
    Z, DZ = _affine(H, D, A, b, batch)
    if (oracle is not None or batch is not None) and not certified:
        _check_new_slopes(x, D, DZ, A, bounded, oracle, batch, depth, amax, dbound)
        _flag_uncertain_signs(x, Z, H, A, b, thresh, batch, spans, bounded)
    del D, H
    K, n = Z.shape

    # 1. New knots: strict sign changes inside bounded segments, at the exact zero of the segment.
    cross = _crossings(Z)
    if batch is not None:
        cross &= (gid[:-1] == gid[1:])[:, None]   # only segments inside one network
    split = _one_split_per_segment(cross, K) if bounded and K >= 2 and batch is None else None
    if split is not None:
        # Every segment is split exactly once (the sawtooth and Yarotsky's square): write the new
        # knots straight into the odd rows of the merged arrays, without gathers or temporaries.
        del cross
        g, seg, neu = split
        parts = [x, Z, DZ, edge, g, seg, neu]
        del split
        del x, Z, DZ, edge, g, seg, neu
        x, Z, DZ, edge = _split_every_segment(parts, zero, cert)
    else:
        f = cross.ravel().nonzero()[0]            # segment-major: f = seg n + neu
        del cross
        parts = [x, Z, DZ, edge, f]
        del x, Z, DZ, edge, f
        x, Z, DZ, edge = _split_general(parts, bounded, zero, batch, cert)
    if x.shape[0] > K:
        if (oracle is None and batch is None) or (cert is not None and cert.exact):
            x, Z, DZ, edge = _merge_coincident(x, Z, DZ, edge, batch, zero, want_edge)
        else:
            if depth == 1:
                x, Z, DZ, edge = _merge_first_layer(x, Z, DZ, edge, A, b, batch, zero, want_edge, originals)
            _flag_close_knots(x, batch, spans, bounded)

    if callable(record):                          # a reader of the layer (batched_states' statistics)
        record(Z, DZ)
    elif record is not None:
        record.append(LayerKnots(x, Z.copy(), DZ.copy()))

    anchor = None                                 # (whole line: does a pattern change at 0?)
    if oracle is not None and not bounded and not want_edge and not oracle.anchor_edge:
        anchor = _anchor_knot(x)
        if anchor is True:
            oracle.anchor_edge, anchor = True, None
    Z, at_anchor = _apply_relu(Z, DZ, edge, want_edge, zero, anchor)   # 3. patterns, then the ReLU
    if at_anchor:
        oracle.anchor_edge = True
    state.extend([x, Z, DZ, edge])
    if cert is not None and cert.exact:
        cert.done()
    if spans:
        oracle.resolve(state, record, spans, depth, bounded)


def _check_new_slopes(x, D, DZ, A, bounded, oracle, batch, depth, amax, dbound):
    """Float mode, after ``DZ = D Aᵀ``: ray slopes near 0 are computed exactly (whole line), and
    ``batch["cancelled"]`` / ``oracle.cancelled`` (if tracked) learn whether some float slope 0
    came from nonzero terms (:func:`_cancelled_slopes`)."""
    if oracle is not None and not bounded:
        _check_ray_slopes(x, D, DZ, A, oracle, depth, amax, dbound)
    if batch is not None:
        if not batch["cancelled"]:
            batch["cancelled"] = _cancelled_slopes(D, DZ, A, batch)
    elif oracle.cancelled is False:
        oracle.cancelled = _cancelled_slopes(D, DZ, A, None)


def _flag_uncertain_signs(x, Z, H, A, b, thresh, batch, spans, bounded):
    """Float mode: pre-activations so close to zero (0 included) that their float sign is
    uncertain (a crossing there may be missing or spurious): the windows around their knots are
    added to ``spans`` (decided exactly), or their network is marked unsure (batch)."""
    gid = None if batch is None else batch["gid"]
    tiny = _tiny_rows(Z, thresh)
    if not tiny.shape[0]:
        return
    tiny = _uncertain_rows(tiny, Z, H, A, b, gid)
    if batch is not None:
        batch["unsure"][gid[tiny]] = True
    else:
        spans.extend(_spans(x, tiny, bounded))


def _affine(H, D, A, b, batch):
    """Pre-activations ``Z = H Aᵀ + b`` at the knots and their slopes ``DZ = D Aᵀ`` on the segments.

    Many knots: column-major ``(K, n)`` arrays, so that each neuron's values are contiguous and the
    elementwise passes run along the long knot axis instead of rows of length n. Few knots (call
    overhead dominates): row-major, which numpy handles with less per-call work.
    """
    if batch is not None:
        Z, DZ = _batch_matmul(H, D, A, batch["gid"])
        Z += b[batch["gid"]]
    elif H.shape[0] >= _SMALL:
        Z = (A @ H.T).T
        DZ = (A @ D.T).T
        Z += b
    else:
        Z = H @ A.T
        DZ = D @ A.T
        Z += b
    return Z, DZ


def _one_split_per_segment(cross, K):
    """``(g, seg, neu)`` if every one of the ``K - 1`` bounded segments has exactly one crossing,
    else ``None``; ``g = neu (K - 1) + seg`` (neuron-major). ``seg`` is ``None`` and ``neu`` an int
    when one neuron crosses in every segment (the hat neuron ϱ(g − ½) of the sawtooth)."""
    g = cross.T.ravel().nonzero()[0]
    if g.shape[0] != K - 1:
        return None
    if g[0] // (K - 1) == g[-1] // (K - 1):
        return g, None, int(g[0] // (K - 1))
    neu, seg = np.divmod(g, K - 1)
    hit = np.zeros(K - 1, dtype=bool)
    hit[seg] = True
    return (g, seg, neu) if hit.all() else None


def _max_abs(a) -> float:
    """``max |a|`` as a Python float (the network's own arrays have it cached:
    :attr:`nnlib.networks.ReLUNetwork.max_abs_weights`)."""
    return float(_MAX(np.abs(a), axis=None))


def _magnitude(v: float) -> str:
    return f"about {v:.1e}" if math.isfinite(v) else "more than 1e308"


def _range_error(what):
    return ValueError(f"float mode cannot count this network: {what}, beyond the range where float64 "
                      "keeps its relative accuracy (about 1e-301 to 1e307); pass exact=True")


def _sign_margin(x, H, D, A, b, depth, dprev=None, scale=None):
    """``ZERO_RTOL ×`` a magnitude bound ``max|A| N_{j-1} max|h| + max|b|`` of the pre-activations,
    plus ``N_{j-1} + 1`` units of the smallest subnormal (rounding below the normal range); a bound
    beyond ``_HUGE`` (overflow) or below ``_TINY`` (values not normal) is refused.

    One scalar (column-wise thresholds cost more than the matrix product at these sizes). After a
    ReLU the layer input is >= 0; the first layer's input is x, extreme at the ends.

    Returns ``(thresh, dbound, amax)``: the margin, a bound on the slopes ``|D Aᵀ|`` and
    ``amax = max|A| N_{j-1}``. The slope bound is ``amax dprev`` if a bound ``dprev`` on ``|D|`` is
    known (the previous layer's ``dbound``) and far from overflow: no pass over ``D``; else
    :func:`_check_slopes`' (which refuses slopes that could overflow). ``scale = (max|A|, max|b|)``
    if known (a network's :attr:`~nnlib.networks.ReLUNetwork.max_abs_weights`: no pass over ``A``, ``b``).
    """
    hmax = float(_MAX(H, axis=None)) if depth > 1 else max(-float(x[0]), float(x[-1]), 0.0)
    if scale is None:
        scale = _max_abs(A), _max_abs(b)
    amax, bmax = scale[0] * A.shape[-1], scale[1]
    bound = amax * hmax + bmax                    # (0 from an underflow is not an exact 0)
    zero = not (amax > 0 and hmax > 0) and bmax == 0
    if not (bound < _HUGE and (zero or bound > _TINY)):
        raise _range_error(f"layer {depth} has values of {_magnitude(bound)}")
    if dprev is not None and amax * dprev < _HUGE / 2:
        dbound = amax * dprev
    else:
        dbound = _check_slopes(A, D, depth, amax)
    return ZERO_RTOL * bound + (A.shape[-1] + 1) * _ULP0, dbound, amax


def _cancelled_slopes(D, DZ, A, batch) -> bool:
    """Whether some slope ``dz = Σ_j a_ij d_j`` of ``DZ = D Aᵀ`` is a float 0 although a term
    ``a_ij d_j`` is not 0 (cancellation or underflow). While none is, a segment whose last hidden
    slopes are all 0 has exact slope 0: every 0 comes from an off neuron or from zero terms only
    (:func:`batched_states` uses this to skip the exact decision at such knots)."""
    zero = DZ == 0
    if not _ANY(zero, axis=None):                 # (no float 0 at all: the common case)
        return False
    dead = D.shape[0] - np.count_nonzero(_ANY(D, axis=1))     # rows of D all 0 (dead segments)
    if np.count_nonzero(zero) == dead * DZ.shape[1]:
        return False                              # every 0 lies in such a row: exact zeros
    rows = _ANY(zero, axis=1).nonzero()[0]
    del zero
    Dr = D[rows]
    keep = _ANY(Dr, axis=1)                       # (rows of D all 0 give exact zeros)
    if not keep.any():
        return False
    rows, Dn = rows[keep], (Dr[keep] != 0) * 1.0
    if batch is None:
        nz = Dn @ (A != 0).T
    else:                                         # row k is a segment of the network of knot k
        g = batch["gid"][np.minimum(rows, batch["gid"].shape[0] - 1)]
        nz = np.einsum("km,knm->kn", Dn, (A[g] != 0) * 1.0)
    return bool(((DZ[rows] == 0) & (nz > 0)).any())


def _check_ray_slopes(x, D, DZ, A, oracle, depth, amax, dbound):
    """Float mode on the whole line: the slopes on the two rays decide their crossings and
    patterns by their signs. One within ``ZERO_RTOL × (|A|·|d|)`` (plus the absolute part) of 0,
    and not a sum of zero terms only, is computed exactly (:func:`_exact_ray_slopes`).
    (``dbound``, the layer's bound on ``|D Aᵀ|``, and ``amax max|d|`` over the two rays,
    ``amax = max|A| N_{j-1}``, bound their |dz|: if all ray slopes clear the margin of either,
    nothing else is needed.)"""
    K = DZ.shape[0] - 1                           # (>= 1: the rays are rows 0 and K)
    floor = (A.shape[-1] + 1) * _ULP0
    smallest = float(_MIN(np.abs(DZ[::K]), axis=None))
    if smallest > ZERO_RTOL * dbound + floor:
        return
    if smallest > ZERO_RTOL * amax * float(_MAX(np.abs(D[::K]), axis=None)) + floor:
        return
    close = _near_zero(D[::K], A, None, DZ[::K])
    if close.any():
        _exact_ray_slopes(x, DZ, close.nonzero(), oracle, depth)


def _check_slopes(A, D, depth, amax=None):
    """Refuse before ``D Aᵀ`` if the slopes of layer ``depth`` could overflow; return their bound
    ``max|A| N_{j-1} max|d|`` (``amax`` = ``max|A| N_{j-1}`` if known)."""
    if amax is None:
        amax = _max_abs(A) * A.shape[-1]
    dmax = amax * max(float(_MAX(D, axis=None)), -float(_MIN(D, axis=None)))   # (no |D| temporary)
    if not dmax < _HUGE:
        raise _range_error(f"layer {depth} has slopes of {_magnitude(dmax)}")
    return dmax


def _output_slopes_exact(cert, A, D, depth, amax=None) -> bool:
    """Before the output slopes ``D Aᵀ`` of layer ``depth``: whether the certificate proves them
    exact (then they are compared as they are, and its own bound is range-checked: no pass over
    ``D``); otherwise refuse if they could overflow (:func:`_check_slopes`; ``amax`` as there)."""
    if cert.slopes(A, D):
        if not cert.slope_bound < _HUGE:
            raise _range_error(f"layer {depth} has slopes of {_magnitude(cert.slope_bound)}")
        return True
    _check_slopes(A, D, depth, amax)
    return False


def _same_position(x, batch):
    """``k`` where knots ``k`` and ``k + 1`` have one float position, in one network of ``batch``."""
    same = x[1:] == x[:-1]
    if batch is not None:
        same &= batch["gid"][1:] == batch["gid"][:-1]
    return same


def _merge_coincident(x, Z, DZ, edge, batch, zero, want_edge, dup=None):
    """Exact (or certified exact) arithmetic: coincident knots (two neurons vanish at one point):
    keep one, with zero for both. ``dup[k]`` (default: knots ``k``, ``k + 1`` equal, in one
    network) says which neighbours are one knot."""
    if dup is None:
        dup = _same_position(x, batch)
    if not _ANY(dup):
        return x, Z, DZ, edge
    keep = np.concatenate([[True], ~dup])
    del dup
    starts = np.flatnonzero(keep)
    zeros = np.logical_or.reduceat(Z == 0, starts, axis=0)
    x, Z = x[keep], Z[keep]
    Z[zeros] = zero
    DZ = DZ[np.concatenate([keep, [True]])]
    if batch is not None:
        batch["gid"] = batch["gid"][keep]
    if want_edge:
        edge = np.logical_or.reduceat(edge, starts)
    return x, Z, DZ, edge


def _two_product(a, c):
    """``(p, e)`` with ``p + e == a c`` exactly and ``p = fl(a c)`` (Dekker's splitting), elementwise;
    valid while every nonzero ``|a|``, ``|c|`` lies in ``[2^-400, 2^400]`` (see :func:`_in_range`)."""
    def split(v):
        t = v * 134217729.0                      # 2^27 + 1
        hi = t - (t - v)
        return hi, v - hi
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):   # out of range: _in_range says so
        p = a * c
        ah, al = split(a)
        ch, cl = split(c)
        return p, ((ah * ch - p) + ah * cl + al * ch) + al * cl


def _in_range(*arrays):
    """Whether every nonzero magnitude lies in ``[2^-400, 2^400]`` (no overflow or underflow in
    :func:`_two_product`), per row of the ``(R, n)`` arrays."""
    ok = True
    for v in arrays:
        m = np.abs(v)
        ok = ok & ((m == 0) | ((m >= 2.0**-400) & (m <= 2.0**400))).all(axis=-1)
    return ok


def _merge_first_layer(x, Z, DZ, edge, A, b, batch, zero, want_edge, originals):
    """Float mode, first hidden layer: merge equal float knots whose exact knots coincide.

    Neuron ``i`` of the first layer vanishes at ``-b_i / a_i`` exactly. A run of knots at one float
    position ``x0``, in one network, is one knot, as exact mode finds it, when the neurons that
    vanish there in float (the zero entries of its rows) vanish at one exact point: at ``x0`` itself
    (``a_i x0 + b_i == 0``) if ``x0`` is one of the layer's ``originals`` (an end of the interval,
    or the anchor 0 of the line), else at each other's kink (``b_i a_j == b_j a_i``, with at least
    one such neuron per row). Both are decided exactly by :func:`_two_product` (zero biases put
    every first-layer kink at ``x = 0``). Every other close pair is left to
    :func:`_flag_close_knots`, which decides it exactly or refuses.
    """
    same = _same_position(x, batch)
    if not same.any():
        return x, Z, DZ, edge
    ends = np.flatnonzero(np.diff(np.concatenate([[0], same.astype(np.int8), [0]])))
    r0, r1 = ends[::2], ends[1::2]                # knots r0 … r1 share one position
    zr = np.logical_or.reduceat(np.vstack([Z == 0, np.zeros((1, Z.shape[1]), bool)]),
                                np.column_stack([r0, r1 + 1]).ravel(), axis=0)[::2]
    g = np.zeros(r0.shape[0], dtype=np.intp) if batch is None else batch["gid"][r0]
    a, c = (A[None, :, 0], b[None]) if batch is None else (A[:, :, 0], b)
    a, c = a[g], c[g]                             # (R, n): the runs' first-layer weights and biases
    vanish = zr & (a != 0)                        # a_i = 0: constant, no kink (zero everywhere if b_i = 0)
    rows = np.arange(r0.shape[0])
    i = vanish.argmax(axis=1)
    ai, bi, x0 = a[rows, i][:, None], c[rows, i][:, None], x[r0][:, None]
    u = np.sort(originals)                        # (np.isin loops over small arrays: slow here)
    xr = x[r0]
    orig = (u[np.searchsorted(u, xr).clip(max=u.shape[0] - 1)] == xr)[:, None]
    coincide = np.zeros(a.shape, dtype=bool)
    if not orig.all():                            # b_i a_j == b_j a_i
        p1, e1 = _two_product(bi, a)
        p2, e2 = _two_product(c, ai)
        coincide |= (p1 == p2) & (e1 == e2) & ~orig
    if orig.any():                                # a_i x0 + b_i == 0
        p0, e0 = _two_product(a, x0)
        coincide |= (p0 == -c) & (e0 == 0) & orig
    ok = ((coincide | ~vanish).all(axis=1) & _in_range(a, c, x0)
          & (vanish.sum(axis=1) >= r1 - r0 + 1 - orig[:, 0]))
    step = np.zeros(same.shape[0] + 1, dtype=np.int64)
    np.add.at(step, r0[ok], 1)
    np.add.at(step, r1[ok], -1)
    return _merge_coincident(x, Z, DZ, edge, batch, zero, want_edge, np.cumsum(step)[:-1] > 0)


def _flag_close_knots(x, batch, spans, bounded):
    """Float mode: knots closer than ``KNOT_RTOL × max|x|`` may be one knot or two (their
    interpolated positions carry rounding). They are never merged by a tolerance: their network is
    marked unsure (batch) or their neighbourhood is added to ``spans`` for an exact decision."""
    close = _close_pairs(x)
    if close is None:
        return
    if batch is not None:
        gid = batch["gid"]
        close = close[gid[close] == gid[close + 1]]
        batch["unsure"][gid[close]] = True
    else:
        spans.extend(_spans(x, np.unique(np.concatenate([close, close + 1])), bounded))


def _segment_signs(Z, DZ, r0, r1):
    """Values with the sign of segment rows ``r0 … r1 - 1`` (the pattern is on where > 0): on a ray,
    ``z`` one unit outwards; on row ``k`` between knots ``k - 1`` and ``k``, ``z_{k-1} + z_k`` (no
    pre-activation changes sign strictly inside a segment, so the endpoint sum has its sign)."""
    M = Z.shape[0]
    S = np.empty((r1 - r0, Z.shape[1]), dtype=Z.dtype, order=_order(Z))   # (Z's layout: fast passes)
    lo, hi = max(r0, 1), min(r1, M)
    if r0 == 0:
        np.subtract(Z[0], DZ[0], out=S[0])
    if r1 == M + 1:
        np.add(Z[M - 1], DZ[M], out=S[-1])
    if lo < hi:
        np.add(Z[lo - 1:hi - 1], Z[lo:hi], out=S[lo - r0:hi - r0])
    return S


def _anchor_knot(x):
    """Whole line: the index of the anchor knot 0 (the one knot that is not born from a sign
    change), ``None`` if no knot is at 0, ``True`` if two are (a change, decided exactly later)."""
    k = int(x.searchsorted(0.0))
    if k >= x.shape[0] or x[k] != 0:
        return None
    return True if k + 1 < x.shape[0] and x[k + 1] == 0 else k


def _apply_relu(Z, DZ, edge, want_edge, zero, anchor=None):
    """On/off pattern per segment (:func:`_segment_signs`), then the ReLU; returns the layer output
    at the knots and whether the pattern changes at knot ``anchor`` (``False`` if ``anchor`` is
    ``None``). Inactive neurons get slope 0 (``DZ`` in place; ``edge`` gains the knots where the
    pattern changes).
    """
    M = Z.shape[0]
    if want_edge or M <= _SMALL:
        off = _segment_signs(Z, DZ, 0, M + 1) <= 0
        near = None if anchor is None else off[anchor:anchor + 2]
        if want_edge:                             # knot k separates segment rows k and k + 1
            edge |= _ANY(off[:-1] != off[1:], axis=1)
        if M <= _SMALL:
            np.putmask(DZ, off, zero)             # (faster than copyto on small arrays: measured)
        else:
            np.copyto(DZ, zero, where=off)
    else:                                         # in blocks: no full-size temporaries
        near = None if anchor is None else _segment_signs(Z, DZ, anchor, anchor + 2) <= 0
        for r0 in range(0, M + 1, _BLOCK):
            r1 = min(M + 1, r0 + _BLOCK)
            np.copyto(DZ[r0:r1], zero, where=_segment_signs(Z, DZ, r0, r1) <= 0)
    at_anchor = near is not None and bool(_ANY(near[0] != near[1]))
    if type(zero) is Fraction:
        return np.where(Z > 0, Z, zero), at_anchor
    np.maximum(Z, 0.0, out=Z)
    return Z, at_anchor


def _batch_matmul(H, D, A, gid):
    """``Z = H A_gᵀ`` at each knot and ``DZ = D A_gᵀ`` on each segment row, ``g`` the knot's network
    (``D`` may be ``None``: then only ``Z``)."""
    K = H.shape[0]
    B, n, m = A.shape
    if m == 1:                                    # input layer: an outer product per knot
        Ag = A[:, :, 0][gid]
        return H * Ag, None if D is None else np.concatenate([D[:1] * Ag[:1], D[1:] * Ag])
    if n == 1:                                    # output layer: a dot product per knot
        Ag = A[:, 0, :][gid]
        return (np.einsum("km,km->k", H, Ag)[:, None], None if D is None else
                np.concatenate([D[:1] @ Ag[0][:, None], np.einsum("km,km->k", D[1:], Ag)[:, None]]))
    Z = np.empty((K, n))
    DZ = None if D is None else np.empty((K + 1, n))
    bounds = np.searchsorted(gid, np.arange(B + 1))
    if D is not None:
        DZ[0] = D[0] @ A[0].T
    # One BLAS product per network (a gathered einsum is slower), stacked over the networks with
    # the same number of knots: np.matmul then loops in C over blocks of one shape, each computed
    # as the network's own product would be, so a network's result never depends on the batch.
    count = np.diff(bounds)
    order = np.argsort(count, kind="stable")
    for gs in np.split(order, np.flatnonzero(np.diff(count[order])) + 1):
        c = int(count[gs[0]])
        rows = (bounds[gs][:, None] + np.arange(c)).ravel()       # the group's knots
        At = A[gs].transpose(0, 2, 1)
        Z[rows] = np.matmul(H[rows].reshape(gs.shape[0], c, m), At).reshape(-1, n)
        if D is not None:
            rows += 1                             # row k of D: the segment ending at knot k
            DZ[rows] = np.matmul(D[rows].reshape(gs.shape[0], c, m), At).reshape(-1, n)
    return Z, DZ


def _tiny_rows(Z, thresh):
    """Rows (knots) where some pre-activation has ``|z| <= thresh`` (exact zeros included: a float
    0 may be a rounded non-zero)."""
    K = Z.shape[0]
    if K <= _BLOCK:
        small = np.abs(Z)
        if _MIN(small, axis=None) > thresh:
            return np.zeros(0, dtype=np.intp)
        small = small <= thresh
        return small.any(axis=1).nonzero()[0]
    rows = []
    for r0 in range(0, K, _BLOCK):
        Zb = Z[r0:r0 + _BLOCK]
        small = np.abs(Zb) <= thresh
        if small.any():
            hit = small.any(axis=1).nonzero()[0]
            if hit.shape[0]:
                rows.append(hit + r0)
    return np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)


def _uncertain_rows(rows, Z, H, A, b, gid):
    """Of the candidate ``rows``, those with a pre-activation too close to 0 (:func:`_near_zero`)."""
    flag = _near_zero(H[rows], A, b, Z[rows], None if gid is None else gid[rows])
    return rows[flag.any(axis=1)]


def _near_zero(V, A, b, Zv, g=None):
    """Entries of ``Zv = V Aᵀ (+ b)`` (rows of values or slopes ``V``; ``b`` may be ``None``; ``g``
    the network of each row in a batch) with ``|z| <= ZERO_RTOL × (|A_i|·|v| + |b_i|)`` plus the
    absolute part of the margin, made of at least one nonzero term (a 0 made of zero terms only —
    a dead input and no bias — is exact; a product that underflows to 0 is not)."""
    Vb = np.abs(V)
    if g is None:
        Ab = np.abs(A)
        M, nz = Vb @ Ab.T, ((Vb > 0) @ (Ab > 0).T) > 0
    else:
        Ab = np.abs(A[g])
        M, nz = np.einsum("km,knm->kn", Vb, Ab), np.einsum("km,knm->kn", (Vb > 0) * 1.0, (Ab > 0) * 1.0) > 0
    if b is not None:
        bb = np.abs(b if g is None else b[g])
        M += bb
        nz |= bb > 0
    M *= ZERO_RTOL
    M += (A.shape[-1] + 1) * _ULP0
    return (np.abs(Zv) <= M) & nz


def _close_pairs(x):
    """``k`` such that knots ``k`` and ``k + 1`` are within ``KNOT_RTOL × max|x|``; ``None`` if none.

    Scanned in blocks, so that the common case (no close knots) needs no full-size temporary.
    """
    tol = KNOT_RTOL * max(-float(x[0]), float(x[-1]))   # max |x| of sorted knots
    n = x.shape[0] - 1
    if n <= 0:
        return None
    if n <= _BLOCK:
        gaps = x[1:] - x[:-1]
        return (gaps <= tol).nonzero()[0] if float(_MIN(gaps)) <= tol else None
    for r0 in range(0, n, _BLOCK):
        r1 = min(n, r0 + _BLOCK)
        if (x[r0 + 1:r1 + 1] - x[r0:r1] <= tol).any():
            return (x[1:] - x[:-1] <= tol).nonzero()[0]
    return None


def _spans(x, rows, bounded):
    """``(lo, hi)`` around each knot ``x[rows]``: from the midpoint to its left neighbour to the one
    to its right (an end of a bounded interval is its own bound; on the line, one |x| + 1 beyond)."""
    out = []
    K = x.shape[0]
    for k in np.asarray(rows).tolist():
        lo = x[k - 1] + (x[k] - x[k - 1]) / 2 if k > 0 else (x[0] if bounded else x[0] - (abs(x[0]) + 1.0))
        hi = x[k] + (x[k + 1] - x[k]) / 2 if k < K - 1 else (x[-1] if bounded else x[-1] + (abs(x[-1]) + 1.0))
        out.append((float(lo), float(hi)))
    return out


def _exact_ray_slopes(x, DZ, cols, oracle, depth):
    """Replace the float ray slopes ``DZ[row, col]`` for ``(row, col)`` in ``cols`` (too close to 0
    to trust their sign) by their exact values rounded once: the layers before have no kink beyond
    the outermost knots, so one point on each ray gives the slope of the whole ray."""
    K = DZ.shape[0] - 1
    for row in sorted(set(cols[0].tolist())):
        e = float(x[0] if row == 0 else x[-1])
        p = e - (abs(e) + 1.0) if row == 0 else e + (abs(e) + 1.0)
        oracle.charge_points(1)
        I, q = exact_slopes_at(oracle.int_layers[:depth], p, inside=True)
        for c in cols[1][cols[0] == row].tolist():
            v = float(Fraction(int(I[c]), 2**q))
            if v == 0 and I[c] != 0:
                raise _range_error(f"a slope of layer {depth} on a ray is below the smallest float")
            DZ[row if row == 0 else K, c] = v


def _dead_at(layers, g, points) -> np.ndarray:
    """For each point ``points[i]`` of network ``g[i]`` of the stacked ``layers`` (``A`` of shape
    ``(B, N_j, N_{j-1})``): whether float arithmetic shows, with a ``ZERO_RTOL`` margin, a hidden
    layer whose neurons are all off there. The slope there is then exactly 0 (the usual reason for
    equal float slopes on both sides of a knot), and no exact arithmetic is needed."""
    order = np.argsort(g, kind="stable")          # grouped by network, for _batch_matmul
    g = np.asarray(g)[order]
    h = np.asarray(points, dtype=np.float64)[order][:, None]
    dead = np.zeros(h.shape[0], dtype=bool)
    sure = np.ones(h.shape[0], dtype=bool)        # every sign so far decided with the margin
    for A, b in layers[:-1]:
        z = h @ A[0].T if A.shape[0] == 1 else _batch_matmul(h, None, A, g)[0]
        z += b[g]
        amax = _MAX(np.abs(A).reshape(A.shape[0], -1), axis=1) * A.shape[-1]
        margin = ZERO_RTOL * (amax[g] * _MAX(np.abs(h), axis=1) + _MAX(np.abs(b), axis=1)[g])
        margin += (A.shape[-1] + 1) * _ULP0
        margin = margin[:, None]
        dead |= sure & (z < -margin).all(axis=1)
        sure &= ~(np.abs(z) <= margin).any(axis=1)
        h = np.maximum(z, 0.0)
    out = np.empty_like(dead)
    out[order] = dead
    return out


def _side_points(x, k, bounded):
    """A point inside the segment left of knot ``k`` and one right of it (the midpoints, or one
    unit beyond an end on the whole line); ``None`` if a midpoint does not lie strictly inside."""
    K = x.shape[0]
    pts = []
    for a, c in ((k - 1, k), (k, k + 1)):
        if a < 0 or c >= K:
            if bounded:
                return None
            e = float(x[0] if a < 0 else x[-1])
            pts.append(e - (abs(e) + 1.0) if a < 0 else e + (abs(e) + 1.0))
            continue
        lo, hi = float(x[a]), float(x[c])
        m = lo + (hi - lo) / 2
        if not lo < m < hi:
            return None
        pts.append(m)
    return pts


class _Oracle:
    """Exact decisions for float mode: rational re-runs of the first layers on small windows.

    Float propagation decides every sign and every knot order that it decides with a wide margin
    (``ZERO_RTOL``, ``KNOT_RTOL``, ``SLOPE_RTOL``). Around the few knots where it does not, the
    same propagation is re-run in rational arithmetic on a window between the neighbouring knots
    and its exact knots, values and slopes (rounded once to float64) replace the float ones there.
    The work is counted; beyond ``EXACT_WORK`` rational operations float mode refuses.
    """

    def __init__(self, net, bounded):
        self.net, self.bounded = net, bounded
        self.layers = None
        self.int_layers = None                    # the weights as dyadic integers (on first use)
        self.stacked = None                       # the layers as a batch of one (on first use)
        self.anchor_edge = False                  # whole line: a pattern changes at the anchor 0
        self.work = 0
        self.exact_slopes = False
        # Whether some float slope 0 came from nonzero terms (None: not tracked, see _run); while it
        # is False, a segment whose last hidden slopes are all 0 has exact output slope 0.
        self.cancelled = None
        self.zero_slope = None                    # segment rows with last hidden slopes all 0
        self.dbound = 1.0                         # a bound on the layer input's |slopes| (x: 1)

    def charge(self, knots, depth):
        have = 0 if self.layers is None else len(self.layers)
        sizes = [A.size for A, _ in self.net.layers[:depth]]
        self.work += knots * sum(sizes) + sum(A.size + b.size for A, b in self.net.layers[have:depth])
        if self.work > EXACT_WORK:
            raise ValueError(
                f"float mode cannot certify this count: knots or slopes too close to decide in float64 "
                f"need about {self.work:.2g} exact rational operations (more than EXACT_WORK = "
                f"{EXACT_WORK:.0e}); pass exact=True to count in rational arithmetic")
        if self.layers is None:
            self.layers = []
        for A, b in self.net.layers[len(self.layers):depth]:      # only the layers needed
            self.layers.append((_to_exact(A), _to_exact(b)))

    def slope_changes(self, x, rows):
        """Exact decisions at the knots ``x[rows]`` whose float slopes are too close to call: the
        exact slopes of the pieces on either side (:func:`exact_slope_at`, charged as rational
        work). Returns ``{row: changed}`` for the decided knots; the others are left to windows."""
        out = {}
        sides = {k: _side_points(x, k, self.bounded) for k in np.asarray(rows).tolist()}
        points = sorted({p for pts in sides.values() if pts is not None for p in pts})
        if self.stacked is None:
            self.stacked = [(A[None], b[None]) for A, b in self.net.layers]
        dead = _dead_at(self.stacked, np.zeros(len(points), dtype=np.intp), points)
        slopes = {p: (0, 0) for p, d in zip(points, dead.tolist()) if d}
        for k, pts in sides.items():
            if pts is None:
                continue
            for p in pts:                         # (neighbouring knots share a segment's point)
                if p not in slopes:
                    self.charge_points(1)
                    slopes[p] = exact_slope_at(self.int_layers, p)
            left, right = slopes[pts[0]], slopes[pts[1]]
            if left is not None and right is not None:
                out[k] = slopes_differ(left, right)
        return out

    def charge_points(self, points):
        """Count (and bound) the integer work of exact slopes at ``points`` points."""
        if self.int_layers is None:
            self.int_layers = [(dyadic_ints(A), dyadic_ints(b)) for A, b in self.net.layers]
        self.work += points * 2 * sum(A.size for A, _ in self.net.layers)
        if self.work > EXACT_WORK:
            raise ValueError(
                f"float mode cannot certify this count: slopes too close to decide in float64 "
                f"need about {self.work:.2g} exact operations (more than EXACT_WORK = "
                f"{EXACT_WORK:.0e}); pass exact=True to count in rational arithmetic")

    def run(self, lo, hi, depth, record):
        """Exact state ``[x, H, D, edge]`` after hidden layers ``1..depth`` on ``[lo, hi]``."""
        x, H, D = _initial_state((lo, hi), True)
        state = [x, H, D, np.zeros(2, dtype=bool)]
        for A, b in self.layers[:depth]:
            _layer(state, A, b, True, Fraction(0), True, record)
        return state

    def windows(self, x, spans):
        """Disjoint windows ``(i0, i1, lo, left_in, hi, right_in)``: knots ``i0..i1`` lie strictly
        inside ``(lo, hi)`` (or include an end of a bounded interval, ``left_in``/``right_in``)."""
        K = x.shape[0]
        ranges = []
        for lo, hi in spans:
            i0 = min(int(np.searchsorted(x, lo, "left")), K - 1)
            i1 = max(int(np.searchsorted(x, hi, "right")) - 1, i0)
            ranges.append([i0, i1])
        ranges.sort()
        merged = []
        for i0, i1 in ranges:
            if merged and i0 <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], i1)
            else:
                merged.append([i0, i1])
        out = []
        for i0, i1 in merged:
            while True:       # widen until both bounds fall strictly between two distinct knots
                if i0 == 0:
                    lo, li = (x[0], True) if self.bounded else (x[0] - (abs(x[0]) + 1.0), False)
                    break
                lo, li = x[i0 - 1] + (x[i0] - x[i0 - 1]) / 2, False
                if x[i0 - 1] < lo < x[i0]:
                    break
                i0 -= 1
            while True:
                if i1 == K - 1:
                    hi, ri = (x[-1], True) if self.bounded else (x[-1] + (abs(x[-1]) + 1.0), False)
                    break
                hi, ri = x[i1] + (x[i1 + 1] - x[i1]) / 2, False
                if x[i1] < hi < x[i1 + 1]:
                    break
                i1 += 1
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError("float mode cannot certify this count: knots near the float64 "
                                 "overflow threshold; pass exact=True")
            if out and i0 <= out[-1][1]:
                p = out.pop()
                i0, lo, li = p[0], p[2], p[3]
            out.append((i0, i1, float(lo), li, float(hi), ri))
        return out

    def resolve(self, state, record, spans, depth, bounded):
        """Replace the float knots, values and slopes inside the windows by exact ones."""
        x, H, D, edge = state
        state.clear()
        wins = self.windows(x, spans)
        rec = record[-1] if record is not None else None
        Zr, DZr = (rec.z, rec.slope) if rec is not None else (None, None)
        for i0, i1, lo, li, hi, ri in reversed(wins):
            self.charge(i1 - i0 + 3, depth)
            sub = [] if rec is not None else None
            xe, He, De, ee = self.run(Fraction(lo), Fraction(hi), depth, sub)
            s, e, n = (0 if li else 1), (len(xe) if ri else len(xe) - 1), len(xe)
            keep_l, keep_r = i1 + 1, i1 + 2 - ri
            x = np.concatenate([x[:i0], xe[s:e].astype(np.float64), x[keep_l:]])
            H = np.concatenate([H[:i0], _rounded(He[s:e], depth), H[keep_l:]])
            D = np.concatenate([D[:i0 + li], _rounded(De[1:n], depth), D[keep_r:]])
            if edge is not None:
                edge = np.concatenate([edge[:i0], ee[s:e], edge[keep_l:]])
            if rec is not None:
                Zr = np.concatenate([Zr[:i0], sub[-1].z[s:e].astype(np.float64), Zr[keep_l:]])
                DZr = np.concatenate([DZr[:i0 + li], sub[-1].slope[1:n].astype(np.float64), DZr[keep_r:]])
        if rec is not None:
            record[-1] = LayerKnots(x, Zr, DZr)
        state.extend([x, H, D, edge])

    def breakpoint_windows(self, x, spans, depth):
        """Exact breakpoints inside each window around ambiguous output slopes."""
        wins = self.windows(x, spans)
        found = []
        for i0, i1, lo, li, hi, ri in wins:
            self.charge(i1 - i0 + 3, depth)
            xe, He, De, _ = self.run(Fraction(lo), Fraction(hi), depth - 1, None)
            A = self.layers[depth - 1][0]
            slope = (A @ De.T).T[:, 0]
            inner = slope[1:-2] != slope[2:-1]      # interior knots of the window (ends excluded)
            found.append((i0, i1, xe[1:-1][inner].astype(np.float64)))
        return found


def _rounded(a, depth):
    """Exact values or slopes rounded to float64; refused if a nonzero one rounds to 0 (it would
    pass for an exact 0 in the next layer: a dead input, a missed kink)."""
    out = a.astype(np.float64)
    zero = out == 0
    if zero.any() and (a[zero] != 0).any():
        raise _range_error(f"layer {depth} has nonzero values or slopes below the smallest float")
    return out


def _project_memory(sizes, remaining, n):
    """Refuse early when the knot count keeps multiplying (a sawtooth doubles it every layer) and
    the ``remaining`` hidden layers would need more than :data:`MAX_MEMORY_BYTES`."""
    _check_memory(sizes[-1], n)
    if remaining <= 0 or len(sizes) < 4:
        return
    growth = min(sizes[-1] / sizes[-2], sizes[-2] / sizes[-3], sizes[-3] / sizes[-4])
    if growth >= 1.5:
        _check_memory(int(sizes[-1] * min(growth**remaining, 2.0**62)), n, estimated=True)


def _check_memory(knots, n, estimated=False):
    need = knots * 8 * (2 + 3 * n)
    if need > MAX_MEMORY_BYTES:
        raise ValueError(
            f"counting needs about {need / 2**30:.1f} GiB for {knots:,} knots"
            f"{' (estimated from the growth so far)' if estimated else ''} of a width-{n} layer, more than "
            f"nnlib.pieces.MAX_MEMORY_BYTES = {MAX_MEMORY_BYTES / 2**30:.0f} GiB; use a smaller network or interval")


def _run(net, interval, exact, record=None, want_edge=False, want_values=True, want_slopes=True):
    """Propagate through all layers; return knots, output values, output slopes, edges, bounded, oracle.

    ``want_slopes``: the output slopes will be compared (breakpoints), so float mode tracks where
    they are exactly 0 (:attr:`_Oracle.zero_slope`)."""
    net = check_network(net, univariate=True)
    interval = check_interval(interval)
    exact = check_flag(exact, "exact")
    bounded = interval is not None
    zero = Fraction(0) if exact else 0.0
    oracle = None if exact else _Oracle(net, bounded)
    if want_slopes and oracle is not None:
        oracle.cancelled = False
    x, H, D = _initial_state(interval, exact)
    cert = None if exact else Certificate(x)
    # True where the activation pattern changes (only tracked for count_activation_regions).
    state = [x, H, D, np.zeros(x.shape[0], dtype=bool) if want_edge else None]
    del x, H, D
    layers = net.layers
    scales = net.max_abs_weights
    sizes = [state[0].shape[0]]
    for j, (A, b) in enumerate(layers, start=1):
        if exact:
            A, b = _to_exact(A), _to_exact(b)
        if j < len(layers):
            _layer(state, A, b, bounded, zero, want_edge, record, oracle, j, cert=cert, scale=scales[j - 1])
            sizes.append(state[0].shape[0])
            _project_memory(sizes, len(layers) - 1 - j, A.shape[0])
            continue
        x, H, D, edge = state
        state.clear()
        if oracle is not None:
            oracle.exact_slopes = _output_slopes_exact(cert, A, D, j, scales[j - 1][0] * A.shape[-1])
            if not oracle.exact_slopes and oracle.cancelled is False:
                oracle.zero_slope = ~D.any(axis=1)
        DZ = (A @ D.T).T
        del D
        if want_values or record is not None:
            Z = (A @ H.T).T + b
        else:
            Z = None
        del H
        if record is not None:
            record.append(LayerKnots(x, Z, DZ))
        return x, (None if Z is None else Z[:, 0]), DZ[:, 0], edge, bounded, oracle
    raise AssertionError("unreachable")


def _changed(x, slope, bounded, exact, edge=None):
    """Interior knots (endpoints of a bounded interval excluded) where the output slope changes.

    Float mode returns a third value: indices (into the returned knots) whose slope comparison is
    within ``SLOPE_RTOL``, equal float slopes included, at a knot where some layer's activation
    pattern changes (``edge``), to be decided exactly. (The slope is a function of the pattern, so
    where no pattern changes it is exactly the same on both sides; where one does, two different
    exact slopes may round to one float: f(x) = ϱ(x) + 10⁻¹⁷ ϱ(x − ½).)
    """
    K = x.shape[0]
    if bounded:
        xs, left, right = x[1:K - 1], slope[1:K - 1], slope[2:K]
        edge = None if edge is None else edge[1:K - 1]
    else:
        xs, left, right = x, slope[:K], slope[1:K + 1]
    if exact:
        return xs, left != right, None
    # |left − right| > SLOPE_RTOL max(|left|, |right|), in blocks (no full-size float temporaries).
    changed = np.empty(xs.shape[0], dtype=bool)
    unsure = []
    for r0 in range(0, xs.shape[0], _BLOCK):
        r1 = min(xs.shape[0], r0 + _BLOCK)
        lb, rb = left[r0:r1], right[r0:r1]
        diff = np.abs(lb - rb)
        scale = np.maximum(np.abs(lb), np.abs(rb))
        scale *= SLOPE_RTOL
        np.maximum(scale, _TINY, out=scale)       # slopes below the normal range: compared exactly
        np.greater(diff, scale, out=changed[r0:r1])
        # Slopes within the margin (or equal) where the pattern changes: a kink that may be cancelled.
        close = ~changed[r0:r1] if edge is None else np.greater(edge[r0:r1], changed[r0:r1])   # edge & ~changed
        if close.any():
            unsure.append(close.nonzero()[0] + r0)
    return xs, changed, (np.concatenate(unsure) if unsure else None)


def _breakpoints_of(x, slope, bounded, oracle, depth, edge=None):
    """Breakpoints from a finished propagation (float mode: exact decisions where slopes are too
    close to call, at the knots ``edge`` where an activation pattern changes)."""
    xs, changed, unsure = _changed(x, slope, bounded, oracle is None or oracle.exact_slopes, edge)
    if unsure is None:
        return xs[changed]
    rows = unsure + (1 if bounded else 0)              # indices into x
    if oracle.zero_slope is not None:
        rows = _not_zero_on_both_sides(rows, oracle.zero_slope)
        if rows.shape[0] == 0:
            return xs[changed]
    decided = oracle.slope_changes(x, rows)            # exact slopes on either side (cheap)
    for k, ch in decided.items():
        changed[k - (1 if bounded else 0)] = ch
    rows = np.array([k for k in rows.tolist() if k not in decided], dtype=np.intp)
    if rows.shape[0] == 0:
        return xs[changed]
    parts, last = [], 0
    for i0, i1, exact_bps in oracle.breakpoint_windows(x, _spans(x, rows, bounded), depth):
        j0, j1 = (i0 - 1, i1) if bounded else (i0, i1 + 1)   # the window's knots in xs
        j0 = max(j0, 0)
        parts.append(xs[last:j0][changed[last:j0]])
        parts.append(exact_bps)
        last = j1
    parts.append(xs[last:][changed[last:]])
    return np.concatenate(parts)


def _not_zero_on_both_sides(knots, zero):
    """``knots`` (indices into the knots) without those whose segment rows ``k`` and ``k + 1`` are
    both ``zero`` (every last hidden slope 0). While no float slope 0 came from nonzero terms
    (:func:`_cancelled_slopes`), the output slope is exactly 0 on both sides: no breakpoint."""
    return knots[~(zero[knots] & zero[knots + 1])]


def _breakpoints(net, interval, exact):
    x, _, slope, _, bounded, oracle = _run(net, interval, exact, want_values=False)
    return _breakpoints_of(x, slope, bounded, oracle, len(net.layers), _edges(x, oracle))


def _edges(x, oracle):
    """Float mode: the knots where some activation pattern changes. Every knot is born from a sign
    change except the anchor 0 of the whole line, which is one only if a pattern changes there."""
    if oracle is None:
        return None
    edge = np.ones(x.shape[0], dtype=bool)
    k = None if oracle.bounded or oracle.anchor_edge else _anchor_knot(x)
    if k is not None and k is not True:
        edge[k] = False
    return edge


def _segment_rows(gid, K):
    """``True`` for segment rows ``k = 1..K-1`` whose two knots belong to one network."""
    seg = np.zeros(K + 1, dtype=bool)
    seg[1:K] = gid[:-1] == gid[1:]
    return seg


def _max_abs_slope(slope, starts, K):
    """Per network: max |slope| over its segment rows ``starts[g] + 1 … starts[g + 1] - 1`` (rows
    between two of its knots; every network has at least two). The rows of a C-ordered array are
    contiguous, so one reduction of the flat array serves all networks and columns."""
    n = slope.shape[1]
    idx = np.empty(2 * starts.shape[0], dtype=np.intp)
    idx[0::2] = starts + 1
    idx[1:-1:2] = starts[1:]                      # (odd intervals: one row across networks, or row K)
    idx[-1] = K
    idx *= n
    flat = np.ravel(slope, order="C")
    hi = np.maximum.reduceat(flat, idx)[0::2]
    lo = np.minimum.reduceat(flat, idx)[0::2]
    return np.maximum(hi, -lo) + 0.0              # (+ 0.0: never -0.0)


def _dead_neurons(z, starts):
    """Per network: the number of neurons never > 0 at its knots (network ``g``'s knots are rows
    ``starts[g]`` up to the next start)."""
    return (~np.logical_or.reduceat(z > 0, starts, axis=0)).sum(axis=1)


def _state_one(net, interval) -> dict:
    """:func:`network_state` of one network (float mode with exact decisions)."""
    record: list = []
    x, _, slope, edge, bounded, oracle = _run(net, interval, False, record=record, want_edge=True,
                                              want_values=False)
    L = len(net.layers)
    starts = np.zeros(1, dtype=np.intp)
    max_slope, dead = np.zeros(L), np.zeros(L - 1, dtype=np.int64)
    for j, rec in enumerate(record):
        max_slope[j] = _max_abs_slope(rec.slope, starts, rec.x.shape[0])[0]
        if j < L - 1:
            dead[j] = _dead_neurons(rec.z, starts)[0]
    bps = _breakpoints_of(x, slope, bounded, oracle, L, edge)
    regions = int(np.count_nonzero(edge[1:x.shape[0] - 1])) + 1
    return {"pieces": int(bps.shape[0]) + 1, "regions": regions, "max_slope": max_slope, "dead": dead}


def network_state(net, interval) -> dict:
    """Exact pieces, regions, per-layer max slopes and dead neurons of ``net`` on ``interval``.

    Chapter 2, section "The give-away" (the input derivatives of Assumption (B),
    {prf:ref}`thm-sawtooth-pieces`) and Chapter 5 (what training records). One propagation of the
    engine of this module (float mode: exact or refuse), bounded interval; tested in
    ``tests/test_training.py`` and ``tests/test_engine.py``.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network.
    interval : (a, b)
        Finite ``a < b``.

    Returns
    -------
    dict
        ``pieces`` (int), ``regions`` (int), ``max_slope`` (float64, shape ``(L,)``: the
        ``max_{i, x ∈ D} |∂z_{j,i}/∂x|`` of layer ``j``), ``dead`` (int64, shape ``(L-1,)``).
    """
    net = check_network(net, univariate=True)
    interval = check_interval(interval, "interval", allow_none=False)
    return _state_one(net, interval)


def batched_states(layers, interval) -> dict:
    """:func:`network_state` for ``B`` networks of the same shape at once (one network = ``B = 1``).

    Chapter 5 (recording training at every step). The same propagation as :func:`count_pieces`
    (the same ``_layer``), run on the knots of all ``B`` networks stacked in one array so that each numpy
    call serves every network. A network in which float arithmetic meets an uncertain decision is
    re-run on its own with exact decisions (or refused). Tested in ``tests/test_training.py`` and
    ``tests/test_engine.py`` against :func:`count_pieces` / :func:`count_activation_regions`.

    Parameters
    ----------
    layers : list of (A, b)
        ``A`` of shape ``(B, N_j, N_{j-1})`` and ``b`` of shape ``(B, N_j)``, for ``j = 1, …, L``
        (``N_0 = N_L = 1``).
    interval : (a, b)
        Finite ``a < b``.

    Returns
    -------
    dict of numpy.ndarray
        ``pieces``, ``regions`` (int64, ``(B,)``), ``max_slope`` (float64, ``(B, L)``), ``dead``
        (int64, ``(B, L-1)``).
    """
    lo, hi = (float(v) for v in check_interval(interval, "interval", allow_none=False))
    layers = _check_layers(layers)
    B, L = layers[0][0].shape[0], len(layers)
    x = np.tile([lo, hi], B)
    batch = {"gid": np.repeat(np.arange(B), 2), "unsure": np.zeros(B, dtype=bool), "cancelled": False}
    state = [x, x[:, None].copy(), np.ones((2 * B + 1, 1)), np.zeros(2 * B, dtype=bool)]
    cert = Certificate(x)
    max_slope, dead = np.zeros((B, L)), np.zeros((B, L - 1), dtype=np.int64)
    for j, (A, b) in enumerate(layers[:-1]):
        def stats(z, slope, j=j):                 # read before the ReLU, without copies
            starts = np.searchsorted(batch["gid"], np.arange(B))
            max_slope[:, j], dead[:, j] = _max_abs_slope(slope, starts, z.shape[0]), _dead_neurons(z, starts)

        _layer(state, A, b, True, 0.0, True, stats, None, j + 1, batch, cert)
    x, H, D, edge = state
    gid = batch["gid"]
    K = x.shape[0]
    starts = np.searchsorted(gid, np.arange(B))
    exact_slopes = _output_slopes_exact(cert, layers[-1][0], D, L)
    _, DZ = _batch_matmul(H, D, layers[-1][0], gid)
    max_slope[:, -1] = _max_abs_slope(DZ, starts, K)
    s = DZ[:, 0]
    seg = _segment_rows(gid, K)
    interior = seg[:K] & seg[1:]                   # knot k lies between segment rows k and k + 1
    left, right = s[:K], s[1:]
    if exact_slopes:                              # certified: the float slopes are the exact ones
        changed = interior & (left != right)
    else:
        diff = np.abs(left - right)
        bound = SLOPE_RTOL * np.maximum(np.abs(left), np.abs(right))
        changed = interior & (diff > bound)
        # Within the margin or equal, where a pattern changes: decided exactly.
        knots = (interior & edge & ~changed).nonzero()[0]
        if not batch["cancelled"]:
            knots = _not_zero_on_both_sides(knots, ~D.any(axis=1))
        _decide_slopes(x, gid, knots, layers, changed, batch["unsure"])
    pieces = np.add.reduceat(changed.astype(np.int64), starts) + 1
    regions = np.add.reduceat((edge & interior).astype(np.int64), starts) + 1
    for g in np.flatnonzero(batch["unsure"]).tolist():
        one = _state_one(ReLUNetwork([(A[g], b[g]) for A, b in layers]), (lo, hi))
        pieces[g], regions[g] = one["pieces"], one["regions"]
        max_slope[g], dead[g] = one["max_slope"], one["dead"]
    return {"pieces": pieces, "regions": regions, "max_slope": max_slope, "dead": dead}


def _decide_slopes(x, gid, knots, layers, changed, unsure):
    """Batch: exact slope decisions (:meth:`_Oracle.slope_changes`) at ``knots`` whose float slopes
    are too close to call, network by network; ``changed`` is set where decided, else the network
    is marked ``unsure`` (re-run on its own)."""
    if not knots.shape[0]:
        return
    lo, hi = x[knots - 1] + (x[knots] - x[knots - 1]) / 2, x[knots] + (x[knots + 1] - x[knots]) / 2
    inside = (x[knots - 1] < lo) & (lo < x[knots]) & (x[knots] < hi) & (hi < x[knots + 1])
    g = gid[knots]                                # (interior knots: both neighbours in network g)
    dead = _dead_at(layers, np.concatenate([g, g]), np.concatenate([lo, hi]))
    both = inside & dead[:g.shape[0]] & dead[g.shape[0]:]
    changed[knots[both]] = False                  # exact slope 0 on both sides: no breakpoint
    knots = knots[~both]
    for g in np.unique(gid[knots]).tolist():
        r0, r1 = np.searchsorted(gid, [g, g + 1])
        ks = knots[(knots >= r0) & (knots < r1)]
        oracle = _Oracle(ReLUNetwork([(A[g], b[g]) for A, b in layers]), True)
        decided = oracle.slope_changes(x[r0:r1], ks - r0)
        for k in ks.tolist():
            if k - r0 in decided:
                changed[k] = decided[k - r0]
            else:
                unsure[g] = True


def _check_layers(layers):
    """Stacked layers ``(A, b)``: float64, ``A`` ``(B, N_j, N_{j-1})``, ``b`` ``(B, N_j)``, chained."""
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list of (A, b) pairs of stacked arrays")
    out = []
    for j, pair in enumerate(layers):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"layers[{j}] must be a pair (A, b)")
        A = as_real_array(pair[0], f"layers[{j}][0]", ndim=3)
        b = as_real_array(pair[1], f"layers[{j}][1]", ndim=2)
        prev = 1 if j == 0 else out[-1][0].shape[1]
        batch = A.shape[0] if j == 0 else out[0][0].shape[0]
        if A.shape[2] != prev or b.shape != A.shape[:2] or A.shape[0] != batch or batch == 0:
            raise ValueError(f"layers[{j}] has shapes A {A.shape}, b {b.shape}; expected A (B, N_j, {prev}) "
                             "and b (B, N_j) with the same B in every layer")
        out.append((np.ascontiguousarray(A, dtype=np.float64), np.ascontiguousarray(b, dtype=np.float64)))
    if out[-1][0].shape[1] != 1:
        raise ValueError(f"layers must end with one output neuron, got {out[-1][0].shape[1]}")
    return out


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
    return _breakpoints(net, interval, exact)


def count_pieces(net, interval=None, exact=False) -> int:
    """Number of maximal affine pieces of ``R(Φ)`` on ``interval`` (``None``: the whole line).

    Chapter 1, {prf:ref}`def-pieces`; tested in ``tests/test_pieces.py`` against ``exact=True``
    and against hand-made networks with known answers. Parameters as in :func:`breakpoints`.

    Returns
    -------
    int
    """
    return int(_breakpoints(net, interval, exact).shape[0]) + 1


def count_activation_regions(net, interval=None, exact=False) -> int:
    """Number of maximal intervals on which the on/off pattern of all hidden neurons is constant.

    Chapter 1, {prf:ref}`def-pieces`. A neuron is *on* where its pre-activation is > 0. Patterns
    are compared on the open segments between knots, so a neuron that only touches zero at one
    point does not split a region. Always ``count_pieces <= count_activation_regions``.

    Parameters and returns as in :func:`count_pieces`.
    """
    x, _, _, edge, bounded, _ = _run(net, interval, exact, want_edge=True, want_values=False, want_slopes=False)
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
    net = check_network(net, univariate=True)
    a, b = check_interval(interval, allow_none=False)
    num_points = check_int(num_points, "num_points", minimum=2, maximum=10**9)
    # Evaluate in chunks so that memory stays bounded for very fine grids.
    changes, prev = 0, None
    chunk = max(1, 2**22 // max(1, net.num_neurons))
    for start in range(0, num_points, chunk):
        xs = a + (b - a) * (np.arange(start, min(start + chunk, num_points)) / (num_points - 1))
        pat = net.activation_pattern(xs)
        if prev is not None:
            pat = np.vstack([prev, pat])
        changes += int(np.count_nonzero(np.any(pat[1:] != pat[:-1], axis=1)))
        prev = pat[-1:]
    return changes + 1
