"""Exact pieces, regions and slopes of many networks at once: what training records.

Chapter 5, "The numerical study" (and Chapter 2's input derivatives). Recording pieces at every
training step needs one propagation per step; one network at a time that costs about as much as
the step itself. :func:`batched_states` runs the float-mode knot propagation of
:mod:`nnlib.pieces` (same arithmetic, same ``KNOT_RTOL`` / ``SLOPE_RTOL`` rules; bounded interval
only) on the knots of ``B`` networks of one shape stacked in a single array, so each numpy call
serves all of them. ``tests/test_training.py`` checks it against ``count_pieces`` and
``count_activation_regions``.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_interval
from .networks import ReLUNetwork
from .pieces import KNOT_RTOL, SLOPE_RTOL, _check_univariate

__all__ = ["network_state", "batched_states"]


def network_state(net: ReLUNetwork, interval) -> dict:
    """Exact pieces, regions, per-layer max slopes and dead neurons of ``net`` on ``interval``.

    Chapter 2, section "The give-away" (the input derivatives of Assumption (B), {prf:ref}`thm-sawtooth-pieces`)
    and Chapter 5 (what training records). Float mode, bounded interval; checked by
    ``tests/test_training.py::test_batched_states_equal_public_counters``.

    Returns
    -------
    dict
        ``pieces`` (int), ``regions`` (int), ``max_slope`` (float64, shape ``(L,)``: the
        ``max_{i, x ∈ D} |∂z_{j,i}/∂x|`` of layer ``j``), ``dead`` (int64, shape ``(L-1,)``).
    """
    net = _check_univariate(net)
    interval = check_interval(interval, "interval", allow_none=False)
    layers = [(A[None], b[None]) for A, b in net.layers]
    out = batched_states(layers, interval)
    return {"pieces": int(out["pieces"][0]), "regions": int(out["regions"][0]),
            "max_slope": out["max_slope"][0], "dead": out["dead"][0]}


def batched_states(layers, interval) -> dict:
    """:func:`network_state` for ``B`` networks of the same shape at once.

    This is the float-mode knot propagation of :mod:`nnlib.pieces` (same arithmetic, same
    ``KNOT_RTOL``/``SLOPE_RTOL`` rules, bounded interval only) run on the knots of all ``B``
    networks stacked in one array, so that each numpy call serves every network: recording every
    step then costs a fraction of an optimiser step (one network at a time it costs about as much
    as the step). ``tests/test_training.py`` checks it against ``count_pieces`` and
    ``count_activation_regions``.

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
    lo, hi = float(interval[0]), float(interval[1])
    B, L = layers[0][0].shape[0], len(layers)
    tol = KNOT_RTOL * max(abs(lo), abs(hi))
    x = np.tile([lo, hi], B)                       # knots of network g are x[starts[g]:starts[g+1]]
    gid = np.repeat(np.arange(B), 2)
    H = x[:, None].copy()                          # layer input at the knots
    D = np.ones((2 * B, 1))                        # row r: its slope on (x[r], x[r+1]), if that is a segment
    edge = np.zeros(2 * B, dtype=bool)             # activation pattern changes at this knot
    max_slope = np.zeros((B, L))
    dead = np.zeros((B, L - 1), dtype=np.int64)
    for j, (A, b) in enumerate(layers):
        starts = np.flatnonzero(np.concatenate([[True], gid[1:] != gid[:-1]]))
        bounds = np.append(starts, gid.shape[0])
        if A.shape[2] == 1:                        # input layer: an outer product per knot
            Ag = A[:, :, 0][gid]
            Z, DZ = H * Ag, D * Ag
        elif A.shape[1] == 1:                      # output layer: a dot product per knot
            Ag = A[:, 0, :][gid]
            Z, DZ = np.sum(H * Ag, axis=1, keepdims=True), np.sum(D * Ag, axis=1, keepdims=True)
        else:
            Z = np.empty((H.shape[0], A.shape[1]))
            DZ = np.empty_like(Z)
            for g in range(B):   # one small BLAS product per network beats one gathered einsum
                r0, r1 = bounds[g], bounds[g + 1]
                np.matmul(H[r0:r1], A[g].T, out=Z[r0:r1])
                np.matmul(D[r0:r1], A[g].T, out=DZ[r0:r1])
        Z += b[gid]
        segv = gid[:-1] == gid[1:]                 # row r is a segment of one network
        if j < L - 1:
            x, Z, DZ, gid, edge = _split(x, Z, DZ, gid, edge, segv, tol)
            segv = gid[:-1] == gid[1:]
            starts = np.flatnonzero(np.concatenate([[True], gid[1:] != gid[:-1]]))
            dead[:, j] = (~np.logical_or.reduceat(Z > 0, starts, axis=0)).sum(axis=1)
        m = np.abs(DZ).max(axis=1)
        m[np.flatnonzero(~segv)] = 0.0             # rows after a network's last knot are no segments
        m[-1] = 0.0
        max_slope[:, j] = np.maximum.reduceat(m, starts)
        interior = segv[:-1] & segv[1:]            # knot r + 1 lies between segments r and r + 1
        if j == L - 1:
            s = DZ[:, 0]
            left, right = s[:-2], s[1:-1]
            changed = interior & (np.abs(left - right) > SLOPE_RTOL * np.maximum(np.abs(left), np.abs(right)))
            count = np.zeros(x.shape[0], dtype=np.int64)
            count[1:-1] = changed
            pieces = np.add.reduceat(count, starts) + 1
            count[1:-1] = edge[1:-1] & interior
            regions = np.add.reduceat(count, starts) + 1
            return {"pieces": pieces, "regions": regions, "max_slope": max_slope, "dead": dead}
        # no pre-activation changes sign inside a segment any more: the endpoint sum has its sign
        on = (Z[:-1] + Z[1:]) > 0
        edge[1:-1] |= interior & np.any(on[:-1] != on[1:], axis=1)
        DZ[:-1][~on] = 0.0
        np.maximum(Z, 0.0, out=Z)
        H, D = Z, DZ
    raise AssertionError("unreachable")


def _split(x, Z, DZ, gid, edge, segv, tol):
    """Insert a knot at every strict sign change of a pre-activation inside a segment (as _layer above)."""
    pos, neg = Z > 0, Z < 0
    cross = (pos[:-1] & neg[1:]) | (neg[:-1] & pos[1:])
    cross &= segv[:, None]
    seg, neu = np.nonzero(cross)
    if seg.size == 0:
        return x, Z, DZ, gid, edge
    z0, z1 = Z[seg, neu], Z[seg + 1, neu]
    t = z0 / (z0 - z1)
    x0, x1 = x[seg], x[seg + 1]
    nx = x1 - x0
    nx *= t
    nx += x0                                       # x0 + t (x1 - x0), kept inside the segment
    np.maximum(nx, x0, out=nx)
    np.minimum(nx, x1, out=nx)
    Z0 = Z[seg]
    nZ = Z[seg + 1] - Z0
    nZ *= t[:, None]
    nZ += Z0                                       # exact on the affine segment
    nZ[np.arange(seg.size), neu] = 0.0             # the crossing neuron is exactly 0 at its knot
    order = np.lexsort((nx, seg))                  # by segment, then by position
    seg, nx, nZ = seg[order], nx[order], nZ[order]
    M = x.shape[0] + seg.size
    is_new = np.zeros(M, dtype=bool)
    is_new[seg + 1 + np.arange(seg.size)] = True   # new knot i follows old knot seg[i] and i earlier new ones
    old = ~is_new
    x2 = np.empty(M)
    x2[old], x2[is_new] = x, nx
    Z2 = np.empty((M, Z.shape[1]))
    Z2[old], Z2[is_new] = Z, nZ
    src = np.empty(M, dtype=np.intp)               # the old segment each new segment lies in
    src[old], src[is_new] = np.arange(x.shape[0]), seg
    edge2 = np.zeros(M, dtype=bool)
    edge2[old] = edge
    x, Z, DZ, gid, edge = x2, Z2, DZ[src], gid[src], edge2
    # coincident knots (two neurons vanishing at the same point, up to rounding): keep one
    dup = (np.diff(x) <= tol) & (gid[:-1] == gid[1:])
    if dup.any():
        keep = np.concatenate([[True], ~dup])
        starts = np.flatnonzero(keep)
        zeros = np.logical_or.reduceat(Z == 0, starts, axis=0)
        edge = np.logical_or.reduceat(edge, starts)
        x, Z, gid = x[keep], Z[keep], gid[keep]
        Z[zeros] = 0.0
        DZ = DZ[np.concatenate([keep[1:], [True]])]   # drop the zero-length segment before a dropped knot
    return x, Z, DZ, gid, edge
