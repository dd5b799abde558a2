"""The one propagation engine: float mode agrees with exact mode or refuses, at every scale.

Seeded property loops (no hypothesis): interval scales 1e-300 … 1e300, kinks a few ulps apart,
dyadic and random weights, dead neurons, width 1, touching zeros, deep sawtooths. The oracles are
``exact=True`` (rational arithmetic) and the independent reference propagation
``tests/reference_propagation.py``.
"""
from fractions import Fraction

import numpy as np
import pytest

import nnlib.pieces as pieces
from nnlib import ReLUNetwork
from nnlib.constructions import sawtooth
from nnlib.networks import random_network
from nnlib.pieces import (batched_states, breakpoints, count_activation_regions, count_pieces,
                          network_state, propagate_knots)
from reference_propagation import reference_propagation

REFUSAL = "float mode cannot certify"


def two_relus(t1, t2, c=(1.0, -2.0)):
    """ϱ(x − t1) − 2 ϱ(x − t2): breakpoints exactly t1 and t2 (3 pieces) when t1 ≠ t2."""
    return ReLUNetwork([(np.ones((2, 1)), -np.array([t1, t2])), (np.array([c]), np.zeros(1))])


def agree_or_refuse(net, interval, stats):
    """Float == exact (pieces, regions, breakpoints), or the documented ValueError."""
    exact = (count_pieces(net, interval, exact=True), count_activation_regions(net, interval, exact=True))
    try:
        got = (count_pieces(net, interval), count_activation_regions(net, interval))
        bps = breakpoints(net, interval)
    except ValueError as exc:
        assert REFUSAL in str(exc) and "exact=True" in str(exc)
        stats["refused"] += 1
        return
    assert got == exact, (net.layers, interval)
    want = breakpoints(net, interval, exact=True).astype(float)
    assert bps.shape == want.shape
    scale = 1.0 if interval is None else max(abs(float(interval[0])), abs(float(interval[1])))
    np.testing.assert_allclose(bps, want, rtol=1e-9, atol=1e-12 * scale)
    stats["ok"] += 1


@pytest.fixture
def no_fallback(monkeypatch):
    """Make float mode refuse instead of redoing the count exactly: exposes every uncertified decision."""
    monkeypatch.setattr(pieces, "EXACT_FALLBACK_WORK", 0)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e-20, 1.0, 1e6, 1e20, 1e150, 1e300])
def test_two_kinks_a_few_ulps_apart_at_every_scale(scale):
    """The review's counterexample: on (-1e6, 1e6) float said 2 pieces where exact says 3."""
    for ulps in (1, 2, 3, 10, 1000):
        t1 = 0.3 * scale
        t2 = t1
        for _ in range(ulps):
            t2 = np.nextafter(t2, np.inf)
        net = two_relus(t1, t2)
        for interval in [(-scale, scale), (0.0, 2 * t2), (t1 / 2, 3 * scale)]:
            assert count_pieces(net, interval) == 3 == count_pieces(net, interval, exact=True)
            bps = breakpoints(net, interval)
            assert bps.shape == (2,) and bps[0] < bps[1]
            np.testing.assert_allclose(bps, [t1, t2], rtol=1e-13, atol=0)
        assert count_pieces(net) == 3


def test_the_reviewed_million_example():
    net = two_relus(0.1, 0.1 + 2**-30)
    for interval in [(-1e6, 1e6), (-1e300, 1e300), None]:
        assert count_pieces(net, interval) == count_pieces(net, interval, exact=True) == 3


def _random_net(rng, dyadic, scale):
    depth = int(rng.integers(2, 5))
    widths = [1] + [int(rng.integers(1, 6)) for _ in range(depth - 1)] + [1]
    net = random_network(widths, seed=rng, bias_std=float(rng.choice([0.0, 0.3, 1.0])))
    layers = [(A.copy(), b.copy()) for A, b in net.layers]
    if dyadic:
        layers = [(np.round(A * 4) / 4, np.round(b * 4) / 4) for A, b in layers]
    if rng.random() < 0.25:                                   # a dead neuron
        A, b = layers[0]
        b[0] = -100.0 * max(1.0, float(np.abs(A[0]).max()))
    if rng.random() < 0.25:                                   # zero output weights
        layers[-1][0][:, : max(1, layers[-1][0].shape[1] // 2)] = 0.0
    A, b = layers[0]
    layers[0] = (A, b * scale)                                # kinks at the scale of the interval
    return ReLUNetwork(layers)


@pytest.mark.parametrize("scale", [1e-300, 1e-100, 1e-8, 1.0, 1e8, 1e100, 1e300])
def test_random_and_dyadic_networks_agree_or_refuse(scale):
    rng = np.random.default_rng(int(np.log10(scale)) + 400)
    stats = {"ok": 0, "refused": 0}
    for k in range(30):
        net = _random_net(rng, dyadic=bool(k % 2), scale=scale)
        lo = -float(rng.uniform(0.1, 3)) * scale
        agree_or_refuse(net, (lo, float(rng.uniform(0.1, 3)) * scale), stats)
    assert stats["refused"] == 0          # with the exact redo, small networks never refuse


@pytest.mark.parametrize("seed", range(4))
def test_uncertified_decisions_are_rare_on_random_data(seed, no_fallback):
    """With the exact redo switched off, float mode must still answer nearly always on random data."""
    rng = np.random.default_rng(seed)
    stats = {"ok": 0, "refused": 0}
    for _ in range(40):
        net = random_network([1, 8, 8, 8, 1], seed=rng)
        agree_or_refuse(net, (-float(rng.uniform(1, 3)), float(rng.uniform(1, 3))), stats)
    assert stats["ok"] >= 38, stats


def test_touching_zeros_and_coincident_kinks_non_dyadic(no_fallback):
    """Two neurons vanishing at one non-dyadic point (3x − 1, 6x − 2): exact says one kink.

    Float interpolation puts the two zeros an ulp apart on most intervals; an engine that trusts
    that (or merges by a tolerance) miscounts. Here float must agree or refuse — never differ.
    """
    stats = {"ok": 0, "refused": 0}
    rng = np.random.default_rng(7)
    for _ in range(40):
        a, b = -float(rng.uniform(0, 2)), float(rng.uniform(0.5, 2))
        c = float(rng.choice([1.0, -0.5, 0.7]))
        net = ReLUNetwork([(np.array([[3.0], [6.0]]), np.array([-1.0, -2.0])), (np.array([[c, 1.3]]), np.zeros(1))])
        agree_or_refuse(net, (a, b), stats)
        # a second layer whose neuron touches zero exactly at that kink
        deep = ReLUNetwork([net.layers[0], (np.array([[2.0, -1.0], [1.0, 1.0]]), np.zeros(2)),
                            (np.array([[1.0, -0.3]]), np.zeros(1))])
        agree_or_refuse(deep, (a, b), stats)
    assert stats["ok"] + stats["refused"] == 80


def test_dead_neurons_width_one_and_constant_pieces():
    stats = {"ok": 0, "refused": 0}
    rng = np.random.default_rng(11)
    for _ in range(25):
        L = int(rng.integers(2, 7))
        layers = [(rng.normal(size=(1, 1)), rng.normal(size=1)) for _ in range(L)]
        agree_or_refuse(ReLUNetwork(layers), (-3.0, 3.0), stats)
        agree_or_refuse(ReLUNetwork(layers), None, stats)
    dead = ReLUNetwork([(np.array([[0.01], [1.0]]), np.array([-100.0, 0.1])), (np.array([[5.0, 1.0]]), np.zeros(1))])
    assert count_pieces(dead, (-1, 1)) == 2 and count_activation_regions(dead, (-1, 1)) == 2
    assert stats["refused"] == 0


@pytest.mark.parametrize("L", [1, 2, 5, 10, 14])
def test_deep_sawtooth_is_certified_exact(L, no_fallback):
    """Dyadic data: float arithmetic is exact and certified so, even with the exact redo off."""
    net = sawtooth(L)
    assert count_pieces(net, (0, 1)) == 2**L
    assert count_pieces(net) == 2**L + 2
    assert count_activation_regions(net, (0.0, 1.0)) == count_activation_regions(net, (0.0, 1.0), exact=True) if L <= 5 else True
    bps = breakpoints(net, (0, 1))
    assert bps.tolist() == [k / 2**L for k in range(1, 2**L)]
    assert count_pieces(net, (-0.5, 1.5)) == 2**L + 2


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_the_reference_propagation(seed):
    rng = np.random.default_rng(seed + 100)
    widths = [1] + [int(rng.integers(1, 6)) for _ in range(int(rng.integers(1, 4)))] + [1]
    net = random_network(widths, seed=seed, bias_std=0.5)
    if seed % 3 == 0:
        net = ReLUNetwork([(np.round(A * 2) / 2, np.round(b * 4) / 4) for A, b in net.layers])
    a, b = -float(rng.uniform(0.5, 2)), float(rng.uniform(0.5, 2))
    ref = reference_propagation(net, a, b)
    for exact in (False, True):
        assert count_pieces(net, (a, b), exact=exact) == ref["pieces"]
        assert count_activation_regions(net, (a, b), exact=exact) == ref["regions"]
    assert breakpoints(net, (a, b), exact=True).tolist() == ref["breakpoints"]
    assert propagate_knots(net, (a, b), exact=True)[-1].x.tolist() == ref["knots"]


def test_reference_agrees_with_the_sawtooth_closed_form():
    ref = reference_propagation(sawtooth(4), 0, 1)
    assert ref["breakpoints"] == [Fraction(k, 16) for k in range(1, 16)]


def test_knots_stay_inside_their_segments_when_a_kink_is_an_ulp_from_the_end():
    """A kink 1–3 ulps inside the interval's end: ``x0 + t (x1 − x0)`` can round past ``x1``.

    The engine keeps every interpolated knot inside its segment, so knots stay sorted and inside
    the interval, and the count is the exact one.
    """
    rng = np.random.default_rng(3)
    for k in range(3000):
        a, b = -float(rng.uniform(0.1, 10)), float(rng.uniform(0.1, 10)) * 10.0 ** int(rng.integers(0, 7))
        c = b
        for _ in range(int(rng.integers(1, 4))):
            c = np.nextafter(c, -np.inf)
        w = float(rng.uniform(0.5, 3))
        net = ReLUNetwork([(np.array([[w], [1.0]]), np.array([-w * c, 0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))])
        try:
            rec = propagate_knots(net, (a, b))
        except ValueError:
            continue
        for r in rec:
            assert np.all(np.diff(r.x) >= 0) and r.x[0] == a and r.x[-1] == b, (a, b, c, w)
        if k % 100 == 0:
            assert count_pieces(net, (a, b)) == count_pieces(net, (a, b), exact=True)


def test_network_state_and_batches_equal_the_counters():
    nets = [random_network([1, 6, 6, 1], seed=s) for s in range(8)] + [sawtooth(3)]
    nets = [n for n in nets if n.widths == (1, 6, 6, 1)]
    layers = [(np.stack([n.layers[j][0] for n in nets]), np.stack([n.layers[j][1] for n in nets])) for j in range(3)]
    out = batched_states(layers, (-1.0, 1.0))
    for g, n in enumerate(nets):
        st = network_state(n, (-1.0, 1.0))
        assert out["pieces"][g] == st["pieces"] == count_pieces(n, (-1, 1), exact=True)
        assert out["regions"][g] == st["regions"] == count_activation_regions(n, (-1, 1), exact=True)
        np.testing.assert_array_equal(out["dead"][g], st["dead"])
        np.testing.assert_allclose(out["max_slope"][g], st["max_slope"])
    with pytest.raises(ValueError, match="a < b"):
        batched_states(layers, (1.0, -1.0))


def test_exact_flag_is_keyword_only_and_accepts_numpy_bools():
    net = sawtooth(2)
    assert count_pieces(net, (0, 1), exact=np.bool_(True)) == 4
    with pytest.raises(TypeError):
        count_pieces(net, (0, 1), True)


def test_refusal_names_the_decision_and_suggests_exact(no_fallback):
    net = ReLUNetwork([(np.array([[3.0], [6.0]]), np.array([-1.0, -2.0])), (np.array([[1.0, 1.3]]), np.zeros(1))])
    msgs = []
    for a in np.linspace(-1.9, -0.1, 30):
        try:
            count_pieces(net, (float(a), 1.7))
        except ValueError as exc:
            msgs.append(str(exc))
    assert msgs and all(REFUSAL in m and "use exact=True" in m for m in msgs)


@pytest.mark.parametrize("k", [-900, -40, 0, 20, 900])
def test_close_dyadic_kinks_are_kept_apart_without_refusal(k, no_fallback):
    """Dyadic kinks ``2^-30`` (relative) apart, on intervals up to ``2^20`` times wider.

    The arithmetic is exact and certified so: no refusal, no redo, and never a merge. A merge
    tolerance relative to the interval (the old ``KNOT_RTOL = 2^-40``, let alone ``2^-20``)
    counts 2 pieces here.
    """
    t1 = 0.5 * 2.0**k
    for gap in (2.0 ** (k - 30), 3 * 2.0 ** (k - 30), 2.0 ** (k - 21)):
        t2 = t1 + gap
        net = two_relus(t1, t2)
        for interval in [(-2.0**(k + 20), 2.0**(k + 20)), (0.0, 2.0 ** (k + 1)), None]:
            assert count_pieces(net, interval) == 3
            assert count_activation_regions(net, interval) == 3
            assert breakpoints(net, interval).tolist() == [t1, t2]
