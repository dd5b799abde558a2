"""FIRENET: a restarted, unrolled primal–dual network for the square-root LASSO.

Chapter 8 "Existence is not computability: Smale's 18th problem and FIRENETs", after Colbrook,
Antun and Hansen (PNAS 119, e2107151119, 2022).

The problem. Given ``A ∈ C^{m×N}``, data ``y ∈ C^m``, ``λ >= 0`` and weights ``w_i >= 0``, the
square-root LASSO ({prf:ref}`def-sr-lasso`) is::

    min_x  F(x) = λ ‖x‖_{1,w} + ‖A x − y‖_2,     ‖x‖_{1,w} = Σ_i w_i |x_i|,

evaluated by :func:`sr_lasso_objective`. ``F`` is positively homogeneous in ``(x, y)``: the
minimisers for data ``α y`` are ``α`` times those for ``y`` — the fact the restarts exploit.

The inner block ({prf:ref}`alg-firenet`). :func:`primal_dual` runs ``p`` Chambolle–Pock steps
from a primal point ``x_0`` and the dual point ``v_0 = 0``::

    x_{k+1} = soft_{τλw}(x_k − τ A^* v_k),
    v_{k+1} = Proj_{‖·‖_2 <= 1}(v_k + σ A(2 x_{k+1} − x_k) − σ y),

and returns the ergodic average ``(x_1 + … + x_p)/p`` (``x_0`` is not in the sum). Weighted soft
thresholding ``soft_t(z)_i = sgn(z_i) max(|z_i| − t_i, 0)`` (``sgn z = z/|z|`` for complex ``z``)
is the proximal map of ``τλ‖·‖_{1,w}``; the projection onto the unit ℓ² ball, ``v / max(1, ‖v‖)``,
is the proximal map of the conjugate of ``‖· − y‖``. The steps must satisfy ``τσ‖A‖² < 1``
(checked). The ergodic average converges like ``O(1/p)``.

The restarts ({prf:ref}`alg-firenet`, {prf:ref}`prop-restart-convergence`). :func:`firenet`
starts from ``ψ_0 = 0`` and ``ε_0 = ‖y‖_2`` and for ``k = 1, …, n`` sets::

    ε_k = e^{-1}(δ + ε_{k-1}),   β_k = ε_k / (2 L_A),   α_k = 1/(β_k p),
    ψ_k = Inner_p(data α_k y, start α_k ψ_{k-1}) / α_k,

with ``L_A >= ‖A‖_2``. Under a sparsity/robust-null-space condition the error bound contracts
by ``e^{-1}`` per restart down to a floor set by noise, approximate sparsity and ``δ``, provided
the inner count ``p`` is large enough — so ``O(|log ε|)`` restarts, i.e. ``3 n p`` layers, reach
accuracy ``ε``; with ``p`` too small the iteration stalls (or drifts away from the minimiser: on
a 10 × 16 DCT problem with weights in ``[1, 2]``, ``p = 100`` ends 0.6 from the minimiser, ``p =
400`` within 0.01). FIRENET is accurate to the noise floor, not a general-purpose SR-LASSO
solver: below the floor the restarts need not approach the minimiser. This module follows the authors' code
(``matlab/cp_expo_sr_lasso.m``, ``inexact_input/firenet.py``) with one deliberate change: the
default steps are ``τ = σ = 0.99 / L_A`` so that ``τσ‖A‖² < 1`` really holds (the authors' inexact
input script violates it).

The network. ``FirenetModule`` is the same computation written as ``torch`` layers (three
per inner step: a linear map with a skip connection from the input, soft thresholding, the ball
projection), so it can be differentiated and attacked like any trained network; in float64 it
agrees with :func:`firenet` to rounding. :func:`worst_case_perturbation` searches
``max_e ‖f(y + e) − f(y)‖² − λ‖e‖²`` by momentum gradient ascent for any ``torch`` module ``f``
({prf:ref}`def-worst-case-perturbation`).

The barrier ({prf:ref}`thm-smale18-paradox`). :func:`inexact_input_problem` builds the paper's
pair of SR-LASSO problems whose data differ by at most ``2^{-n}`` while their (unique, exactly
known) minimisers are ``≈ 3·10^{-K}`` apart: an algorithm that only sees the data to accuracy
``2^{-n}`` cannot be ``10^{-K}``-accurate on both.

Data may be real or complex (``torch`` module: real or complex tensors); everything is float64
or complex128. Bad problem data raise :class:`ValueError` naming the argument. ``torch`` is
imported only by ``FirenetModule`` and :func:`worst_case_perturbation`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import as_real_array, check_flag, check_int, check_positive, check_real, check_seed

__all__ = [
    "sr_lasso_objective", "primal_dual", "firenet", "FirenetModule",
    "InexactInputPair", "inexact_input_problem", "worst_case_perturbation",
    "sparse_signals", "train_reconstruction_net", "subsampled_dct", "stability_study", "main",
]

_NORM_SLACK = 1e-12  # relative rounding allowance when comparing a given norm bound with ‖A‖_2


# ---------------------------------------------------------------------------- validation
def _check_problem(A, y, lam, weights):
    """Validate ``(A, y, λ, w)``; return ``A, y, λ, w`` with ``w`` defaulting to ones."""
    A = as_real_array(A, "A", 2, allow_complex=True)
    y = as_real_array(y, "y", 1, allow_complex=True)
    if A.shape[0] != y.shape[0]:
        raise ValueError(f"y must have A.shape[0] = {A.shape[0]} entries, got {y.shape[0]}")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"A must have at least one row and one column, got shape {A.shape}")
    lam = check_positive(lam, "lam", allow_zero=True)
    if weights is None:
        w = np.ones(A.shape[1])
    else:
        w = as_real_array(weights, "weights", 1, allow_complex=True)
        if w.dtype.kind == "c":
            raise ValueError("weights must be real, got complex entries")
        if w.shape[0] != A.shape[1]:
            raise ValueError(f"weights must have A.shape[1] = {A.shape[1]} entries, got {w.shape[0]}")
        if np.any(w < 0):
            raise ValueError(f"weights must be >= 0, got min(weights) = {w.min()}")
    return A, y, lam, w


def _check_x(x, name: str, N: int) -> np.ndarray:
    x = as_real_array(x, name, 1, allow_complex=True)
    if x.shape[0] != N:
        raise ValueError(f"{name} must have A.shape[1] = {N} entries, got {x.shape[0]}")
    return x


def _check_steps(tau, sigma, norm_A: float):
    """Validate ``τ, σ > 0`` with ``τσ‖A‖² < 1`` (the Chambolle–Pock step condition)."""
    tau = check_positive(tau, "tau")
    sigma = check_positive(sigma, "sigma")
    if tau * sigma * norm_A**2 >= 1:
        raise ValueError(
            f"tau and sigma must satisfy tau*sigma*||A||^2 < 1, got tau*sigma*||A||^2 = "
            f"{tau * sigma * norm_A**2:.6g} (||A||_2 = {norm_A:.6g}); take e.g. tau = sigma = 0.99/||A||_2"
        )
    return tau, sigma


# ---------------------------------------------------------------------------- proximal maps
def _soft_threshold(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Weighted soft thresholding ``sgn(z) max(|z| − t, 0)``, entrywise (real or complex ``z``)."""
    mag = np.abs(z)
    sgn = z / np.where(mag > 0, mag, 1.0)
    return sgn * np.maximum(mag - t, 0.0)


def _ball_projection(v: np.ndarray) -> np.ndarray:
    """Projection onto the closed unit ℓ² ball, ``v / max(1, ‖v‖_2)``."""
    return v / max(1.0, float(np.linalg.norm(v)))


# ---------------------------------------------------------------------------- objective
def sr_lasso_objective(x, A, y, lam, weights=None) -> float:
    """Square-root LASSO objective ``λ ‖x‖_{1,w} + ‖A x − y‖_2``.

    Serves Chapter 8, §8.3, {prf:ref}`def-sr-lasso`.

    Parameters
    ----------
    x : array_like, shape (N,)
        Candidate point (real or complex).
    A : array_like, shape (m, N)
        Measurement matrix (real or complex).
    y : array_like, shape (m,)
        Data.
    lam : float
        Regularisation parameter ``λ >= 0``.
    weights : array_like, shape (N,), optional
        Non-negative weights ``w`` of the weighted ℓ¹ norm; default all ones.

    Returns
    -------
    float
        ``λ Σ_i w_i |x_i| + ‖A x − y‖_2``.

    Raises
    ------
    ValueError
        Shapes that do not match, negative ``lam`` or ``weights``, non-finite entries.
    """
    A, y, lam, w = _check_problem(A, y, lam, weights)
    x = _check_x(x, "x", A.shape[1])
    return _objective(x, A, y, lam * w)


def _objective(x, A, y, thresh) -> float:
    """``Σ_i thresh_i |x_i| + ‖A x − y‖_2`` on validated arrays (``thresh = λ w``)."""
    return float(np.sum(thresh * np.abs(x)) + np.linalg.norm(A @ x - y))


# ---------------------------------------------------------------------------- inner block
def _inner(A, y, x0, thresh, iters, tau, sigma):
    """``iters`` Chambolle–Pock steps from ``(x0, 0)``; return the ergodic average of ``x_1 … x_iters``."""
    AH = A.conj().T
    x = x0
    v = np.zeros(A.shape[0], dtype=np.result_type(A, y, x0))
    total = np.zeros_like(v, shape=x0.shape)
    for _ in range(iters):
        x_new = _soft_threshold(x - tau * (AH @ v), tau * thresh)
        v = _ball_projection(v + sigma * (A @ (2 * x_new - x)) - sigma * y)
        x = x_new
        total = total + x
    return total / iters


def primal_dual(A, y, lam, *, iters, tau, sigma, weights=None, x0=None) -> np.ndarray:
    """Ergodic Chambolle–Pock iteration for the square-root LASSO (FIRENET's inner block).

    Serves Chapter 8, §8.4, {prf:ref}`alg-firenet` (the inner block ``Inner_p``). Runs
    ``x_{k+1} = soft_{τλw}(x_k − τ A^* v_k)``,
    ``v_{k+1} = Proj_{‖·‖ <= 1}(v_k + σ A(2x_{k+1} − x_k) − σ y)`` from ``(x0, v_0 = 0)`` and
    returns ``(x_1 + … + x_iters) / iters``; the objective gap of the average is ``O(1/iters)``.

    Parameters
    ----------
    A : array_like, shape (m, N)
        Measurement matrix (real or complex).
    y : array_like, shape (m,)
        Data.
    lam : float
        ``λ >= 0``.
    iters : int
        Number of steps ``p >= 1``.
    tau, sigma : float
        Primal and dual step sizes, ``τ, σ > 0`` with ``τσ‖A‖_2² < 1``.
    weights : array_like, shape (N,), optional
        Non-negative ℓ¹ weights; default ones.
    x0 : array_like, shape (N,), optional
        Primal starting point; default zero.

    Returns
    -------
    numpy.ndarray, shape (N,)
        The ergodic average (float64, or complex128 for complex data).

    Raises
    ------
    ValueError
        Mismatched shapes, negative ``lam``/``weights``, non-finite entries, ``iters < 1``, or
        ``tau*sigma*||A||^2 >= 1``.
    """
    A, y, lam, w = _check_problem(A, y, lam, weights)
    iters = check_int(iters, "iters", minimum=1)
    tau, sigma = _check_steps(tau, sigma, float(np.linalg.norm(A, 2)))
    x0 = np.zeros(A.shape[1]) if x0 is None else _check_x(x0, "x0", A.shape[1])
    dtype = np.result_type(A, y, x0)
    return _inner(A.astype(dtype), y.astype(dtype), x0.astype(dtype), lam * w, iters, tau, sigma)


# ---------------------------------------------------------------------------- restarts
def _firenet_setup(A, lam, restarts, inner_iters, delta, norm_bound, weights, tau, sigma):
    """Validate FIRENET's parameters (shared by :func:`firenet` and ``FirenetModule``)."""
    A = as_real_array(A, "A", 2, allow_complex=True)
    A, _, lam, w = _check_problem(A, np.zeros(A.shape[0]), lam, weights)
    restarts = check_int(restarts, "restarts", minimum=1)
    inner_iters = check_int(inner_iters, "inner_iters", minimum=1)
    delta = check_positive(delta, "delta")
    norm_A = float(np.linalg.norm(A, 2))
    if norm_bound is None:
        L = norm_A
    else:
        L = check_positive(norm_bound, "norm_bound")
        if L < norm_A * (1 - _NORM_SLACK):
            raise ValueError(f"norm_bound must be an upper bound for ||A||_2 = {norm_A:.17g}, got {L:.17g}")
    if L == 0:
        raise ValueError("A must not be the zero matrix (||A||_2 = 0)")
    tau = 0.99 / L if tau is None else tau
    sigma = 0.99 / L if sigma is None else sigma
    tau, sigma = _check_steps(tau, sigma, norm_A)
    return dict(A=A, lam=lam, w=w, restarts=restarts, p=inner_iters, delta=delta, L=L, tau=tau, sigma=sigma)


def _restart_schedule(eps, delta, norm_bound, p):
    """One restart's ``(ε_k, α_k)`` from ``ε_{k-1}``: ``ε_k = e^{-1}(δ + ε_{k-1})``, ``α_k = 2 L_A/(ε_k p)``.

    Shared by :func:`firenet` (floats) and ``FirenetModule`` (per-sample tensors).
    ``α_k = 1/(β_k p)`` with ``β_k = ε_k/(2 L_A)``.
    """
    eps = math.exp(-1) * (delta + eps)
    return eps, 2 * norm_bound / (eps * p)


def firenet(A, y, lam, *, restarts, inner_iters, delta, norm_bound=None, weights=None, tau=None, sigma=None):
    """FIRENET: the restarted, rescaled ergodic primal–dual scheme for the square-root LASSO.

    Serves Chapter 8, §8.4, {prf:ref}`alg-firenet` and {prf:ref}`prop-restart-convergence`.
    From ``ψ_0 = 0``, ``ε_0 = ‖y‖_2``, for ``k = 1 … restarts``: ``ε_k = e^{-1}(δ + ε_{k-1})``,
    ``α_k = 2 L_A / (ε_k p)`` and ``ψ_k = primal_dual(A, α_k y, λ, x0 = α_k ψ_{k-1}, iters = p) / α_k``.

    Parameters
    ----------
    A, y, lam
        The problem, as in :func:`primal_dual`.
    restarts : int
        Number ``n >= 1`` of restarts (outer iterations).
    inner_iters : int
        Number ``p >= 1`` of primal–dual steps per restart; the network has ``3 n p`` layers.
    delta : float
        ``δ > 0``, the a-priori estimate of the attainable accuracy (noise level).
    norm_bound : float, optional
        ``L_A >= ‖A‖_2``; default ``‖A‖_2`` computed by an SVD.
    weights : array_like, shape (N,), optional
        As in :func:`primal_dual`.
    tau, sigma : float, optional
        Step sizes; default ``0.99 / L_A`` each. Must satisfy ``τσ‖A‖² < 1``.

    Returns
    -------
    x : numpy.ndarray, shape (N,)
        The last iterate ``ψ_n``.
    history : dict
        Per restart ``k = 1 … n``: ``"eps"`` (``ε_k``), ``"alpha"`` (``α_k``), ``"iterates"``
        (array ``(n, N)`` of ``ψ_k``) and ``"objective"`` (``F(ψ_k)``).

    Raises
    ------
    ValueError
        Bad problem data (see :func:`primal_dual`), ``delta <= 0``, ``norm_bound < ||A||_2``,
        or steps violating ``τσ‖A‖² < 1``.
    """
    A, y, _, _ = _check_problem(A, y, lam, weights)
    s = _firenet_setup(A, lam, restarts, inner_iters, delta, norm_bound, weights, tau, sigma)
    dtype = np.result_type(s["A"], y)
    A_, y = s["A"].astype(dtype), y.astype(dtype)
    psi = np.zeros(A_.shape[1], dtype=dtype)
    eps = float(np.linalg.norm(y))
    hist = {"eps": [], "alpha": [], "iterates": [], "objective": []}
    for _ in range(s["restarts"]):
        eps, alpha = _restart_schedule(eps, s["delta"], s["L"], s["p"])
        psi = _inner(A_, alpha * y, alpha * psi, s["lam"] * s["w"], s["p"], s["tau"], s["sigma"]) / alpha
        hist["eps"].append(eps)
        hist["alpha"].append(alpha)
        hist["iterates"].append(psi.copy())
        hist["objective"].append(_objective(psi, A_, y, s["lam"] * s["w"]))
    return psi, {key: np.asarray(val) for key, val in hist.items()}


# ---------------------------------------------------------------------------- torch network
def _torch_inner(A, y, x, thresh, iters, tau, sigma):
    """The inner block of :func:`primal_dual` on batches (rows) of torch tensors; three layers per step."""
    import torch

    v = torch.zeros_like(y)
    total = torch.zeros_like(x)
    for _ in range(iters):
        z = x - tau * (v @ A.conj())                                # rows: (A^* v)^T = v^T conj(A)
        mag = torch.abs(z)
        x_new = z / torch.where(mag > 0, mag, torch.ones_like(mag)) * torch.clamp(mag - thresh, min=0)
        v = v + sigma * ((2 * x_new - x) @ A.T) - sigma * y
        v = v / torch.clamp(torch.linalg.vector_norm(v, dim=-1, keepdim=True), min=1.0)
        x = x_new
        total = total + x
    return total / iters


def _build_firenet_module():
    """Define ``FirenetModule`` (on first use, so that importing this module never imports torch)."""
    import torch

    class FirenetModule(torch.nn.Module):
        """FIRENET unrolled as ``torch`` layers: ``y ↦ ψ_n``, the computation of :func:`firenet`.

        Serves Chapter 8, §8.5, {prf:ref}`alg-firenet` (the network ``Φ_{A}``) and
        {prf:ref}`def-worst-case-perturbation` (it can be attacked like any trained network).
        Each inner step is three layers: ``x − τ A^* v`` (linear, skip connection from the
        previous primal point), weighted soft thresholding, and ``v + σ A(2x⁺ − x) − σ α y``
        followed by the unit-ball projection (the data enter every block through a skip
        connection). ``ε_0 = ‖y‖`` is computed per sample, as in :func:`firenet`.

        Parameters
        ----------
        A : array_like, shape (m, N)
            Measurement matrix (real or complex); stored as a float64/complex128 buffer.
        lam : float
            ``λ >= 0``.
        restarts, inner_iters, delta, norm_bound, weights, tau, sigma
            As in :func:`firenet` (same validation, same defaults).

        Notes
        -----
        ``forward(y)`` takes ``y`` of shape ``(m,)`` or ``(batch, m)`` (any real/complex dtype,
        converted to the buffer dtype) and returns ``(N,)`` or ``(batch, N)``. ``num_layers`` is
        ``3 n p``. In float64 the output equals :func:`firenet` up to rounding (different
        summation order in the matrix products).
        """

        def __init__(self, A, lam, *, restarts, inner_iters, delta, norm_bound=None, weights=None,
                     tau=None, sigma=None):
            super().__init__()
            s = _firenet_setup(A, lam, restarts, inner_iters, delta, norm_bound, weights, tau, sigma)
            self.restarts, self.inner_iters, self.delta = s["restarts"], s["p"], s["delta"]
            self.lam, self.norm_bound, self.tau, self.sigma = s["lam"], s["L"], s["tau"], s["sigma"]
            self.register_buffer("A", torch.from_numpy(s["A"].copy()))
            self.register_buffer("thresh", torch.from_numpy(s["lam"] * s["w"]))
            self.num_layers = 3 * self.restarts * self.inner_iters

        def forward(self, y):
            """Return ``ψ_n`` for data ``y`` of shape ``(m,)`` or ``(batch, m)`` (see the class notes)."""
            y = torch.as_tensor(y)
            if y.is_complex() and not self.A.is_complex():
                raise ValueError("y is complex but A is real; build the module with a complex A")
            y = y.to(self.A.dtype)
            single = y.dim() == 1
            y = y.unsqueeze(0) if single else y
            if y.dim() != 2 or y.shape[-1] != self.A.shape[0]:
                raise ValueError(f"y must have shape ({self.A.shape[0]},) or (batch, {self.A.shape[0]}), "
                                 f"got {tuple(y.shape)}")
            psi = torch.zeros(y.shape[0], self.A.shape[1], dtype=self.A.dtype)
            eps = torch.linalg.vector_norm(y, dim=-1, keepdim=True)
            for _ in range(self.restarts):
                eps, alpha = _restart_schedule(eps, self.delta, self.norm_bound, self.inner_iters)
                psi = _torch_inner(self.A, alpha * y, alpha * psi, self.tau * self.thresh, self.inner_iters,
                                   self.tau, self.sigma) / alpha
            return psi[0] if single else psi

    FirenetModule.__module__ = __name__
    FirenetModule.__qualname__ = "FirenetModule"
    return FirenetModule


_LAZY = {}


def __getattr__(name):
    """Module attribute hook: build ``FirenetModule`` (importing torch) on first access."""
    if name == "FirenetModule":
        if name not in _LAZY:
            _LAZY[name] = _build_firenet_module()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------- inexact input
@dataclass(frozen=True)
class InexactInputPair:
    """Two SR-LASSO problems with ``2^{-n}``-close data and ``≈ 3·10^{-K}``-distant minimisers.

    Serves Chapter 8, §8.2, {prf:ref}`thm-smale18-paradox`. Built by :func:`inexact_input_problem`.

    Attributes
    ----------
    A : numpy.ndarray
        The matrix of the problem with data index ``j = 1``.
    y : numpy.ndarray
        Its data.
    minimiser : numpy.ndarray
        Its unique minimiser.
    A_n : numpy.ndarray
        The matrix of the nearby problem (data index ``j = 2``), the "inexact input" an algorithm is fed.
    y_n : numpy.ndarray
        Its data.
    minimiser_n : numpy.ndarray
        Its unique minimiser.
    K : int
        Accuracy exponent (gap ``≈ 3·10^{-K}``).
    n : int
        Data exponent (distance ``<= 2^{-n}``).
    lam : float
        The SR-LASSO ``λ`` (unit weights).
    gap : float
        ``‖minimiser − minimiser_n‖_2 = √2 / a``, with ``a`` the largest entry of the first row.
    data_distance : float
        ``‖A − A_n‖_2 + ‖y − y_n‖_2`` of the float64 arrays as returned (``2^{-n}/√2`` exactly
        when ``dct=False``; within rounding of it otherwise).
    """

    A: np.ndarray
    y: np.ndarray
    minimiser: np.ndarray
    A_n: np.ndarray
    y_n: np.ndarray
    minimiser_n: np.ndarray
    K: int
    n: int
    lam: float
    gap: float
    data_distance: float


def _dct_matrix(m: int) -> np.ndarray:
    """The orthonormal DCT-II matrix ``Q[k, i] = c_k cos(π k (2i + 1) / (2m))``."""
    k, i = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    Q = np.sqrt(2.0 / m) * np.cos(np.pi * k * (2 * i + 1) / (2 * m))
    Q[0] /= np.sqrt(2.0)
    return Q


def inexact_input_problem(K, n, *, N1=2, N2=20, delta=1 / 6, lam=1, dct=True) -> InexactInputPair:
    """The inexact-input pair of Colbrook–Antun–Hansen (their Table 1), with data index ``j = 2``.

    Serves Chapter 8, §8.2, {prf:ref}`thm-smale18-paradox` (experiment E2.1). As in the authors'
    ``generate_test_sample``: with ``γ = √2 (1 − δ) 10^K / (3λ)``, ``ρ = 1 − δ``, ``ε = 2^{-n-1}``,
    ``ρ_min = ρ γλ / (γλ + ερ)``, the first row of ``A`` has ``γλ/ρ`` everywhere on its first
    ``N1`` entries except ``γλ/ρ_min`` at entry ``j``; below it sits ``‖a‖ I_{N2}``; ``y = e_1``.
    Algebra: ``γλ/ρ = √2·10^K/3 =: a`` and ``γλ/ρ_min = a + ε`` — ``δ`` and ``λ`` cancel, and
    the two problems (``j = 2`` fed to an algorithm, ``j = 1`` the reference) differ in exactly
    two entries, by ``ε`` each: ``‖A − A_n‖_2 = 2^{-n}/√2``, ``y = y_n``. Their unique minimisers are
    ``e_j / (a + ε)`` (dual certificate ``v = −λ e_1/(a + ε)``), so they are
    ``√2/(a + ε) ≈ 3·10^{-K}`` apart. With ``dct=True`` both ``A`` and ``y`` are multiplied by the
    orthonormal DCT-II matrix (same minimisers). Fixes the authors' loop-index bug (``j`` was the
    row index of their table).

    Parameters
    ----------
    K : int
        ``K >= 1``; the minimisers are ``≈ 3·10^{-K}`` apart.
    n : int
        ``n >= 1``; the data differ by ``<= 2^{-n}``.
    N1 : int, default 2
        ``N1 >= 2`` entries in the first block (the minimiser lives there).
    N2 : int, default 20
        ``N2 >= 0``; size of the diagonal block. ``A`` has shape ``(N2 + 1, N1 + N2)``.
    delta : float, default 1/6
        The authors' ``δ ∈ (0, 1/4)`` (cancels, see above).
    lam : float, default 1
        ``λ ∈ (0, 1]``.
    dct : bool, default True
        Multiply ``A`` and ``y`` by the orthonormal DCT-II.

    Returns
    -------
    InexactInputPair

    Raises
    ------
    ValueError
        Parameters out of range, or ``(K, n)`` for which float64 cannot hold the ``2^{-n}``
        perturbation (``a + 2^{-n-1}`` not exact, or the DCT's rounding pushes the realised data
        distance above ``2^{-n}``).
    """
    K = check_int(K, "K", minimum=1)
    n = check_int(n, "n", minimum=1)
    N1 = check_int(N1, "N1", minimum=2)
    N2 = check_int(N2, "N2", minimum=0)
    delta = check_real(delta, "delta", allow_fraction=False)
    if not 0 < delta < 0.25:
        raise ValueError(f"delta must lie in (0, 1/4), got {delta}")
    lam = check_positive(lam, "lam")
    if lam > 1:
        raise ValueError(f"lam must lie in (0, 1], got {lam}")
    dct = check_flag(dct, "dct")
    gamma_lam = math.sqrt(2) * (1 - delta) * 10.0**K / 3   # γ λ
    eps = 2.0 ** (-n - 1)
    a_small = gamma_lam / (1 - delta)
    a_big = a_small + eps                                  # = γλ/ρ_min in exact arithmetic
    if a_big - a_small != eps:
        raise ValueError(f"n = {n} is too large for K = {K} in float64: a + 2^-(n+1) is not representable "
                         f"(a = {a_small:.6g}); take n <= {52 - math.frexp(a_small)[1]}")
    problems = []
    rows = [np.where(np.arange(N1) == j - 1, a_big, a_small) for j in (1, 2)]
    norm_a = np.linalg.norm(rows[0])  # one value for both: the order of the entries may change the
    for j, a in zip((1, 2), rows):    # last bit of a computed norm (it did on one CI machine)
        A = np.zeros((N2 + 1, N1 + N2))
        A[0, :N1] = a
        A[1:, N1:] = norm_a * np.eye(N2)
        y = np.zeros(N2 + 1)
        y[0] = 1.0
        x = np.zeros(N1 + N2)
        x[j - 1] = 1.0 / a_big
        if dct:
            Q = _dct_matrix(N2 + 1)
            A, y = Q @ A, Q @ y
        problems.append((A, y, x))
    (A, y, x), (A_n, y_n, x_n) = problems
    dist = float(np.linalg.norm(A - A_n, 2) + np.linalg.norm(y - y_n))
    if dist > 2.0**-n:
        raise ValueError(f"n = {n} is too large for K = {K} with dct=True: rounding in float64 makes the data "
                         f"distance {dist:.3g} > 2^-n = {2.0**-n:.3g}; take a smaller n or dct=False")
    return InexactInputPair(A=A, y=y, minimiser=x, A_n=A_n, y_n=y_n, minimiser_n=x_n, K=K, n=n, lam=lam,
                            gap=math.sqrt(2) / a_big, data_distance=dist)


# ---------------------------------------------------------------------------- worst-case perturbations
def worst_case_perturbation(f, y, *, lam, steps, lr, momentum, init_scale=1e-3, seed=0, max_norm=None):
    """Search a perturbation ``e`` that makes ``f(y + e)`` far from ``f(y)``, by momentum ascent.

    Serves Chapter 8, §8.5, {prf:ref}`def-worst-case-perturbation` (experiment E2.4). Maximises
    ``Q(e) = ‖f(y + e) − f(y)‖² − λ‖e‖²`` (sums over a batch) by ``v ← γ v + η ∇Q(e)``,
    ``e ← e + v`` from ``e_0 = init_scale · ξ``, ``ξ`` standard normal from ``torch.Generator``
    seeded with ``seed`` (the update of the authors' code, PNAS 2020 instability paper). The
    amplification ``‖f(y + e) − f(y)‖ / ‖e‖`` measures the network's (in)stability.

    Parameters
    ----------
    f : torch.nn.Module or callable
        Any differentiable map of torch tensors (e.g. a trained network or ``FirenetModule``).
    y : array_like or torch.Tensor
        The unperturbed input; converted to the dtype of ``f``'s first parameter or buffer
        (float64 if it has none).
    lam : float
        Penalty ``λ >= 0`` on ``‖e‖²``.
    steps : int
        Number of ascent steps ``>= 1``.
    lr : float
        Step size ``η > 0``.
    momentum : float
        ``γ ∈ [0, 1)``.
    init_scale : float, default 1e-3
        Scale ``> 0`` of the random start (``∇Q(0) = 0``, so ``e_0 = 0`` would never move).
    seed : int, default 0
        Seed of the start.
    max_norm : float, optional
        If given, ``e`` is projected onto the ball ``‖e‖ <= max_norm`` after every step (a
        budgeted attack, e.g. 5 % of ``‖y‖`` as in the authors' U-Net script). Without it and
        with ``λ`` below the squared local Lipschitz constant of ``f``, ``‖e‖`` grows without bound.

    Returns
    -------
    e : torch.Tensor
        The final perturbation (detached, same shape and dtype as ``y``).
    history : dict
        Per step: ``"objective"`` ``Q(e_k)``, ``"norm"`` ``‖e_k‖`` and ``"change"``
        ``‖f(y + e_k) − f(y)‖`` (numpy arrays of length ``steps``).
    """
    import torch

    lam = check_positive(lam, "lam", allow_zero=True)
    steps = check_int(steps, "steps", minimum=1)
    lr = check_positive(lr, "lr")
    momentum = check_real(momentum, "momentum", allow_fraction=False)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    init_scale = check_positive(init_scale, "init_scale")
    seed = check_int(check_seed(seed), "seed", minimum=0)
    max_norm = None if max_norm is None else check_positive(max_norm, "max_norm")
    if not callable(f):
        raise TypeError(f"f must be a torch module or callable, got {type(f).__name__}")
    tensors = list(f.parameters()) + list(f.buffers()) if isinstance(f, torch.nn.Module) else []
    dtype = tensors[0].dtype if tensors else torch.float64
    y = torch.as_tensor(y).detach().to(dtype)
    if not torch.all(torch.isfinite(y)):
        raise ValueError("y has non-finite entries (nan or inf)")
    gen = torch.Generator().manual_seed(seed)
    e = init_scale * torch.randn(y.shape, generator=gen, dtype=y.real.dtype).to(dtype)
    v = torch.zeros_like(e)
    with torch.no_grad():
        f_y = f(y)
    hist = {"objective": [], "norm": [], "change": []}
    for _ in range(steps):
        e.requires_grad_(True)
        change = torch.linalg.vector_norm(f(y + e) - f_y)
        norm = torch.linalg.vector_norm(e)
        q = change**2 - lam * norm**2
        (grad,) = torch.autograd.grad(q, e)
        hist["objective"].append(q.item())
        hist["norm"].append(norm.item())
        hist["change"].append(change.item())
        with torch.no_grad():
            v = momentum * v + lr * grad
            e = e.detach() + v
            if max_norm is not None:
                e = e * min(1.0, max_norm / max(torch.linalg.vector_norm(e).item(), 1e-300))
    return e.detach(), {key: np.asarray(val) for key, val in hist.items()}


# ---------------------------------------------------------------------------- a trained competitor
def sparse_signals(num, N, s, *, seed=0) -> np.ndarray:
    """``num`` random ``s``-sparse signals in ``R^N`` (the test and training data of E2.4).

    Serves Chapter 8, §8.5, {prf:ref}`def-worst-case-perturbation` (experiment E2.4). Each row has
    a support of size ``s`` drawn uniformly without replacement and values ``±(1 + U[0, 1])``
    (random sign), from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    num : int
        Number of signals ``>= 1``.
    N : int
        Length ``>= 1``.
    s : int
        Sparsity, ``1 <= s <= N``.
    seed : int, default 0
        Seed.

    Returns
    -------
    numpy.ndarray, shape (num, N)
    """
    num = check_int(num, "num", minimum=1)
    N = check_int(N, "N", minimum=1)
    s = check_int(s, "s", minimum=1)
    if s > N:
        raise ValueError(f"s must be <= N = {N}, got {s}")
    rng = np.random.default_rng(check_int(check_seed(seed), "seed", minimum=0))
    x = np.zeros((num, N))
    for row in x:
        idx = rng.choice(N, s, replace=False)
        row[idx] = rng.choice([-1.0, 1.0], s) * (1 + rng.random(s))
    return x


def train_reconstruction_net(A, x_train, *, hidden=256, steps=2000, lr=1e-3, batch_size=64, noise=0.0, seed=0):
    """Train a one-hidden-layer ReLU network ``y ↦ x`` on pairs ``(A x + e, x)`` (the competitor in E2.4).

    Serves Chapter 8, §8.5, {prf:ref}`def-worst-case-perturbation` (experiment E2.4). The network
    ``x̂(y) = W_2 ReLU(W_1 y + b_1) + b_2`` (float64, PyTorch's default initialisation under
    ``torch.manual_seed(seed)``) is trained by Adam on the mean squared error
    ``mean ‖x̂(A x_i + e_i) − x_i‖²`` over minibatches drawn by a ``torch.Generator`` seeded with
    ``seed``; ``e_i`` is fresh Gaussian noise of standard deviation ``noise`` per entry (``0``:
    clean data). A learned reconstruction map of the kind the chapter contrasts with FIRENET.

    Parameters
    ----------
    A : array_like, shape (m, N)
        Real measurement matrix.
    x_train : array_like, shape (num, N)
        Training signals.
    hidden : int, default 256
        Hidden width ``>= 1``.
    steps : int, default 2000
        Adam steps ``>= 1``.
    lr : float, default 1e-3
        Learning rate ``> 0``.
    batch_size : int, default 64
        Minibatch size ``>= 1`` (capped at ``num``).
    noise : float, default 0.0
        Standard deviation ``>= 0`` of the training noise on ``A x``.
    seed : int, default 0
        Seed of the initialisation, the minibatches and the noise.

    Returns
    -------
    torch.nn.Sequential
        The trained network in evaluation mode (float64, parameters detached from the optimiser).
    """
    import torch

    A = as_real_array(A, "A", 2)
    x_train = as_real_array(x_train, "x_train", 2)
    if x_train.shape[1] != A.shape[1]:
        raise ValueError(f"x_train must have A.shape[1] = {A.shape[1]} columns, got {x_train.shape[1]}")
    hidden = check_int(hidden, "hidden", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    lr = check_positive(lr, "lr")
    batch_size = min(check_int(batch_size, "batch_size", minimum=1), x_train.shape[0])
    noise = check_positive(noise, "noise", allow_zero=True)
    seed = check_int(check_seed(seed), "seed", minimum=0)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(A.shape[0], hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, A.shape[1])).double()
    gen = torch.Generator().manual_seed(seed)
    At = torch.from_numpy(A.T.copy())
    X = torch.from_numpy(x_train)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(X.shape[0], (batch_size,), generator=gen)
        xb = X[idx]
        yb = xb @ At
        if noise > 0:
            yb = yb + noise * torch.randn(yb.shape, generator=gen, dtype=yb.dtype)
        loss = torch.mean(torch.sum((net(yb) - xb) ** 2, dim=1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    for par in net.parameters():
        par.requires_grad_(False)
    return net


def subsampled_dct(N, m, *, seed=0) -> np.ndarray:
    """``m`` distinct rows, drawn uniformly and sorted, of the orthonormal ``N × N`` DCT-II (``‖A‖_2 = 1``).

    Serves Chapter 8, §8.4, {prf:ref}`alg-firenet` (the measurement matrix of experiments E2.2–E2.4).

    Parameters
    ----------
    N : int
        Signal length ``>= 1``.
    m : int
        Number of measurements, ``1 <= m <= N``.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` choosing the rows.

    Returns
    -------
    numpy.ndarray, shape (m, N)
    """
    N = check_int(N, "N", minimum=1)
    m = check_int(m, "m", minimum=1)
    if m > N:
        raise ValueError(f"m must be <= N = {N}, got {m}")
    rng = np.random.default_rng(check_int(check_seed(seed), "seed", minimum=0))
    return _dct_matrix(N)[np.sort(rng.choice(N, m, replace=False))]


STABILITY_DEFAULTS = dict(N=64, m=32, s=3, num_train=4000, hidden=256, steps=1500, lr=1e-3, restarts=6,
                          inner_iters=20, delta=1e-6, num_test=20, budget=0.05, attack_steps=40,
                          attack_lr=0.01, momentum=0.9)


def stability_study(seed, *, models=("net", "firenet"), **overrides) -> dict:
    """One seed of experiment E2.4: a trained network and FIRENET, their accuracy and amplification.

    Serves Chapter 8, §8.5, {prf:ref}`def-worst-case-perturbation`. With ``A =
    subsampled_dct(N, m, seed=seed)``, a network from :func:`train_reconstruction_net` on
    ``sparse_signals(num_train, N, s, seed=seed)`` and a ``FirenetModule`` (``λ = 1/√(4s)``)
    are (i) evaluated on ``num_test`` fresh signals (seed ``10_000 + seed``): mean relative
    error ``‖f(Ax) − x‖/‖x‖``; (ii) attacked at the first test signal by
    :func:`worst_case_perturbation` (``λ = 0``, the perturbation projected on the ball of radius
    ``budget·‖y‖``); the amplification is ``‖f(y + e) − f(y)‖/‖e‖``; (iii) as a control, the same
    ratio for a random direction of the same norm (seeded).

    Parameters
    ----------
    seed : int
        Seed of the matrix, the training set, the training and the attack.
    models : tuple of str, default ("net", "firenet")
        Which of the two to run (``("firenet",)`` skips the training: a cheap slice).
    **overrides
        Any key of ``STABILITY_DEFAULTS`` (``N, m, s, num_train, hidden, steps, lr, restarts,
        inner_iters, delta, num_test, budget, attack_steps, attack_lr, momentum``).

    Returns
    -------
    dict
        ``seed``, ``net_error``, ``firenet_error``, ``net_amplification``,
        ``firenet_amplification``, ``net_random_amplification``, ``firenet_random_amplification``,
        ``net_perturbation_norm``, ``firenet_perturbation_norm`` (the entries of the models run; floats rounded to 12 significant digits, so that a CSV round trip
        is exact).
    """
    import torch

    seed = check_int(check_seed(seed), "seed", minimum=0)
    unknown = set(overrides) - set(STABILITY_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown stability_study parameters: {sorted(unknown)}")
    if isinstance(models, str) or not set(models) <= {"net", "firenet"} or not models:
        raise ValueError(f"models must be a non-empty tuple drawn from ('net', 'firenet'), got {models!r}")
    c = {**STABILITY_DEFAULTS, **overrides}
    A = subsampled_dct(c["N"], c["m"], seed=seed)
    maps = {}
    if "net" in models:
        maps["net"] = train_reconstruction_net(A, sparse_signals(c["num_train"], c["N"], c["s"], seed=seed),
                                               hidden=c["hidden"], steps=c["steps"], lr=c["lr"], seed=seed)
    if "firenet" in models:
        maps["firenet"] = _build_firenet_module()(A, 1 / math.sqrt(4 * c["s"]), restarts=c["restarts"],
                                                  inner_iters=c["inner_iters"], delta=c["delta"])
    x_test = sparse_signals(c["num_test"], c["N"], c["s"], seed=10_000 + seed)
    y_test = torch.from_numpy(x_test @ A.T)
    y0 = y_test[0]
    radius = c["budget"] * float(torch.linalg.vector_norm(y0))
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(y0.shape, generator=gen, dtype=torch.float64)
    r = r * radius / torch.linalg.vector_norm(r)
    row = {"seed": seed}
    for name, f in maps.items():
        with torch.no_grad():
            err = torch.linalg.vector_norm(f(y_test) - torch.from_numpy(x_test), dim=1).numpy()
            row[f"{name}_error"] = float(np.mean(err / np.linalg.norm(x_test, axis=1)))
            row[f"{name}_random_amplification"] = float(torch.linalg.vector_norm(f(y0 + r) - f(y0)) / radius)
        e, _ = worst_case_perturbation(f, y0, lam=0.0, steps=c["attack_steps"], lr=c["attack_lr"],
                                       momentum=c["momentum"], seed=seed, max_norm=radius)
        with torch.no_grad():
            norm_e = float(torch.linalg.vector_norm(e))
            row[f"{name}_amplification"] = float(torch.linalg.vector_norm(f(y0 + e) - f(y0))) / norm_e
        row[f"{name}_perturbation_norm"] = norm_e
    return {k: (v if k == "seed" else float(f"{v:.12g}")) for k, v in row.items()}


def main(argv=None):
    """Command line: ``python -m nnlib.firenet --seeds 0 1 … --out chapters/data`` runs :func:`stability_study`.

    Serves Chapter 8, §8.5 (experiment E2.4). Writes ``ch8_stability.csv`` (one row per seed) and
    ``ch8_stability.json`` (the configuration, the seeds and the environment) into ``--out``.
    """
    import argparse
    import csv
    import json
    from pathlib import Path

    import torch

    from .reproducibility import environment

    parser = argparse.ArgumentParser(prog="python -m nnlib.firenet", description=main.__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--out", type=Path, default=Path("chapters/data"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [stability_study(seed) for seed in args.seeds]
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "ch8_stability.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    meta = {"experiment": "Chapter 8, E2.4: trained network vs FIRENET under worst-case perturbations",
            "function": "nnlib.firenet.stability_study", "config": STABILITY_DEFAULTS, "seeds": args.seeds,
            "torch_threads": 1, "environment": environment()}
    (args.out / "ch8_stability.json").write_text(json.dumps(meta, indent=2) + "\n")
    return args.out / "ch8_stability.csv"


if __name__ == "__main__":  # pragma: no cover
    main()
