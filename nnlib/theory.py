"""Upper bounds on the number of affine pieces.

Chapter 1, section "How many pieces can depth buy?" ({prf:ref}`lem-telgarsky-composition`,
{prf:ref}`lem-telgarsky-bound`). Later chapters add the level-crossing and one-step bounds here.
"""
from __future__ import annotations

from typing import Sequence

from ._validate import check_int

__all__ = ["telgarsky_bound", "telgarsky_layer_bounds"]


def _hidden_widths(widths: Sequence[int]) -> list:
    if not isinstance(widths, (list, tuple)) or len(widths) < 2:
        raise ValueError(f"widths must be a sequence (N_0, …, N_L) with at least two entries, got {widths!r}")
    widths = [check_int(w, f"widths[{k}]", minimum=1) for k, w in enumerate(widths)]
    if widths[0] != 1 or widths[-1] != 1:
        raise ValueError(f"widths must start and end with 1 (a univariate network), got {widths}")
    return widths[1:-1]


def telgarsky_layer_bounds(widths: Sequence[int]) -> list:
    """Bounds ``P_j = 2^j N_1 ⋯ N_{j-1}`` on the pieces of any neuron of hidden layer ``j``.

    Chapter 1, {prf:ref}`lem-telgarsky-bound`; checked by
    ``tests/test_theory.py::test_neuron_pieces_below_layer_bound``.

    Parameters
    ----------
    widths : sequence of int
        ``(1, N_1, …, N_{L-1}, 1)``.

    Returns
    -------
    list of int
        ``[P_1, …, P_{L-1}]`` (exact integers).
    """
    hidden = _hidden_widths(widths)
    bounds, prod = [], 1
    for j, n in enumerate(hidden, start=1):
        bounds.append(2**j * prod)
        prod *= n
    return bounds


def telgarsky_bound(widths: Sequence[int]) -> tuple:
    """Bounds on the pieces of ``R(Φ)`` for a univariate network with the given widths.

    Chapter 1, {prf:ref}`lem-telgarsky-bound`; checked by
    ``tests/test_theory.py::test_pieces_below_telgarsky_bound``.

    Returns
    -------
    (int, float)
        The product bound ``2^(L-1) N_1 ⋯ N_{L-1}`` (exact) and the AM–GM form
        ``(2 m / (L-1))^(L-1)`` with ``m = N_1 + … + N_{L-1}``, which is never smaller.
        A network without hidden layers (``L = 1``) is affine: ``(1, 1.0)``.
    """
    hidden = _hidden_widths(widths)
    if not hidden:
        return 1, 1.0
    product = 2 ** len(hidden)
    for n in hidden:
        product *= n
    k = len(hidden)
    return product, (2.0 * sum(hidden) / k) ** k
