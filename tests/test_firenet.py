"""Tests for nnlib.firenet (Chapter 8, FIRENET and the inexact-input barrier).

Oracles, all independent of the code under test:
* a hand-written SR-LASSO solver: scipy's L-BFGS-B on the smooth split reformulation
  ``x = u − v, u, v >= 0`` (smooth wherever ``Ax ≠ y``), polished by Newton's method on the
  support, and *certified* by checking the optimality conditions (sign consistency on the support,
  ``|(A^T r/‖r‖)_i| < λ w_i`` off it);
* the Chambolle–Pock ergodic bound ``F(x̄_p) − F* <= (‖x* − x_0‖²/τ + 1/σ)/p``;
* exact rational arithmetic (``fractions``) for the inexact-input construction, ``scipy.fft.dct``
  for its DCT, and a transcription of the authors' ``generate_test_sample`` formulas;
* closed forms (one primal–dual step, a linear map's worst-case direction).
"""
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.fft
import scipy.optimize

from nnlib.firenet import (firenet, inexact_input_problem, primal_dual, sr_lasso_objective,
                           worst_case_perturbation)

torch = pytest.importorskip("torch")
from nnlib.firenet import FirenetModule  # noqa: E402  (builds the torch class)


# ----------------------------------------------------------------------------- problems and oracle
def cs_problem(seed, N, m, s, noise):
    """Subsampled orthonormal DCT (‖A‖ <= 1), an s-sparse x, and y = A x + noise."""
    rng = np.random.default_rng(seed)
    A = scipy.fft.dct(np.eye(N), axis=0, norm="ortho")[np.sort(rng.choice(N, m, replace=False))]
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.choice([-1.0, 1.0], s) * (1 + rng.random(s))
    e = rng.standard_normal(m)
    return A, x, A @ x + noise * e / np.linalg.norm(e)


def oracle_minimiser(A, y, lam, w):
    """SR-LASSO minimiser by L-BFGS-B on the split form + Newton on the support, with a KKT certificate."""
    N = A.shape[1]

    def f_and_grad(uv):
        r = A @ (uv[:N] - uv[N:]) - y
        g = A.T @ r / np.linalg.norm(r)
        return lam * w @ (uv[:N] + uv[N:]) + np.linalg.norm(r), np.concatenate([lam * w + g, lam * w - g])

    res = scipy.optimize.minimize(f_and_grad, np.zeros(2 * N), jac=True, method="L-BFGS-B",
                                  bounds=[(0, None)] * (2 * N), options=dict(ftol=1e-15, gtol=1e-12, maxiter=10000))
    x0 = res.x[:N] - res.x[N:]
    S = np.flatnonzero(np.abs(x0) > 1e-6)
    sgn, AS = np.sign(x0[S]), A[:, S]

    def stationarity(z):
        r = AS @ z - y
        return lam * w[S] * sgn + AS.T @ r / np.linalg.norm(r)

    def jac(z):
        r = AS @ z - y
        nr = np.linalg.norm(r)
        return AS.T @ (np.eye(len(r)) - np.outer(r, r) / nr**2) @ AS / nr

    sol = scipy.optimize.root(stationarity, x0[S], jac=jac, method="hybr", options=dict(xtol=1e-15))
    x = np.zeros(N)
    x[S] = sol.x
    r = A @ x - y
    g = A.T @ r / np.linalg.norm(r)
    off = np.setdiff1d(np.arange(N), S)
    assert np.all(np.sign(sol.x) == sgn) and np.max(np.abs(stationarity(sol.x))) < 1e-12
    assert np.all(np.abs(g[off]) < 0.99 * lam * w[off])          # strict: the minimiser is unique
    return x


def kkt_violation(x, A, y, lam, w, support_tol):
    """Max violation of 0 ∈ λ ∂‖x‖_{1,w} + A^*(Ax − y)/‖Ax − y‖ (entries |x_i| <= support_tol count as 0)."""
    r = A @ x - y
    g = A.conj().T @ r / np.linalg.norm(r)
    on = np.abs(x) > support_tol
    v_on = np.abs(g[on] + lam * w[on] * x[on] / np.abs(x[on]))
    v_off = np.maximum(np.abs(g[~on]) - lam * w[~on], 0)
    return max(v_on.max(initial=0), v_off.max(initial=0))


def _small(noise):
    A, x, y = cs_problem(3, 16, 10, 2, noise)
    w = 1 + np.random.default_rng(4).random(16)
    lam = 0.3
    return A, x, y, lam, w, oracle_minimiser(A, y, lam, w)


@pytest.fixture(scope="module")
def small():
    """N = 16, m = 10, 2-sparse, noise 0.01, random weights in [1, 2]; the certified minimiser."""
    return _small(0.01)


@pytest.fixture(scope="module")
def cs64():
    """N = 64, m = 32 DCT rows, 3-sparse, noise 1e-3, λ = 1/√(4s): a well-posed compressed-sensing problem."""
    A, x, y = cs_problem(1, 64, 32, 3, 1e-3)
    lam = 1 / math.sqrt(4 * 3)
    return A, x, y, lam, oracle_minimiser(A, y, lam, np.ones(64))


@pytest.fixture(scope="module")
def noisy():
    """As ``small`` with noise 0.1: ‖Ax* − y‖ ≈ 0.36, so the subgradient condition is well conditioned."""
    return _small(0.1)


# ----------------------------------------------------------------------------- objective and one step
def test_objective_by_hand_real_and_complex():
    A = np.eye(2)
    assert sr_lasso_objective([1, -2], A, [0, 0], 0.5, weights=[1, 3]) == pytest.approx(0.5 * 7 + math.sqrt(5), rel=1e-15)
    # complex: |3 + 4i| = 5, residual (1j, 0) has norm 1
    assert sr_lasso_objective([3 + 4j, 0], A, [3 + 3j, 0], 2.0) == pytest.approx(2 * 5 + 1, rel=1e-15)


def test_one_and_two_steps_by_hand():
    # one step from x0 with v0 = 0: x1 = soft_{τλw}(x0); the ergodic average of one step is x1
    A = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.5]])
    y = np.array([1.0, -1.0])
    x0 = np.array([1.0, -0.05, 0.3])
    x1 = primal_dual(A, y, 0.2, iters=1, tau=0.5, sigma=0.5, weights=[1, 1, 2], x0=x0)
    np.testing.assert_allclose(x1, [0.9, 0.0, 0.1], rtol=0, atol=1e-15)
    # second step by hand: v1 = Proj(σ A(2x1 − x0) − σ y), x2 = soft(x1 − τ A^T v1), output (x1 + x2)/2
    v1 = 0.5 * A @ (2 * x1 - x0) - 0.5 * y
    v1 = v1 / max(1.0, np.linalg.norm(v1))
    z = x1 - 0.5 * A.T @ v1
    x2 = np.sign(z) * np.maximum(np.abs(z) - 0.5 * 0.2 * np.array([1, 1, 2]), 0)
    got = primal_dual(A, y, 0.2, iters=2, tau=0.5, sigma=0.5, weights=[1, 1, 2], x0=x0)
    np.testing.assert_allclose(got, (x1 + x2) / 2, rtol=1e-15, atol=1e-16)


# ----------------------------------------------------------------------------- primal-dual = SR-LASSO solver
def test_primal_dual_meets_ergodic_bound_and_optimality(noisy):
    A, _, y, lam, w, x_star = noisy
    tau = sigma = 0.99
    p = 2000
    x_bar = primal_dual(A, y, lam, iters=p, tau=tau, sigma=sigma, weights=w)
    F = lambda z: lam * np.sum(w * np.abs(z)) + np.linalg.norm(A @ z - y)   # noqa: E731
    gap = F(x_bar) - F(x_star)
    assert -1e-12 <= gap <= (np.linalg.norm(x_star) ** 2 / tau + 1 / sigma) / p      # Chambolle–Pock, ergodic
    assert np.linalg.norm(x_bar - x_star) <= 0.05 * np.linalg.norm(x_star)   # measured 3.6 %
    # the subgradient condition itself, to 0.01 (measured 2e-3; λ w_i >= 0.3)
    assert kkt_violation(x_bar, A, y, lam, w, support_tol=1e-3) <= 0.01
    assert kkt_violation(np.zeros(16), A, y, lam, w, 1e-3) > 0.05     # the check can fail (0.097 at x = 0)


def test_firenet_agrees_with_oracle_and_long_primal_dual(cs64):
    A, _, y, lam, x_star = cs64
    x_f, hist = firenet(A, y, lam, restarts=8, inner_iters=80, delta=1e-6)
    assert np.linalg.norm(x_f - x_star) <= 1e-4 * np.linalg.norm(x_star)          # measured 2e-5
    assert kkt_violation(x_f, A, y, lam, np.ones(64), support_tol=1e-6) <= 0.05  # ‖Ax* − y‖ ≈ 1e-3
    x_long = primal_dual(A, y, lam, iters=4000, tau=0.99, sigma=0.99)
    assert np.linalg.norm(x_f - x_long) <= 0.005 * np.linalg.norm(x_star)
    assert hist["iterates"].shape == (8, 64) and np.array_equal(hist["iterates"][-1], x_f)
    assert hist["objective"][-1] == pytest.approx(sr_lasso_objective(x_f, A, y, lam), rel=1e-14)


def test_restart_schedule_is_the_papers():
    A, _, y = cs_problem(0, 16, 10, 2, 0.1)
    _, hist = firenet(A, y, 0.3, restarts=6, inner_iters=3, delta=0.01, norm_bound=2.0)
    eps = np.linalg.norm(y)
    for k in range(6):
        eps = (0.01 + eps) / math.e
        assert hist["eps"][k] == pytest.approx(eps, rel=1e-14)
        assert hist["alpha"][k] == pytest.approx(1 / (eps / (2 * 2.0) * 3), rel=1e-14)


def test_restarts_contract_by_e_until_the_noise_floor(cs64):
    A, x, y, lam, x_star = cs64
    floor = np.linalg.norm(x_star - x)                           # ≈ 1.4e-3: noise floor of the SR-LASSO itself
    _, hist = firenet(A, y, lam, restarts=10, inner_iters=80, delta=1e-9)
    err = np.linalg.norm(hist["iterates"] - x, axis=1)
    envelope = np.linalg.norm(y) * np.exp(-np.arange(1, 11)) + 1e-9   # ε_k <= e^{-k} ε_0 + δ, ε_0 = ‖y‖
    assert np.all(err <= envelope + 2 * floor)                    # contraction by e^{-1} per restart ...
    assert err[-1] <= 2 * floor                                   # ... down to the noise floor
    assert np.all(err[:4] >= 0.1 * envelope[:4])                  # and the envelope is not vacuous
    plain = primal_dual(A, y, lam, iters=800, tau=0.99, sigma=0.99)   # same total number of steps
    assert np.linalg.norm(plain - x) >= 5 * err[-1]               # without restarts: O(1/p), far behind


def test_too_few_inner_iterations_stall(cs64):
    A, x, y, lam, _ = cs64
    _, hist = firenet(A, y, lam, restarts=12, inner_iters=5, delta=1e-9)
    err = np.linalg.norm(hist["iterates"] - x, axis=1)
    assert err[-1] > 0.5 * np.linalg.norm(x) and err[-1] > 1e4 * hist["eps"][-1]


def test_complex_data_satisfy_optimality():
    rng = np.random.default_rng(7)
    A = (rng.standard_normal((12, 20)) + 1j * rng.standard_normal((12, 20))) / math.sqrt(24)
    x = np.zeros(20, complex)
    x[[2, 11]] = [1 + 1j, -0.5 + 2j]
    y = A @ x + 0.05 * (rng.standard_normal(12) + 1j * rng.standard_normal(12)) / math.sqrt(24)
    x_f, _ = firenet(A, y, 0.2, restarts=15, inner_iters=100, delta=1e-9)
    assert x_f.dtype == np.complex128
    assert kkt_violation(x_f, A, y, 0.2, np.ones(20), support_tol=1e-6) <= 0.01   # measured 3e-3
    assert np.count_nonzero(np.abs(x_f) > 1e-6) <= 12


def test_deterministic(small):
    A, _, y, lam, w, _ = small
    a, ha = firenet(A, y, lam, restarts=3, inner_iters=7, delta=1e-3, weights=w)
    b, hb = firenet(A, y, lam, restarts=3, inner_iters=7, delta=1e-3, weights=w)
    assert np.array_equal(a, b) and np.array_equal(ha["iterates"], hb["iterates"])


# ----------------------------------------------------------------------------- inexact input (exact arithmetic)
def _frac(M):
    return [[Fraction(float(v)) for v in row] for row in np.atleast_2d(M)]


@pytest.mark.parametrize("K,n", [(1, 10), (3, 20), (6, 30)])
def test_inexact_pair_exact(K, n):
    P = inexact_input_problem(K, n, dct=False)
    A, An = _frac(P.A), _frac(P.A_n)
    eps = Fraction(1, 2 ** (n + 1))
    diff = [(i, j, An[i][j] - A[i][j]) for i in range(len(A)) for j in range(len(A[0])) if An[i][j] != A[i][j]]
    assert diff == [(0, 0, -eps), (0, 1, eps)]                    # two entries, by exactly 2^-(n+1)
    # ‖A − A_n‖_2² = ‖row difference‖² (rank one) = 2^-(2n+1) <= 2^-2n;  y = y_n
    assert sum(d * d for *_, d in diff) == Fraction(1, 2 ** (2 * n + 1))
    assert np.array_equal(P.y, P.y_n)
    a_big = A[0][0]
    assert A[0][1] == a_big - eps and An[0][1] == a_big
    y = [Fraction(float(v)) for v in P.y]
    for M, j, x_float in ((A, 0, P.minimiser), (An, 1, P.minimiser_n)):
        x = [Fraction(0)] * len(M[0])
        x[j] = 1 / a_big                                            # claimed exact minimiser e_j / a
        res = [sum(Mi[k] * x[k] for k in range(len(x))) - yi for Mi, yi in zip(M, y)]
        assert all(r == 0 for r in res)                             # F(x) = λ/a exactly
        v = [Fraction(1) / a_big] + [Fraction(0)] * (len(M) - 1)    # dual certificate, λ = 1
        ATv = [sum(M[i][k] * v[i] for i in range(len(M))) for k in range(len(x))]
        assert sum(t * t for t in v) <= 1 and all(abs(t) <= 1 for t in ATv) and ATv[j] == 1
        # weak duality: F(z) >= <v, y> = 1/a = F(x) for every z — x is a minimiser
        assert sum(vi * yi for vi, yi in zip(v, y)) == sum(abs(t) for t in x)
        assert abs(Fraction(float(x_float[j])) - x[j]) <= x[j] * Fraction(1, 2**52)
    # the minimisers differ by √(2)/a: gap² exactly 2/a², and >= 10^-K (≈ 3·10^-K)
    assert abs(Fraction(P.gap) ** 2 - 2 / a_big**2) <= 2 / a_big**2 * Fraction(1, 2**50)
    assert 2 / a_big**2 >= Fraction(1, 10 ** (2 * K)) and 2 / a_big**2 <= Fraction(9, 10 ** (2 * K))
    assert np.linalg.norm(P.minimiser - P.minimiser_n) == pytest.approx(P.gap, rel=1e-15)
    assert P.data_distance == pytest.approx(2.0**-n / math.sqrt(2), rel=1e-15)


def test_inexact_pair_matches_authors_formulas_and_scipy_dct():
    K, n, N1, N2, delta, lam = 3, 20, 2, 20, 1 / 6, 1.0
    plain = inexact_input_problem(K, n, dct=False)
    P = inexact_input_problem(K, n)
    for j, A_ours in ((1, plain.A), (2, plain.A_n)):                # transcription of generate_test_sample
        gamma1 = math.sqrt(2) * (1 - delta) * 10**K / (3 * lam)
        a = gamma1 * lam / (1 - delta) * np.ones(N1)
        e, rho = 2.0 ** (-n - 1), 1 - delta
        t = (e / (gamma1 * lam)) * rho * rho / (1 + (e / (gamma1 * lam)) * rho)
        a[j - 1] = gamma1 * lam / (1 - delta - t)
        A = np.zeros((N2 + 1, N1 + N2))
        A[0, :N1], A[1:, N1:] = a, np.linalg.norm(a) * np.eye(N2)
        np.testing.assert_allclose(A_ours, A, rtol=1e-12, atol=0)
    dct = lambda M: scipy.fft.dct(M, axis=0, norm="ortho")          # noqa: E731
    scale = np.linalg.norm(plain.A, 2)
    for ours, ref in ((P.A, dct(plain.A)), (P.A_n, dct(plain.A_n)), (P.y, dct(plain.y)), (P.y_n, dct(plain.y_n))):
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14 * scale)
    assert P.data_distance <= 2.0**-n
    np.testing.assert_array_equal(P.minimiser, plain.minimiser)


def test_inexact_pair_largest_exact_n():
    P = inexact_input_problem(6, 33, dct=False)                     # 2^-34 is one ulp of a ≈ 4.7e5
    assert P.A_n[0, 1] - P.A[0, 1] == 2.0**-34 and P.data_distance == pytest.approx(2.0**-33 / math.sqrt(2), rel=1e-15)


def test_no_algorithm_gets_both_within_10_to_minus_K():
    P = inexact_input_problem(3, 20)
    x, _ = firenet(P.A_n, P.y_n, 1, restarts=30, inner_iters=50, delta=1e-6)
    d, d_n = np.linalg.norm(x - P.minimiser), np.linalg.norm(x - P.minimiser_n)
    assert d + d_n >= P.gap * (1 - 1e-12) and max(d, d_n) > 1e-3    # triangle inequality: gap ≈ 3e-3


# ----------------------------------------------------------------------------- torch
def test_module_equals_numpy_float64(small):
    A, _, y, lam, w, _ = small
    kw = dict(restarts=4, inner_iters=15, delta=1e-6, weights=w)
    net = FirenetModule(A, lam, **kw)
    assert net.num_layers == 3 * 4 * 15
    ys = np.stack([y, 2 * y, y + 0.3])
    out = net(torch.from_numpy(ys)).numpy()
    for row, yy in zip(out, ys):
        np.testing.assert_allclose(row, firenet(A, yy, lam, **kw)[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net(torch.from_numpy(y)).numpy(), firenet(A, y, lam, **kw)[0], rtol=1e-12, atol=1e-14)


def test_module_equals_numpy_complex():
    rng = np.random.default_rng(2)
    A = (rng.standard_normal((6, 9)) + 1j * rng.standard_normal((6, 9))) / 4
    y = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    kw = dict(restarts=3, inner_iters=10, delta=1e-6)
    got = FirenetModule(A, 0.1, **kw)(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, firenet(A, y, 0.1, **kw)[0], rtol=1e-12, atol=1e-14)


def test_worst_case_perturbation_finds_top_singular_direction():
    lin = torch.nn.Linear(2, 2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
    # Q(e) = 9 e1² + e2² − 4‖e‖² = 5 e1² − 3 e2²: ascent grows e1, kills e2
    e, hist = worst_case_perturbation(lin, np.array([1.0, 2.0]), lam=4.0, steps=60, lr=0.01, momentum=0.9)
    assert abs(e[1]) < 1e-6 * abs(e[0]) and abs(e[0]) > 1e-2
    assert hist["change"][-1] == pytest.approx(3 * hist["norm"][-1], rel=1e-6)
    # λ above ‖M‖² = 9: Q is concave with maximum at 0, the ascent shrinks e
    e2, _ = worst_case_perturbation(lin, np.array([1.0, 2.0]), lam=10.0, steps=200, lr=0.01, momentum=0.5)
    assert torch.linalg.vector_norm(e2) < 1e-6
    e3, _ = worst_case_perturbation(lin, np.array([1.0, 2.0]), lam=4.0, steps=60, lr=0.01, momentum=0.9)
    assert torch.equal(e, e3)                                       # seeded
    # budget ‖e‖ <= 0.5 with λ = 0: the maximiser of ‖M e‖ on the ball is 0.5·(±1, 0), ‖M e‖ = 1.5
    e4, h4 = worst_case_perturbation(lin, np.array([1.0, 2.0]), lam=0.0, steps=100, lr=0.05, momentum=0.9,
                                     max_norm=0.5)
    assert float(torch.linalg.vector_norm(e4)) == pytest.approx(0.5, rel=1e-12) and abs(e4[1]) < 1e-6
    assert h4["change"][-1] == pytest.approx(1.5, rel=1e-9)


def test_firenet_is_stable_under_attack(small):
    A, _, y, lam, w, _ = small
    net = FirenetModule(A, lam, restarts=3, inner_iters=10, delta=1e-6, weights=w)
    _, hist = worst_case_perturbation(net, y, lam=1.0, steps=15, lr=0.05, momentum=0.9)
    assert np.all(np.isfinite(hist["objective"])) and hist["norm"][-1] > hist["norm"][0]
    assert np.max(hist["change"] / hist["norm"]) < 10                  # no blow-up: FIRENET is Lipschitz


# ----------------------------------------------------------------------------- bad input
A0, y0 = np.eye(3)[:2], np.ones(2)
PD = dict(iters=5, tau=0.5, sigma=0.5)
FN = dict(restarts=2, inner_iters=3, delta=1e-3)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: primal_dual(np.ones(3), y0, 1, **PD), ValueError, "A must be 2-dimensional"),
    (lambda: primal_dual(A0, np.ones(3), 1, **PD), ValueError, "y must have A.shape"),
    (lambda: primal_dual(A0, y0, -1, **PD), ValueError, "lam must be >= 0"),
    (lambda: primal_dual(A0, y0, 1, weights=[1, -1, 1], **PD), ValueError, "weights must be >= 0"),
    (lambda: primal_dual(A0, y0, 1, weights=[1, 1], **PD), ValueError, "weights must have"),
    (lambda: primal_dual(A0, y0, 1, iters=5, tau=1.0, sigma=1.0), ValueError, "tau\\*sigma"),
    (lambda: primal_dual(A0, y0, 1, iters=0, tau=0.5, sigma=0.5), ValueError, "iters must be >= 1"),
    (lambda: primal_dual(A0, y0, 1, iters=5, tau=-0.5, sigma=0.5), ValueError, "tau must be > 0"),
    (lambda: primal_dual(np.array([[1, np.nan, 0], [0, 1, 0]]), y0, 1, **PD), ValueError, "A has non-finite"),
    (lambda: primal_dual(A0, [1, np.inf], 1, **PD), ValueError, "y has non-finite"),
    (lambda: primal_dual(A0, y0, 1, x0=[1, 1], **PD), ValueError, "x0 must have"),
    (lambda: primal_dual(A0, y0, 1, x0=[1, 1, np.nan], **PD), ValueError, "x0 has non-finite"),
    (lambda: primal_dual(A0, y0, 1, weights=[1j, 1, 1], **PD), ValueError, "weights must be real"),
    (lambda: primal_dual(A0, ["a", "b"], 1, **PD), TypeError, "y must have a real or complex"),
    (lambda: sr_lasso_objective([1, 2], A0, y0, 1), ValueError, "x must have"),
    (lambda: firenet(A0, y0, 1, norm_bound=0.5, **FN), ValueError, "norm_bound must be an upper bound"),
    (lambda: firenet(A0, y0, 1, restarts=2, inner_iters=3, delta=0), ValueError, "delta must be > 0"),
    (lambda: firenet(A0, y0, 1, tau=2.0, **FN), ValueError, "tau\\*sigma"),
    (lambda: firenet(np.zeros((2, 3)), y0, 1, **FN), ValueError, "zero matrix"),
    (lambda: FirenetModule(A0, -1, **FN), ValueError, "lam must be >= 0"),
    (lambda: FirenetModule(A0, 1, **FN)(torch.ones(3)), ValueError, "y must have shape"),
    (lambda: inexact_input_problem(6, 40), ValueError, "n = 40 is too large"),
    (lambda: inexact_input_problem(6, 34, dct=False), ValueError, "take n <= 33"),   # ulp(√2·10^6/3) = 2^-34
    (lambda: inexact_input_problem(3, 10, lam=2), ValueError, "lam must lie in"),
    (lambda: inexact_input_problem(3, 10, delta=0.3), ValueError, "delta must lie in"),
    (lambda: inexact_input_problem(0, 10), ValueError, "K must be >= 1"),
    (lambda: inexact_input_problem(3, 10, N1=1), ValueError, "N1 must be >= 2"),
    (lambda: worst_case_perturbation(torch.nn.Identity(), y0, lam=1, steps=1, lr=0.1, momentum=1.0),
     ValueError, "momentum must lie"),
    (lambda: worst_case_perturbation(torch.nn.Identity(), [np.nan, 1], lam=1, steps=1, lr=0.1, momentum=0.5),
     ValueError, "y has non-finite"),
    (lambda: worst_case_perturbation(torch.nn.Identity(), y0, lam=1, steps=1, lr=0.1, momentum=0.5, max_norm=0),
     ValueError, "max_norm must be > 0"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
