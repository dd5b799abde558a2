"""Upper bounds on the number of affine pieces.

Chapter 1, section "How many pieces can depth buy?" ({prf:ref}`lem-telgarsky-composition`,
{prf:ref}`lem-telgarsky-bound`): Telgarsky's bounds.

Chapter 4, "The main theorem": the perturbed bias update ({prf:ref}`def-perturbed-gd`), the
expected number of pieces after one perturbed step ({prf:ref}`thm-one-step-bound`) and its Markov
corollary ({prf:ref}`cor-markov-pieces`), built on the level-crossing tools of
:mod:`nnlib.crossings` ({prf:ref}`lem-level-crossings`).

The perturbation model is *our* simplified model in the spirit of the paper's Definition 2.3
(Karner, Kazeev, Petersen, arXiv:2210.00805); its constants are ours, not the paper's.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._validate import as_real_array, check_int, check_interval, check_network, check_positive, check_real
from .crossings import Uniform, neuron_variations

__all__ = ["telgarsky_bound", "telgarsky_layer_bounds", "perturbed_bias_law", "one_step_bound", "markov_bound"]


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


# ============================================================================ Chapter 4
def perturbed_bias_law(b, g, lr, eps) -> Uniform:
    """Law of the perturbed bias update ``b̃ = b - η g (1 + ε ξ)``, ``ξ ~ U[-1, 1]``.

    Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd` (our simplified model in the spirit
    of the paper's Definition 2.3; ``ε`` plays the role of the unit roundoff). ``b̃`` is uniform on
    ``[b - ηg - εη|g|, b - ηg + εη|g|]``, so its density is ``1/(2εη|g|) = c/(εη|g|)`` with
    ``c = 1/2`` the density of ``ξ``. A kink of the neuron sits where ``h(x) = -b̃``; use ``-law``.

    Parameters
    ----------
    b, g : float
        Current bias and its gradient ``∂_b 𝓛`` (``g != 0``; a zero gradient gives no randomness).
    lr, eps : float
        Step size ``η > 0`` and perturbation level ``ε > 0``.

    Returns
    -------
    Uniform
    """
    b = check_real(b, "b", allow_fraction=False)
    g = check_real(g, "g", allow_fraction=False)
    if g == 0:
        raise ValueError("g must be non-zero: with g = 0 the update is deterministic (b̃ = b)")
    lr = check_positive(lr, "lr")
    eps = check_positive(eps, "eps")
    centre, half = b - lr * g, eps * lr * abs(g)
    return Uniform(centre - half, centre + half)


# ---------------------------------------------------------------------------- one-step bound
def one_step_bound(net, interval, *, bias_grads, lr, eps, density_bound: float = 0.5) -> float:
    """Bound on ``E[pieces]`` of the network after one perturbed gradient step.

    Chapter 4 "The main theorem", {prf:ref}`thm-one-step-bound` (our derivation, not the paper's
    constants)::

        E[pieces(R(Φ̃)|_D)] <= 1 + Σ_{j=1}^{L-1} Σ_{i : g_{j,i} != 0} c V_D(h̃_{j,i}) / (ε η |g_{j,i}|).

    **Which variation enters.** ``h̃_{j,i}(x) = (Ã_j x̃^(j-1)(x))_i`` is the *pre-bias input* of neuron
    ``(j, i)`` in the **updated** network ``Φ̃`` (weights after the step, biases of layers ``< j``
    after their perturbed update). Every kink of ``R(Φ̃)`` in ``D`` is a solution of
    ``h̃_{j,i}(x) = -b̃_{j,i}`` for some hidden neuron; ``h̃_{j,i}`` does not depend on ``ξ_{j,i}``, and
    given everything else ``b̃_{j,i} = b_{j,i} - η g_{j,i}(1 + ε ξ_{j,i})`` has density
    ``<= c/(εη|g_{j,i}|)`` ({prf:ref}`def-perturbed-gd`), so {prf:ref}`lem-level-crossings` bounds the
    expected number of such solutions. ``h̃_{j,i}`` for ``j >= 2`` depends on the earlier layers'
    ``ξ``: pass one realisation of ``Φ̃`` and the value returned is a random variable whose
    **expectation** bounds ``E[pieces]`` (average it over realisations); with Assumption (B)
    ``V_D(h̃_{j,i}) <= C_B |D|`` deterministically. Passing the unperturbed update (``ξ = 0``) is an
    approximation for small ``ε``, not a bound.

    **Dead neurons.** Terms with ``g_{j,i} = 0`` are dropped: by Assumption (A) a neuron whose bias
    gradient is exactly zero is dead and stays dead (no zero of ``z̃_{j,i}`` in ``D``). If that fails,
    its kinks must be added by hand.

    Parameters
    ----------
    net : ReLUNetwork
        The updated network ``Φ̃`` (one realisation), univariate, depth ``L``.
    interval : (a, b)
        Finite input interval ``D``.
    bias_grads : sequence of array_like, keyword-only
        ``g_j`` of shape ``(N_j,)`` for the hidden layers ``j = 1, …, L-1`` (an extra last entry
        for the output layer is allowed and ignored: its bias makes no kinks).
    lr, eps : float, keyword-only
        Step size ``η > 0`` and perturbation level ``ε > 0``.
    density_bound : float, keyword-only
        ``c = sup`` of the density of ``ξ`` on ``[-1, 1]`` (``1/2`` for the uniform law, the default).

    Returns
    -------
    float
        The bound (``>= 1``).
    """
    net = check_network(net, univariate=True)
    interval = check_interval(interval, allow_none=False)
    lr = check_positive(lr, "lr")
    eps = check_positive(eps, "eps")
    c = check_positive(density_bound, "density_bound")
    if c < 0.5:
        raise ValueError(f"density_bound must be >= 1/2 (no density on [-1, 1] has a smaller sup), got {c}")
    hidden = net.widths[1:-1]
    if not isinstance(bias_grads, (list, tuple)) or len(bias_grads) not in (len(hidden), len(hidden) + 1):
        raise ValueError(f"bias_grads must be a list of {len(hidden)} arrays (one per hidden layer), "
                         f"optionally followed by the output layer's")
    grads = []
    for j, (g, n) in enumerate(zip(bias_grads, hidden), start=1):
        g = as_real_array(g, f"bias_grads[{j - 1}]", ndim=1)
        if g.shape != (n,):
            raise ValueError(f"bias_grads[{j - 1}] must have shape ({n},) (hidden layer {j}), got {g.shape}")
        grads.append(np.abs(g))
    total = 1.0
    for V, g in zip(neuron_variations(net, interval), grads):
        live = g > 0
        total += float(np.sum(c * V[live] / (eps * lr * g[live])))
    return total


def markov_bound(expected_bound, M) -> float:
    """``P(pieces >= M) <= E[pieces] / M``, capped at 1 (Markov's inequality).

    Chapter 4 "The main theorem", {prf:ref}`cor-markov-pieces`: with ``expected_bound`` from
    :func:`one_step_bound` and ``M = 2^L`` (sawtooth-many pieces) the probability of keeping
    exponentially many pieces tends to 0 as ``L`` grows at fixed width and ``ε``.

    Parameters
    ----------
    expected_bound : float
        An upper bound on ``E[pieces]`` (``>= 1``, since every function has at least one piece).
    M : float
        Threshold, ``> 0``.

    Returns
    -------
    float in ``[0, 1]``
    """
    B = check_real(expected_bound, "expected_bound", allow_fraction=False)
    if B < 1:
        raise ValueError(f"expected_bound must be >= 1 (pieces >= 1 always), got {B}")
    M = check_positive(M, "M")
    return min(1.0, B / M)
