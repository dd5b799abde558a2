"""Dyadic arithmetic for the float engine of :mod:`nnlib.pieces` (an internal module).

Chapter 1, section "Counting pieces exactly" ({prf:ref}`alg-knot-propagation`): float mode is
exact or refuses, and this module holds the two tools it uses to be exact without rational
arithmetic. Every float64 is a *dyadic* rational ``I 2^-q``:

* :class:`Certificate` proves, layer by layer, that a float propagation computes every knot,
  value and slope exactly (all numbers are multiples of a per-neuron quantum ``2^-q`` and small
  enough that every product and partial sum fits in 53 bits): the sawtooth, Yarotsky's square and
  float16-trained networks are then counted in float64 without margins.
* :func:`dyadic_ints`, :func:`exact_slopes_at` and :func:`slopes_differ` decide an activation
  pattern and compare slopes exactly in integer arithmetic, where float mode's margins cannot.

Like :mod:`nnlib._validate`, this module is internal: its names carry no underscore so that
:mod:`nnlib.pieces` may import them, but they are not part of the public API. Tested in
``tests/test_engine.py`` (the certificate's bounds and quanta against rational arithmetic on
every certified layer; ``quanta``, ``rooms`` and ``fits`` entry by entry).
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

__all__ = ["NOQ", "Certificate", "cached_weight_data", "cols_max", "dyadic_ints", "exact_slope_at",
           "exact_slopes_at", "few_bits", "first_few_bits", "fits", "is_multiple", "quanta", "quantum",
           "quantum_of", "rooms", "scaled_int", "slopes_differ", "weight_data"]

_MAX, _MIN = np.maximum.reduce, np.minimum.reduce   # reductions without ndarray.max's wrapper
_CACHED = 4096                                      # layers up to this many entries: cached by content

NOQ = -4096                                     # quantum of an all-zero array ("no constraint")


def quantum(a) -> int:
    """Smallest ``q`` with every entry of ``a`` an integer multiple of ``2^-q`` (float64)."""
    a = np.asarray(a, dtype=np.float64)
    return int(_MAX(quanta(a), axis=None)) if a.size else NOQ


def quantum_of(v: float) -> int:
    """:func:`quantum` of one float, in Python arithmetic (no array calls)."""
    if v == 0:
        return NOQ
    m, e = math.frexp(v)
    M = abs(int(m * 2.0**53))                    # v = ±M 2^(e-53), M < 2^53 an integer
    return 53 - e - ((M & -M).bit_length() - 1)


def is_multiple(a, q: int) -> bool:
    """Whether every entry of ``a`` is an integer multiple of ``2^-q`` (scaling by 2^q is exact)."""
    with np.errstate(over="ignore"):              # (inf is not an integer: False)
        y = np.ldexp(a, q)
    return bool(np.array_equal(np.rint(y), y)) and bool(np.isfinite(y).all())


def scaled_int(v: float, q: int) -> int:
    """``v 2^q`` as a Python int, exactly (``q >=`` the quantum of ``v``)."""
    m, e = math.frexp(v)
    M, s = int(m * 2.0**53), e - 53 + q
    return M << s if s >= 0 else M >> -s          # (an exact shift: q covers v's fraction bits)


def dyadic_ints(a):
    """``(I, q)`` with ``a == I 2^-q`` exactly: ``I`` an object array of Python ints, ``q >= 0``."""
    a = np.asarray(a, dtype=np.float64)
    q = max(0, quantum(a))
    out = np.empty(a.size, dtype=object)
    big = float(_MAX(np.abs(a), axis=None)) if a.size else 0.0
    if big == 0 or math.frexp(big)[1] + q <= 1023:     # a 2^q is an exact float integer: convert it
        out[:] = [int(v) for v in np.ldexp(a, q).ravel().tolist()]
    else:
        out[:] = [scaled_int(v, q) for v in a.ravel().tolist()]
    return out.reshape(a.shape), q


def exact_slopes_at(int_layers, p: float, inside: bool = False):
    """Slopes ``dz/dx`` of the last of ``int_layers``' pre-activations on the piece containing the
    point ``p``, exactly: ``(I, q)`` for the vector ``I 2^-q``; ``None`` where a pre-activation of an
    earlier layer vanishes at ``p`` (``p`` may be a kink), unless ``inside`` says that ``p`` lies
    inside a piece (then such a neuron is zero on the whole piece: off).

    ``int_layers`` are the layers as :func:`dyadic_ints` pairs ``((I_A, q_A), (I_b, q_b))``; every
    value is a dyadic rational, so integer arithmetic decides the activation pattern at ``p`` and
    the slope along it exactly (floats are dyadic: no Fraction arithmetic is needed).
    """
    h, qh = dyadic_ints([p])
    d, qd = np.ones(1, dtype=object), 0
    for j, ((IA, qA), (Ib, qb)) in enumerate(int_layers):
        dz, qdz = IA.dot(d), qA + qd
        if j == len(int_layers) - 1:
            return dz, qdz
        q = max(qA + qh, qb)
        z = IA.dot(h) * (1 << (q - qA - qh)) + Ib * (1 << (q - qb))
        if not inside and (z == 0).any():
            return None
        on = z > 0
        h, qh = np.where(on, z, 0), q
        d, qd = np.where(on, dz, 0), qdz
    raise ValueError("a network has at least one layer")


def exact_slope_at(int_layers, p: float):
    """The output slope (one output) of :func:`exact_slopes_at`: ``(I, q)`` or ``None``."""
    out = exact_slopes_at(int_layers, p)
    return None if out is None else (out[0][0], out[1])


def slopes_differ(s, t) -> bool:
    """Whether exact slopes ``(I, q)`` and ``(J, r)`` (:func:`exact_slope_at`) differ."""
    q = max(s[1], t[1])
    return s[0] << (q - s[1]) != t[0] << (q - t[1])


def fits(bound: float, q: int) -> bool:
    """Multiples of ``2^-q`` of magnitude <= ``bound`` (and their partial sums) are exact float64s
    (``q <= 1074``: 2^-1074 is the smallest float)."""
    return bound == 0 or (math.isfinite(bound) and math.frexp(bound)[1] + q <= 52 and q <= 1074)


def quanta(a) -> np.ndarray:
    """Elementwise :func:`quantum` (``NOQ`` for zeros), as an int64 array of ``a``'s shape."""
    a = np.asarray(a, dtype=np.float64)
    m, e = np.frexp(a)
    M = np.abs(m * 2.0**53).astype(np.int64)     # a = ±M 2^(e-53), M < 2^53 an integer
    tz = np.frexp((M & -M).astype(np.float64))[1] - 1
    return np.where(a != 0, 53 - e - tz, NOQ)


def rooms(bounds, qs):
    """Row by row of 2-D arrays: ``max bound 2^q`` over the pairs of a bound and a quantum (exact:
    scaling by a power of two; 0.0 for an empty row) and the largest quantum (``NOQ`` for an empty
    row), as two lists. A row's pairs fit (:func:`fits`) iff its room is below ``2^52``; inf, nan,
    an overflow to inf and a quantum beyond 1074 do not fit."""
    if not bounds.shape[1]:
        return [0.0] * bounds.shape[0], [NOQ] * bounds.shape[0]
    with np.errstate(over="ignore"):              # an overflow to inf does not fit
        scaled = np.ldexp(bounds, qs)
    room, qmax = _MAX(scaled, axis=1).tolist(), _MAX(qs, axis=1).tolist()
    # A quantum below the smallest float: the bound may have underflowed to 0 (no proof of 0).
    return [math.inf if q > 1074 else r for r, q in zip(room, qmax)], qmax


def few_bits(a) -> bool:
    """Whether ``a`` survives a float32 round trip (at most 24 significant bits): a cheap
    necessary test before the exactness certificate."""
    with np.errstate(over="ignore"):              # huge values become inf: then not equal
        return bool(np.array_equal(a.astype(np.float32), a))


def first_few_bits(a) -> bool:
    """:func:`few_bits` of the first entry only: random float64 weights fail it at once."""
    v = a.item(0) if a.size else 0.0
    return abs(v) <= 3.4e38 and float(np.float32(v)) == v


def weight_data(A, b):
    """What the certificate needs of one layer's weights: ``None`` if they have more than 24
    significant bits, else ``(Q_A, q_b, |A|ᵀ, |b|)``: the quanta of ``A``, ``|A|`` transposed,
    and the bias's quanta and magnitudes as 2-row arrays (row 0 for the values, row 1, without
    bias, for the slopes: see :meth:`Certificate.bounds`); for a batch, the worst network per entry."""
    if not (few_bits(A) and few_bits(b)):
        return None
    QA, qb, absA, absb = quanta(A), quanta(b), np.abs(A), np.abs(b)
    if A.ndim == 3:
        QA, qb, absA, absb = (a.max(axis=0) for a in (QA, qb, absA, absb))
    out = (QA, np.stack([qb, np.full_like(qb, NOQ)]), np.ascontiguousarray(absA.T),
           np.stack([absb, np.zeros_like(absb)]))
    for a in out:
        a.flags.writeable = False                 # shared through the cache
    return out


@functools.lru_cache(maxsize=64)
def _weight_data_by_content(dtype, shape_a, bytes_a, shape_b, bytes_b):
    A = np.frombuffer(bytes_a, dtype=dtype).reshape(shape_a)
    return weight_data(A, np.frombuffer(bytes_b, dtype=dtype).reshape(shape_b))


def cached_weight_data(A, b):
    """:func:`weight_data`, cached by content for small layers (a construction such as the
    sawtooth repeats one layer, and a benchmark or a chapter counts one network many times)."""
    if not (first_few_bits(A) and first_few_bits(b)):
        return None
    if A.size + b.size <= _CACHED and A.dtype == b.dtype:
        return _weight_data_by_content(A.dtype.str, A.shape, A.tobytes(), b.shape, b.tobytes())
    return weight_data(A, b)


def cols_max(a) -> np.ndarray:
    """Per-column max |a| without a full-size temporary."""
    return np.maximum(a.max(axis=0), -a.min(axis=0)) if a.shape[0] else np.zeros(a.shape[1])


class Certificate:
    """Dyadic exactness certificate of a float propagation (the sawtooth and other constructions).

    While every weight, bias, knot, value and slope is an integer multiple of ``2^-q`` small enough
    that all products and partial sums fit in 53 bits, float64 arithmetic *is* rational
    arithmetic: signs, zeros and coincidences are then exact and need no margin. Quanta are kept
    per neuron (a column of ``H`` or ``D``) and tracked layer by layer from the weights' quanta;
    a new knot ``x0 + t (x1 − x0)`` keeps the certificate when ``t`` is a multiple of ``2^-q_t``
    (checked on all knots) and ``t (z0 − z1) == z0`` exactly (``t`` is the exact zero). Once a
    check fails, the run continues under the margins of float mode and the exact decisions
    (``nnlib.pieces._Oracle``).

    Values and slopes share every step: ``q`` and ``m`` hold the quanta and magnitude bounds of
    the columns of ``H`` (row 0) and ``D`` (row 1); ``qz`` and ``zb`` those of ``Z`` and ``DZ``.
    """

    def __init__(self, x):
        self.exact = True
        self.x = x                                # quanta set up at the first layer (if needed)
        self.qx = None

    def _start(self):
        xs = set(self.x.tolist())                 # the interval's ends (of each network), or 0
        self.qx = max(quantum_of(v) for v in xs)
        self.qt = NOQ
        self.Xmax = max(abs(v) for v in xs)
        self.q = np.array([[self.qx], [0]])      # the one input column: x (slope 1)
        self.m = np.array([[self.Xmax], [1.0]])
        del self.x

    def bounds(self, weights):
        """Quanta ``qz`` and bounds ``zb`` of ``Z = H Aᵀ + b`` (row 0) and ``DZ = D Aᵀ`` (row 1),
        per neuron; returns the rooms (:func:`rooms`) of both rows."""
        QA, qb, absAT, absb = weights
        self.qz = _MAX(QA + self.q[:, None, :], axis=2)   # the finest term a_ij h_j (a_ij d_j)
        np.maximum(self.qz, qb, out=self.qz)
        self.zb = self.m.dot(absAT)
        self.zb += absb
        room, qmax = rooms(self.zb, self.qz)
        self.zroom, self.zqmax = room[0], qmax[0]
        return room

    def layer(self, A, b, H, D) -> bool:
        """Before ``Z = H Aᵀ + b``, ``DZ = D Aᵀ``: whether both are computed exactly.

        Bounds and quanta of ``H`` and ``D`` are first the inductive ones (no pass over the data); if
        those do not fit, the actual magnitudes are measured (reductions), then the actual quanta.
        """
        if not self.exact:
            return False
        weights = cached_weight_data(A, b)
        if weights is None:                       # random float weights: give up at once
            self.exact = False
            return False
        if self.qx is None:
            self._start()
        self.qt = 0
        if max(self.bounds(weights)) < 2.0**52:  # the inductive bounds and quanta fit
            return True
        self.m = np.minimum(self.m, [cols_max(H), cols_max(D)])        # measured magnitudes
        if max(self.bounds(weights)) < 2.0**52:
            return True
        self.q = np.minimum(self.q, [quanta(H).max(axis=0), quanta(D).max(axis=0)])   # quanta
        self.exact = max(self.bounds(weights)) < 2.0**52
        return self.exact

    def knots(self, t) -> bool:
        """New knots at ``t = z0 / (z0 − z1)`` of their segments: still exact?

        ``z0`` and ``d = z0 − z1`` are exact multiples of ``2^-q_Z`` with ``|d| 2^(q_Z + q_t) < 2^52``
        (the fits test), so two different fractions ``z0 / d`` and ``P / 2^q_t`` differ by more
        than ``2^-53 >= |rounding error of t|``: a computed ``t`` that is a multiple of ``2^-q_t``
        *is* the exact zero, and ``x0 + t (x1 − x0)``, ``Z0 + t (Z1 − Z0)`` are exact too.
        """
        if not self.exact or t.shape[0] == 0:
            return self.exact
        lo, hi = float(_MIN(t)), float(_MAX(t))
        if lo == hi:                              # all t equal (the sawtooth: 1/2): one quantum
            qt = max(0, quantum_of(lo))
        else:                                     # a candidate from samples, then checked on all
            qt = max(0, quantum(np.concatenate(((lo, hi), t[:64], t[-64:]))))
        # |z0 - z1| <= 2 Zb: the fits test of 2 Zb at quanta qZ + qt is 2 room 2^qt < 2^52
        # (qt <= 1074, the quantum of the smallest double, so 2^(51 - qt) is a nonzero double).
        self.exact = (fits(2 * self.Xmax, self.qx + qt) and self.zroom < 2.0 ** (51 - qt)
                      and self.zqmax + qt <= 1074 and (lo == hi or is_multiple(t, qt)))
        self.qt = max(self.qt, qt)
        return self.exact

    def rays(self, xend, ends, slopes, side, rneu, r, rx, rZ) -> bool:
        """Knots on the rays at ``x_end − z/dz``: verified in rational arithmetic (at most 2 N)."""
        if not self.exact:
            return False
        F = Fraction
        for i in range(r.shape[0]):
            e, sl, rr = ends[side[i]], slopes[side[i]], F(float(r[i]))
            ok = (F(float(rx[i])) == F(float(xend[side[i]])) - rr
                  and F(float(e[rneu[i]])) == rr * F(float(sl[rneu[i]]))     # the exact zero
                  and all(F(float(rZ[i, c])) == F(float(e[c])) - rr * F(float(sl[c]))
                          for c in range(e.shape[0])))
            if not ok:
                self.exact = False
                return False
        self.Xmax = max(self.Xmax, float(np.abs(rx).max()))
        self.qx = max(self.qx, quantum(rx))
        np.maximum(self.qz[0], quanta(rZ).max(axis=0), out=self.qz[0])
        np.maximum(self.zb[0], np.abs(rZ).max(axis=0), out=self.zb[0])
        room, qmax = rooms(self.zb, self.qz)
        self.zroom, self.zqmax = room[0], qmax[0]
        return True

    def slopes(self, A, D) -> bool:
        """Whether the output slopes ``D Aᵀ`` are computed exactly (then ``slope_bound`` bounds
        them)."""
        weights = cached_weight_data(A, np.zeros(A.shape[:-1])) if self.exact else None
        if weights is None:
            return False
        if self.qx is None:                       # no hidden layer
            self._start()
        fit = self.bounds(weights)[1] < 2.0**52
        self.slope_bound = float(_MAX(self.zb[1]))
        return fit

    def done(self):
        """After the split: quanta of the next layer's input, knots and slopes."""
        qt = max(self.qt, 0)
        self.qx += qt
        self.qz[0] += qt
        self.q, self.m = self.qz, self.zb         # after the ReLU: |h| <= |z|, |dh| <= |dz|
