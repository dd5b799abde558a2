"""Exact uniform distance to x², against hand-computed values and sampling."""
from fractions import Fraction

import numpy as np
import pytest

from nnlib import ReLUNetwork, count_pieces
from nnlib.approximation import square_error_lower_bound, sup_error_to_square
from nnlib.constructions import yarotsky_square
from nnlib.networks import random_network


def affine(alpha, beta):
    return ReLUNetwork([(np.array([[alpha]]), np.array([beta]))])


@pytest.mark.parametrize("alpha, beta, expected", [
    (1.0, 0.0, Fraction(1, 4)),        # x − x² peaks at x = 1/2
    (0.0, 0.0, Fraction(1)),           # x² itself, at x = 1
    (1.0, -0.125, Fraction(1, 8)),     # the best line: equioscillates at 0, 1/2, 1 with 1/8
    (2.0, -1.0, Fraction(1)),          # the tangent at 1: (x − 1)² ≤ 1, attained at 0
])
def test_hand_computed_errors(alpha, beta, expected):
    net = affine(alpha, beta)
    assert sup_error_to_square(net, exact=True) == expected
    assert sup_error_to_square(net) == float(expected)


@pytest.mark.parametrize("m", range(1, 8))
def test_yarotsky_error_is_exactly_a_quarter_to_the_m_plus_one(m):
    assert sup_error_to_square(yarotsky_square(m), exact=True) == Fraction(1, 4 ** (m + 1))


@pytest.mark.parametrize("seed", range(15))
def test_exact_sup_dominates_sampling_and_matches_it_closely(seed):
    net = random_network([1, 6, 6, 1], seed=seed, bias_std=0.5)
    xs = np.linspace(0.0, 1.0, 200_001)
    sampled = np.max(np.abs(net(xs) - xs**2))
    exact = sup_error_to_square(net)
    assert sampled <= exact * (1 + 1e-12)
    assert exact - sampled < 1e-6 * max(1.0, exact)


@pytest.mark.parametrize("seed", range(30))
def test_lower_bound_holds_for_random_networks(seed):
    net = random_network([1, 8, 8, 1], seed=seed, bias_std=1.0)
    assert sup_error_to_square(net, (-1.0, 2.0)) >= square_error_lower_bound(count_pieces(net, (-1.0, 2.0)), (-1.0, 2.0))


def test_lower_bound_is_attained_by_one_piece():
    assert sup_error_to_square(affine(1.0, -0.125)) == square_error_lower_bound(1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: square_error_lower_bound(0), ValueError, "num_pieces must be >= 1"),
    (lambda: square_error_lower_bound(2.5), TypeError, "num_pieces must be an integer"),
    (lambda: sup_error_to_square(affine(1.0, 0.0), None), ValueError, "interval must be a finite pair"),
])
def test_invalid_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
