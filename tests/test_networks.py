"""ReLUNetwork: structure, evaluation against independent oracles, torch round trip, validation."""
from fractions import Fraction

import numpy as np
import pytest
import torch

from nnlib import ReLUNetwork, set_seed
from nnlib.networks import compose, random_network
from oracles import exact_forward, exact_layers


def test_structure_properties_follow_the_definition():
    widths = (1, 4, 3, 2)
    net = random_network(list(widths), seed=1)
    assert net.depth == 3
    assert net.widths == widths
    assert net.num_parameters == 4 * 1 + 4 + 3 * 4 + 3 + 2 * 3 + 2
    assert net.num_neurons == 7
    assert "widths=(1, 4, 3, 2)" in repr(net)


def test_max_abs_weights_are_the_largest_magnitudes_of_each_layer():
    net = random_network([1, 4, 3, 2], seed=5)
    want = tuple((max(abs(v) for row in A.tolist() for v in row), max(abs(v) for v in b.tolist()))
                 for A, b in net.layers)
    assert net.max_abs_weights == want
    assert net.max_abs_weights is net.max_abs_weights          # computed once
    neg = ReLUNetwork([(np.array([[-7.0], [2.0]]), np.array([0.0, -0.25])), (np.array([[1.0, -3.0]]), np.zeros(1))])
    assert neg.max_abs_weights == ((7.0, 0.25), (3.0, 0.0))


def test_evaluation_matches_exact_oracle():
    net = random_network([1, 5, 5, 1], seed=3)
    xs = np.linspace(-3, 3, 41)
    got = net(xs)
    layers = exact_layers(net)
    want = np.array([float(exact_forward(layers, Fraction(float(x)))) for x in xs])
    assert got.shape == (41,)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_absolute_value_network():
    net = ReLUNetwork([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.array([[1.0, 1.0]]), np.zeros(1))])
    xs = np.array([-2.5, -1.0, 0.0, 0.5, 7.0])
    assert np.array_equal(net(xs), np.abs(xs))


def test_integer_inputs_are_accepted_and_stored_as_float64():
    net = ReLUNetwork([([[1], [2]], [0, 1]), ([[1, -1]], [3])])
    assert all(A.dtype == np.float64 and b.dtype == np.float64 for A, b in net.layers)
    assert net(2.0).tolist() == [1.0 * 2 - (2 * 2 + 1) + 3]


def test_parameters_are_read_only_copies():
    A = np.ones((2, 1))
    net = ReLUNetwork([(A, np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    A[0, 0] = 5.0
    assert net.layers[0][0][0, 0] == 1.0
    with pytest.raises(ValueError):
        net.layers[0][0][0, 0] = 2.0


def test_multivariate_input_and_output_shapes():
    net = random_network([2, 3, 4], seed=0)
    x = np.zeros((5, 2))
    assert net(x).shape == (5, 4)
    assert [z.shape for z in net.pre_activations(x)] == [(5, 3), (5, 4)]
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        net(np.zeros(5))


def test_torch_round_trip_is_lossless_and_agrees():
    net = random_network([1, 6, 6, 1], seed=7)
    module = net.to_torch()
    back = ReLUNetwork.from_torch(module)
    for (A, b), (A2, b2) in zip(net.layers, back.layers):
        assert np.array_equal(A, A2) and np.array_equal(b, b2)
    xs = np.linspace(-2, 2, 17)
    with torch.no_grad():
        y_torch = module(torch.from_numpy(xs[:, None])).numpy()[:, 0]
    np.testing.assert_allclose(y_torch, net(xs), rtol=1e-14, atol=1e-14)


def test_from_float32_torch_module_is_exact():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    net = ReLUNetwork.from_torch(module)
    assert np.array_equal(net.layers[0][0], module[0].weight.detach().double().numpy())


def test_compose_realises_the_composition():
    f = random_network([1, 4, 1], seed=1)
    g = random_network([1, 3, 3, 1], seed=2)
    fg = compose(f, g)
    assert fg.depth == f.depth + g.depth - 1
    xs = np.linspace(-4, 4, 33)
    np.testing.assert_allclose(fg(xs), f(g(xs)), rtol=1e-12, atol=1e-12)


def test_random_network_is_reproducible_and_seed_dependent():
    a, b, c = (random_network([1, 4, 1], seed=s) for s in (5, 5, 6))
    assert np.array_equal(a.layers[0][0], b.layers[0][0])
    assert not np.array_equal(a.layers[0][0], c.layers[0][0])


def test_set_seed_makes_numpy_and_torch_reproducible():
    set_seed(11)
    first = (np.random.rand(3), torch.rand(3))
    set_seed(11)
    second = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    "layers, error, message",
    [
        ([], ValueError, "at least one"),
        ("abc", TypeError, "list of"),
        ([np.ones((1, 1))], TypeError, "layer 1: expected a pair"),
        ([(np.ones((2, 1)), np.zeros(3))], ValueError, r"layer 1: b has shape \(3,\)"),
        ([(np.ones((2, 1)), np.zeros(2)), (np.ones((1, 3)), np.zeros(1))], ValueError, "layer 2: A has 3 columns"),
        ([(np.ones(2), np.zeros(2))], ValueError, "layer 1: A must be 2-dimensional"),
        ([(np.ones((1, 1)), np.zeros((1, 1)))], ValueError, "layer 1: b must be 1-dimensional"),
        ([(np.array([[np.nan]]), np.zeros(1))], ValueError, "layer 1: A has non-finite"),
        ([(np.ones((1, 1)), np.array([np.inf]))], ValueError, "layer 1: b has non-finite"),
        ([(np.ones((1, 1), dtype=complex), np.zeros(1))], TypeError, "layer 1: A must have a real"),
        ([(np.ones((1, 1), dtype=bool), np.zeros(1))], TypeError, "layer 1: A must have a real"),
        ([(np.ones((1, 1)), ["a"])], TypeError, "layer 1: b must have a real"),
        ([(np.ones((0, 1)), np.zeros(0))], ValueError, "at least one row"),
    ],
)
def test_invalid_layers_raise_naming_layer_and_argument(layers, error, message):
    with pytest.raises(error, match=message):
        ReLUNetwork(layers)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: random_network([1], seed=0), ValueError, "at least two"),
        (lambda: random_network([1, 0, 1], seed=0), ValueError, r"widths\[1\] must be >= 1"),
        (lambda: random_network([1, 2.5, 1], seed=0), TypeError, r"widths\[1\] must be an integer"),
        (lambda: random_network([1, 2, 1], seed=0, bias_std=-1), ValueError, "bias_std must be >= 0"),
        (lambda: set_seed(-1), ValueError, r"seed must be >= 0 \(an integer in \[0, 4294967295\]\), got -1"),
        (lambda: set_seed(1.5), TypeError, "seed must be an integer"),
        (lambda: compose(random_network([2, 2, 1], seed=0), random_network([1, 2, 1], seed=0)), ValueError, "inner has 1 outputs but outer has 2 inputs"),
        (lambda: compose("f", random_network([1, 2, 1], seed=0)), TypeError, "outer must be an nnlib ReLUNetwork"),
        (lambda: random_network([1, 2, 1], seed=0)(np.array(["a"])), TypeError, "x must have a real"),
        (lambda: random_network([1, 2, 1], seed=0).to_torch(dtype=torch.int32), TypeError, "dtype must be a floating"),
        (lambda: ReLUNetwork.from_torch(torch.nn.Linear(1, 1)), TypeError, "must be a torch.nn.Sequential"),
        (lambda: ReLUNetwork.from_torch(torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))),
         ValueError, r"module\[1\] must be ReLU"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_fixed_order_evaluation_is_the_left_to_right_sum():
    # Oracle: Python floats, one rounding per operation, each sum from left to right, then + b.
    net = random_network([2, 9, 9, 1], seed=11)
    x = np.random.default_rng(3).standard_normal((40, 2)) * 1e3
    expected = []
    for point in x:
        h = [float(v) for v in point]
        for j, (A, b) in enumerate(net.layers):
            z = []
            for row, bias in zip(A, b):
                acc = float(row[0]) * h[0]
                for a, v in zip(row[1:], h[1:]):
                    acc = acc + float(a) * v
                z.append(acc + float(bias))
            h = z if j == net.depth - 1 else [max(v, 0.0) for v in z]
        expected.append(h[0])
    got = net(x, fixed_order=True)[:, 0]
    assert got.tobytes() == np.array(expected).tobytes()
    assert np.allclose(got, net(x)[:, 0], rtol=1e-12, atol=1e-9)
    with pytest.raises(TypeError, match="fixed_order"):
        net(x, fixed_order="yes")
