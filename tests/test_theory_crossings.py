"""Chapter 4 "The main theorem": variation, indicatrix, level crossings, the one-step bound.

(lem-level-crossings, def-perturbed-gd, thm-one-step-bound, cor-markov-pieces)

Expected values are computed by hand (Fractions) or by independent brute force: solutions of
``h(x) = t`` are counted from ``breakpoints`` and the network's own forward pass, never from the
knot arrays the code under test uses.
"""
import math
from fractions import Fraction as F

import numpy as np
import pytest
import torch

from nnlib import ReLUNetwork, breakpoints, count_pieces
from nnlib.networks import compose, random_network
from nnlib.pieces import propagate_knots
from nnlib.crossings import Gaussian, Uniform, expected_crossings, indicatrix, neuron_variations, total_variation
from nnlib.theory import markov_bound, one_step_bound, perturbed_bias_law

HAT = ReLUNetwork([(np.ones((3, 1)), np.array([0.0, -0.5, -1.0])), (np.array([[2.0, -4.0, 2.0]]), np.zeros(1))])


# ----------------------------------------------------------------------------- total variation
def test_total_variation_by_hand():
    assert total_variation([0, 1, 2], [0, 2, 1]) == 3.0
    v = total_variation([F(0), F(1, 3), F(1)], [F(1, 2), F(0), F(1)])
    assert v == F(3, 2) and isinstance(v, F)
    assert total_variation([0.0, 1.0], [5.0, 5.0]) == 0.0


def test_total_variation_of_networks_by_hand():
    # the hat rises 0 → 1 → 0 on [0, 1]: V = 2; on [-1, 2] it is 0 outside [0, 1]: still 2
    assert total_variation(HAT, interval=(0, 1)) == 2.0
    assert total_variation(HAT, (0, 1)) == 2.0          # the convention (net, interval): positional too
    assert total_variation(HAT, (0, 1), exact=np.bool_(True)) == F(2)
    assert total_variation(HAT, interval=(-1, 2)) == 2.0
    # Δ∘Δ has four monotone pieces of height 1 on [0, 1]
    assert total_variation(compose(HAT, HAT), interval=(0, 1), exact=True) == F(4)
    # half of the first rise only: 0 → 1/2
    assert total_variation(HAT, interval=(0, F(1, 4)), exact=True) == F(1, 2)


@pytest.mark.parametrize("seed", range(5))
def test_total_variation_of_network_matches_brute_force(seed):
    net = random_network([1, 5, 4, 1], seed=seed, bias_std=0.5)
    xs = np.concatenate([[-1.0], breakpoints(net, (-1, 1)), [1.0]])
    assert total_variation(net, interval=(-1, 1)) == pytest.approx(np.abs(np.diff(net(xs))).sum(), rel=1e-12)


# ----------------------------------------------------------------------------- indicatrix
def test_indicatrix_by_hand():
    ind = indicatrix([0, 1, 2], [0, 2, 1])
    assert ind.levels.tolist() == [0, 1, 2] and ind.counts.tolist() == [1, 2]
    # N(t) at the levels themselves: t=0 only x=0; t=1 at x=1/2 and x=2; t=2 only x=1
    assert (ind(0), ind(1), ind(2), ind(0.5), ind(1.5), ind(-1), ind(3)) == (1, 2, 1, 1, 2, 0, 0)
    assert ind.integral() == 3.0


def test_indicatrix_flat_segment():
    ind = indicatrix([F(0), F(1), F(2), F(3)], [F(0), F(1), F(1), F(0)])
    assert ind.levels.tolist() == [0, 1] and ind.counts.tolist() == [2]
    assert ind(1) == math.inf and ind(F(1, 2)) == 2
    assert ind.integral() == F(2)


def _brute_count(y, t):
    """Solutions of h = t for the piecewise-affine h with knot values y (brute force)."""
    if any(a == t == b for a, b in zip(y[:-1], y[1:])):
        return math.inf
    return sum(v == t for v in y) + sum((a - t) * (b - t) < 0 for a, b in zip(y[:-1], y[1:]))


@pytest.mark.parametrize("seed", range(10))
def test_indicatrix_matches_brute_force_and_banach(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 12))
    x = [F(int(v)) for v in np.cumsum(rng.integers(1, 4, size=K))]
    y = [F(int(v), 3) for v in rng.integers(-6, 7, size=K)]     # repeated values and flat segments happen
    ind = indicatrix(x, y)
    assert ind.levels.tolist() == sorted(set(y))
    for k, c in enumerate(ind.counts):
        mid = (ind.levels[k] + ind.levels[k + 1]) / 2
        assert c == _brute_count(y, mid)
    for t in set(y) | {F(-7), F(7)}:
        assert ind(t) == _brute_count(y, t)
    # Banach: ∫ N_h = V(h), exactly
    assert ind.integral() == total_variation(x, y)


# ----------------------------------------------------------------------------- expected crossings
def _phi(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def test_expected_crossings_by_hand():
    h = ([0, 1, 2], [0, 2, 1])
    # segments (0, 2) and (1, 2): P(0 < B < 2) + P(1 < B < 2)
    assert expected_crossings(h, Uniform(0, 2)) == pytest.approx(1.0 + 0.5, abs=1e-15)
    assert expected_crossings(h, Uniform(-2, 0)) == 0.0
    assert expected_crossings(h, Gaussian(0, 1)) == pytest.approx(
        (_phi(2) - _phi(0)) + (_phi(2) - _phi(1)), rel=1e-14)
    # flat segments contribute nothing
    assert expected_crossings(([0, 1, 2], [1, 1, 1]), Gaussian(1, 0.1)) == 0.0


def _tail_mass(lo, hi):
    """P(lo < B < hi) for B ~ N(0, 1) in 50-digit arithmetic (mpmath, independent of nnlib)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(50):   # by symmetry in the upper tail: 1 - Φ(t) would cancel even in 50 digits
        return float(mpmath.ncdf(-lo) - mpmath.ncdf(-hi) if lo >= 0 else mpmath.ncdf(hi) - mpmath.ncdf(lo))


@pytest.mark.parametrize("lo, hi", [(8.0, 9.0), (-9.0, -8.0), (-40.0, -37.0), (37.0, 40.0), (-0.5, 0.25)])
def test_gaussian_tail_mass_is_not_cancelled(lo, hi):
    # abs=0: the masses are ~1e-15 … 1e-300, so pytest's default abs=1e-12 would let 0.0 pass.
    # Both tails, so that using the upper-tail formula on the lower tail (cancellation: 0.0) fails.
    expected = _tail_mass(lo, hi)
    assert expected > 0
    got = expected_crossings(([0, 1], [lo, hi]), Gaussian(0, 1))
    assert got == pytest.approx(expected, rel=1e-10, abs=0)
    got = expected_crossings(([0, 1], [hi, lo]), Gaussian(0, 1))      # a falling segment: the same mass
    assert got == pytest.approx(expected, rel=1e-10, abs=0)


def _mc_crossings(net, interval, levels):
    """#{x : R(x) = B} for each sampled B, from the breakpoints and the forward pass."""
    xs = np.concatenate([[interval[0]], breakpoints(net, interval), [interval[1]]])
    d = net(xs)[:, None] - levels[None, :]
    return np.count_nonzero(d[:-1] * d[1:] < 0, axis=0) + np.count_nonzero(d == 0, axis=0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("law", [Uniform(-0.5, 0.5), Uniform(-0.1, 0.3), Gaussian(0.0, 0.4), Gaussian(0.2, 0.1)])
def test_expected_crossings_against_monte_carlo(seed, law):
    net = random_network([1, 8, 8, 1], seed=seed, bias_std=0.3)
    interval = (-1.0, 1.0)
    exact = expected_crossings(net, law, interval=interval)
    counts = _mc_crossings(net, interval, law.sample(np.random.default_rng(100 + seed), 20000))
    se = counts.std(ddof=1) / math.sqrt(counts.size)
    assert abs(counts.mean() - exact) <= 5 * se + 1e-12
    # the lemma: E #h^{-1}(B) <= sup p · V(h)
    assert exact <= law.density_bound * total_variation(net, interval=interval) * (1 + 1e-12)


def test_crossing_lemma_is_tight_for_a_monotone_function():
    # h(x) = x on [0, 1] and B uniform on [0, 1]: exactly one crossing, and sup p · V = 1
    h = ([0.0, 1.0], [0.0, 1.0])
    assert expected_crossings(h, Uniform(0, 1)) == 1.0 == Uniform(0, 1).density_bound * total_variation(*h)


# ----------------------------------------------------------------------------- perturbed update
def test_perturbed_bias_law_by_hand():
    law = perturbed_bias_law(b=1.0, g=2.0, lr=0.1, eps=0.5)     # 1 - 0.2 (1 ± 0.5): [0.7, 0.9]
    assert (law.low, law.high) == pytest.approx((0.7, 0.9), abs=1e-15)
    assert law.density_bound == pytest.approx(0.5 / (0.5 * 0.1 * 2.0))
    neg = -law
    assert (neg.low, neg.high) == pytest.approx((-0.9, -0.7), abs=1e-15)


def _gradients(net, x, y):
    """Exact (float64, one thread) gradients of the mean squared error: [(∂A_j, ∂b_j)]."""
    from nnlib.training import torch_threads

    mod = net.to_torch()
    with torch_threads(1):
        xt, yt = torch.tensor(x)[:, None], torch.tensor(y)[:, None]
        torch.mean((mod(xt) - yt) ** 2).backward()
    return [(lin.weight.grad.numpy().copy(), lin.bias.grad.numpy().copy()) for lin in list(mod)[::2]]


def _perturbed_step(net, grads, lr, eps, rng):
    """Exact GD step on the weights, b - lr g (1 + eps ξ) on the biases; returns (Φ̃, bias grads)."""
    layers = []
    for (A, b), (gA, gb) in zip(net.layers, grads):
        layers.append((A - lr * gA, b - lr * gb * (1 + eps * rng.uniform(-1, 1, size=gb.shape))))
    return ReLUNetwork(layers), [gb for _, gb in grads]


def _zero_gradient_kinks(net, grads, interval):
    """Sign changes of the pre-activations of neurons with g = 0 (Assumption (A) says: none)."""
    kinks = 0
    for rec, g in zip(propagate_knots(net, interval)[:-1], grads):
        z = rec.z[:, g == 0]
        kinks += int(np.count_nonzero(z[:-1] * z[1:] < 0) + np.count_nonzero(z[1:-1] == 0))
    return kinks


# lr = 20 with eps = 1 makes the window of b̃ comparable to the range of h: the bound is then within
# a factor of about 2 of the mean, so a wrong constant would be caught.
@pytest.mark.parametrize("widths, eps, lr", [([1, 6, 1], 1.0, 20.0), ([1, 6, 6, 1], 1.0, 20.0),
                                             ([1, 4, 4, 4, 1], 0.1, 0.1)])
@pytest.mark.parametrize("seed", range(3))
def test_one_step_bound_dominates_mean_pieces(widths, eps, lr, seed):
    net = random_network(widths, seed=seed, bias_std=0.5)
    x = np.linspace(-1, 1, 48)
    y = np.sin(3 * x)
    interval = (-1.0, 1.0)
    rng = np.random.default_rng(seed)
    diffs = []
    exact_grads = _gradients(net, x, y)
    for _ in range(400):
        new, grads = _perturbed_step(net, exact_grads, lr, eps, rng)
        bound = one_step_bound(new, interval, bias_grads=grads, lr=lr, eps=eps) + _zero_gradient_kinks(new, grads, interval)
        diffs.append(count_pieces(new, interval) - bound)
    diffs = np.array(diffs)
    # E[pieces - bound] <= 0 (the bound holds in expectation over ξ)
    assert diffs.mean() <= 5 * diffs.std(ddof=1) / math.sqrt(diffs.size)


@pytest.mark.parametrize("seed", range(3))
def test_first_layer_kinks_match_expected_crossings(seed):
    """Layer 1: h̃_{1,i}(x) = Ã_{1,i} x is deterministic, so E[kinks] = expected_crossings exactly."""
    net = random_network([1, 8, 8, 1], seed=seed, bias_std=0.5)
    x = np.linspace(-1, 1, 48)
    y = np.sin(3 * x)
    lr, eps, interval = 0.3, 1.0, (-1.0, 1.0)
    rng = np.random.default_rng(seed)
    samples, grads, A1 = [], None, None
    exact_grads = _gradients(net, x, y)
    for _ in range(2000):
        new, grads = _perturbed_step(net, exact_grads, lr, eps, rng)
        A1, b1 = new.layers[0]
        # kink of neuron i in (a, b): x* = -b/A strictly inside
        xstar = -b1 / A1[:, 0]
        samples.append(np.count_nonzero((xstar > interval[0]) & (xstar < interval[1])))
    samples = np.array(samples)
    b0 = net.layers[0][1]
    expected = 0.0
    for i in range(8):
        if grads[0][i] == 0:
            continue
        h = ([interval[0], interval[1]], [A1[i, 0] * interval[0], A1[i, 0] * interval[1]])
        expected += expected_crossings(h, -perturbed_bias_law(b0[i], grads[0][i], lr, eps))
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(samples.mean() - expected) <= 5 * se + 1e-12


def test_one_step_bound_by_hand():
    # one hidden neuron h(x) = 2x on [0, 1] (V = 2), g = 0.5, lr = 0.1, eps = 0.2: 1 + (1/2) 2 / 0.01
    net = ReLUNetwork([(np.array([[2.0]]), np.array([-1.0])), (np.array([[1.0]]), np.zeros(1))])
    assert one_step_bound(net, (0, 1), bias_grads=[np.array([0.5])], lr=0.1, eps=0.2) == pytest.approx(1 + 100.0)
    # a dead neuron (g = 0) contributes nothing; the output layer's gradient may be passed and is ignored
    assert one_step_bound(net, (0, 1), bias_grads=[np.array([0.0]), np.array([3.0])], lr=0.1, eps=0.2) == 1.0


def test_neuron_variations_match_brute_force():
    net = random_network([1, 5, 5, 1], seed=3, bias_std=0.5)
    xs = propagate_knots(net, (-1, 1))[-1].x       # all knots: every z is affine between them
    zs = net.pre_activations(xs)
    for V, z in zip(neuron_variations(net, (-1, 1)), zs[:-1]):
        np.testing.assert_allclose(V, np.abs(np.diff(z, axis=0)).sum(axis=0), rtol=1e-12)


def test_markov_bound():
    assert markov_bound(10.0, 40) == 0.25
    assert markov_bound(10.0, 5) == 1.0


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("call, exc, match", [
    (lambda: total_variation([0, 1]), ValueError, "y"),
    (lambda: total_variation([0, 1], [0, 1], interval=(0, 1)), ValueError, "interval"),
    (lambda: total_variation(HAT), ValueError, "interval"),
    (lambda: total_variation(HAT, (0, 1), interval=(0, 1)), TypeError, "interval given twice"),
    (lambda: total_variation(HAT, (1, 0)), ValueError, r"interval must satisfy a < b"),
    (lambda: total_variation(HAT, (0, 1), exact="yes"), TypeError, "exact must be True or False"),
    (lambda: neuron_variations(HAT, (0, 1), exact=1), TypeError, "exact"),
    (lambda: neuron_variations(random_network([1, 3, 2], seed=0), (0, 1)), ValueError, "net must have one input"),
    (lambda: total_variation(HAT, interval=(1, 0)), ValueError, "a < b"),
    (lambda: total_variation([0, 0], [1, 2]), ValueError, "strictly increasing"),
    (lambda: total_variation([0, 1, 2], [1, 2]), ValueError, "same shape"),
    (lambda: total_variation([0], [1]), ValueError, "at least two"),
    (lambda: total_variation("ab", [1, 2]), TypeError, "x and y"),
    (lambda: total_variation([0, 1], [np.nan, 1]), ValueError, "y"),
    (lambda: total_variation([[0, 1]], [[0, 1]]), ValueError, "x must be 1-dimensional"),
    (lambda: indicatrix([F(0), F(1)], [F(0), "a"]), TypeError, r"y\[1\]"),
    (lambda: indicatrix([1, 0], [0, 1]), ValueError, "strictly increasing"),
    (lambda: indicatrix([0, 1], [0, 1])(None), TypeError, "t"),
    (lambda: Uniform(1, 1), ValueError, "low < high"),
    (lambda: Uniform("a", 1), TypeError, "low"),
    (lambda: Gaussian(0, 0), ValueError, "std > 0"),
    (lambda: Gaussian(0, math.inf), ValueError, "std"),
    (lambda: expected_crossings(([0, 1], [0, 1]), (0, 1)), TypeError, "bias_law"),
    (lambda: expected_crossings(HAT, Uniform(0, 1)), ValueError, "interval"),
    (lambda: expected_crossings(([0, 1], [0, 1]), Uniform(0, 1), interval=(0, 1)), ValueError, "interval"),
    (lambda: expected_crossings("h", Uniform(0, 1)), TypeError, "h must be"),
    (lambda: perturbed_bias_law(0.0, 0.0, 0.1, 0.1), ValueError, "g must be non-zero"),
    (lambda: perturbed_bias_law(0.0, 1.0, 0.0, 0.1), ValueError, "lr"),
    (lambda: perturbed_bias_law(0.0, 1.0, 0.1, -0.1), ValueError, "eps"),
    (lambda: one_step_bound("net", (0, 1), bias_grads=[np.ones(3)], lr=0.1, eps=0.1), TypeError, "net"),
    (lambda: one_step_bound(HAT, (0, 1), bias_grads=[np.ones(3)] * 3, lr=0.1, eps=0.1), ValueError, "bias_grads"),
    (lambda: one_step_bound(HAT, (0, 1), bias_grads=[np.ones(2)], lr=0.1, eps=0.1), ValueError, r"bias_grads\[0\]"),
    (lambda: one_step_bound(HAT, (0, 1), bias_grads=[np.ones(3)], lr=0.1, eps=0.1, density_bound=0.25), ValueError,
     "density_bound"),
    (lambda: one_step_bound(HAT, (0, 1), bias_grads=[np.ones(3)], lr=0.1, eps=0.0), ValueError, "eps"),
    (lambda: one_step_bound(HAT, None, bias_grads=[np.ones(3)], lr=0.1, eps=0.1), ValueError, "interval"),
    (lambda: one_step_bound(HAT, [np.ones(3)], 0.1, 0.1, (0, 1)), TypeError, "positional"),   # the old order
    (lambda: markov_bound(0.5, 10), ValueError, "expected_bound"),
    (lambda: markov_bound(2.0, 0), ValueError, "M"),
    (lambda: neuron_variations(HAT, None), ValueError, "interval"),
])
def test_invalid_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
