"""Exact piece counting: float mode vs exact mode, against independent oracles and known answers."""
from fractions import Fraction

import numpy as np
import pytest

from nnlib import ReLUNetwork, breakpoints, count_activation_regions, count_pieces
from nnlib.constructions import sawtooth
from nnlib.networks import random_network
from nnlib.pieces import count_regions_on_grid, propagate_knots
from oracles import check_pieces_are_maximal_affine, exact_layers, exact_pattern


def shifted_relus(shifts, coefficients):
    """f(x) = Σ_k c_k ϱ(x − t_k): breakpoints are exactly the t_k with non-zero net coefficient."""
    n = len(shifts)
    return ReLUNetwork([(np.ones((n, 1)), -np.asarray(shifts, float)),
                        (np.asarray(coefficients, float)[None, :], np.zeros(1))])


def _random_cases():
    """≥ 50 varied networks: widths 1–6, depths 1–5, dead neurons, zero weights, big/small biases."""
    rng = np.random.default_rng(2024)
    cases = []
    for k in range(60):
        depth = int(rng.integers(1, 6))
        widths = [1] + [int(rng.integers(1, 7)) for _ in range(depth - 1)] + [1]
        net = random_network(widths, seed=rng, bias_std=float(rng.choice([0.0, 0.1, 1.0])))
        layers = [(A.copy(), b.copy()) for A, b in net.layers]
        if k % 4 == 1 and depth > 1:  # a dead neuron: large negative bias, small weights
            A, b = layers[0]
            A[0] = 0.01
            b[0] = -100.0
        if k % 4 == 2:  # exact zero weights (constant neurons, or a constant network)
            A, _ = layers[-1]
            A[:, : max(1, A.shape[1] // 2)] = 0.0
        if k % 4 == 3:  # dyadic parameters make many coincidences exact
            layers = [(np.round(A * 4) / 4, np.round(b * 4) / 4) for A, b in layers]
        interval = None if k % 3 == 0 else (float(rng.uniform(-3, 0)), float(rng.uniform(0.1, 3)))
        cases.append((ReLUNetwork(layers), interval))
    return cases


CASES = _random_cases()


@pytest.mark.parametrize("net, interval", CASES, ids=[f"case{k}" for k in range(len(CASES))])
def test_float_mode_equals_exact_mode(net, interval):
    bp_float = breakpoints(net, interval)
    bp_exact = breakpoints(net, interval, exact=True)
    assert bp_float.shape == bp_exact.shape
    np.testing.assert_allclose(bp_float, bp_exact.astype(float), rtol=1e-12, atol=1e-12)
    assert count_activation_regions(net, interval) == count_activation_regions(net, interval, exact=True)


@pytest.mark.parametrize("net, interval", CASES[::3], ids=[f"case{3 * k}" for k in range(len(CASES[::3]))])
def test_exact_breakpoints_pass_the_independent_oracle(net, interval):
    bps = list(breakpoints(net, interval, exact=True))
    if interval is None:
        lo = (bps[0] if bps else 0) - 1
        hi = (bps[-1] if bps else 0) + 1
    else:
        lo, hi = Fraction(interval[0]), Fraction(interval[1])
    check_pieces_are_maximal_affine(exact_layers(net), bps, lo, hi)


@pytest.mark.parametrize("net, interval", CASES[::2], ids=[f"case{2 * k}" for k in range(len(CASES[::2]))])
def test_activation_regions_match_the_exact_pattern_oracle(net, interval):
    """Regions = 1 + number of pattern changes between consecutive knots (checked at midpoints)."""
    layers = exact_layers(net)
    knots = list(propagate_knots(net, interval, exact=True)[-1].x)
    if interval is None:
        knots = [knots[0] - 1] + knots + [knots[-1] + 1]
    mids = [(p + q) / 2 for p, q in zip(knots[:-1], knots[1:])]
    patterns = [exact_pattern(layers, m) for m in mids]
    changes = sum(p != q for p, q in zip(patterns[:-1], patterns[1:]))
    assert count_activation_regions(net, interval, exact=True) == changes + 1
    assert count_pieces(net, interval) <= count_activation_regions(net, interval)


def test_absolute_value():
    net = ReLUNetwork([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.array([[1.0, 1.0]]), np.zeros(1))])
    assert breakpoints(net).tolist() == [0.0]
    assert count_pieces(net) == 2
    assert count_pieces(net, (0.5, 2.0)) == 1
    assert count_pieces(net, (-1.0, 0.0)) == 1  # the kink sits on the endpoint, not inside
    assert count_pieces(net, (-1.0, 0.25)) == 2


def test_hat_function():
    hat = ReLUNetwork([(np.ones((3, 1)), np.array([0.0, -0.5, -1.0])), (np.array([[2.0, -4.0, 2.0]]), np.zeros(1))])
    assert breakpoints(hat).tolist() == [0.0, 0.5, 1.0]
    assert count_pieces(hat) == 4
    assert breakpoints(hat, (0, 1)).tolist() == [0.5]
    assert breakpoints(hat, (0, 1), exact=True).tolist() == [Fraction(1, 2)]


def test_sum_of_shifted_relus():
    shifts = [-2.0, -0.5, 0.25, 1.0, 3.0]
    net = shifted_relus(shifts, [1.0, -2.0, 0.5, 3.0, -1.0])
    assert breakpoints(net).tolist() == shifts
    assert count_pieces(net) == len(shifts) + 1
    assert count_pieces(net, (-1.0, 2.0)) == 4  # knots -0.5, 0.25, 1.0 inside


def test_cancelled_kinks_are_not_breakpoints_but_still_region_boundaries():
    # ϱ(x − 1) − ϱ(x − 1): two neurons switch at x = 1, the function is identically 0.
    twin = shifted_relus([1.0, 1.0], [1.0, -1.0])
    assert count_pieces(twin) == 1 and count_pieces(twin, exact=True) == 1
    assert count_activation_regions(twin) == 2
    # a zero output weight hides a kink from the function, not from the activation pattern
    hidden = shifted_relus([0.0, 2.0], [1.0, 0.0])
    assert breakpoints(hidden).tolist() == [0.0]
    assert count_activation_regions(hidden) == 3


def test_depth_one_and_width_one_networks():
    affine = ReLUNetwork([(np.array([[3.0]]), np.array([1.0]))])
    assert count_pieces(affine) == 1 and count_activation_regions(affine) == 1
    relu = ReLUNetwork([(np.array([[1.0]]), np.array([-1.0])), (np.array([[1.0]]), np.zeros(1))])
    assert breakpoints(relu).tolist() == [1.0]
    # width 1, depth 4: h1 = ϱ(x), z2 = 2 h1 − 1, z3 = 2 ϱ(z2) − 1, output 2 ϱ(z3) − 1.
    # The output is constant (−1) until z3 = 4x − 3 turns positive: one kink, at x = 3/4.
    chain = ReLUNetwork([(np.array([[1.0]]), np.array([0.0]))] + [(np.array([[2.0]]), np.array([-1.0]))] * 3)
    assert breakpoints(chain).tolist() == [0.75]
    assert count_activation_regions(chain) == 4  # patterns change at x = 0, 1/2, 3/4


def test_constant_network_has_one_piece():
    zero = ReLUNetwork([(np.zeros((3, 1)), np.array([1.0, -1.0, 0.0])), (np.ones((1, 3)), np.zeros(1))])
    assert count_pieces(zero) == 1 and count_activation_regions(zero) == 1
    assert count_pieces(zero, (-5, 5), exact=True) == 1


def test_far_away_breakpoints_on_the_whole_line():
    net = shifted_relus([-1e6, 3e7], [1.0, 1.0])
    assert breakpoints(net).tolist() == [-1e6, 3e7]
    assert count_pieces(net, (-1.0, 1.0)) == 1


def test_whole_line_contains_every_bounded_count():
    for seed in range(10):
        net = random_network([1, 8, 8, 1], seed=seed)
        whole = breakpoints(net)
        inner = breakpoints(net, (-1.0, 1.0))
        expected = whole[(whole > -1.0) & (whole < 1.0)]
        assert inner.shape == expected.shape
        np.testing.assert_allclose(inner, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", range(12))
def test_grid_never_exceeds_the_exact_region_count(seed):
    net = random_network([1, 8, 8, 8, 1], seed=seed)
    exact = count_activation_regions(net, (-2, 2))
    counts = [count_regions_on_grid(net, (-2, 2), g) for g in (10, 100, 1000, 10000)]
    assert all(c <= exact for c in counts)
    assert counts == sorted(counts) or max(counts) <= exact


def test_grid_undercounts_a_narrow_region_and_finds_it_when_fine_enough():
    net = shifted_relus([0.5, 0.5 + 1e-4], [1.0, -1.0])  # a ramp of width 1e-4
    assert count_activation_regions(net, (0, 1)) == 3
    assert count_regions_on_grid(net, (0, 1), 101) == 2
    assert count_regions_on_grid(net, (0, 1), 100_001) == 3


def test_propagate_knots_records_every_layer():
    net = random_network([1, 4, 4, 1], seed=0)
    rec = propagate_knots(net, (-1, 1))
    assert len(rec) == net.depth
    assert [r.z.shape[1] for r in rec] == [4, 4, 1]
    for r in rec:
        assert np.all(np.diff(r.x) > 0) and r.slope.shape == (r.x.shape[0] + 1, r.z.shape[1])
        # the recorded pre-activations are the network's own, evaluated at the knots
    np.testing.assert_allclose(rec[-1].z[:, 0], net(rec[-1].x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda n: count_pieces("net"), TypeError, "net must be an nnlib ReLUNetwork"),
        (lambda n: count_pieces(random_network([2, 3, 1], seed=0)), ValueError, "one input and one output"),
        (lambda n: count_pieces(random_network([1, 3, 2], seed=0)), ValueError, "one input and one output"),
        (lambda n: count_pieces(n, (1, 0)), ValueError, "a < b"),
        (lambda n: count_pieces(n, (0, float("nan"))), ValueError, r"interval\[1\] must be finite"),
        (lambda n: count_pieces(n, (0, 1, 2)), TypeError, "pair"),
        (lambda n: count_pieces(n, ("a", 1)), TypeError, r"interval\[0\] must be a real number"),
        (lambda n: breakpoints(n, exact="yes"), TypeError, "exact must be True or False"),
        (lambda n: count_activation_regions(n, 5), TypeError, "pair"),
        (lambda n: count_regions_on_grid(n, None, 10), ValueError, "None"),
        (lambda n: count_regions_on_grid(n, (0, 1), 1), ValueError, "num_points must be >= 2"),
        (lambda n: count_regions_on_grid(n, (0, 1), 10.0), TypeError, "num_points must be an integer"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, error, message):
    net = random_network([1, 3, 1], seed=0)
    with pytest.raises(error, match=message):
        call(net)


# ----------------------------------------------------------------- bounded memory (issue 10, item 7)
def test_counting_refuses_work_that_cannot_fit_naming_the_memory():
    from nnlib.pieces import MAX_MEMORY_BYTES

    with pytest.raises(ValueError, match=r"GiB .* knots .*MAX_MEMORY_BYTES"):
        count_pieces(sawtooth(30), (0, 1))          # 2^30 knots: ~90 GiB, refused before allocating it
    assert MAX_MEMORY_BYTES >= 2**30
    assert count_pieces(sawtooth(20), (0, 1)) == 2**20   # what fits is still counted


def test_grid_counting_memory_is_flat_in_the_number_of_points():
    import tracemalloc

    net = random_network([1, 8, 8, 1], seed=0)
    peaks = []
    for n in (2 * 10**6, 2 * 10**7):
        tracemalloc.start()
        count_regions_on_grid(net, (-1, 1), n)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.2 * peaks[0], peaks             # 10x the points, not 10x the memory
