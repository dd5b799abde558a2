"""Tests for nnlib.gradients. Oracles: a hand-derived gradient, exact central differences in Fraction
arithmetic (the loss is piecewise quadratic in each single parameter), and torch autograd in float64."""
from fractions import Fraction

import numpy as np
import pytest

from nnlib import ReLUNetwork
from nnlib.gradients import _flint_available, float_backprop, reference_gradient
from nnlib.networks import random_network

needs_flint = pytest.mark.skipif(not _flint_available(), reason="python-flint not installed")


def _data(net, n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, net.widths[0])), rng.normal(size=(n, net.widths[-1]))


def _exact_loss(layers, x, y, loss):
    """Loss in Fraction arithmetic, written independently of nnlib (plain loops)."""
    total = Fraction(0)
    for xi, yi in zip(x, y):
        h = [Fraction(v) for v in xi]
        for j, (A, b) in enumerate(layers):
            z = [sum((A[r][c] * h[c] for c in range(len(h))), Fraction(0)) + b[r] for r in range(len(b))]
            h = z if j == len(layers) - 1 else [max(v, Fraction(0)) for v in z]
        total += sum((hv - Fraction(yv)) ** 2 for hv, yv in zip(h, yi))
    n_terms = len(x) * len(y[0])
    return total / n_terms if loss == "mse" else total / 2


def test_hand_derived_gradient():
    # x=1, y=0; z1 = 2*1 + 1 = 3, z2 = 3*3 - 1 = 8; L = ½ z2²: dL/dz2 = 8, dL/dA2 = 8*3, dL/dz1 = 8*3
    net = ReLUNetwork([([[2.0]], [1.0]), ([[3.0]], [-1.0])])
    for exact in (False, True):
        (gA1, gb1), (gA2, gb2) = reference_gradient(net, [1.0], [0.0], loss="sse", exact=exact)
        assert [gA1[0, 0], gb1[0], gA2[0, 0], gb2[0]] == [24, 24, 24, 8]
    # mse of the same: L = z2² (n = N_L = 1), so everything doubles
    (gA1, _), (_, gb2) = reference_gradient(net, [1.0], [0.0], exact=True, backend="fraction")
    assert gA1[0, 0] == 48 and gb2[0] == 16 and isinstance(gA1[0, 0], Fraction)


@pytest.mark.parametrize("exact,backend", [(False, "auto"), (True, "fraction"),
                                           pytest.param(True, "flint", marks=needs_flint)])
def test_relu_derivative_at_zero_is_zero(exact, backend):
    net = ReLUNetwork([([[1.0]], [-1.0]), ([[1.0]], [0.0])])      # z1 = 0 at x = 1
    (gA1, gb1), (gA2, gb2) = reference_gradient(net, [1.0], [5.0], exact=exact, backend=backend)
    assert gA1[0, 0] == 0 and gb1[0] == 0 and gb2[0] == -10


@pytest.mark.parametrize("loss", ["mse", "sse"])
def test_exact_gradient_equals_exact_central_differences(loss):
    net = random_network([2, 4, 3, 2], seed=3)
    x, y = _data(net, n=4)
    grads = reference_gradient(net, x, y, loss=loss, exact=True, backend="fraction")
    layers = [([[Fraction(v) for v in row] for row in A], [Fraction(v) for v in b]) for A, b in net.layers]
    h = Fraction(1, 2 ** 40)      # far below every |pre-activation| here, so no kink is crossed
    for j, (A, b) in enumerate(layers):
        for which, param in (("A", A), ("b", b)):
            for idx in [(0, 0), (len(b) - 1, len(A[0]) - 1)] if which == "A" else [(0,), (len(b) - 1,)]:
                def at(delta):
                    moved = [([row[:] for row in AA], bb[:]) for AA, bb in layers]
                    target = moved[j][0] if which == "A" else moved[j][1]
                    if which == "A":
                        target[idx[0]][idx[1]] += delta
                    else:
                        target[idx[0]] += delta
                    return _exact_loss(moved, x, y, loss)
                fd = (at(h) - at(-h)) / (2 * h)      # exact for a quadratic
                got = grads[j][0][idx] if which == "A" else grads[j][1][idx]
                assert got == fd, (j, which, idx)


def test_exact_equals_float64_to_rounding_and_float64_equals_torch():
    torch = pytest.importorskip("torch")
    net = random_network([3, 8, 8, 8, 2], seed=7)
    x, y = _data(net, n=20)
    g64 = reference_gradient(net, x, y)
    gex = reference_gradient(net, x, y, exact=True)
    for (a64, b64), (aex, bex) in zip(g64, gex):
        for approx, exact in ((a64, aex), (b64, bex)):
            exact = exact.astype(float)
            assert approx.dtype == np.float64 and approx.shape == exact.shape
            assert np.max(np.abs(approx - exact)) <= 1e-14 * np.max(np.abs(exact))
    module = net.to_torch()
    torch.nn.functional.mse_loss(module(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    lin = [m for m in module if isinstance(m, torch.nn.Linear)]
    for (gA, gb), m in zip(g64, lin):
        np.testing.assert_allclose(gA, m.weight.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gb, m.bias.grad.numpy(), rtol=1e-12, atol=1e-15)


@needs_flint
def test_flint_and_fraction_backends_are_identical():
    net = random_network([1, 6, 6, 1], seed=11)
    x, y = _data(net, n=9, seed=2)
    for loss in ("mse", "sse"):
        a = reference_gradient(net, x[:, 0], y[:, 0], loss=loss, exact=True, backend="flint")
        b = reference_gradient(net, x[:, 0], y[:, 0], loss=loss, exact=True, backend="fraction")
        for (a1, a2), (b1, b2) in zip(a, b):
            assert a1.shape == b1.shape and a2.shape == b2.shape
            assert all(isinstance(v, Fraction) for v in a1.ravel())
            assert np.array_equal(a1, b1) and np.array_equal(a2, b2)


def test_structure_matches_layers():
    net = random_network([2, 5, 3], seed=0)
    x, y = _data(net)
    g = reference_gradient(net, x, y)
    assert isinstance(g, tuple) and len(g) == net.depth
    for (gA, gb), (A, b) in zip(g, net.layers):
        assert gA.shape == A.shape and gb.shape == b.shape


def test_reference_gradient_validation():
    net = random_network([2, 3, 1], seed=0)
    x, y = np.ones((4, 2)), np.ones(4)
    cases = [
        (lambda: reference_gradient(net.layers, x, y), TypeError, "net"),
        (lambda: reference_gradient(net, np.ones((4, 3)), y), ValueError, "x must have shape"),
        (lambda: reference_gradient(net, np.ones((0, 2)), np.ones(0)), ValueError, "x must contain"),
        (lambda: reference_gradient(net, x, np.ones(5)), ValueError, "y must have shape"),
        (lambda: reference_gradient(net, x, np.ones((4, 2))), ValueError, "y must have shape"),
        (lambda: reference_gradient(net, x, [np.nan] * 4), ValueError, "y has non-finite"),
        (lambda: reference_gradient(net, x, ["a"] * 4), TypeError, "y must"),
        (lambda: reference_gradient(net, x, y, loss="mae"), ValueError, "loss"),
        (lambda: reference_gradient(net, x, y, exact=1), TypeError, "exact"),
        (lambda: reference_gradient(net, x, y, exact=True, backend="gmpy"), ValueError, "backend"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


# ----------------------------------------------------------------- loss_sharpness (Chapter 5, sec-keep)
def _fd_hessian(net, x, y, step=1e-6):
    """Central differences of the float64 reference gradient (numpy backprop, independent of torch)."""
    from nnlib import ReLUNetwork
    from nnlib.gradients import reference_gradient

    def flat(grads):
        return np.concatenate([np.concatenate([gA.ravel(), gb]) for gA, gb in grads])

    def rebuild(theta):
        layers, i = [], 0
        for A, b in net.layers:
            a = A.size
            layers.append((theta[i:i + a].reshape(A.shape), theta[i + a:i + a + b.size]))
            i += a + b.size
        return ReLUNetwork(layers)

    theta = np.concatenate([np.concatenate([A.ravel(), b]) for A, b in net.layers])
    cols = []
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = step
        cols.append((flat(reference_gradient(rebuild(theta + e), x, y))
                     - flat(reference_gradient(rebuild(theta - e), x, y))) / (2 * step))
    H = np.array(cols)
    return (H + H.T) / 2


def test_loss_sharpness_affine_closed_form():
    from nnlib import ReLUNetwork
    from nnlib.gradients import loss_sharpness

    x = np.array([0.0, 0.5, 2.0])
    net = ReLUNetwork([(np.array([[3.0]]), np.array([-1.0]))])
    H = 2 / 3 * np.array([[np.sum(x**2), np.sum(x)], [np.sum(x), 3.0]])   # independent of the targets
    assert loss_sharpness(net, x, np.array([1.0, -2.0, 0.25])) == pytest.approx(np.linalg.eigvalsh(H).max(),
                                                                                rel=1e-12, abs=0)


def test_loss_sharpness_matches_finite_differences_of_numpy_backprop():
    from nnlib.gradients import loss_sharpness

    net = random_network([1, 4, 3, 1], seed=3)
    x = np.linspace(-1, 1, 17)
    y = np.sin(3 * x)
    fd = np.linalg.eigvalsh(_fd_hessian(net, x, y)).max()
    assert loss_sharpness(net, x, y) == pytest.approx(fd, rel=1e-5, abs=0)


def test_loss_sharpness_of_the_sawtooth_grows_like_four_to_the_k():
    # at an exact fit the Hessian is the Gauss–Newton matrix; slopes 2^k make it ~4^k
    from nnlib.constructions import sawtooth
    from nnlib.gradients import loss_sharpness

    x = (np.arange(256) + 0.5) / 256                 # no data point on a kink (finite differences)
    lam = [loss_sharpness(sawtooth(k), x, sawtooth(k)(x)) for k in (2, 3, 4)]
    assert 3.5 < lam[1] / lam[0] < 4.5 and 3.5 < lam[2] / lam[1] < 4.5
    fd = np.linalg.eigvalsh(_fd_hessian(sawtooth(3), x, sawtooth(3)(x))).max()
    assert lam[1] == pytest.approx(fd, rel=1e-5, abs=0)


def test_loss_sharpness_bad_input():
    from nnlib.gradients import loss_sharpness

    net = random_network([1, 2, 1], seed=0)
    with pytest.raises(TypeError, match="net"):
        loss_sharpness("net", [0.0], [0.0])
    with pytest.raises(ValueError, match="y must have shape"):
        loss_sharpness(net, [0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="x"):
        loss_sharpness(net, [[0.0, 1.0]], [0.0])


def _scalar_backprop(net, x, y, scalar):
    """Backpropagation (mse) by scalar loops in one precision: every sum left to right, one rounding per operation."""
    layers = [([[scalar(a) for a in row] for row in A], [scalar(v) for v in b]) for A, b in net.layers]
    n = len(x)
    hs, zs = [[[scalar(v) for v in point] for point in x]], []
    for j, (A, b) in enumerate(layers):
        z = []
        for h in hs[-1]:
            zk = []
            for row, bias in zip(A, b):
                acc = row[0] * h[0]
                for a, v in zip(row[1:], h[1:]):
                    acc = acc + a * v
                zk.append(acc + bias)
            z.append(zk)
        zs.append(z)
        hs.append([[v if v > 0 else scalar(0) for v in zk] for zk in z])
    scale = scalar(2 / (n * len(y[0])))
    g = [[(v - scalar(t)) * scale for v, t in zip(zk, yk)] for zk, yk in zip(zs[-1], y)]
    grads = []
    for j in range(len(layers) - 1, -1, -1):
        A = layers[j][0]
        gA = [[None] * len(A[0]) for _ in A]
        for r in range(len(A)):
            for c in range(len(A[0])):
                acc = g[0][r] * hs[j][0][c]
                for k in range(1, n):
                    acc = acc + g[k][r] * hs[j][k][c]
                gA[r][c] = acc
        gb = []
        for r in range(len(A)):
            acc = scalar(1) * g[0][r]
            for k in range(1, n):
                acc = acc + scalar(1) * g[k][r]
            gb.append(acc)
        grads.append((gA, gb))
        if j > 0:
            new = []
            for k in range(n):
                row = []
                for c in range(len(A[0])):
                    acc = g[k][0] * A[0][c]
                    for r in range(1, len(A)):
                        acc = acc + g[k][r] * A[r][c]
                    row.append(acc if zs[j - 1][k][c] > 0 else scalar(0))
                new.append(row)
            g = new
    return [[v for v in zk] for zk in zs[-1]], grads[::-1]


@pytest.mark.parametrize("fmt, scalar", [("float32", np.float32), ("float64", float)])
def test_float_backprop_is_backpropagation_with_one_rounding_per_operation(fmt, scalar):
    net = random_network([1, 5, 4, 2], seed=8)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-1, 1, (20, 1)), rng.uniform(-1, 1, (20, 2))   # n >= 8: numpy would sum pairwise
    out, grads = float_backprop(net, x, y, fmt)
    exp_out, exp_grads = _scalar_backprop(net, x, y, scalar)
    dtype = np.float32 if fmt == "float32" else np.float64
    assert out.dtype == dtype and out.tobytes() == np.array(exp_out, dtype).tobytes()
    for (gA, gb), (eA, eb) in zip(grads, exp_grads):
        assert gA.dtype == gb.dtype == dtype
        assert gA.tobytes() == np.array(eA, dtype).tobytes() and gb.tobytes() == np.array(eb, dtype).tobytes()
    # and it is the gradient: within a few hundred u of the exact one
    exact = reference_gradient(net, x, y, exact=True)
    u = 2.0 ** -24 if fmt == "float32" else 2.0 ** -53
    for (gA, gb), (xA, xb) in zip(grads, exact):
        for got, want in ((gA, xA.astype(float)), (gb, xb.astype(float))):
            assert np.linalg.norm(got - want) <= 200 * u * np.linalg.norm(want)


def test_float_backprop_bad_input():
    net = random_network([1, 3, 1], seed=0)
    with pytest.raises(ValueError, match="fmt must be float32 or float64, got bfloat16"):
        float_backprop(net, [0.5], [0.0], "bfloat16")
    with pytest.raises(TypeError, match="net"):
        float_backprop("net", [0.5], [0.0])
    with pytest.raises(ValueError, match="y must have shape"):
        float_backprop(net, [0.5, 0.2], [0.0])
    with pytest.raises(ValueError, match="loss"):
        float_backprop(net, [0.5], [0.0], loss="l1")
