"""nnlib.stable: Example 1, spectra, volume preservation, the Meganet transcription, torch, prolongation, data.

Oracles: plain-Python loops (math.tanh), Meganet's formulas transcribed in its own column
convention, torch autograd Jacobians, matrix powers of the linearisation at a fixed point, closed
forms computed by hand (traces, determinants, |1 + hλ|), and scaling laws (O(h)). No expected value
is produced by the function under test.
"""
import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
import torch

from nnlib import stable as st



@pytest.fixture
def rng():
    """A fresh generator per test, so that no test depends on which tests ran before it."""
    return np.random.default_rng(2018)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def constant(K, N):
    return np.repeat(np.asarray(K, dtype=float)[None], N, axis=0)


# ----------------------------------------------------------------------------- Example 1
E1 = st.EXAMPLE_1


def python_resnet(Y0, K, h, N):
    """(2.1) with b = 0 and tanh, by plain Python loops over lists (row convention y ← y + h tanh(yK))."""
    Ys = [[list(row) for row in Y0]]
    for _ in range(N):
        Ys.append([[y[i] + h * math.tanh(sum(y[k] * K[k][i] for k in range(len(y)))) for i in range(len(y))]
                   for y in Ys[-1]])
    return np.array(Ys)


@pytest.mark.parametrize("name", ["K_plus", "K_minus", "K_zero"])
def test_example_1_trajectory_equals_a_plain_python_loop(name):
    traj = st.forward(E1["Y0"], constant(E1[name], 10), np.zeros(10), E1["h"])
    oracle = python_resnet(E1["Y0"].tolist(), E1[name].tolist(), 0.1, 10)
    assert traj.shape == (11, 3, 2)
    np.testing.assert_allclose(traj, oracle, rtol=0, atol=1e-15)


def distances(Y):
    return np.array([np.linalg.norm(Y[i] - Y[j]) for i, j in [(0, 1), (0, 2), (1, 2)]])


def test_example_1_K_plus_separates_y1_and_y2():
    traj = st.forward(E1["Y0"], constant(E1["K_plus"], 10), np.zeros(10), 0.1)
    d12 = np.array([np.linalg.norm(Y[0] - Y[1]) for Y in traj])
    assert np.all(np.diff(d12) > 0)            # they separate at every layer
    assert d12[-1] > 4 * d12[0]                # 0.283 → 1.207
    # first layer by hand: y₁K₊ = (0.2, 0) and the map is odd (y₂ = −y₁), so d = 2‖y₁ + 0.1 tanh(0.2, 0)‖
    assert d12[1] == pytest.approx(2 * math.hypot(0.1 + 0.1 * math.tanh(0.2), 0.1), rel=1e-15)


def test_example_1_K_minus_contracts_all_three_towards_zero():
    traj = st.forward(E1["Y0"], constant(E1["K_minus"], 10), np.zeros(10), 0.1)
    norms = np.linalg.norm(traj, axis=2)       # (11, 3)
    assert np.all(np.diff(norms, axis=0) < 0)  # every example, every layer
    assert np.all(norms[-1] < 0.35 * norms[0])
    assert np.all(distances(traj[-1]) < 0.35 * distances(traj[0]))


def test_example_1_K_zero_nearly_preserves_distances():
    traj = st.forward(E1["Y0"], constant(E1["K_zero"], 10), np.zeros(10), 0.1)
    ratio = distances(traj[-1]) / distances(traj[0])
    # within 6 % (forward Euler of the linearised rotation gains √(1 + h²) per layer, 5.1 % in 10 layers),
    # against × 4.3 for K₊ and × 0.28 for K₋ above
    assert np.all(ratio > 0.97) and np.all(ratio < 1.06)
    assert np.all(np.abs(np.linalg.norm(traj[-1], axis=1) / np.linalg.norm(traj[0], axis=1) - 1) < 0.06)


@pytest.mark.parametrize("name, eigenvalues, factor", [
    ("K_plus", [2, 2], 1.2),                      # triangular: diagonal 2, 2; |1 + 0.1·2|
    ("K_minus", [-2, -2], 0.8),                   # triangular: −2, −2;        |1 − 0.2|
    ("K_zero", [1j, -1j], math.sqrt(1.01)),       # λ² + 1 = 0;                |1 + 0.1i|
])
def test_example_1_exact_eigenvalues_and_forward_euler_factor(name, eigenvalues, factor):
    J = st.ode_jacobian(np.zeros(2), E1[name], 0.0)    # σ'(0) = 1: J = Kᵀ exactly
    assert np.array_equal(J, E1[name].T)
    lam = np.linalg.eigvals(J)
    # characteristic polynomial λ² − tr λ + det, exactly (small integers)
    assert np.trace(J) == sum(eigenvalues).real and round(np.linalg.det(J), 12) == np.prod(eigenvalues).real
    # K₊, K₋ are defective (one Jordan block): computed double eigenvalues are only √eps-accurate
    np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(np.array(eigenvalues, dtype=complex)),
                               atol=1e-7)
    assert st.stability_factor(np.array(eigenvalues, dtype=complex), 0.1) == pytest.approx(factor, rel=1e-15)


# ----------------------------------------------------------------------------- spectra of the designs
def sigma_prime_tanh(z):
    return 1.0 / np.cosh(z) ** 2


@pytest.mark.parametrize("gamma", [0.0, 0.05, 1.0, 3.0])
def test_antisymmetric_matrix_has_real_parts_exactly_minus_gamma_over_two(gamma, rng):
    """Claim: every eigenvalue of M = ½(K − Kᵀ − γI) has Re λ = −γ/2 (M + γ/2 I is antisymmetric).

    Tested through the ODE Jacobian at y = 0, b = 0 with tanh, where σ' = 1 and J = Mᵀ.
    """
    K = rng.standard_normal((5, 5)) * 3
    J = st.ode_jacobian(np.zeros(5), K, 0.0, kind="antisymmetric", gamma=gamma)
    np.testing.assert_allclose(J, 0.5 * (K.T - K) - 0.5 * gamma * np.eye(5), rtol=0, atol=1e-15)
    lam = np.linalg.eigvals(J)
    np.testing.assert_allclose(lam.real, -gamma / 2, rtol=0, atol=1e-13)
    assert np.max(np.abs(lam.imag)) > 1.0         # the rotation part is really there


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_antisymmetric_jacobian_is_purely_imaginary_for_gamma_zero_anywhere(activation, rng):
    """Claim: for γ = 0, J = D Mᵀ with D = diag σ' ≥ 0 has Re λ = 0 at every state y.

    (Nonzero eigenvalues of D S equal those of D^½ S D^½, antisymmetric, for S = Mᵀ antisymmetric.)
    """
    K = rng.standard_normal((6, 6))
    for _ in range(5):
        y, b = rng.standard_normal(6), rng.standard_normal(6)
        J = st.ode_jacobian(y, K, b, kind="antisymmetric", activation=activation)
        lam = np.linalg.eigvals(J)
        assert np.max(np.abs(lam.real)) < 1e-12 * max(1.0, np.linalg.norm(J))


def test_antisymmetric_jacobian_real_parts_between_gamma_sigma_prime_bounds(rng):
    """Claim (γ > 0, tanh): Re λ(D Mᵀ) ∈ [−γ/2 · max σ', −γ/2 · min σ'], D = diag σ'(yM + b).

    D^{-½}(D Mᵀ)D^{½} = D^½ S D^½ − (γ/2) D with S antisymmetric; its field of values has real
    parts −(γ/2) xᵀDx/xᵀx. σ' is computed here from the definition, not by the module.
    """
    K, gamma = rng.standard_normal((4, 4)), 0.4
    M = 0.5 * (K - K.T - gamma * np.eye(4))
    for _ in range(5):
        y, b = rng.standard_normal(4), rng.standard_normal()
        d = sigma_prime_tanh(y @ M + b)
        lam = np.linalg.eigvals(st.ode_jacobian(y, K, b, kind="antisymmetric", gamma=gamma))
        assert np.all(lam.real <= -gamma / 2 * d.min() + 1e-13)
        assert np.all(lam.real >= -gamma / 2 * d.max() - 1e-13)


@pytest.mark.parametrize("kind", ["hamiltonian", "leapfrog"])
def test_hamiltonian_and_leapfrog_ode_jacobians_are_purely_imaginary_for_any_K(kind, rng):
    K = rng.standard_normal((4, 4)) * 2            # no structure imposed on K
    for _ in range(4):
        state, b = rng.standard_normal(8), rng.standard_normal(4)
        lam = np.linalg.eigvals(st.ode_jacobian(state, K, b, kind=kind))
        assert np.max(np.abs(lam.real)) < 1e-10 * np.max(np.abs(lam))


def test_leapfrog_layer_is_stable_iff_h2_lambda_max_at_most_4():
    """Linearised leapfrog μ² − (2 − h²a)μ + 1 = 0 has |μ| = 1 iff h²a ≤ 4 (a = eigenvalue of K D Kᵀ).

    At y = 0, b = 0, tanh: D = I and K = diag(1, 2) gives a ∈ {1, 4}.
    """
    K = np.diag([1.0, 2.0])
    for h, stable in [(0.9, True), (1.0, True), (1.05, False)]:
        mu = np.linalg.eigvals(st.layer_jacobian(np.zeros(4), K, 0.0, h, kind="leapfrog"))
        assert (np.max(np.abs(mu)) < 1 + 1e-7) == stable
    # the unstable root for h = 1.05, a = 4: μ = (2 − h²a)/2 − √(((2 − h²a)/2)² − 1), by hand
    c = (2 - 1.05 ** 2 * 4) / 2
    assert np.max(np.abs(np.linalg.eigvals(st.layer_jacobian(np.zeros(4), K, 0.0, 1.05, kind="leapfrog")))) \
        == pytest.approx(abs(c - math.sqrt(c * c - 1)), rel=1e-12)


# ----------------------------------------------------------------------------- Meganet transcription
def meganet_columns(Y0, K, b, h, kind, gamma=0.0, act=np.tanh):
    """Meganet.m's loops in its own convention: examples as columns, K_M = Kᵀ (singleLayer ↔ (2.1))."""
    Y, Z, Yold = Y0.T.copy(), np.zeros_like(Y0.T), Y0.T.copy()
    for Kj, bj in zip(K, b):
        KM = Kj.T
        bc = np.broadcast_to(bj, (KM.shape[0],))[:, None]
        if kind == "resnet":                       # ResNN + singleLayer: Y + h act(K Y + b)
            Y = Y + h * act(KM @ Y + bc)
        elif kind == "antisymmetric":              # (4.12) transposed: ½(K − Kᵀ − γI)ᵀ = ½(K_M − K_Mᵀ − γI)
            Y = Y + h * act(0.5 * (KM - KM.T - gamma * np.eye(len(KM))) @ Y + bc)
        elif kind == "hamiltonian":                # HamiltonianNN.m forwardProp
            Z = Z - h * act(KM.T @ Y + bc)
            Y = Y + h * act(KM @ Z + bc)
        else:                                      # LeapFrogNN.m + doubleSymLayer.m
            Ytemp = Y
            Y = 2 * Y - Yold + h ** 2 * (-(KM.T @ act(KM @ Y + bc)))
            Yold = Ytemp
    return Y.T


@pytest.mark.parametrize("kind", st.KINDS)
@pytest.mark.parametrize("per_feature_bias", [False, True])
def test_row_forms_equal_meganet_column_loops(kind, per_feature_bias, rng):
    N, n, s = 6, 3, 4
    K = rng.standard_normal((N, n, n))
    b = rng.standard_normal((N, n) if per_feature_bias else N)
    Y0 = rng.standard_normal((s, n))
    gamma = 0.3 if kind == "antisymmetric" else 0.0
    ours = st.forward(Y0, K, b, 0.25, kind=kind, gamma=gamma)[-1]
    np.testing.assert_allclose(ours, meganet_columns(Y0, K, b, 0.25, kind, gamma), rtol=0, atol=1e-13)


def test_hamiltonian_forward_returns_z_and_forward_returns_its_y(rng):
    K, b, Y0 = rng.standard_normal((5, 2, 2)), rng.standard_normal(5), rng.standard_normal((3, 2))
    Ys, Zs = st.hamiltonian_forward(Y0, None, K, b, 0.2)
    assert np.array_equal(Ys, st.forward(Y0, K, b, 0.2, kind="hamiltonian"))
    assert np.array_equal(Zs[0], np.zeros((3, 2)))
    # first Z step by hand: Z₁ = −h tanh(Y₀K₀ᵀ + b₀)
    np.testing.assert_allclose(Zs[1], -0.2 * np.tanh(Y0 @ K[0].T + b[0]), rtol=0, atol=1e-16)


# ----------------------------------------------------------------------------- torch: same map, autograd Jacobians
@pytest.mark.parametrize("kind", st.KINDS)
@pytest.mark.parametrize("activation", st.ACTIVATIONS)
def test_numpy_and_torch_forward_agree_in_float64(kind, activation, rng):
    N, n, s = 9, 4, 7
    K, b, Y0 = rng.standard_normal((N, n, n)), rng.standard_normal((N, n)), rng.standard_normal((s, n))
    gamma = 0.2 if kind == "antisymmetric" else 0.0
    net = st.torch_network(K, b, 0.3, kind=kind, activation=activation, gamma=gamma)
    assert net.K.dtype == torch.float64 and tuple(net.K.shape) == (N, n, n) and tuple(net.b.shape) == (N, n)
    Ys, _ = net.states(torch.tensor(Y0))
    np.testing.assert_allclose(Ys.detach().numpy(), st.forward(Y0, K, b, 0.3, kind=kind, activation=activation,
                                                               gamma=gamma), rtol=1e-13, atol=1e-13)


def autograd_map_jacobian(kind, K, b, h, y0, w0, activation="tanh", gamma=0.0):
    """Jacobian of (y₀, w₀) ↦ (y_N, w_N) for one example, by torch autograd (column convention)."""
    net = st.torch_network(K, b, h, kind=kind, activation=activation, gamma=gamma)
    n = len(y0)

    def full_map(v):
        Y0, W0 = v[:n][None], v[n:][None]
        if kind == "leapfrog":   # state (y_k, y_{k-1}): run the layers from a given previous state
            Y, W = Y0, W0
            act = torch.tanh if activation == "tanh" else torch.relu
            for j in range(K.shape[0]):   # the row form, written out here (checked against Meganet above)
                Kj, bj = torch.tensor(K[j]), torch.tensor(b[j])
                Y, W = 2 * Y - W - h ** 2 * act(Y @ Kj + bj) @ Kj.T, Y
            return torch.cat([Y[0], W[0]])
        Ys, Zs = net.states(Y0, W0)
        return torch.cat([Ys[-1][0], Zs[-1][0]])

    v = torch.tensor(np.concatenate([y0, w0]))
    return torch.autograd.functional.jacobian(full_map, v).numpy()


@pytest.mark.parametrize("kind", ["hamiltonian", "leapfrog"])
def test_verlet_and_leapfrog_maps_preserve_volume(kind, rng):
    """det ∂(y_N, w_N)/∂(y_0, w_0) = 1 (product of shears), through 30 layers, by torch autograd."""
    N, n = 30, 3
    K, b = rng.standard_normal((N, n, n)), rng.standard_normal((N, n))
    J = autograd_map_jacobian(kind, K, b, 0.2, rng.standard_normal(n), rng.standard_normal(n))
    assert abs(np.linalg.det(J) - 1) < 1e-12 * np.linalg.cond(J)
    assert np.linalg.norm(J - np.eye(2 * n)) > 0.1          # not trivially the identity


@pytest.mark.parametrize("kind", ["resnet", "hamiltonian", "leapfrog"])
def test_relu_derivative_at_zero_is_zero_as_in_autograd(kind, rng):
    """At y = 0, b = 0 every pre-activation is exactly 0; torch's relu'(0) = 0 is the convention."""
    K, b = rng.standard_normal((1, 2, 2)), np.zeros((1, 2))
    size = 2 if kind == "resnet" else 4
    if kind == "resnet":
        net = st.torch_network(K, b, 0.5, activation="relu")
        ref = torch.autograd.functional.jacobian(lambda y: net(y[None])[0], torch.zeros(2, dtype=torch.float64))
    else:
        ref = autograd_map_jacobian(kind, K, b, 0.5, np.zeros(2), np.zeros(2), activation="relu")
    J = st.layer_jacobian(np.zeros(size), K[0], b[0], 0.5, kind=kind, activation="relu")
    np.testing.assert_array_equal(J, np.asarray(ref))


def test_resnet_map_does_not_preserve_volume(rng):
    """The same check applied to a plain ResNet layer: det(I + hJ) ≠ 1 (the volume test can fail)."""
    K = rng.standard_normal((3, 3))
    J = st.layer_jacobian(rng.standard_normal(3), K, 0.1, 0.2)
    assert abs(np.linalg.det(J) - 1) > 1e-3


@pytest.mark.parametrize("kind", st.KINDS)
def test_layer_jacobian_equals_autograd(kind, rng):
    n = 3
    K, b = rng.standard_normal((1, n, n)), rng.standard_normal((1, n))
    gamma = 0.1 if kind == "antisymmetric" else 0.0
    if kind in ("hamiltonian", "leapfrog"):
        state = rng.standard_normal(2 * n)
        ref = autograd_map_jacobian(kind, K, b, 0.3, state[:n], state[n:])
    else:
        state = rng.standard_normal(n)
        net = st.torch_network(K, b, 0.3, kind=kind, gamma=gamma)
        ref = torch.autograd.functional.jacobian(lambda y: net(y[None])[0], torch.tensor(state)).numpy()
    J = st.layer_jacobian(state, K[0], b[0], 0.3, kind=kind, gamma=gamma)
    np.testing.assert_allclose(J, ref, rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------- sensitivity vs depth
def test_plain_resnet_sensitivity_grows_exponentially_like_the_linearisation():
    """At the fixed point Y₀ = 0 (b = 0, tanh) the map is linear to first order: sensitivity =
    ‖δ (I + hK)^N‖/‖δ‖ (row convention), here with K = 2I: (1 + 2h)^N = e^{N log 1.2}."""
    K, h = 2.0 * np.eye(2), 0.1
    Ts = np.array([1.0, 2.0, 4.0, 8.0])
    sens = np.array([st.sensitivity(np.zeros((1, 2)), K, 0.0, T, [round(T / h)], delta=1e-12, seed=3)[0]
                     for T in Ts])
    d = np.random.default_rng(3).standard_normal((1, 2))
    oracle = [np.linalg.norm(d @ np.linalg.matrix_power(np.eye(2) + h * K, round(T / h))) / np.linalg.norm(d)
              for T in Ts]
    np.testing.assert_allclose(sens, oracle, rtol=1e-6)
    slopes = np.diff(np.log(sens)) / np.diff(Ts)
    np.testing.assert_allclose(slopes, math.log(1.2) / h, rtol=1e-6)   # exponential in T = depth · h


def test_antisymmetric_sensitivity_stays_order_one_while_plain_explodes(rng):
    """K = S + I with S antisymmetric, ρ(S) = 2, at the fixed point 0 (linear to first order).

    K is normal with eigenvalues 1 ± iμ_k, so the plain ResNet amplifies each eigen-direction by
    exactly |1 + h + i h μ_k|^N (→ e^T = 148 at T = 5); the antisymmetric design sees only
    ½(K − Kᵀ) = S and, by hand, 1 ≤ growth ≤ (1 + h²ρ²)^{N/2} (→ 1).
    """
    A = rng.standard_normal((4, 4))
    S = (A - A.T) * (2.0 / np.max(np.abs(np.linalg.eigvals(A - A.T))))
    K, T, depths = S + np.eye(4), 5.0, [10, 100, 1000]
    anti = st.sensitivity(np.zeros((1, 4)), K, 0.0, T, depths, kind="antisymmetric", delta=1e-10)
    bound = np.array([(1 + (T / N) ** 2 * 4.0) ** (N / 2) for N in depths])
    assert np.all(anti >= 1 - 1e-6) and np.all(anti <= bound * (1 + 1e-6)) and anti[-1] < 1.06
    plain = st.sensitivity(np.zeros((1, 4)), K, 0.0, T, depths, delta=1e-10)
    mu = np.linalg.eigvals(S).imag
    for N, p in zip(depths, plain):
        factors = np.abs(1 + T / N + 1j * (T / N) * mu) ** N
        assert factors.min() * (1 - 1e-6) <= p <= factors.max() * (1 + 1e-6)
    assert plain[-1] > 0.9 * math.exp(T) and plain[-1] > 100 * anti[-1]


@pytest.mark.parametrize("kind", ["antisymmetric", "hamiltonian", "leapfrog"])
def test_stable_designs_have_depth_independent_sensitivity_away_from_the_fixed_point(kind, rng):
    K = rng.standard_normal((3, 3))
    Y0 = rng.standard_normal((5, 3))
    sens = st.sensitivity(Y0, K, 0.1, 5.0, [20, 80, 320], kind=kind, delta=1e-7)
    assert np.all(sens < 10) and np.all(sens > 0.05)
    assert abs(sens[-1] - sens[-2]) < 0.2 * sens[-1]       # converging as h → 0 at fixed T


# ----------------------------------------------------------------------------- multilevel
def test_prolongate_by_hand():
    K = np.array([0.0, 1.0, 3.0])[:, None, None] * np.ones((3, 2, 2))
    K2, b2, h2 = st.prolongate(K, np.array([1.0, 2.0, 4.0]), 0.5)
    assert h2 == 0.25
    assert b2.tolist() == [1.0, 1.5, 2.0, 3.0, 4.0, 4.0]
    assert K2[:, 0, 0].tolist() == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0] and K2.shape == (6, 2, 2)


def test_smoothness_penalty_by_hand_and_under_prolongation():
    # θ_j = c·t_j with t_j = j h: (α/2h)·(N−1)·(c h)²·(number of entries)
    N, h, alpha = 8, 0.25, 0.3
    t = h * np.arange(N)
    K = t[:, None, None] * np.full((N, 2, 2), 2.0)
    b = 3.0 * t
    expected = alpha / (2 * h) * (N - 1) * ((2 * h) ** 2 * 4 + (3 * h) ** 2)
    assert st.smoothness_penalty(K, b, h, alpha) == pytest.approx(expected, rel=1e-14)
    # refined: same slopes, half the step, 2N−1 jumps of which the last is 0 (constant extrapolation)
    K2, b2, h2 = st.prolongate(K, b, h)
    assert st.smoothness_penalty(K2, b2, h2, alpha) == pytest.approx(
        alpha / (2 * h2) * (2 * N - 2) * ((2 * h2) ** 2 * 4 + (3 * h2) ** 2), rel=1e-14)


def cross_entropy_oracle(logits, labels):
    return float(np.mean([math.log(sum(math.exp(v) for v in row)) - row[c] for row, c in zip(logits, labels)]))


@pytest.mark.parametrize("kind", st.KINDS)
def test_prolongation_changes_the_loss_by_order_h(kind, rng):
    """Weights sampling a smooth θ(t) on [0, T]: δ(h) = L(2N, h/2, prolongated) − L(N, h) = O(h).

    Checked as: δ on N = 16 … 256 is fitted by c·h + d·h² + e·h³ (no constant term) to 5 % of max |δ|,
    and δ → 0. A prolongation that is not consistent (e.g. keeps h) leaves a constant term.
    """
    T, n = 2.0, 3
    A, B, C = (rng.standard_normal((n, n)) for _ in range(3))
    Y0 = rng.standard_normal((40, n))
    labels = rng.integers(0, 3, 40)
    W, mu = rng.standard_normal((n, 3)), rng.standard_normal(3)
    gamma = 0.1 if kind == "antisymmetric" else 0.0
    hs, deltas = [], []
    for N in [16, 32, 64, 128, 256]:
        t = (T / N) * np.arange(N)
        K = A + np.sin(t)[:, None, None] * B + (t ** 2)[:, None, None] * C / 4
        b = 0.3 * np.cos(t)
        coarse = st.forward(Y0, K, b, T / N, kind=kind, gamma=gamma)[-1]
        K2, b2, h2 = st.prolongate(K, b, T / N)
        fine = st.forward(Y0, K2, b2, h2, kind=kind, gamma=gamma)[-1]
        loss_c, loss_f = cross_entropy_oracle(coarse @ W + mu, labels), cross_entropy_oracle(fine @ W + mu, labels)
        assert st.classification_loss(Y0, labels, K, b, T / N, W, mu, kind=kind, gamma=gamma) == \
            pytest.approx(loss_c, rel=1e-12)
        hs.append(T / N)
        deltas.append(loss_f - loss_c)
    hs, deltas = np.array(hs), np.array(deltas)
    design = np.column_stack([hs, hs ** 2, hs ** 3])
    coef = np.linalg.lstsq(design, deltas, rcond=None)[0]
    assert np.max(np.abs(design @ coef - deltas)) < 0.05 * np.max(np.abs(deltas)), (deltas, coef)
    assert abs(deltas[-1]) < 0.02


def test_trainer_multilevel_runs_deterministically_and_learns():
    Yt, ct, Yv, cv = st.swiss_roll(24)
    kw = dict(kind="antisymmetric", T=4.0, num_layers=4, levels=2, width=3, steps=25, lr=0.05, Y_val=Yv,
              labels_val=cv, seed=1)
    r1, r2 = st.train_classifier(Yt, ct, **kw), st.train_classifier(Yt, ct, **kw)
    assert r1.num_layers == [4, 8] and r1.h == 0.5 and r1.K.shape == (8, 3, 3) and r1.b.shape == (8,)
    assert np.array_equal(r1.K, r2.K) and np.array_equal(r1.loss_history[1], r2.loss_history[1])
    assert r1.loss_history[0][-1] < r1.loss_history[0][0]
    assert len(r1.loss_history[0]) == 25 and 0 <= r1.val_accuracy[-1] <= 1
    # the returned arrays are the trained network: its numpy loss is the last objective's misfit part
    misfit = st.classification_loss(np.pad(Yt, ((0, 0), (0, 1))), ct, r1.K, r1.b, r1.h, r1.W, r1.mu,
                                    kind="antisymmetric")
    penalty = st.smoothness_penalty(r1.K, r1.b, r1.h, 5e-4) + 0.5e-3 * np.sum(r1.W ** 2)
    assert misfit + penalty == pytest.approx(r1.loss_history[1][-1], abs=0.05)   # one Adam step apart
    np.testing.assert_array_equal(r1.predict(Yv), np.argmax(r1.features(Yv)[-1] @ r1.W + r1.mu, axis=1))


# ----------------------------------------------------------------------------- data
def test_swiss_roll_matches_setup_swiss_roll_by_hand():
    Yt, ct, Yv, cv = st.swiss_roll()
    assert Yt.shape == Yv.shape == (513, 2) and ct.shape == cv.shape == (513,)
    assert ct.sum() == 256 and cv.sum() == 257            # 1026 points, class 0 first, alternating split
    # MATLAB index 3 (class 0, k = 2): θ = 2·4π/512, r = 2/512
    np.testing.assert_allclose(Yt[1], [2 / 512 * math.cos(2 * math.pi / 128), 2 / 512 * math.sin(2 * math.pi / 128)],
                               rtol=1e-14)
    np.testing.assert_allclose(Yt[0], [0.0, 0.0], atol=0)
    # class 1 starts at MATLAB index 514 (even: validation), radius 0.2 at θ = 0
    np.testing.assert_allclose(Yv[256], [0.2, 0.0], atol=1e-15)
    assert cv[256] == 1 and cv[255] == 0
    radii = np.linalg.norm(Yt[ct == 1], axis=1)
    assert radii.min() > 0.2 and radii.max() <= 1.2 + 1e-12
    a, b = st.swiss_roll(7), st.swiss_roll(7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_peaks_function_by_hand():
    assert st.peaks_function(0.0, 0.0) == pytest.approx(8 / (3 * math.e), rel=1e-15)
    assert st.peaks_function(1.0, 0.0) == pytest.approx(8 / math.e - math.exp(-4) / 3, rel=1e-15)


def test_peaks_classes_shapes_and_determinism():
    Y, labels = st.peaks(1000, 5, seed=4)
    assert Y.shape == (1000, 2) and np.bincount(labels).tolist() == [200] * 5
    Y2, _ = st.peaks(1000, 5, seed=4)
    Y3, _ = st.peaks(1000, 5, seed=5)
    assert np.array_equal(Y, Y2) and not np.array_equal(Y, Y3)
    assert st.peaks(7, 5)[0].shape == (10, 2)                # ceil(7/5) = 2 per class
    # every point is a grid point, and its class is its level bin (the value range split in 5)
    xs = np.linspace(-3, 3, 256)
    assert np.all(np.isin(Y, xs))
    x, y = Y[:, 0], Y[:, 1]
    v = 3 * (1 - x) ** 2 * np.exp(-x ** 2 - (y + 1) ** 2) - 10 * (x / 5 - x ** 3 - y ** 5) * np.exp(-x ** 2 - y ** 2) \
        - np.exp(-(x + 1) ** 2 - y ** 2) / 3
    gx, gy = np.meshgrid(xs, xs)
    grid_v = st.peaks_function(gx, gy)
    lo, hi = grid_v.min(), grid_v.max()
    bins = np.clip(np.ceil((v - lo) / ((hi - lo) / 5)) - 1, 0, 4)
    assert np.mean(bins == labels) > 0.99                    # ties at bin edges may round either way


# ----------------------------------------------------------------------------- validation
GOOD = dict(Y0=np.zeros((2, 3)), K=np.zeros((4, 3, 3)), b=np.zeros(4), h=0.1)


@pytest.mark.parametrize("change, exc, name", [
    (dict(K=np.zeros((4, 3, 2))), ValueError, "K"),
    (dict(K=np.zeros((4, 2, 2))), ValueError, "K"),
    (dict(K=np.zeros((3, 3))), ValueError, "K"),
    (dict(b=np.zeros(5)), ValueError, "b"),
    (dict(b=np.zeros((4, 2))), ValueError, "b"),
    (dict(h=0.0), ValueError, "h"),
    (dict(h=-1.0), ValueError, "h"),
    (dict(h="0.1"), TypeError, "h"),
    (dict(gamma=-0.1, kind="antisymmetric"), ValueError, "gamma"),
    (dict(gamma=0.1, kind="resnet"), ValueError, "gamma"),
    (dict(kind="euler"), ValueError, "kind"),
    (dict(kind=3), TypeError, "kind"),
    (dict(activation="sigmoid"), ValueError, "activation"),
    (dict(Y0=np.array([[np.nan, 0, 0]])), ValueError, "Y0"),
    (dict(K=np.full((4, 3, 3), np.inf)), ValueError, "K"),
    (dict(Y0=np.zeros(3)), ValueError, "Y0"),
    (dict(Y0=np.zeros((2, 3), dtype=complex)), TypeError, "Y0"),
])
def test_bad_input_names_the_argument(change, exc, name):
    kw = {**GOOD, **change}
    with pytest.raises(exc, match=rf"\b{name}\b"):
        st.forward(kw.pop("Y0"), kw.pop("K"), kw.pop("b"), kw.pop("h"), **kw)


def test_bad_input_other_functions():
    with pytest.raises(ValueError, match="state"):
        st.ode_jacobian(np.zeros(3), np.zeros((3, 3)), 0.0, kind="hamiltonian")
    with pytest.raises(ValueError, match="h"):
        st.stability_factor([1j], 0.0)
    with pytest.raises(ValueError, match="T"):
        st.sensitivity(np.zeros((1, 2)), np.eye(2), 0.0, -1.0, [4])
    with pytest.raises(ValueError, match=r"depths\[i\]"):
        st.sensitivity(np.zeros((1, 2)), np.eye(2), 0.0, 1.0, [0])
    with pytest.raises(ValueError, match="labels"):
        st.classification_loss(np.zeros((2, 2)), [0, 5], np.zeros((1, 2, 2)), [0.0], 0.1, np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="width"):
        st.train_classifier(np.zeros((4, 3)), [0, 1, 0, 1], width=2)
    with pytest.raises(ValueError, match="dtype"):
        st.torch_network(np.zeros((1, 2, 2)), [0.0], 0.1, dtype="float8")
    with pytest.raises(ValueError, match="Z0"):
        st.hamiltonian_forward(np.zeros((2, 2)), np.zeros((3, 2)), np.zeros((1, 2, 2)), [0.0], 0.1)


def test_import_does_not_import_torch():
    code = "import sys, nnlib.stable; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_init_scale_perturbs_the_initial_weights_reproducibly():
    """init_scale = 0 starts from Meganet's K_j = I (Hamiltonian); init_scale > 0 moves the start,
    seen in the first objective value; same seed, same start."""
    Yt, ct, _, _ = st.swiss_roll(8)
    kw = dict(kind="hamiltonian", T=2.0, num_layers=3, steps=1, seed=5)
    plain = st.train_classifier(Yt, ct, **kw).loss_history[0][0]
    noisy = [st.train_classifier(Yt, ct, init_scale=0.3, **kw).loss_history[0][0] for _ in range(2)]
    assert noisy[0] == noisy[1] and abs(noisy[0] - plain) > 1e-6
