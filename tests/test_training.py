"""nnlib.training: determinism, exact recording, perturbation, formats, validation.

Recorded quantities are checked against the public counters of nnlib.pieces, the forward pass,
and torch autograd, never against the trainer's own helpers.
"""
import numpy as np
import pytest
import torch

from nnlib import ReLUNetwork, count_activation_regions, count_pieces
from nnlib.networks import random_network
from nnlib.pieces import propagate_knots
from nnlib.precision import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, round_to
from nnlib.pieces import batched_states, network_state
from nnlib.training import train, torch_threads

NET = random_network([1, 8, 8, 8, 1], seed=4, bias_std=0.3)


@pytest.fixture(autouse=True)
def one_torch_thread():
    # small networks: a second thread only adds contention on a busy 2-core machine
    with torch_threads(1):
        yield

X = np.linspace(-1, 1, 96)
Y = np.sin(4 * X) + 0.3 * np.sign(X)


@pytest.mark.parametrize("kw", [
    dict(optimizer="gd", lr=0.05, fmt=FLOAT64),
    dict(optimizer="sgd", lr=0.05, batch_size=16, fmt=FLOAT32, eps=0.1),
    dict(optimizer="adam", lr=3e-3, fmt=BFLOAT16, eps=1e-2),
    dict(optimizer="adam", lr=3e-3, batch_size=32, fmt=FLOAT16),
])
def test_same_seed_same_history_bit_for_bit(kw):
    a = train(NET, X, Y, steps=40, seed=7, record_every=3, **kw)
    b = train(NET, X, Y, steps=40, seed=7, record_every=3, **kw)
    assert a.loss_history.tobytes() == b.loss_history.tobytes()
    assert a.bias_update.tobytes() == b.bias_update.tobytes()
    for (A1, b1), (A2, b2) in zip(a.final_network.layers, b.final_network.layers):
        assert A1.tobytes() == A2.tobytes() and b1.tobytes() == b2.tobytes()


def test_seed_matters_when_there_is_randomness():
    kw = dict(optimizer="sgd", lr=0.05, batch_size=16, steps=20, record_every=0)
    assert not np.array_equal(train(NET, X, Y, seed=1, **kw).loss_history, train(NET, X, Y, seed=2, **kw).loss_history)
    kw = dict(optimizer="gd", lr=0.05, steps=20, eps=0.5, record_every=0)
    assert not np.array_equal(train(NET, X, Y, seed=1, **kw).loss_history, train(NET, X, Y, seed=2, **kw).loss_history)


@pytest.mark.parametrize("fmt", [FLOAT64, FLOAT32, FLOAT16])
def test_recorded_counts_equal_public_counters(fmt):
    seen = []
    res = train(NET, X, Y, steps=60, lr=0.01, optimizer="adam", fmt=fmt, record_every=4, interval=(-1, 1),
                callbacks=[lambda t, net: seen.append((t, net))])
    assert res.steps_recorded.tolist() == list(range(0, 60, 4)) == [t for t, _ in seen]
    assert res.pieces.tolist() == [count_pieces(net, (-1, 1)) for _, net in seen]
    assert res.regions.tolist() == [count_activation_regions(net, (-1, 1)) for _, net in seen]
    assert np.array_equal(res.loss, res.loss_history[::4])
    # the pieces do change during training (otherwise the comparison above proves little)
    assert len(set(res.pieces.tolist())) > 1


def test_slopes_dead_neurons_and_bias_updates():
    seen = []
    res = train(NET, X, Y, steps=12, lr=0.2, optimizer="gd", record_every=1, interval=(-1, 1),
                callbacks=[lambda t, net: seen.append(net)])
    for r, net in enumerate(seen):
        xs = propagate_knots(net, (-1, 1))[-1].x          # all knots: every z_{j,i} is affine in between
        mid, half = (xs[1:] + xs[:-1]) / 2, (xs[1:] - xs[:-1]) / 4
        lo, hi = net.pre_activations(mid - half), net.pre_activations(mid + half)
        slopes = [np.abs((h - l) / (2 * half[:, None])).max() for l, h in zip(lo, hi)]
        np.testing.assert_allclose(res.max_slope[r], slopes, rtol=1e-6)
        zs = net.pre_activations(xs)[:-1]
        assert res.dead[r].tolist() == [int(np.count_nonzero((z <= 0).all(axis=0))) for z in zs]
        if r + 1 < len(seen):
            nxt = seen[r + 1]
            update = np.concatenate([b1 - b0 for (_, b0), (_, b1) in zip(net.layers[:-1], nxt.layers[:-1])])
            assert np.array_equal(res.bias_update[r], update)
    assert np.array_equal(res.zero_updates, np.count_nonzero(res.bias_update == 0, axis=1))


def test_bias_gradients_match_autograd_and_gd_update():
    res = train(NET, X, Y, steps=1, lr=0.1, optimizer="gd", record_every=1)
    mod = NET.to_torch()
    torch.mean((mod(torch.tensor(X)[:, None]) - torch.tensor(Y)[:, None]) ** 2).backward()
    g = np.concatenate([lin.bias.grad.numpy() for lin in list(mod)[::2][:-1]])
    np.testing.assert_allclose(res.bias_grad[0], g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.bias_update[0], -0.1 * g, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_recorded_gradients_at_every_step_match_autograd(optimizer):
    seen = []
    res = train(NET, X, Y, steps=6, lr=0.05, optimizer=optimizer, record_every=1,
                callbacks=[lambda t, net: seen.append(net)])
    for r, net in enumerate(seen):
        mod = net.to_torch()
        torch.mean((mod(torch.tensor(X)[:, None]) - torch.tensor(Y)[:, None]) ** 2).backward()
        g = np.concatenate([lin.bias.grad.numpy() for lin in list(mod)[::2][:-1]])
        np.testing.assert_allclose(res.bias_grad[r], g, rtol=1e-9, atol=1e-14)
        assert np.any(g != 0)


def test_perturbation_stays_in_its_window_and_fills_it():
    eps, lr = 0.3, 0.1
    res = train(NET, X, Y, steps=30, lr=lr, optimizer="gd", eps=eps, record_every=1)
    g, upd = res.bias_grad, res.bias_update
    live = g != 0
    factor = upd[live] / (-lr * g[live]) - 1           # = eps ξ with ξ ~ U[-1, 1]
    assert np.all(np.abs(factor) <= eps * (1 + 1e-9))
    assert factor.max() > 0.8 * eps and factor.min() < -0.8 * eps
    assert abs(factor.mean()) < 5 * eps / np.sqrt(3 * factor.size)   # mean 0, sd eps/√3
    # dead neurons (g = 0) get no update at all
    assert np.all(upd[~live] == 0)


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16])
def test_low_precision_networks_are_numbers_of_the_format(fmt):
    res = train(NET, X, Y, steps=10, lr=3e-3, optimizer="adam", fmt=fmt, record_every=0)
    for A, b in res.final_network.layers:
        assert np.array_equal(round_to(A, fmt), A) and np.array_equal(round_to(b, fmt), b)
    assert not np.array_equal(res.final_network.layers[0][0], NET.layers[0][0])


def test_float16_makes_exact_zero_updates_that_float64_does_not():
    kw = dict(steps=20, lr=1e-4, optimizer="gd", record_every=1)
    r64, r16 = train(NET, X, Y, fmt=FLOAT64, **kw), train(NET, X, Y, fmt=FLOAT16, **kw)
    live = r64.bias_grad != 0
    assert np.all(r64.bias_update[live] != 0)
    # lr·g below half a float16 spacing of b is swamped: an exact zero although g != 0
    assert np.count_nonzero((r16.bias_update == 0) & (r16.bias_grad != 0)) > 0


def test_progress_bar_goes_to_stderr_only(capsys):
    train(NET, X, Y, steps=5, lr=0.01, record_every=0, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "train" in err
    train(NET, X, Y, steps=5, lr=0.01, record_every=0)
    assert capsys.readouterr() == ("", "")


def test_no_recording_and_zero_steps():
    res = train(NET, X, Y, steps=0, lr=0.01)
    assert res.pieces.shape == (0,) and res.bias_update.shape == (0, NET.num_neurons)
    assert res.final_loss == pytest.approx(np.mean((NET(X) - Y) ** 2), rel=1e-12)
    res = train(NET, X, Y, steps=3, lr=0.01, record_every=0)
    assert res.loss_history.shape == (3,) and res.max_slope.shape == (0, NET.depth)


def test_torch_threads_restores():
    torch.set_num_threads(2)
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n"):
        with torch_threads(0):
            pass


@pytest.mark.parametrize("kw, exc, match", [
    (dict(net="net"), TypeError, "net"),
    (dict(net=random_network([1, 3, 2], seed=0)), ValueError, "univariate"),
    (dict(x=np.zeros(5)), ValueError, "same shape"),
    (dict(x=np.array([np.nan] * 96)), ValueError, "x"),
    (dict(steps=-1), ValueError, "steps"),
    (dict(steps=1.5), TypeError, "steps"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr="a"), TypeError, "lr"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer"),
    (dict(batch_size=97), ValueError, "batch_size"),
    (dict(optimizer="gd", batch_size=10), ValueError, "batch_size"),
    (dict(fmt="float8"), ValueError, "fmt must be a Format or one of"),
    (dict(fmt=16), TypeError, "fmt"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(seed=None), TypeError, "seed"),
    (dict(eps=-0.1), ValueError, "eps"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(interval=(1, 0)), ValueError, "interval"),
    (dict(x=np.zeros(96)), ValueError, "interval"),
    (dict(record_every=-1), ValueError, "record_every"),
    (dict(callbacks=[1]), TypeError, "callbacks"),
    (dict(progress=1), TypeError, "progress"),
    (dict(callbacks=print), TypeError, "callbacks must be a list"),
])
def test_invalid_arguments(kw, exc, match):
    args = dict(net=NET, x=X, y=Y, steps=2, lr=0.01)
    args.update(kw)
    with pytest.raises(exc, match=match):
        train(args.pop("net"), args.pop("x"), args.pop("y"), **args)


def _stack(nets):
    return [(np.stack([n.layers[l][0] for n in nets]), np.stack([n.layers[l][1] for n in nets]))
            for l in range(nets[0].depth)]


HAT = ReLUNetwork([(np.ones((3, 1)), np.array([0.0, -0.5, -1.0])), (np.array([[2.0, -4.0, 2.0]]), np.zeros(1))])


@pytest.mark.parametrize("widths", [[1, 16, 16, 16, 16, 1], [1, 3, 1], [1, 1, 1, 1], [1, 6, 2, 6, 1]])
@pytest.mark.parametrize("interval", [(-1.0, 1.0), (0.0, 3.0)])
def test_batched_states_equal_public_counters(widths, interval):
    """The batched propagation used for recording agrees with nnlib.pieces on many networks at once,
    including float16-rounded ones (many ties and exact zeros)."""
    rng = np.random.default_rng(len(widths) * 10 + int(interval[1]))
    nets = [random_network(widths, seed=int(s), bias_std=float(rng.uniform(0, 1))) for s in rng.integers(0, 10**6, 40)]
    nets += [ReLUNetwork([(round_to(A, FLOAT16), round_to(b, FLOAT16)) for A, b in n.layers]) for n in nets[:20]]
    out = batched_states(_stack(nets), interval)
    assert out["pieces"].tolist() == [count_pieces(n, interval) for n in nets]
    assert out["regions"].tolist() == [count_activation_regions(n, interval) for n in nets]


@pytest.mark.parametrize("interval", [(0.0, 1.0), (-0.5, 1.5), (0.25, 0.75)])
def test_network_state_on_sawtooth_with_coincident_knots(interval):
    from nnlib.networks import compose

    for net in (HAT, compose(HAT, HAT), compose(HAT, compose(HAT, HAT))):
        st = network_state(net, interval)
        assert st["pieces"] == count_pieces(net, interval, exact=True)
        assert st["regions"] == count_activation_regions(net, interval, exact=True)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: network_state("net", (-1, 1)), TypeError, "net"),
    (lambda: network_state(NET, None), ValueError, "interval"),
    (lambda: network_state(random_network([1, 2, 2], seed=0), (-1, 1)), ValueError, "univariate"),
])
def test_network_state_validation(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_format_names_and_numpy_bools_are_accepted():
    kw = dict(steps=6, lr=3e-3, optimizer="adam", seed=2, record_every=2)
    a = train(NET, X, Y, fmt=BFLOAT16, progress=False, **kw)
    b = train(NET, X, Y, fmt="bfloat16", progress=np.bool_(False), **kw)
    assert a.loss_history.tobytes() == b.loss_history.tobytes() and a.config == b.config


def test_depth_one_network_trains():
    # An affine model: no hidden neurons. It must train (least squares: y = 2x + 1 is reached), not
    # run every step and then fail while assembling the records.
    net = ReLUNetwork([(np.array([[0.5]]), np.array([0.1]))])
    x = np.linspace(-1, 1, 20)
    res = train(net, x, 2 * x + 1, steps=300, lr=0.2, record_every=50)
    (A, b), = res.final_network.layers
    assert abs(A[0, 0] - 2) < 1e-9 and abs(b[0] - 1) < 1e-9
    assert res.pieces.tolist() == res.regions.tolist() == [1] * 6
    assert res.dead.shape == (6, 0) and res.bias_grad.shape == res.bias_update.shape == (6, 0)
    assert res.max_slope[0, 0] == 0.5                # |A| of the initial network, exactly
    assert res.zero_updates.tolist() == [0] * 6


def test_dead_neuron_that_only_touches_zero():
    """A neuron whose pre-activation is <= 0 on all of D but reaches 0 is dead ({z > 0} is empty).

    Hand-made, so the expected counts are known without any code: layer 1 has ϱ(x), ϱ(-x) and a
    neuron with z ≡ 0; layer 2 has z = -(ϱ(x) + ϱ(-x)) = -|x| (max 0 at the knot x = 0) and
    z = |x| - 1/2 (alive). Dead: one neuron in each layer. Counting "z >= 0 somewhere" as alive
    (instead of "z > 0 somewhere") would give (0, 0).
    """
    net = ReLUNetwork([(np.array([[1.0], [-1.0], [0.0]]), np.zeros(3)),
                       (np.array([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]), np.array([0.0, -0.5])),
                       (np.array([[1.0, 1.0]]), np.zeros(1))])
    zs = net.pre_activations(np.linspace(-1, 1, 2001))[:-1]      # the grid contains x = 0
    assert [int(np.count_nonzero((z <= 0).all(axis=0))) for z in zs] == [1, 1]
    res = train(net, X, Y, steps=1, lr=1e-3, interval=(-1, 1), record_every=1)
    assert res.dead[0].tolist() == [1, 1]
    assert network_state(net, (-1, 1))["dead"].tolist() == [1, 1]
