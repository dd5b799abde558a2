"""Explicit ReLU networks from approximation theory: hat, sawtooth, Yarotsky's square and product.

Chapter 2, section "Sawtooth constructions" ({prf:ref}`def-hat`, {prf:ref}`thm-sawtooth-pieces`,
{prf:ref}`thm-depth-separation`, {prf:ref}`prop-yarotsky-square`, {prf:ref}`prop-multiplication`).

These are the networks that approximation theory builds and that gradient descent in floating
point is unlikely to reach: their number of affine pieces grows like ``2^depth``. Every function
returns a :class:`~nnlib.networks.ReLUNetwork` whose weights and biases are dyadic rationals, so
they are stored exactly in float64; :func:`nnlib.pieces.count_pieces` and
:func:`nnlib.pieces.breakpoints` (float or ``exact=True``) then recover the pieces exactly.
Checked by ``tests/test_constructions.py`` against an independent rational forward pass.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_int
from .networks import ReLUNetwork, compose

__all__ = ["hat", "sawtooth", "yarotsky_square", "multiply", "telgarsky_pair", "MAX_DEPTH", "MAX_PAIR_K"]

#: Largest number of compositions accepted by :func:`sawtooth`, :func:`yarotsky_square` and
#: :func:`multiply`. The networks themselves are tiny at any depth; the cap only rejects absurd
#: arguments. Piece counting of ``sawtooth(k)`` is feasible up to about ``k = 26`` (``2^k`` knots in
#: memory) and float64 represents the knots ``i / 2^k`` exactly up to ``k = 52``.
MAX_DEPTH = 60

#: Largest ``k`` accepted by :func:`telgarsky_pair`; its shallow network has ``2^k + 1`` neurons.
MAX_PAIR_K = 20


# Δ(x) = 2ϱ(x) − 4ϱ(x − ½) + 2ϱ(x − 1): the three hidden neurons of the hat, and its output row.
_HAT_IN = np.array([[1.0], [1.0], [1.0]])
_HAT_BIAS = np.array([0.0, -0.5, -1.0])
_HAT_OUT = np.array([[2.0, -4.0, 2.0]])


def hat() -> ReLUNetwork:
    """Telgarsky's hat ``Δ``: ``2x`` on ``[0, ½]``, ``2 − 2x`` on ``[½, 1]``, ``0`` outside ``[0, 1]``.

    Chapter 2, section "Sawtooth constructions", {prf:ref}`def-hat`.

    The network is ``Δ(x) = 2ϱ(x) − 4ϱ(x − ½) + 2ϱ(x − 1)``: widths ``(1, 3, 1)``, depth 2. It is
    exact on the whole real line (zero for ``x ≤ 0`` and ``x ≥ 1``), so compositions are too.

    Notes
    -----
    On ``[0, 1]`` the third neuron is inactive and the 2-ReLU network ``2ϱ(x) − 4ϱ(x − ½)``
    realises the same function; because ``Δ`` maps ``[0, 1]`` into itself, compositions of that
    variant give the sawtooth on ``[0, 1]`` with width 2 (but not outside ``[0, 1]``, where it
    grows like ``−2x``). This package uses the 3-ReLU form so that every statement holds on ℝ.

    Returns
    -------
    ReLUNetwork
        Widths ``(1, 3, 1)``.

    Examples
    --------
    >>> hat()([0.0, 0.25, 0.5, 0.75, 1.0, 2.0])
    array([0. , 0.5, 1. , 0.5, 0. , 0. ])
    """
    return ReLUNetwork([(_HAT_IN, _HAT_BIAS), (_HAT_OUT, np.zeros(1))])


def sawtooth(num_compositions: int) -> ReLUNetwork:
    """The sawtooth ``Δ^k = Δ ∘ … ∘ Δ`` (``k = num_compositions`` copies of :func:`hat`).

    Chapter 2, section "Sawtooth constructions", {prf:ref}`thm-sawtooth-pieces`: ``Δ^k`` has
    exactly ``2^k`` affine pieces on ``[0, 1]``, with breakpoints at ``i / 2^k`` and slopes
    ``±2^k``; it is ``0`` outside ``[0, 1]`` (so ``2^k + 2`` pieces on the whole line).

    The network has **depth** ``L = num_compositions + 1`` (affine layers; ``L`` means the depth
    everywhere in nnlib): ``k`` hidden layers of 3 ReLUs.

    Parameters
    ----------
    num_compositions : int
        Number ``k`` of hats composed, ``1 <= k <= MAX_DEPTH`` (60). May be passed positionally.

    Returns
    -------
    ReLUNetwork
        Widths ``(1, 3, …, 3, 1)`` with ``k`` hidden layers: depth ``k + 1``, ``3k`` neurons. The
        composition merges adjacent affine maps (:func:`nnlib.networks.compose`), so hidden layers
        ``2…k`` have the row ``[2, −4, 2]`` three times and biases ``(0, −½, −1)``.

    Raises
    ------
    TypeError
        If ``num_compositions`` is not an integer (``bool`` is rejected).
    ValueError
        If ``num_compositions`` is outside ``[1, 60]``.

    Examples
    --------
    >>> from nnlib.pieces import count_pieces
    >>> net = sawtooth(5)
    >>> net.depth, count_pieces(net, (0, 1))
    (6, 32)
    """
    k = check_int(num_compositions, "num_compositions", minimum=1, maximum=MAX_DEPTH)
    net = hat()
    for _ in range(k - 1):
        net = compose(hat(), net)
    return net


def _square_layers(m: int):
    """Layers of Yarotsky's ``h_m`` for one input in ``[0, 1]`` (widths ``1, 3, 4, …, 4, 1``).

    Hidden layer ``s`` (``s = 1…m``) holds the hat neurons of ``g_{s-1} = Δ^{s-1}(x)``, i.e.
    ``ϱ(g), ϱ(g − ½), ϱ(g − 1)``, and (for ``s ≥ 2``) the partial sum
    ``S_{s-1} = x − Σ_{r<s} g_r / 4^r = h_{s-1}(x)``. On ``[0, 1]``, ``S ≥ x² ≥ 0`` so ``ϱ(S) = S``,
    and in layer 1 ``S_0 = x = ϱ(x)`` is the first hat neuron itself.
    """
    hat_w = np.array([2.0, -4.0, 2.0])       # g_s = 2a − 4b + 2c from the hat neurons (a, b, c) of g_{s−1}
    layers = [(_HAT_IN.copy(), _HAT_BIAS.copy())]
    for s in range(1, m + 1):
        # Inputs of this map: hat neurons (a, b, c) of g_{s-1}, then S_{s-1} (absent for s = 1,
        # where S_0 = a). Outputs: hat neurons of g_s and S_s = S_{s-1} − g_s / 4^s.
        n_in = 3 if s == 1 else 4
        s_row = np.zeros(n_in)
        if s == 1:
            s_row[0] = 1.0
        else:
            s_row[3] = 1.0
        s_row[:3] -= hat_w / 4.0**s
        if s == m:
            layers.append((s_row[None, :], np.zeros(1)))
            break
        A = np.zeros((4, n_in))
        A[:3, :3] = hat_w[None, :]
        A[3] = s_row
        layers.append((A, np.concatenate([_HAT_BIAS, [0.0]])))
    return layers


def yarotsky_square(m: int) -> ReLUNetwork:
    """Yarotsky's approximation ``h_m`` of ``x ↦ x²`` on ``[0, 1]``.

    Chapter 2, section "Sawtooth constructions", {prf:ref}`prop-yarotsky-square`:

        h_m(x) = x − Σ_{s=1}^{m} Δ^s(x) / 4^s

    is the piecewise-linear interpolant of ``x²`` at the grid ``k · 2^{-m}`` (``k = 0…2^m``), so it
    has ``2^m`` affine pieces on ``[0, 1]`` and ``sup_{[0,1]} |h_m(x) − x²| = 4^{-(m+1)}``, attained
    at the midpoints ``(k + ½) 2^{-m}``.

    The network is pure ReLU: hidden layer ``s`` holds the three hat neurons of ``Δ^{s-1}(x)`` and
    the partial sum ``h_{s-1}(x)``, carried through the ReLU by ``ϱ(t) = t`` for ``t ≥ 0`` (valid
    because ``h_{s-1} ≥ x² ≥ 0`` on ``[0, 1]``).

    Parameters
    ----------
    m : int
        Number of sawtooth terms, ``1 <= m <= MAX_DEPTH`` (60). In float64 the error ``4^{-(m+1)}``
        is only resolvable for ``m ≲ 25``; use exact arithmetic beyond.

    Returns
    -------
    ReLUNetwork
        Widths ``(1, 3, 4, …, 4, 1)``: depth ``m + 1``, ``4m − 1`` neurons. Valid on ``[0, 1]``
        only (outside, the carried partial sum can be negative and is clipped by the ReLU).

    Raises
    ------
    TypeError
        If ``m`` is not an integer (``bool`` is rejected).
    ValueError
        If ``m`` is outside ``[1, 60]``.

    Examples
    --------
    >>> yarotsky_square(1)([0.0, 0.25, 0.5, 1.0])   # 0.25² = 0.0625: error 1/16 at the midpoint
    array([0.   , 0.125, 0.25 , 1.   ])
    """
    m = check_int(m, "m", minimum=1, maximum=MAX_DEPTH)
    return ReLUNetwork(_square_layers(m))


def multiply(m: int) -> ReLUNetwork:
    """Approximate product ``(x, y) ↦ xy`` on ``[0, 1]²`` by polarisation with Yarotsky's square.

    Chapter 2, section "Sawtooth constructions", {prf:ref}`prop-multiplication`. Since
    ``x + y ∈ [0, 2]``, the polarisation identity is rescaled so that every square has its argument
    in ``[0, 1]``:

        xy = 2 ((x + y)/2)² − x²/2 − y²/2,    P_m(x, y) = 2 h_m((x+y)/2) − h_m(x)/2 − h_m(y)/2,

    with ``h_m`` from :func:`yarotsky_square`. Because ``0 ≤ h_m(t) − t² ≤ ε = 4^{-(m+1)}``,
    ``−ε ≤ P_m(x, y) − xy ≤ 2ε``, so ``sup |P_m − xy| = 2 · 4^{-(m+1)} = 2^{-(2m+1)}``, attained
    e.g. at ``(0, 2^{-m})``.

    Parameters
    ----------
    m : int
        ``1 <= m <= MAX_DEPTH`` (60).

    Returns
    -------
    ReLUNetwork
        A 2-input network (input shape ``(n, 2)``), three parallel copies of ``h_m``: widths
        ``(2, 9, 12, …, 12, 1)``, depth ``m + 1``. Valid on ``[0, 1]²``.

    Notes
    -----
    :mod:`nnlib.pieces` counts pieces of *univariate* networks only and rejects this one. To study
    it exactly, evaluate it on a grid of dyadic points ``(i 2^{-n}, j 2^{-n})`` in rational
    arithmetic (all weights are dyadic, so a :class:`fractions.Fraction` forward pass is exact), or
    restrict it to a line ``t ↦ (x_0 + t u, y_0 + t v)``: composing with the 1→2 affine map
    ``[[u], [v]], [x_0, y_0]`` (:func:`nnlib.networks.compose`) gives a univariate network whose
    pieces :func:`nnlib.pieces.count_pieces` counts exactly.

    Raises
    ------
    TypeError
        If ``m`` is not an integer (``bool`` is rejected).
    ValueError
        If ``m`` is outside ``[1, 60]``.

    Examples
    --------
    >>> float(multiply(3)([[0.5, 0.5]])[0, 0])      # exact at grid points of the square
    0.25
    """
    m = check_int(m, "m", minimum=1, maximum=MAX_DEPTH)
    sub = _square_layers(m)
    # Inputs of the three copies: u = (x + y)/2, x, y; output weights 2, −½, −½.
    mix = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    coef = np.array([2.0, -0.5, -0.5])
    layers = []
    for j, (A, b) in enumerate(sub):
        if j == 0:
            A_big = np.vstack([A @ mix[i:i + 1] for i in range(3)])       # (9, 2)
            b_big = np.concatenate([b] * 3)
        elif j == len(sub) - 1:
            A_big = np.hstack([c * A for c in coef])                     # (1, 3·n_in)
            b_big = np.zeros(1)
        else:
            n_out, n_in = A.shape
            A_big = np.zeros((3 * n_out, 3 * n_in))
            for i in range(3):
                A_big[i * n_out:(i + 1) * n_out, i * n_in:(i + 1) * n_in] = A
            b_big = np.concatenate([b] * 3)
        layers.append((A_big, b_big))
    return ReLUNetwork(layers)


def telgarsky_pair(k: int) -> tuple:
    """A deep and a shallow network realising the *same* sawtooth ``Δ^k`` (depth separation).

    Chapter 2, section "Sawtooth constructions", {prf:ref}`thm-depth-separation`.

    *Choice.* The shallow partner is the exact depth-2 representation of ``Δ^k`` (rather than
    some "typical" shallow net, which would be an arbitrary choice): ``Δ^k`` is continuous and
    piecewise linear with breakpoints ``t_i = i / 2^k``, ``i = 0…2^k``, so

        Δ^k(x) = Σ_i c_i ϱ(x − t_i),   c_0 = c_{2^k} = 2^k,   c_i = (−1)^i 2^{k+1} (0 < i < 2^k).

    It uses ``2^k + 1`` neurons against ``3k`` for the deep :func:`sawtooth`. This is optimal:
    a depth-2 network with ``n`` neurons has at most ``n + 1`` pieces on ℝ, and ``Δ^k`` has
    ``2^k + 2``. By Telgarsky's theorem, shallow networks with far fewer neurons cannot even
    approximate ``Δ^k`` well: the figure compares the neuron counts needed at equal function.

    Parameters
    ----------
    k : int
        ``1 <= k <= MAX_PAIR_K`` (20; the shallow network has ``2^k + 1`` neurons).

    Returns
    -------
    (deep, shallow) : tuple of ReLUNetwork
        ``deep = sawtooth(k)`` (widths ``(1, 3, …, 3, 1)``, depth ``k + 1``) and ``shallow`` with
        widths ``(1, 2^k + 1, 1)``. Both realise ``Δ^k`` on all of ℝ.

    Raises
    ------
    TypeError
        If ``k`` is not an integer (``bool`` is rejected).
    ValueError
        If ``k`` is outside ``[1, 20]``.
    """
    k = check_int(k, "k", minimum=1, maximum=MAX_PAIR_K)
    n = 2**k
    i = np.arange(n + 1)
    c = np.where(i % 2 == 0, 2.0, -2.0) * 2.0**k
    c[0] = c[-1] = 2.0**k
    shallow = ReLUNetwork([(np.ones((n + 1, 1)), -i / n), (c[None, :], np.zeros(1))])
    return sawtooth(k), shallow
