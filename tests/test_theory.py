"""Telgarsky's bounds (Chapter 1, lem-telgarsky-composition and lem-telgarsky-bound)."""
import numpy as np
import pytest

from nnlib import ReLUNetwork, count_pieces
from nnlib.networks import compose, random_network
from nnlib.theory import telgarsky_bound, telgarsky_layer_bounds

SHAPES = [[1, 3, 1], [1, 4, 4, 1], [1, 2, 2, 2, 2, 1], [1, 8, 3, 5, 1], [1, 1, 1, 1]]


def neuron_output(net, j, i):
    """The network computing ϱ(z_{j,i}), the output of neuron i in hidden layer j."""
    A, b = net.layers[j - 1]
    return ReLUNetwork(list(net.layers[: j - 1]) + [(A[i : i + 1], b[i : i + 1]), (np.ones((1, 1)), np.zeros(1))])


def test_bounds_match_hand_computed_values():
    assert telgarsky_layer_bounds([1, 3, 5, 1]) == [2, 2 ** 2 * 3]
    assert telgarsky_bound([1, 3, 5, 1]) == (2 ** 2 * 3 * 5, (2 * 8 / 2) ** 2)
    assert telgarsky_bound([1, 1]) == (1, 1.0)


@pytest.mark.parametrize("widths", SHAPES)
@pytest.mark.parametrize("seed", range(8))
def test_pieces_below_telgarsky_bound(widths, seed):
    net = random_network(widths, seed=seed, bias_std=1.0)
    product, amgm = telgarsky_bound(widths)
    assert count_pieces(net) <= product <= amgm * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_neuron_pieces_below_layer_bound(seed):
    widths = [1, 4, 3, 3, 1]
    net = random_network(widths, seed=seed, bias_std=1.0)
    for j, bound in enumerate(telgarsky_layer_bounds(widths), start=1):
        for i in range(widths[j]):
            assert count_pieces(neuron_output(net, j, i)) <= bound


@pytest.mark.parametrize("seed", range(20))
def test_composition_lemma(seed):
    rng = np.random.default_rng(seed)
    f = random_network([1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), 1], seed=rng, bias_std=1.0)
    g = random_network([1, int(rng.integers(1, 6)), 1], seed=rng, bias_std=1.0)
    assert count_pieces(compose(f, g)) <= count_pieces(f) * count_pieces(g)


def test_composition_lemma_is_attained_by_hats():
    hat = ReLUNetwork([(np.ones((3, 1)), np.array([0.0, -0.5, -1.0])), (np.array([[2.0, -4.0, 2.0]]), np.zeros(1))])
    # on [0, 1] the hat has 2 pieces and maps [0, 1] onto [0, 1] twice: Δ∘Δ has 4 = 2 · 2
    assert count_pieces(compose(hat, hat), (0, 1)) == count_pieces(hat, (0, 1)) ** 2


@pytest.mark.parametrize("widths, message", [([1], "at least two"), ([2, 3, 1], "start and end with 1"), ([1, 0, 1], ">= 1")])
def test_invalid_widths(widths, message):
    with pytest.raises(ValueError, match=message):
        telgarsky_bound(widths)
