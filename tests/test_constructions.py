"""The approximation-theory constructions: exact piece counts, knots and errors.

Every expected value is derived here from the mathematics (closed forms, a rational forward pass
written in this file), never taken from ``nnlib`` itself.
"""
from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from nnlib import ReLUNetwork
from nnlib.constructions import hat, multiply, sawtooth, telgarsky_pair, yarotsky_square
from nnlib.networks import compose, random_network
from nnlib.pieces import breakpoints, count_pieces


# ----------------------------------------------------------------------------- oracles
def rational_layers(net):
    """The weights as Fractions (float64 → Fraction is exact), zero weights dropped."""
    out = []
    for A, b in net.layers:
        rows = [[(i, Fraction(float(a))) for i, a in enumerate(row) if a != 0] for row in A]
        out.append((rows, [Fraction(float(c)) for c in b]))
    return out


def rational_forward(layers, x):
    """Exact realisation at one input vector ``x`` (list of Fractions); returns the output list."""
    h = list(x)
    for j, (rows, bias) in enumerate(layers):
        z = [sum((a * h[i] for i, a in row), Fraction(0)) + c for row, c in zip(rows, bias)]
        h = z if j == len(layers) - 1 else [v if v > 0 else Fraction(0) for v in z]
    return h


def tent_power(L, x):
    """Closed form of Δ^L: 0 outside [0, 1], else 2·dist(2^(L-1) x, ℤ) (Telgarsky)."""
    if x <= 0 or x >= 1:
        return Fraction(0)
    y = 2 ** (L - 1) * Fraction(x)
    frac = y - (y.numerator // y.denominator)
    return 2 * min(frac, 1 - frac)


def dyadic_grid(n, lo=0, hi=1):
    return [Fraction(k, 2**n) for k in range(lo * 2**n, hi * 2**n + 1)]


# ----------------------------------------------------------------------------- hat
def test_hat_matches_its_definition_on_the_whole_line():
    layers = rational_layers(hat())
    pts = [Fraction(k, 16) for k in range(-32, 49)]
    for x in pts:
        expected = 2 * x if 0 <= x <= Fraction(1, 2) else (2 - 2 * x if Fraction(1, 2) <= x <= 1 else 0)
        assert rational_forward(layers, [x]) == [expected]
    assert hat().widths == (1, 3, 1)


def test_two_relu_hat_variant_agrees_on_the_unit_interval_only():
    """The docstring's claim: 2ϱ(x) − 4ϱ(x − ½) equals Δ on [0, 1] but not beyond."""
    two = rational_layers(ReLUNetwork([(np.ones((2, 1)), np.array([0.0, -0.5])),
                                       (np.array([[2.0, -4.0]]), np.zeros(1))]))
    three = rational_layers(hat())
    inside = [Fraction(k, 64) for k in range(65)]
    assert all(rational_forward(two, [x]) == rational_forward(three, [x]) for x in inside)
    assert rational_forward(two, [Fraction(3, 2)]) != rational_forward(three, [Fraction(3, 2)])


# ----------------------------------------------------------------------------- sawtooth
@pytest.mark.parametrize("L", range(1, 17))
def test_sawtooth_float_mode_has_2_to_the_L_pieces_at_the_dyadic_knots(L):
    net = sawtooth(L)
    assert net.widths == (1,) + (3,) * L + (1,) and net.depth == L + 1
    assert count_pieces(net, (0, 1)) == 2**L
    knots = [Fraction(float(v)) for v in breakpoints(net, (0, 1))]
    assert knots == [Fraction(k, 2**L) for k in range(1, 2**L)]
    # On the whole line Δ^L is 0 outside [0, 1]: two more (constant) pieces, kinks at 0 and 1.
    assert count_pieces(net) == 2**L + 2


@pytest.mark.parametrize("L", range(1, 13))
def test_sawtooth_exact_mode_has_2_to_the_L_pieces_at_the_dyadic_knots(L):
    bp = breakpoints(sawtooth(L), (0, 1), exact=True)
    assert all(isinstance(v, Fraction) for v in bp)
    assert list(bp) == [Fraction(k, 2**L) for k in range(1, 2**L)]
    assert count_pieces(sawtooth(L), (0, 1), exact=True) == 2**L


@pytest.mark.parametrize("L", [1, 2, 3, 5, 8])
def test_sawtooth_values_equal_the_closed_form(L):
    layers = rational_layers(sawtooth(L))
    pts = [Fraction(k, 2 ** (L + 2)) for k in range(-4, 2 ** (L + 2) + 5)] + [Fraction(1, 3), Fraction(5, 7)]
    for x in pts:
        assert rational_forward(layers, [x]) == [tent_power(L, x)]


@pytest.mark.parametrize("L", [4, 10])
def test_sawtooth_slopes_are_plus_minus_2_to_the_L(L):
    net = sawtooth(L)
    x = (np.arange(2**L) + 0.5) / 2**L          # piece midpoints
    h = 2.0 ** -(L + 3)
    slopes = (net(x + h) - net(x - h)) / (2 * h)
    np.testing.assert_array_equal(np.abs(slopes), 2.0**L)
    np.testing.assert_array_equal(np.sign(slopes), np.where(np.arange(2**L) % 2 == 0, 1.0, -1.0))


# ----------------------------------------------------------------------------- composition
@pytest.mark.parametrize("seed", range(8))
def test_composition_lemma_for_random_networks(seed):
    rng = np.random.default_rng(seed)
    f = random_network([1, int(rng.integers(2, 7)), int(rng.integers(2, 7)), 1], seed=rng, bias_std=0.5)
    g = random_network([1, int(rng.integers(2, 7)), 1], seed=rng, bias_std=0.5)
    fg = compose(f, g)
    assert fg.depth == f.depth + g.depth - 1
    assert count_pieces(fg) <= count_pieces(f) * count_pieces(g)
    assert count_pieces(fg, exact=True) <= count_pieces(f, exact=True) * count_pieces(g, exact=True)


@pytest.mark.parametrize("a, b", [(1, 1), (2, 3), (5, 4)])
def test_composition_lemma_is_tight_for_sawtooths(a, b):
    fg = compose(sawtooth(a), sawtooth(b))
    assert count_pieces(fg, (0, 1)) == 2**a * 2**b == count_pieces(sawtooth(a), (0, 1)) * count_pieces(sawtooth(b), (0, 1))


# ----------------------------------------------------------------------------- Yarotsky
@pytest.mark.parametrize("m", range(1, 9))
def test_yarotsky_square_interpolates_and_errs_exactly_4_to_the_minus_m_plus_1(m):
    net = yarotsky_square(m)
    layers = rational_layers(net)
    # Affine between the grid points k 2^-m, and nowhere else: then the error on a cell
    # [a, a + δ] is (x − a)(a + δ − x) ≥ 0 if h_m interpolates, maximal (δ²/4) at the midpoint.
    assert list(breakpoints(net, (0, 1), exact=True)) == [Fraction(k, 2**m) for k in range(1, 2**m)]
    for k in range(2**m + 1):
        x = Fraction(k, 2**m)
        assert rational_forward(layers, [x]) == [x * x]
    errors = {rational_forward(layers, [x])[0] - x * x for x in (Fraction(2 * k + 1, 2 ** (m + 1)) for k in range(2**m))}
    assert errors == {Fraction(1, 4 ** (m + 1))}


@pytest.mark.parametrize("m", [1, 4, 10, 16])
def test_yarotsky_square_float_counts_and_error(m):
    net = yarotsky_square(m)
    assert net.depth == m + 1 and max(net.widths) <= 4
    assert count_pieces(net, (0, 1)) == 2**m
    mids = (np.arange(2**m) + 0.5) / 2**m
    np.testing.assert_allclose(net(mids) - mids**2, 4.0 ** -(m + 1), rtol=1e-6, atol=0)
    x = np.linspace(0, 1, 10_001)
    assert np.max(np.abs(net(x) - x**2)) <= 4.0 ** -(m + 1) * (1 + 1e-6)


# ----------------------------------------------------------------------------- product
@pytest.mark.parametrize("m", [1, 2, 3])
def test_multiply_error_on_a_dyadic_grid_is_exactly_bounded(m):
    net = multiply(m)
    assert net.widths[0] == 2 and net.widths[-1] == 1 and net.depth == m + 1
    layers = rational_layers(net)
    eps = Fraction(1, 4 ** (m + 1))
    grid = dyadic_grid(m + 1)
    errors = {}
    for x, y in product(grid, grid):
        errors[(x, y)] = rational_forward(layers, [x, y])[0] - x * y
    # −ε ≤ P_m − xy ≤ 2ε, and both ends are attained on this grid (docstring's points).
    assert min(errors.values()) == -eps and max(errors.values()) == 2 * eps
    d = Fraction(1, 2**m)
    assert errors[(Fraction(0), d)] == 2 * eps
    assert errors[(d / 2, 3 * d / 2)] == -eps
    # exact at points where x, y and (x + y)/2 are all on the grid k 2^-m
    assert errors[(Fraction(0), 2 * d)] == 0 and errors[(Fraction(1), Fraction(1))] == 0


@pytest.mark.parametrize("m", [4, 8])
def test_multiply_float_error_bound(m):
    g = np.linspace(0, 1, 257)
    X, Y = np.meshgrid(g, g)
    err = multiply(m)(np.c_[X.ravel(), Y.ravel()])[:, 0] - X.ravel() * Y.ravel()
    eps = 4.0 ** -(m + 1)
    assert err.min() >= -eps * (1 + 1e-9) and err.max() <= 2 * eps * (1 + 1e-9)
    assert err.max() == pytest.approx(2 * eps, rel=1e-9)


def test_multiply_restricted_to_the_diagonal_is_yarotskys_square():
    """The docstring's recipe for 2-D input: compose with a line, then count pieces in 1-D."""
    m = 5
    diagonal = ReLUNetwork([(np.array([[1.0], [1.0]]), np.zeros(2))])      # t ↦ (t, t)
    on_line = compose(multiply(m), diagonal)
    assert on_line.widths[0] == 1
    assert count_pieces(on_line, (0, 1)) == 2**m                             # P_m(t, t) = h_m(t)
    with pytest.raises(ValueError, match="one input and one output"):
        count_pieces(multiply(m))


# ----------------------------------------------------------------------------- depth separation
@pytest.mark.parametrize("k", [1, 2, 5, 7])
def test_telgarsky_pair_realises_the_same_function(k):
    deep, shallow = telgarsky_pair(k)
    assert deep.depth == k + 1 and deep.num_neurons == 3 * k
    assert shallow.depth == 2 and shallow.num_neurons == 2**k + 1
    # A depth-2 net with n neurons has ≤ n + 1 pieces on ℝ; Δ^k has 2^k + 2, so n = 2^k + 1 is optimal.
    assert count_pieces(shallow) == count_pieces(deep) == 2**k + 2 == shallow.num_neurons + 1
    d, s = rational_layers(deep), rational_layers(shallow)
    for x in [Fraction(j, 2 ** (k + 1)) for j in range(-3, 2 ** (k + 1) + 4)] + [Fraction(2, 3)]:
        assert rational_forward(d, [x]) == rational_forward(s, [x]) == [tent_power(k, x)]


# ----------------------------------------------------------------------------- validation
FACTORIES = [(sawtooth, "num_compositions", 60), (yarotsky_square, "m", 60), (multiply, "m", 60)]


@pytest.mark.parametrize("factory, name, top", FACTORIES + [(lambda k: telgarsky_pair(k), "k", 20)])
@pytest.mark.parametrize("bad", [0, -3, "top+1", 10**6])
def test_out_of_range_arguments_raise_value_error_naming_the_range(factory, name, top, bad):
    bad = top + 1 if bad == "top+1" else bad
    limit = "<= " + str(top) if bad > top else ">= 1"
    with pytest.raises(ValueError, match=rf"{name} must be {limit} \(an integer in \[1, {top}\]\), got {bad}"):
        factory(bad)


@pytest.mark.parametrize("factory, name, top", FACTORIES + [(lambda k: telgarsky_pair(k), "k", 20)])
@pytest.mark.parametrize("bad", [2.0, True, "3", None, Fraction(3), np.float64(2.0)])
def test_non_integer_arguments_raise_type_error(factory, name, top, bad):
    with pytest.raises(TypeError, match=rf"{name} must be an integer in \[1, {top}\]"):
        factory(bad)


def test_numpy_integers_and_the_upper_limit_are_accepted():
    assert sawtooth(np.int64(3)).depth == 4
    assert sawtooth(60).depth == 61
    assert yarotsky_square(np.int32(2)).depth == 3
    assert telgarsky_pair(np.uint8(3))[1].num_neurons == 9
