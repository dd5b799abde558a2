"""nnlib.training.train_batch: many networks at once, bit-identical to one-at-a-time training.

The oracle is :func:`nnlib.training.train` run on each network alone (a batch of one), compared
byte for byte: loss history, recorded gradients, updates, pieces, slopes and the final network.
Its correctness against torch autograd is tested in tests/test_training.py.
"""
import numpy as np
import pytest

from nnlib.networks import random_network
from nnlib.precision import BFLOAT16, FLOAT16, FLOAT32, FLOAT64
from nnlib.training import torch_threads, train, train_batch

X = np.linspace(-1, 1, 37)          # not a power of two: the pairwise sums are padded
Y = np.sin(4 * X) + 0.3 * np.sign(X)
WIDTHS = [1, 6, 5, 7, 1]
SEEDS = [3, 11, 0, 5]
NETS = [random_network(WIDTHS, seed=s, bias_std=0.3) for s in SEEDS]


@pytest.fixture(autouse=True)
def one_torch_thread():
    with torch_threads(1):
        yield


def _same(a, b):
    for name in ("loss_history", "loss", "steps_recorded", "pieces", "regions", "max_slope", "dead", "bias_grad",
                 "bias_update", "zero_updates"):
        va, vb = getattr(a, name), getattr(b, name)
        assert va.dtype == vb.dtype and va.shape == vb.shape and va.tobytes() == vb.tobytes(), name
    for (A1, b1), (A2, b2) in zip(a.final_network.layers, b.final_network.layers):
        assert A1.tobytes() == A2.tobytes() and b1.tobytes() == b2.tobytes()
    assert np.float64(a.final_loss).tobytes() == np.float64(b.final_loss).tobytes()
    assert a.config == b.config


@pytest.mark.parametrize("fmt", [FLOAT64, FLOAT32, FLOAT16, BFLOAT16])
@pytest.mark.parametrize("kw", [
    dict(optimizer="gd", lr=0.05),
    dict(optimizer="gd", lr=0.05, eps=0.2),
    dict(optimizer="sgd", lr=0.05, batch_size=9),
    dict(optimizer="adam", lr=3e-3),
    dict(optimizer="adam", lr=3e-3, batch_size=16, eps=1e-2),
])
def test_batch_equals_one_at_a_time_bit_for_bit(fmt, kw):
    batched = train_batch(NETS, X, Y, steps=25, seeds=SEEDS, fmt=fmt, record_every=4, **kw)
    for net, seed, res in zip(NETS, SEEDS, batched):
        _same(res, train(net, X, Y, steps=25, seed=seed, fmt=fmt, record_every=4, **kw))
    # the runs really differ (the comparison is not between copies of one run)
    assert len({r.loss_history.tobytes() for r in batched}) == len(NETS)


@pytest.mark.parametrize("fmt", [FLOAT32, BFLOAT16])
def test_a_run_does_not_depend_on_its_batch_companions(fmt):
    kw = dict(steps=15, lr=0.01, optimizer="adam", fmt=fmt, record_every=5)
    big = train_batch(NETS + NETS[:1], X, Y, seeds=SEEDS + [99], **kw)
    small = train_batch([NETS[2], NETS[0]], X, Y, seeds=[SEEDS[2], 99], **kw)
    _same(big[2], small[0])
    _same(big[4], small[1])


def test_depth_one_and_no_recording():
    nets = [random_network([1, 1], seed=s) for s in range(3)]
    res = train_batch(nets, X, Y, steps=5, lr=0.1, seeds=[0, 1, 2], record_every=0)
    for seed, (net, r) in enumerate(zip(nets, res)):
        _same(r, train(net, X, Y, steps=5, lr=0.1, seed=seed, record_every=0))
        assert r.bias_grad.shape == (0, 0)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(nets=[]), TypeError, "nets"),
    (dict(nets=NETS[0]), TypeError, "nets"),
    (dict(nets=[NETS[0], "net"]), TypeError, r"nets\[1\]"),
    (dict(nets=[NETS[0], random_network([1, 6, 5, 1], seed=0)]), ValueError, "share one shape"),
    (dict(seeds=[0, 1]), ValueError, "seeds"),
    (dict(seeds=range(2)), ValueError, "seeds must hold 4 seeds"),
    (dict(seeds=7), TypeError, "seeds must be a list, tuple or range"),
    (dict(seeds="0123"), TypeError, "seeds must be a list, tuple or range"),
    (dict(seeds=[0, 1, -1, 2]), ValueError, r"seeds\[2\]"),
    (dict(seeds=[0, 1, 2.5, 2]), TypeError, r"seeds\[2\]"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer"),
    (dict(fmt="float7"), ValueError, "fmt"),
])
def test_invalid_arguments(kw, exc, match):
    args = dict(nets=NETS, seeds=SEEDS, steps=2, lr=0.1) | kw
    with pytest.raises(exc, match=match):
        train_batch(x=X, y=Y, **args)


def test_seeds_may_be_a_range():
    """``seeds=range(B)`` is what a reader writes; it gives the runs of ``list(range(B))``."""
    kw = dict(steps=3, lr=0.1, record_every=0)
    a = train_batch(NETS, X, Y, seeds=range(len(NETS)), **kw)
    b = train_batch(NETS, X, Y, seeds=list(range(len(NETS))), **kw)
    assert [r.loss_history.tobytes() for r in a] == [r.loss_history.tobytes() for r in b]


def test_divergence_is_an_error_naming_the_run():
    nets = [random_network([1, 4, 4, 1], seed=s) for s in range(2)]
    with pytest.raises(FloatingPointError, match=r"loss of run \d \(of 2\).*step \d+.*smaller lr"):
        train_batch(nets, X, 100 * Y, steps=200, lr=50.0, seeds=[0, 1], record_every=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        train(nets[0], X, 100 * Y, steps=200, lr=50.0, record_every=0)
