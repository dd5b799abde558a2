"""Exact breakpoints, affine pieces and activation regions of univariate ReLU networks.

Chapter 1, sections "Affine pieces and activation regions" and "Counting pieces exactly"
({prf:ref}`def-pieces`, {prf:ref}`alg-knot-propagation`).

The method is *knot propagation*, never sampling. Between two consecutive knots every neuron's
pre-activation is affine in the input ``x``, so its values at the knots determine it completely.
Layer by layer we

1. evaluate the pre-activations ``Z = H A_jᵀ + b_j`` at the current knots (``H`` = layer input),
   and their slopes ``DZ = D A_jᵀ`` on the segments between knots,
2. insert a new knot wherever a pre-activation changes sign *strictly* inside a segment, at the
   zero of the affine segment,
3. apply the ReLU (inactive neurons get slope 0).

On the whole real line the two unbounded rays are segments too; they are described by the value
at the outermost knot and the slope. At the end, a knot is a *breakpoint* iff the output's slope
differs on its two sides: the maximal affine pieces are the segments between breakpoints.

This module holds the one implementation of that propagation (:func:`_propagate`). It runs on
``B`` networks of one shape at once (their knots stacked in one array, so that every numpy call
serves all of them: what training records at every step, :func:`batched_states`); one network is
a batch of one. ``exact=True`` runs the same code on numpy object arrays of
:class:`fractions.Fraction` (floats convert exactly): the rational oracle.

Float mode is *exact or refuses*: every decision it takes (the sign of a pre-activation at a
knot, the order of two new knots, whether two knots coincide, whether a slope changes) is either
certified or decided exactly, otherwise the count is redone in rational arithmetic when that is
affordable, or a ``ValueError`` is raised. See :class:`_Cert` for how.

Performance (``benchmarks/bench_pieces.py``, results in ``benchmarks/results/pieces.md``): the
new knots of a layer arrive in segment order, so they are *merged* into the old ones, never
re-sorted; arrays are freed as soon as their successor exists. When every segment is split
exactly once (the sawtooth, Yarotsky's square) the new knots are written straight into the odd
rows of the merged arrays. With many knots the ``(K, n)`` arrays are column-major.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validate import check_flag, check_int, check_interval, check_network

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
    "EXACT_FALLBACK_WORK",
]

# Counting refuses work whose arrays would need more than this many bytes (estimated from the
# number of knots and the layer width before they are allocated).
MAX_MEMORY_BYTES = 6 * 2**30
# Float mode redoes a count in rational arithmetic when a decision cannot be certified and the
# rational propagation is estimated at no more than this many Fraction multiply-adds (≈ 1–3 s).
EXACT_FALLBACK_WORK = 1_000_000
# Every certified comparison uses its error bound times this factor: the bounds are first-order
# (products of two rounding errors are dropped), the factor covers them many times over.
_SAFE = 1.0625
_U = 2.0**-53                                    # unit roundoff of float64
_NOQ = -4096                                     # quantum of an all-zero array ("no constraint")


def _gamma(n: int) -> float:
    """Higham's ``γ_n = n u / (1 − n u)``: relative error bound of an ``n``-term float dot product."""
    return n * _U / (1 - n * _U)


class _Ambiguous(Exception):
    """A float decision that cannot be certified; ``work`` estimates the rational redo."""


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


_check_univariate = lambda net: check_network(net, univariate=True)  # removed after merge (training.py)


# ----------------------------------------------------------------------------- certification
def _quantum(a) -> int:
    """Smallest ``q`` with every entry of ``a`` an integer multiple of ``2^-q`` (float64 only)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    a = a[a != 0]
    if a.size == 0:
        return _NOQ
    m, e = np.frexp(a)
    M = np.abs(m * 2.0**53).astype(np.int64)     # a = ±M 2^(e-53), M < 2^53 an integer
    tz = np.frexp((M & -M).astype(np.float64))[1] - 1
    return int(np.max(53 - e - tz))


def _is_multiple(a, q: int) -> bool:
    """Whether every entry of ``a`` is an integer multiple of ``2^-q`` (scaling by 2^q is exact)."""
    y = np.ldexp(a, q)
    return bool(np.array_equal(np.rint(y), y))


def _fits(bound: float, q: int) -> bool:
    """Integers ``m 2^-q`` with ``|m 2^-q| <= bound`` and all partial sums are exact float64s."""
    return bound == 0 or math.frexp(bound)[1] + q <= 52      # bound < 2^e, e + q <= 52


class _Cert:
    """Certificate of the float propagation: *exactness* while it lasts, then *error bounds*.

    Notes
    -----
    Why: float knots and values are rounded, so a pre-activation that is 0 at a knot (two kinks
    meeting), two knots a few ulps apart, or a slope change cancelled downstream can be decided
    either way by rounding; a fixed tolerance only moves the problem to another scale.

    1. *Exactness* (dyadic data, e.g. the sawtooth): while every weight, bias, knot and value is an
       integer multiple of ``2^-q`` with magnitude below ``2^(52-q)``, float64 sums and products
       are exact, so float mode *is* rational mode. Quanta ``q`` are tracked per layer from the
       weights' quanta; a new knot is certified exact when it is a multiple of ``2^-q'`` and the
       crossing neuron's value there, computed exactly, is 0.
    2. *Error bounds* otherwise: rigorous forward-error bounds (Higham's ``γ_n``) per knot for the
       knots (``eX``) and the layer input (``eH``), per knot and neuron for ``Z = H Aᵀ + b``
       (``eZ``), per neuron for the slopes. A sign is certain when ``|z| > eZ``; two new knots are
       ordered when further apart than the sum of their ``eX``; a slope change is certain when
       ``|Δs| > 2 eS``; a slope *equality* is certified by the support of the slope difference
       (:func:`_equal_by_support`).
    Anything else raises :class:`_Ambiguous`: the caller redoes the count exactly or refuses.
    """

    def __init__(self, x):
        self.exact = True
        self.qx = self.qH = _quantum(x)
        self.qD = 0
        self.eX = self.eH = self.eZ = self.E = None      # per-knot arrays once inexact
        self.eD = 0.0
        self.Xmax = float(np.max(np.abs(x)))
        self.work = 0.0                              # estimated rational multiply-adds of a redo
        self.net_cost = 1

    def fail(self, why: str):
        raise _Ambiguous(why, self.work)

    def _inexact(self, K, n):
        """Leave exact mode: every value so far is exact (error 0)."""
        self.exact = False
        if self.eX is None:
            self.eX, self.eH = np.zeros(K), np.zeros(K)
        if self.eZ is None:
            self.eZ, self.eDZ = np.zeros((K, n)), np.zeros(n)

    def before(self, Z, DZ, A, b, Hs, Dmax: float, check: bool = True):
        """Bounds of ``Z = H Aᵀ + b`` (per knot and neuron), ``DZ = D Aᵀ`` (per neuron); signs at knots.

        ``Hs``: ``max_i |H[k, i]|`` per knot (error mode) or its maximum (exact mode).
        """
        K, n_in = Z.shape[0], A.shape[-1]
        ra = np.abs(A).sum(axis=-1).max(axis=0)      # (n,): max over the batch of Σ_k |A_ik|
        absb = np.abs(b).max(axis=0)
        Hmax = float(np.max(Hs)) if K else 0.0
        self.Zb, self.DZb = Hmax * ra + absb, Dmax * ra
        self.work = K * self.net_cost                # a rational redo: at least this many operations
        self.eZ = None
        if self.exact:
            qA, qb = _quantum(A), _quantum(b)
            qZ, qDZ = max(self.qH + qA, qb), self.qD + qA
            if _fits(float(self.Zb.max()), qZ) and _fits(float(self.DZb.max()), qDZ):
                self.qZ, self.qDZ = qZ, qDZ
                self.eDZ = np.zeros_like(ra)
                return
            self.exact = False
            self.eX, self.eH = np.zeros(K), np.zeros(K)
            Hs = np.full(K, Hmax)
        g = _gamma(n_in + 1)
        self.eZ = _SAFE * (np.multiply.outer(self.eH + g * Hs, ra) + g * absb)
        self.eDZ = _SAFE * (self.eD * ra + _gamma(n_in) * self.DZb)
        if check and ((np.abs(Z) <= self.margin(self.eZ, DZ)) & (self.eZ > 0)).any():
            self.fail("the sign of a pre-activation at a knot (it is 0 or within rounding of 0)")

    def margin(self, E, DZ):
        """What a value at a float knot must exceed for its sign to hold at the true knot: its
        evaluation error plus the neuron's slope next to the knot times the knot's error."""
        lip = np.maximum(np.abs(DZ[:-1]), np.abs(DZ[1:]))
        lip += self.eDZ
        lip *= self.eX[:, None]
        lip += E
        return lip

    def exact_knots(self, nx) -> bool:
        """Whether the new knots ``nx`` keep exact mode (multiples of a quantum that keeps
        ``x̃ − x0`` and ``Z0 + (x̃ − x0) DZ`` exact); the residual test follows in the split."""
        e2 = lambda v: math.frexp(float(v))[1]                # v < 2^e2(v)
        room = self.Zb.max() + 2 * self.Xmax * self.DZb.max()
        q = min(self.qx + 60, 52 - e2(2 * self.Xmax), 52 - e2(room) - self.qDZ)
        qs = max(self.qx, _quantum(nx[:64]), _quantum(nx[-64:]))   # the likely quantum …
        if qs <= q and _is_multiple(nx, qs):                        # … verified on all knots
            self.qn = qs
        elif q >= self.qx and _is_multiple(nx, q):
            self.qn = q
        else:
            return False
        return True

    def knot_errors(self, nx, d, i0, i1, neu, seglen):
        """``eX`` of new knots ``x̃ = (1 − t) x0 + t x1``, ``t = z0 / d`` (``x0, x1`` knots ``i0, i1``).

        The values at ``x0, x1`` are the network's at those float points up to ``e0, e1``; all
        earlier signs being certified, ``z`` is affine between the float and the true knots, so
        ``t`` is off by at most ``(e0 + e1) / (|d| − e0 − e1)`` plus rounding (no growth with the
        earlier knots' errors).
        """
        e01 = self.eZ[i0, neu] + self.eZ[i1, neu]
        den = np.abs(d) - e01
        if (den <= 0).any():
            self.fail("the position of a new knot (its pre-activation is within rounding of 0)")
        eT = e01 / den + 2 * _U
        return _SAFE * (eT * seglen + 2 * _U * np.abs(nx))

    def value_errors(self, eXn, anchor, dx, cross_slope):
        """Error of the values ``Z0 + (x̃ − x0) DZ`` at the new float knots (max over neurons); the
        crossing neuron, set to 0, is off by its slope times the knot's error."""
        adx = np.abs(dx)
        Db, eD = float(self.DZb.max()), float(self.eDZ.max())
        e = self.eZ[anchor].max(axis=1) + adx * eD + 2.01 * _U * (float(self.Zb.max()) + adx * Db)
        return _SAFE * np.maximum(e, (np.abs(cross_slope) + eD) * eXn)

    def exact_done(self):
        """Quanta after a certified-exact split."""
        self.qx = max(self.qx, self.qn)
        self.qH = max(self.qZ, self.qn + self.qDZ)
        self.qD = self.qDZ


# ----------------------------------------------------------------------------- the engine
class _State:
    """Knots ``x`` (``K``), layer input ``H`` (``K, n``), slopes ``D`` (``K + 1, n``: row ``k`` is
    the segment ``(x[k-1], x[k])``, rows 0 and ``K`` the rays), activation-change flags ``edge``,
    network id ``gid`` of every knot (batches), the certificate ``cert`` (float mode)."""

    def __init__(self, B, interval, rational, want_edge):
        conv, dt = (Fraction, object) if rational else (float, np.float64)
        self.rational, self.B, self.bounded = rational, B, interval is not None
        self.zero = Fraction(0) if rational else 0.0
        pts = [0] if interval is None else list(interval)
        if not rational and any(float(p) != p for p in pts):
            raise _Ambiguous("the interval (an endpoint is not a float64)", 0.0)
        x = np.array([conv(p) for p in pts] * B, dtype=dt)
        self.x, self.H = x, x[:, None].copy()
        K = x.shape[0]
        self.gid = np.repeat(np.arange(B), len(pts)) if B > 1 else None
        self.D = np.full((K + 1, 1), conv(1), dtype=dt)
        if self.gid is not None:
            self.D[1:K][self.gid[1:] != self.gid[:-1]] = 0.0   # rows between two networks
        self.edge = np.zeros(K, dtype=bool) if want_edge else None
        self.cert = None if rational else _Cert(x)
        self.stats = None

    def segv(self):
        """``segv[k]``: knots ``k`` and ``k + 1`` belong to one network (``None`` for one network)."""
        return None if self.gid is None else self.gid[1:] == self.gid[:-1]

    def starts(self):
        if self.gid is None:
            return np.zeros(1, dtype=np.intp)
        return np.flatnonzero(np.concatenate([[True], self.gid[1:] != self.gid[:-1]]))


def _affine(st, H, D, A, b):
    """``Z = H Aᵀ + b`` at the knots and ``DZ = D Aᵀ`` on the segments, network by network."""
    if st.B == 1:
        A, b = A[0], b[0]
        if H.shape[0] >= _SMALL:                 # column-major: passes run along the knot axis
            Z, DZ = (A @ H.T).T, (A @ D.T).T
        else:
            Z, DZ = H @ A.T, D @ A.T
        Z += b
        return Z, DZ
    gid = st.gid
    gD = np.concatenate([gid[:1], gid])          # slope row k ↦ network of knot k − 1
    if A.shape[2] == 1:                          # input layer: an outer product per knot
        Z, DZ = H * A[:, :, 0][gid], D * A[:, :, 0][gD]
    elif A.shape[1] == 1:                        # output layer: a dot product per knot
        Z = np.einsum("kn,kn->k", H, A[:, 0, :][gid])[:, None]
        DZ = np.einsum("kn,kn->k", D, A[:, 0, :][gD])[:, None]
    else:
        Z = np.empty((H.shape[0], A.shape[1]))
        DZ = np.zeros((D.shape[0], A.shape[1]))
        bounds = np.append(st.starts(), H.shape[0])
        for g in range(st.B):                    # one small BLAS product per network
            r0, r1 = bounds[g], bounds[g + 1]
            np.matmul(H[r0:r1], A[g].T, out=Z[r0:r1])
            np.matmul(D[r0 + 1:r1], A[g].T, out=DZ[r0 + 1:r1])
    Z += b[gid]
    return Z, DZ


# Rows processed per block when a pass over all knots would otherwise need a full-size temporary.
_BLOCK = 1 << 16
# Below this many knots, numpy call overhead dominates and simpler code paths win.
_SMALL = 4096


def _order(a):
    """``"F"`` for a column-major 2-D array (that is not also row-major), else ``"C"``."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def _crossings(Z, segv):
    """Strict sign changes of neuron ``i`` between knots ``k`` and ``k + 1``: bool ``(K - 1, n)``."""
    pos = Z > 0
    neg = Z < 0
    cross = pos[:-1] & neg[1:]
    cross |= neg[:-1] & pos[1:]
    if segv is not None:
        cross &= segv[:, None]
    return cross


def _project_memory(sizes, remaining, n):
    """Refuse early when the knot count keeps multiplying (a sawtooth doubles it every layer) and
    the remaining layers would need more than :data:`MAX_MEMORY_BYTES`."""
    if remaining <= 0 or len(sizes) < 4:
        return
    growth = min(sizes[-1] / sizes[-2], sizes[-2] / sizes[-3], sizes[-3] / sizes[-4])
    if growth >= 1.5:
        _check_memory(int(sizes[-1] * growth**remaining), n, estimated=True)


def _check_memory(M, n, B=1, estimated=False):
    need = M * 8 * (2 + 3 * n)
    if need > MAX_MEMORY_BYTES:
        raise ValueError(
            f"counting needs about {need / 2**30:.1f} GiB for {M:,} knots{' (estimated)' if estimated else ''} of a width-{n} layer, over "
            f"nnlib.pieces.MAX_MEMORY_BYTES = {MAX_MEMORY_BYTES / 2**30:.0f} GiB; use a smaller network "
            "or interval")


# ----------------------------------------------------------------------------- splitting
def _segment_t(Z, g, seg, neu):
    """``t = z0 / d``, ``d = z0 − z1`` of the one crossing neuron of every segment, in segment order."""
    K = Z.shape[0]
    Zt = Z.T                                      # (n, K); contiguous if Z is column-major
    if not Zt.flags.c_contiguous:
        Zt = np.ascontiguousarray(Zt)
    Zf = Zt.reshape(-1)
    idx = g + neu                                 # flat index neu K + seg of z0 in Zt
    z0 = Zf[idx]
    idx += 1
    d = Zf[idx]
    del idx, Zt, Zf
    np.subtract(z0, d, out=d)
    t = z0 / d
    if seg.shape[0] and (seg[0] != 0 or seg[-1] != K - 2 or not np.all(seg[1:] > seg[:-1])):
        t2 = np.empty(K - 1, dtype=t.dtype)
        t2[seg] = t                               # back to segment order
        t = t2
    return t, d


def _split_every_segment(st, Z, DZ, g, seg, neu):
    """Merge step when every segment holds exactly one crossing (one network, bounded, exact).

    New knot ``i`` becomes row ``2i + 1``; old knot ``k`` row ``2k``; old segment row ``k``
    becomes rows ``2k - 1`` and ``2k``. Values at a new knot: ``Z0 + (x̃ − x0) DZ`` (exact on the
    affine segment); the crossing neuron is then exactly 0 there. Returns ``None`` (nothing
    changed) if the float knots are not certified exact: the general path takes over.
    """
    x, cert = st.x, st.cert
    K, n = Z.shape
    M = 2 * K - 1
    if seg is None:                               # a single neuron ``neu`` crosses everywhere
        t = np.subtract(Z[:-1, neu], Z[1:, neu])
        np.divide(Z[:-1, neu], t, out=t)
        cols = neu
    else:
        t = _segment_t(Z, g, seg, neu)
        cols = np.empty(K - 1, dtype=np.intp)
        cols[seg] = neu
    x2 = np.empty(M, dtype=x.dtype)
    x2[0::2] = x
    xn = x2[1::2]
    np.subtract(x[1:], x[:-1], out=xn)
    xn *= t
    xn += x[:-1]                                  # x0 + t (x1 − x0)
    del t
    if cert is not None:
        if not cert.exact_knots(xn):
            return None
    dx = xn - x[:-1]
    del xn
    if cert is not None:                          # residual: the crossing neuron's value, exactly
        r = Z[:-1, cols] if seg is None else Z[np.arange(K - 1), cols][:]
        rd = DZ[1:K, cols] if seg is None else DZ[np.arange(1, K), cols]
        if (r + dx * rd).any():
            return None
        del r, rd
        cert.exact_done()
    st.x = x2
    del x
    Z2 = np.empty((M, n), dtype=Z.dtype, order=_order(Z))
    Z2[0::2] = Z
    Zn = Z2[1::2]
    np.multiply(DZ[1:K], dx[:, None], out=Zn)
    Zn += Z[:-1]
    del Z, Zn, dx
    if seg is None:
        Z2[1::2, neu] = st.zero
    else:
        Z2[2 * np.arange(K - 1) + 1, cols] = st.zero
    DZ2 = np.empty((M + 1, n), dtype=DZ.dtype, order=_order(DZ))
    DZ2[0] = DZ[0]
    DZ2[1:M:2] = DZ[1:K]
    DZ2[2:M:2] = DZ[1:K]
    DZ2[M] = DZ[K]
    del DZ
    if st.edge is not None:
        edge2 = np.zeros(M, dtype=bool)
        edge2[0::2] = st.edge
        st.edge = edge2
    return Z2, DZ2


def _segment_t(Z, g, seg, neu):
    """``t = z0 / (z0 − z1)`` of the one crossing neuron of every segment, in segment order."""
    K = Z.shape[0]
    Zt = Z.T                                      # (n, K); contiguous if Z is column-major
    if not Zt.flags.c_contiguous:
        Zt = np.ascontiguousarray(Zt)
    Zf = Zt.reshape(-1)
    idx = g + neu                                 # flat index neu K + seg of z0 in Zt
    z0 = Zf[idx]
    idx += 1
    d = Zf[idx]
    del idx, Zt, Zf
    np.subtract(z0, d, out=d)
    np.divide(z0, d, out=z0)
    t = np.empty(K - 1, dtype=z0.dtype)
    t[seg] = z0                                   # back to segment order
    return t


def _ray_knots(st, Z, DZ):
    """Zeros on the two rays (whole line, one network): ``x_end − Z_end / DZ_end``, and their errors."""
    x, K, cert = st.x, Z.shape[0], st.cert
    ends, slopes = Z[[0, -1]], DZ[[0, K]]
    if cert is not None and not cert.exact:
        flat = (np.abs(slopes) <= cert.eDZ) & (ends != 0) & (cert.eDZ > 0)
        if flat.any():
            cert.fail("whether a pre-activation vanishes on a ray (its slope is within rounding of 0)")
    prod = ends * slopes
    on_ray = np.stack([prod[0] > 0, prod[1] < 0])     # left ray iff Z0 DZ0 > 0, right iff ZK DZK < 0
    side, rneu = np.nonzero(on_ray)                   # left-ray crossings first
    r = ends[side, rneu] / slopes[side, rneu]
    rx = x[[0, -1]][side] - r
    anchor = np.where(side == 0, 0, K - 1)
    err = None
    if cert is not None and not cert.exact:
        s, es = np.abs(slopes[side, rneu]), cert.eDZ[rneu]
        ez = cert.eZ[anchor, rneu]
        err = _SAFE * ((ez + np.abs(r) * es) / (s - es) + 2 * _U * (np.abs(r) + np.abs(rx)))
    return rx, anchor, side * K, rneu, err


def _split_general(st, Z, DZ, seg, neu):
    """Merge step in general: any number of crossings per segment, rays, batches, error bounds.

    Returns the merged values and slopes; knots, edges, network ids and bounds are updated in ``st``.
    """
    x, cert = st.x, st.cert
    K, n = Z.shape
    z0 = Z[seg, neu]
    d = z0 - Z[seg + 1, neu]
    x0, x1 = x[seg], x[seg + 1]
    nx = x0 + (z0 / d) * (x1 - x0)               # x0 + t (x1 − x0)
    anchor, srow, eXn = seg, seg + 1, None
    if cert is not None and not cert.exact:
        eXn = cert.knot_errors(nx, d, seg, seg + 1, neu, x1 - x0)
        np.clip(nx, x0, x1, out=nx)               # keep each knot inside its segment
    if not st.bounded:
        rx, ra, rs, rn, rerr = _ray_knots(st, Z, DZ)
        if rx.shape[0]:
            nl = int(np.count_nonzero(rs == 0))
            cat = lambda r, s: np.concatenate((r[:nl], s, r[nl:]))
            nx, anchor, srow, neu = cat(rx, nx), cat(ra, anchor), cat(rs, srow), cat(rn, neu)
            eXn = cat(rerr, eXn) if eXn is not None else None
            if cert is not None:
                cert.Xmax = max(cert.Xmax, float(np.abs(nx).max()))
    del z0, d, x0, x1
    if nx.shape[0] == 0:
        return Z, DZ
    if cert is not None and cert.exact and not cert.exact_knots(nx):
        cert._inexact(K, n)
        eXn = _SAFE * 8 * _U * (np.abs(nx) + cert.Xmax)   # one rounding of x0 + t (x1 − x0) or x − r
    dx = nx - x[anchor]
    nZ = Z[anchor]
    nZ += dx[:, None] * DZ[srow]                 # Z0 + (x̃ − x0) DZ: exact on the affine segment
    rows = np.arange(nx.shape[0])
    if cert is not None and cert.exact:
        if nZ[rows, neu].any():                  # residual: the knot is not the exact zero
            cert._inexact(K, n)
            eXn = _SAFE * 8 * _U * (np.abs(nx) + cert.Xmax)
        else:
            cert.exact_done()
    nZ[rows, neu] = st.zero                      # the crossing neuron is exactly 0
    eHn = cert.value_errors(eXn, anchor, dx, DZ[srow, neu]) if eXn is not None else None
    del neu, dx, anchor
    new = _sort_within_segments(srow, nx, nZ, eXn, eHn)
    new = _coincident(st, *new)
    return _merge(st, Z, DZ, *new)


def _sort_within_segments(srow, nx, *arrays):
    """Order the new knots of each segment by position (segments themselves are already ordered).

    The crossings are listed segment by segment, so a stable sort by ``(segment, x)`` keeps every
    knot in its own segment even if rounding put it an ulp outside.
    """
    if srow.shape[0] < 2 or not (srow[1:] == srow[:-1]).any():
        return (srow, nx) + arrays
    order = np.lexsort((nx, srow))
    return (srow[order], nx[order]) + tuple(None if a is None else a[order] for a in arrays)


def _coincident(st, srow, nx, nZ, eXn, eHn):
    """New knots of one segment that coincide: merged when certified equal, refused when unsure."""
    if srow.shape[0] < 2:
        return srow, nx, nZ, eXn, eHn
    same = srow[1:] == srow[:-1]
    if not same.any():
        return srow, nx, nZ, eXn, eHn
    gap = nx[1:] - nx[:-1]
    if eXn is not None:
        if (same & (gap <= eXn[1:] + eXn[:-1])).any():
            st.cert.fail("the order of two new knots (they are within rounding of each other)")
        return srow, nx, nZ, eXn, eHn
    dup = same & (gap == 0)                      # exact values: equal means the same point
    if not dup.any():
        return srow, nx, nZ, eXn, eHn
    keep = np.concatenate([[True], ~dup])
    return srow[keep], nx[keep], nZ[keep], None, None   # exact rows: every crossing neuron is 0 there


def _merge(st, Z, DZ, srow, nx, nZ, eXn, eHn):
    """Insert the sorted new knots; new knot ``i`` goes right after old knot ``srow[i] − 1``."""
    x, cert = st.x, st.cert
    K, n = Z.shape
    n_new = nx.shape[0]
    M = K + n_new
    _check_memory(M, n)
    is_new = np.zeros(M, dtype=bool)
    is_new[srow + np.arange(n_new)] = True
    is_old = ~is_new

    def put(old, new, shape=None):
        out = np.empty((M,) + old.shape[1:], dtype=old.dtype, order=_order(old) if old.ndim == 2 else "C")
        out[is_old] = old
        out[is_new] = new
        return out

    st.x = put(x, nx)
    Z2 = put(Z, nZ)
    del Z, nZ
    if st.edge is not None:
        st.edge = put(st.edge, False)
    if st.gid is not None:
        st.gid = put(st.gid, st.gid[srow])
    if eXn is not None:
        cert.eX = put(cert.eX, eXn)
        cert.E = put(cert.eZ, eHn[:, None])
    reps = np.bincount(srow, minlength=K + 1)
    reps += 1
    return Z2, np.repeat(DZ, reps, axis=0)        # a split segment keeps its slope


# ----------------------------------------------------------------------------- one layer
def _layer(st, A, b, record):
    """Propagate one hidden layer ``z = A h + b`` followed by the ReLU (state ``st`` in place)."""
    H, D = st.H, st.D
    st.H = st.D = None
    cert = st.cert
    if cert is not None:
        Hs, Dmax = _hs(st, H), max(float(D.max()), -float(D.min()))
    Z, DZ = _affine(st, H, D, A, b)
    del H, D
    if cert is not None:
        cert.before(Z, DZ, A, b, Hs, Dmax)
    K, n = Z.shape
    cross = _crossings(Z, st.segv())
    fast = False
    if st.bounded and st.B == 1 and K >= 2 and (cert is None or cert.exact):
        g = np.flatnonzero(cross.T)               # neuron-major: g = neu (K - 1) + seg
        if g.shape[0] == K - 1:
            if g[0] // (K - 1) == g[-1] // (K - 1):
                fast, neu, seg = True, int(g[0] // (K - 1)), None   # the sawtooth's hat neuron
            else:
                neu, seg = np.divmod(g, K - 1)
                hit = np.zeros(K - 1, dtype=bool)
                hit[seg] = True
                fast = bool(hit.all())
    if fast:
        _check_memory(2 * K - 1, n)
        out = _split_every_segment(st, Z, DZ, g, seg, neu)
        fast = out is not None
    if fast:
        del cross
        Z, DZ = out
        del out
    else:
        seg, neu = np.divmod(np.flatnonzero(cross), n)   # segment-major
        del cross
        Z, DZ = _split_general(st, Z, DZ, seg, neu)
        if cert is not None and not cert.exact and cert.E is None:
            cert.E = cert.eZ                      # no new knots
    if record is not None:
        record.append(LayerKnots(st.x, Z.copy(), DZ.copy()))
    if st.stats is not None:
        _record_stats(st, Z, DZ)
    _relu(st, Z, DZ)


def _relu(st, Z, DZ):
    """On/off pattern per segment, slopes of inactive neurons set to 0, then ``H = ϱ(Z)``.

    No pre-activation changes sign strictly inside a segment any more, so the sum of the endpoint
    values has the sign of the segment; on the rays, look one unit outwards.
    """
    M, n = Z.shape
    cert, zero = st.cert, st.zero
    check = cert is not None and not cert.exact
    segv = st.segv()
    ends = np.stack([Z[0] - DZ[0], Z[-1] + DZ[-1]])
    if check:
        E = cert.E
        Em = cert.margin(E, DZ)
        if not st.bounded and (np.abs(ends) <= Em[[0, -1]] + cert.eDZ).any():
            cert.fail("the sign of a pre-activation on a ray")
    want_edge = st.edge is not None
    if want_edge or segv is not None or check:
        off = np.empty((M + 1, n), dtype=bool)
        np.logical_not(ends[0] > 0, out=off[0])
        s = Z[:-1] + Z[1:]
        if check:
            e = Em[:-1] + Em[1:]
            amb = (np.abs(s) <= e) & (e > 0)
            if segv is not None:
                amb &= segv[:, None]
            if amb.any():
                cert.fail("the sign of a pre-activation on a segment (within rounding of 0)")
        np.less_equal(s, 0, out=off[1:M])
        del s
        np.logical_not(ends[1] > 0, out=off[M])
        if want_edge:
            change = (off[:-1] != off[1:]).any(axis=1)   # knot k separates rows k and k + 1
            st.edge |= change
        np.copyto(DZ, zero, where=off)
        del off
    else:
        DZ[0][~(ends[0] > 0)] = zero
        DZ[M][~(ends[1] > 0)] = zero
        for r0 in range(1, M, _BLOCK):
            r1 = min(M, r0 + _BLOCK)
            off = np.add(Z[r0 - 1:r1 - 1], Z[r0:r1]) <= 0
            np.copyto(DZ[r0:r1], zero, where=off)
    if st.rational:
        Z = np.where(Z > 0, Z, zero)
    else:
        np.maximum(Z, 0.0, out=Z)
    if segv is not None:
        DZ[1:M][~segv] = 0.0                      # rows between two networks stay 0
    if check:                                     # ϱ is 1-Lipschitz: errors carry over
        cert.eH, cert.eD = E.max(axis=1), float(cert.eDZ.max())
        cert.E = cert.eZ = None
    st.H, st.D = Z, DZ


def _hs(st, H):
    """``max_i |H[k, i]|`` per knot (error mode), or its maximum (exact mode)."""
    first = st.layer == 0                         # H = x; after layer 1, H = ϱ(Z) >= 0
    if st.cert.exact:
        return st.cert.Xmax if first else float(H.max())
    return np.abs(H[:, 0]) if first else H.max(axis=1)


def _record_stats(st, Z, DZ):
    """``max_slope`` and ``dead`` of this layer for every network (what training records)."""
    j, starts = st.stats["j"], st.starts()
    m = np.abs(DZ).max(axis=1)[1:-1]              # segment rows 1 … M − 1
    segv = st.segv()
    if segv is not None:
        m = np.where(segv, m, 0)
    ms = np.zeros(st.x.shape[0], dtype=m.dtype)
    ms[:-1] = m                                  # knot k ↦ segment (x[k], x[k+1])
    st.stats["max_slope"][:, j] = [float(v) for v in np.maximum.reduceat(ms, starts)]
    if Z.shape[1] > 0 and j < st.stats["dead"].shape[1]:
        alive = np.logical_or.reduceat(Z > 0, starts, axis=0)
        st.stats["dead"][:, j] = (~alive).sum(axis=1)
    st.stats["j"] = j + 1


# ----------------------------------------------------------------------------- whole network
def _propagate(layers, B, interval, rational, *, want_edge=False, record=None, stats=False):
    """Run all layers; return the state with the final knots, output slopes ``st.D`` (``K + 1``)
    and, in ``st.changed``, where the output slope changes at each knot (endpoints excluded).

    ``layers``: ``(A, b)`` with ``A`` of shape ``(B, N_j, N_{j-1})``, ``b`` of shape ``(B, N_j)``.
    """
    st = _State(B, interval, rational, want_edge)
    st.layer, sizes = 0, [st.x.shape[0]]
    if stats:
        L = len(layers)
        st.stats = {"j": 0, "max_slope": np.zeros((B, L)), "dead": np.zeros((B, L - 1), dtype=np.int64)}
    if st.cert is not None:
        st.cert.net_cost = sum(A.shape[1] * A.shape[2] for A, _ in layers)
    for j, (A, b) in enumerate(layers):
        if rational:
            A, b = _to_exact(A), _to_exact(b)
        if j < len(layers) - 1:
            _layer(st, A, b, record)
            st.layer += 1
            sizes.append(st.x.shape[0])
            _project_memory(sizes, len(layers) - 1 - st.layer, A.shape[1])
            continue
        H, D = st.H, st.D
        st.H = st.D = None
        cert = st.cert
        if cert is not None:
            Hs, Dmax = _hs(st, H), max(float(D.max()), -float(D.min()))
        Z, DZ = _affine(st, H, D, A, b)
        if cert is not None:
            cert.before(Z, DZ, A, b, Hs, Dmax, check=False)
        if record is not None:
            record.append(LayerKnots(st.x, Z, DZ))
        if stats:
            _record_stats(st, Z[:, :0], DZ)
        st.D = DZ[:, 0]
        st.changed = _changed(st, layers)
        return st
    raise AssertionError("unreachable")


def _to_exact(a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    out.flat[:] = [Fraction(float(v)) for v in a.flat]
    return out


def _inner(st):
    """Knots that are not endpoints of a bounded interval (bool, ``K``)."""
    K = st.x.shape[0]
    if not st.bounded:
        return np.ones(K, dtype=bool)
    inner = np.ones(K, dtype=bool)
    starts = st.starts()
    inner[starts] = False
    inner[np.append(starts[1:], K) - 1] = False
    return inner


def _changed(st, layers):
    """Knots where the output slope changes: certified (float), or exact (rational / dyadic)."""
    s, K = st.D, st.x.shape[0]
    left, right = s[:K], s[1:K + 1]
    inner = _inner(st)
    cert = st.cert
    if cert is None or cert.exact or not (cert.eDZ > 0).any():
        return (left != right) & inner
    diff = np.abs(left - right)
    changed = (diff > 2 * float(cert.eDZ[0])) & inner
    unsure = np.flatnonzero(inner & ~changed)
    if unsure.shape[0]:
        gid = st.gid[unsure] if st.gid is not None else np.zeros(unsure.shape[0], dtype=np.intp)
        net = [(A[gid], b[gid]) for A, b in layers]          # the weights of each knot's network
        if not _equal_by_support(st, net, unsure).all():
            cert.fail("whether the output slope changes at a knot (the change is within rounding of 0)")
    return changed


def _patterns(net, p):
    """Certified on/off patterns of the hidden neurons at the float points ``p`` (point ``k`` in
    the network with weights ``A[k], b[k]``), from forward-error bounds."""
    h, e, out = p[:, None], np.zeros((p.shape[0], 1)), []
    for A, b in net[:-1]:
        absA = np.abs(A)
        z = np.einsum("km,knm->kn", h, A) + b
        g = _gamma(A.shape[2] + 1)
        e = _SAFE * (np.einsum("km,knm->kn", e, absA) + g * (np.einsum("km,knm->kn", np.abs(h), absA) + np.abs(b)))
        if (np.abs(z) <= e).any():
            raise _Ambiguous("an activation pattern next to a knot (a pre-activation within rounding of 0)", 0.0)
        on = z > 0
        out.append(on)
        h, e = np.where(on, z, 0.0), np.where(on, e, 0.0)
    return out


def _equal_by_support(st, net, ks):
    """Whether the output slopes on the two sides of the knots ``ks`` are certainly equal.

    The slope difference across a knot is ``δ_L = A_L δ_{L-1}`` with
    ``δ_j = m_j^R ⊙ (A_j δ_{j-1}) + (m_j^R − m_j^L) ⊙ (A_j d_{j-1})`` (``m`` the on/off patterns of
    the two segments). Its *support* is bounded by a boolean propagation through the non-zero
    weights: if it is empty at the output, the slopes are equal whatever the rounding (a kink
    hidden by dead neurons or zero weights downstream). Patterns come from :func:`_patterns` at
    points certified to lie inside the two segments. ``net``: per-knot weights ``(A[k], b[k])``.
    """
    x, K, eX = st.x, st.x.shape[0], _SAFE * st.cert.eX
    il, ir = np.maximum(ks - 1, 0), np.minimum(ks + 1, K - 1)
    xk, xl, xr = x[ks], x[il], x[ir]
    far = 1.0 + np.abs(xk) + eX[ks]
    pl = np.where(ks > 0, 0.5 * xl + 0.5 * xk, xk - far)
    pr = np.where(ks < K - 1, 0.5 * xk + 0.5 * xr, xk + far)
    inside = ((xk - pl > eX[ks]) & (pr - xk > eX[ks]) & ((ks == 0) | (pl - xl > eX[il]))
              & ((ks == K - 1) | (xr - pr > eX[ir])))
    if not inside.all():
        st.cert.fail("whether the output slope changes at a knot (its neighbours are within rounding)")
    try:
        mL, mR = _patterns(net, pl), _patterns(net, pr)
    except _Ambiguous as exc:
        st.cert.fail(exc.args[0])
    S = np.zeros((ks.shape[0], 1))
    for (A, _), onL, onR in zip(net[:-1], mL, mR):
        S = ((onR & (np.einsum("km,knm->kn", S, (A != 0).astype(np.float64)) > 0)) | (onL != onR)).astype(np.float64)
    return np.einsum("km,knm->kn", S, (net[-1][0] != 0).astype(np.float64))[:, 0] == 0


# ----------------------------------------------------------------------------- public API
def _single(net, interval, exact, **kw):
    """Validate and propagate one network; float mode redoes ambiguous counts exactly or refuses."""
    net = check_network(net, univariate=True)
    interval = check_interval(interval)
    exact = check_flag(exact, "exact")
    layers = [(A[None], b[None]) for A, b in net.layers]
    if exact:
        return _propagate(layers, 1, interval, True, **kw)
    try:
        return _propagate(layers, 1, interval, False, **kw)
    except _Ambiguous as exc:
        reason, work = exc.args
        if work > EXACT_FALLBACK_WORK:
            raise ValueError(
                f"float mode cannot certify {reason}; the exact rational count would take about "
                f"{work:.1e} operations (over nnlib.pieces.EXACT_FALLBACK_WORK = {EXACT_FALLBACK_WORK:.0e}): "
                "use exact=True") from None
        if kw.get("record") is not None:
            kw["record"].clear()
        return _propagate(layers, 1, interval, True, **kw)


def breakpoints(net, interval=None, *, exact=False) -> np.ndarray:
    """Breakpoints of the realisation of a univariate network: where its slope changes.

    Serves Chapter 1, §"Counting pieces exactly", {prf:ref}`alg-knot-propagation`; tested in
    ``tests/test_pieces.py`` and against the reference propagation ``tests/reference_propagation.py``.

    Parameters
    ----------
    net : ReLUNetwork
        A network with ``widths[0] == widths[-1] == 1``.
    interval : (a, b) or None
        Finite ``a < b`` (floats or ``Fraction``), or ``None`` for the whole real line. The
        endpoints are never breakpoints.
    exact : bool, keyword-only
        ``False``: float64 propagation, certified (see Notes). ``True``: the same propagation in
        rational arithmetic; the result is then an object array of ``Fraction``.

    Returns
    -------
    numpy.ndarray, shape ``(P - 1,)``
        The sorted breakpoints; ``P`` is the number of maximal affine pieces.

    Raises
    ------
    ValueError
        In float mode, if a decision cannot be certified in float64 and the rational redo is too
        expensive (the message says which decision; use ``exact=True``); if the arrays would
        exceed :data:`MAX_MEMORY_BYTES`.

    Notes
    -----
    Float mode never returns a result that differs from ``exact=True``: rounding could flip the
    sign of a pre-activation that vanishes at a knot, the order of two nearby knots, or hide a
    kink cancelled downstream, at any scale of the interval. Each such decision is certified
    (exact dyadic arithmetic, or a rigorous error bound), otherwise the count is redone in
    rational arithmetic when cheap (:data:`EXACT_FALLBACK_WORK`), otherwise refused.
    """
    st = _single(net, interval, exact)
    out = st.x[st.changed]
    return out.astype(np.float64) if st.rational and not exact else out


def count_pieces(net, interval=None, *, exact=False) -> int:
    """Number of maximal affine pieces of ``R(Φ)`` on ``interval`` (``None``: the whole line).

    Serves Chapter 1, {prf:ref}`def-pieces` and {prf:ref}`alg-knot-propagation`; tested in
    ``tests/test_pieces.py`` against ``exact=True``, the reference propagation and hand-made
    networks with known answers. Parameters, errors and Notes as in :func:`breakpoints`.

    Returns
    -------
    int
    """
    return int(np.count_nonzero(_single(net, interval, exact).changed)) + 1


def count_activation_regions(net, interval=None, *, exact=False) -> int:
    """Number of maximal intervals on which the on/off pattern of all hidden neurons is constant.

    Serves Chapter 1, {prf:ref}`def-pieces`. A neuron is *on* where its pre-activation is > 0.
    Patterns are compared on the open segments between knots, so a neuron that only touches zero
    at one point does not split a region. Always ``count_pieces <= count_activation_regions``.
    Parameters, errors and Notes as in :func:`breakpoints`.

    Returns
    -------
    int
    """
    st = _single(net, interval, exact, want_edge=True)
    return int(np.count_nonzero(st.edge & _inner(st))) + 1


def propagate_knots(net, interval=None, *, exact=False) -> list:
    """The propagation state after every layer, for pictures of the algorithm.

    Serves Chapter 1, {prf:ref}`alg-knot-propagation` (figures) and the level-crossing tools of
    :mod:`nnlib.crossings`. Parameters as in :func:`breakpoints`.

    Returns
    -------
    list of LayerKnots
        One entry per layer ``j = 1, …, L``: the knots after layer ``j``'s splits, and the
        pre-activations ``z^(j)`` at those knots (for the last layer, the output). Float64 arrays
        in float mode (also when the count was redone exactly), ``Fraction`` arrays otherwise.
    """
    record: list = []
    st = _single(net, interval, exact, record=record)
    if st.rational and not check_flag(exact, "exact"):
        f = lambda a: a.astype(np.float64)
        record = [LayerKnots(f(r.x), f(r.z), f(r.slope)) for r in record]
    return record


def network_state(net, interval) -> dict:
    """Exact pieces, regions, per-layer max slopes and dead neurons of ``net`` on ``interval``.

    Serves Chapter 2, section "The give-away" (the input derivatives of Assumption (B),
    {prf:ref}`thm-sawtooth-pieces`) and Chapter 5 (what training records). Float mode, certified
    as in :func:`breakpoints`, bounded ``interval`` only.

    Returns
    -------
    dict
        ``pieces`` (int), ``regions`` (int), ``max_slope`` (float64, shape ``(L,)``: the
        ``max_{i, x ∈ D} |∂z_{j,i}/∂x|`` of layer ``j``), ``dead`` (int64, shape ``(L-1,)``).
    """
    check_network(net, univariate=True)
    interval = check_interval(interval, allow_none=False)
    st = _single(net, interval, False, want_edge=True, stats=True)
    inner = _inner(st)
    return {"pieces": int(np.count_nonzero(st.changed)) + 1,
            "regions": int(np.count_nonzero(st.edge & inner)) + 1,
            "max_slope": st.stats["max_slope"][0], "dead": st.stats["dead"][0]}


def batched_states(layers, interval) -> dict:
    """:func:`network_state` for ``B`` networks of the same shape at once.

    Serves Chapter 5 (recording pieces at every training step, :mod:`nnlib.training`): the one
    propagation of this module run on the knots of all ``B`` networks stacked in one array, so
    that each numpy call serves every network (one network at a time costs about as much as an
    optimiser step). If a decision cannot be certified for the batch, the networks are redone one
    by one (each exact or refused as in :func:`network_state`).

    Parameters
    ----------
    layers : list of (A, b)
        ``A`` of shape ``(B, N_j, N_{j-1})`` and ``b`` of shape ``(B, N_j)``, float64, for
        ``j = 1, …, L`` (``N_0 = N_L = 1``).
    interval : (a, b)
        Finite ``a < b``.

    Returns
    -------
    dict of numpy.ndarray
        ``pieces``, ``regions`` (int64, ``(B,)``), ``max_slope`` (float64, ``(B, L)``), ``dead``
        (int64, ``(B, L-1)``).
    """
    interval = check_interval(interval, allow_none=False)
    layers = _check_batch(layers)
    B = layers[0][0].shape[0]
    try:
        st = _propagate(layers, B, interval, False, want_edge=True, stats=True)
    except _Ambiguous:
        from .networks import ReLUNetwork
        states = [network_state(ReLUNetwork([(A[g], b[g]) for A, b in layers]), interval) for g in range(B)]
        return {k: np.array([s[k] for s in states]) for k in ("pieces", "regions", "max_slope", "dead")}
    starts, inner = st.starts(), _inner(st)
    return {"pieces": np.add.reduceat(st.changed.astype(np.int64), starts) + 1,
            "regions": np.add.reduceat((st.edge & inner).astype(np.int64), starts) + 1,
            "max_slope": st.stats["max_slope"], "dead": st.stats["dead"]}


def _check_batch(layers):
    """``layers`` as a list of float64 ``(A, b)`` of shapes ``(B, N_j, N_{j-1})``, ``(B, N_j)``."""
    from ._validate import as_real_array

    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list of (A, b) pairs")
    out = []
    for j, pair in enumerate(layers, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"layers[{j - 1}] must be a pair (A, b)")
        A = as_real_array(pair[0], f"layers[{j - 1}] A", ndim=3)
        b = as_real_array(pair[1], f"layers[{j - 1}] b", ndim=2)
        prev = 1 if j == 1 else out[-1][0].shape[1]
        if A.shape[2] != prev or b.shape != A.shape[:2] or A.shape[0] != (out[0][0].shape[0] if out else A.shape[0]):
            raise ValueError(f"layers[{j - 1}]: shapes A {A.shape}, b {b.shape} do not chain (B, N_j, N_(j-1))")
        out.append((A, b))
    if out[-1][0].shape[1] != 1:
        raise ValueError(f"layers must end with one output, got {out[-1][0].shape[1]}")
    return out


def count_regions_on_grid(net, interval, num_points: int) -> int:
    """Activation regions *seen* by sampling ``num_points`` equally spaced points of ``interval``.

    Serves Chapter 1, section "Sampling undercounts". This is the sampling method many papers
    use; it can only undercount, since two grid points with different patterns have at least one
    region boundary between them, while regions narrower than the grid spacing can fall between
    two points. Memory is bounded: the grid is generated and evaluated in chunks of at most
    ``2**20`` neuron values (``tests/test_pieces.py`` measures the peak at ``2e7`` points).

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network.
    interval : (a, b)
        Finite interval (sampling cannot cover the whole line).
    num_points : int
        Number of grid points, ``2 <= num_points <= 10**12``.
    """
    net = check_network(net, univariate=True)
    a, b = (float(v) for v in check_interval(interval, allow_none=False))
    num_points = check_int(num_points, "num_points", minimum=2, maximum=10**12)
    changes, prev = 0, None
    chunk = max(1, _GRID_CHUNK // max(1, net.num_neurons))
    for start in range(0, num_points, chunk):
        idx = np.arange(start, min(num_points, start + chunk), dtype=np.float64)
        pat = net.activation_pattern(a + (b - a) * (idx / (num_points - 1)))
        del idx
        if prev is not None:
            changes += int(np.any(pat[0] != prev))
        changes += int(np.count_nonzero(np.any(pat[1:] != pat[:-1], axis=1)))
        prev = pat[-1].copy()
    return changes + 1


_GRID_CHUNK = 2**20      # neuron values per chunk of count_regions_on_grid
