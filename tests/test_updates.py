"""Tests of nnlib.updates: the applied bias update against the exact one.

Oracles: dyadic networks on which float64 arithmetic is exact (errors must be exactly 0), a
hand-made float16 stagnation case, and one step of plain torch autograd + SGD arithmetic
written here independently of nnlib.training.
"""
import numpy as np
import pytest

from nnlib.networks import ReLUNetwork, random_network
from nnlib.updates import applied_update_errors

torch = pytest.importorskip("torch")


def net_of(*layers):
    return ReLUNetwork([(np.array(A, dtype=float), np.array(b, dtype=float)) for A, b in layers])


def test_float64_on_dyadic_data_is_exact():
    # Few-bit dyadic weights, data and step size: every float64 operation of the first steps is exact.
    net = net_of(([[1.0], [-0.5]], [0.25, 0.5]), ([[0.5, 0.25]], [0.0]))
    x = np.array([0.0, 0.25, 0.5, 0.75])
    r = applied_update_errors(net, x, x / 2, lr=0.125, steps=2, fmt="float64")
    assert np.count_nonzero(r.live) >= 2
    assert np.all(r.rel_error[r.live] == 0) and np.all(r.grad_rel_error[r.live] == 0)
    assert np.array_equal(r.update, -0.125 * r.grad_exact)


def test_float16_rounds_a_small_update_away():
    # b = 1 has float16 spacing 2^-10, so an update below 2^-11 in size is rounded to 0 (stagnation).
    net = net_of(([[1.0]], [1.0]), ([[2.0**-10]], [0.0]))
    x = np.linspace(0, 1, 8)
    r = applied_update_errors(net, x, np.ones(8), lr=2.0**-6, steps=1, fmt="float16")
    assert np.all(r.live) and np.all(np.abs(r.lr * r.grad_exact) < 2.0**-11)
    assert np.all(r.update == 0) and r.stagnation_share == 1.0
    assert np.all(r.rel_error == 1.0)                 # |0 + ηg| / (η|g|)
    assert np.all(r.sum_ratio > 1)                    # u|b| exceeds the update: outside the model
    # float64 moves the same neuron
    r64 = applied_update_errors(net, x, np.ones(8), lr=2.0**-6, steps=1, fmt="float64")
    assert r64.stagnation_share == 0.0


def test_float32_first_step_matches_plain_torch():
    net = random_network([1, 6, 6, 1], seed=3, bias_std=0.3)
    x = np.linspace(-1, 1, 16, dtype=np.float32).astype(np.float64)
    y = np.sin(3 * x).astype(np.float32).astype(np.float64)
    r = applied_update_errors(net, x, y, lr=0.05, steps=1, fmt="float32")
    # the oracle: float32 autograd on a fresh module, then b - lr * g in float32
    model = net.to_torch(torch.float32)
    loss = torch.mean((model(torch.tensor(x, dtype=torch.float32)[:, None])
                       - torch.tensor(y, dtype=torch.float32)[:, None]) ** 2)
    loss.backward()
    hidden = [m for m in model if isinstance(m, torch.nn.Linear)][:-1]
    g = torch.cat([m.bias.grad for m in hidden])
    b = torch.cat([m.bias.detach() for m in hidden])
    # the trainer sums in its own fixed (pairwise) order, torch's BLAS in another: both are float32
    # gradients, equal up to a few float32 roundings of the largest terms
    u = 2.0 ** -24
    assert np.all(np.abs(r.grad_computed[0] - g.double().numpy()) <= 16 * u * np.abs(g.double().numpy()).max())
    assert np.array_equal(np.float32(r.grad_computed[0]), r.grad_computed[0])
    # the applied update is fl(b - fl(η g̃)) in float32, from the computed gradient g̃ (numpy float32 oracle)
    b32, g32 = b.numpy(), np.float32(r.grad_computed[0])
    new_b = b32 - np.float32(0.05) * g32
    assert np.array_equal(r.update[0], new_b.astype(np.float64) - b32.astype(np.float64))
    # the exact gradient against float64 autograd on the float32 network
    model64 = ReLUNetwork([(A.astype(np.float32), b.astype(np.float32)) for A, b in net.layers]).to_torch()
    loss64 = torch.mean((model64(torch.tensor(x)[:, None]) - torch.tensor(y)[:, None]) ** 2)
    loss64.backward()
    g64 = torch.cat([m.bias.grad for m in list(model64)[::2][:-1]]).numpy()
    assert np.allclose(r.grad_exact[0], g64, rtol=1e-12, atol=1e-15)


def test_error_parts_in_float32():
    net = random_network([1, 8, 8, 8, 1], seed=0, bias_std=0.1)
    x = np.linspace(0, 1, 32)
    r = applied_update_errors(net, x, x**2, lr=0.02, steps=20, fmt="float32", record_every=5)
    u, live = r.unit_roundoff, r.live
    assert np.nanmax(r.grad_rel_error[live]) < 1e3 * u            # gradients: small multiples of u
    far = live & (r.sum_ratio < 1e-3)                              # η|g| ≫ u|b|: the model's regime
    assert np.count_nonzero(far) > 10
    assert np.all(r.rel_error[far] <= r.grad_rel_error[far] + 4 * u + 2 * r.sum_ratio[far])


@pytest.mark.parametrize("kw, exc, match", [
    (dict(lr=0.0), ValueError, "lr"),
    (dict(steps=0), ValueError, "steps"),
    (dict(fmt="float12"), ValueError, "fmt"),
    (dict(record_every=0), ValueError, "record_every"),
])
def test_bad_input(kw, exc, match):
    args = dict(lr=0.1, steps=1)
    args.update(kw)
    with pytest.raises(exc, match=match):
        applied_update_errors(random_network([1, 2, 1], seed=0), [0.0, 1.0], [0.0, 1.0], **args)
