"""The one knot-propagation engine (``nnlib.pieces``): float mode agrees with exact mode or refuses.

Seeded property loops (no hypothesis): interval scales 1e-300 … 1e300, kinks a few ulps apart,
dyadic and random weights, dead neurons, width 1, coincident non-dyadic kinks, deep sawtooths, the
batched propagation used for recording training. Oracles: ``exact=True`` (rational arithmetic) and
the independent reference propagation below (plain lists of ``Fraction``, nothing from nnlib).
"""
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

import nnlib._dyadic as _dyadic
import nnlib.pieces as pieces
from nnlib import ReLUNetwork
from nnlib.constructions import sawtooth
from nnlib.networks import random_network
from nnlib.pieces import (batched_states, breakpoints, count_activation_regions, count_pieces,
                          network_state, propagate_knots)

REFUSAL = "float mode cannot certify"


# ----------------------------------------------------------------------------- reference
def reference_propagation(net, a, b):
    """Knots, breakpoints, pieces and activation regions of a univariate ``net`` on ``[a, b]``.

    Chapter 1's algorithm in its own words, in exact arithmetic, with no vectorisation. Layer by
    layer: evaluate the pre-activations at the knots; wherever one changes sign strictly inside a
    segment, insert a knot at the zero of that affine segment; record the on/off pattern of every
    segment; apply the ReLU. At the end a knot is a breakpoint iff the slope changes there.
    """
    layers = [([[Fraction(float(w)) for w in row] for row in A], [Fraction(float(c)) for c in bias])
              for A, bias in net.layers]
    knots = [Fraction(a), Fraction(b)]
    inputs = [[knots[0]], [knots[1]]]          # layer input at each knot
    patterns = [()]                            # on/off pattern of each segment (knots[k], knots[k+1])
    for j, (A, bias) in enumerate(layers):
        z = [[sum((w * v for w, v in zip(row, h)), Fraction(0)) + c for row, c in zip(A, bias)]
             for h in inputs]
        if j == len(layers) - 1:
            break
        new_knots, new_z, new_patterns = [knots[0]], [z[0]], []
        for k in range(len(knots) - 1):
            x0, x1, z0, z1 = knots[k], knots[k + 1], z[k], z[k + 1]
            zeros = sorted({x0 + (x1 - x0) * p / (p - q) for p, q in zip(z0, z1) if p * q < 0})
            left_z = z0
            for x in zeros + [x1]:
                t = (x - x0) / (x1 - x0)
                zx = [p + t * (q - p) for p, q in zip(z0, z1)]       # affine on the segment
                on = tuple(u + v > 0 for u, v in zip(left_z, zx))    # no sign change inside
                new_patterns.append(patterns[k] + on)
                new_knots.append(x)
                new_z.append(zx)
                left_z = zx
        knots, patterns = new_knots, new_patterns
        inputs = [[max(v, Fraction(0)) for v in row] for row in new_z]
    out = [row[0] for row in z]
    slopes = [(out[k + 1] - out[k]) / (knots[k + 1] - knots[k]) for k in range(len(knots) - 1)]
    bps = [knots[k] for k in range(1, len(knots) - 1) if slopes[k - 1] != slopes[k]]
    region_edges = sum(patterns[k - 1] != patterns[k] for k in range(1, len(knots) - 1))
    return {"knots": knots, "breakpoints": bps, "pieces": len(bps) + 1, "regions": region_edges + 1}


# ----------------------------------------------------------------------------- helpers
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
def no_exact(monkeypatch):
    """Float mode refuses instead of deciding exactly: exposes every decision it does not make in float."""
    monkeypatch.setattr(pieces, "EXACT_WORK", 0)


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


# ----------------------------------------------------------------------------- exact or refuse
@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e-20, 1.0, 1e6, 1e20, 1e150, 1e300])
def test_two_kinks_a_few_ulps_apart_at_every_scale(scale):
    """The review's counterexample generalised: float used to merge these (2 pieces, exact: 3)."""
    for ulps in (1, 2, 3, 10, 1000):
        t1 = 0.3 * scale
        t2 = t1
        for _ in range(ulps):
            t2 = np.nextafter(t2, np.inf)
        net = two_relus(t1, t2)
        for interval in [(-scale, scale), (0.0, 2 * t2), (t1 / 2, 3 * scale)]:
            assert count_pieces(net, interval) == 3 == count_pieces(net, interval, exact=True)
            assert count_activation_regions(net, interval) == 3
            bps = breakpoints(net, interval)
            assert bps.tolist() == [t1, t2]
        assert count_pieces(net) == 3


def test_the_reviewed_million_example():
    """Issue 10: on (-1e6, 1e6) a two-ReLU network got 2 pieces in float mode, 3 in exact mode."""
    net = two_relus(0.1, 0.1 + 2**-30)
    for interval in [(-1e6, 1e6), (-1e300, 1e300), None, (-1.0, 1.0)]:
        assert count_pieces(net, interval) == count_pieces(net, interval, exact=True) == 3
        assert count_activation_regions(net, interval) == 3


@pytest.mark.parametrize("scale", [1e-300, 1e-100, 1e-8, 1.0, 1e8, 1e100, 1e300])
def test_random_and_dyadic_networks_agree_or_refuse(scale):
    rng = np.random.default_rng(int(np.log10(scale)) + 400)
    stats = {"ok": 0, "refused": 0}
    for k in range(30):
        net = _random_net(rng, dyadic=bool(k % 2), scale=scale)
        lo = -float(rng.uniform(0.1, 3)) * scale
        agree_or_refuse(net, (lo, float(rng.uniform(0.1, 3)) * scale), stats)
    assert stats["refused"] == 0          # small networks: the exact decisions always fit the budget


@pytest.mark.parametrize("seed", range(3))
def test_exact_decisions_are_rare_on_random_data(seed, no_exact):
    """With the exact decisions switched off, float mode still answers (correctly) nearly always."""
    rng = np.random.default_rng(seed)
    stats = {"ok": 0, "refused": 0}
    for _ in range(30):
        net = random_network([1, 8, 8, 8, 1], seed=rng)
        agree_or_refuse(net, (-float(rng.uniform(1, 3)), float(rng.uniform(1, 3))), stats)
    assert stats["ok"] >= 29, stats


def test_coincident_non_dyadic_kinks(no_exact):
    """Two neurons vanishing at one non-dyadic point (3x − 1, 15x − 5): exact says one kink.

    Float interpolation puts the two zeros on one float position on some intervals (merged by the
    first layer's rational test ``b_i a_j == b_j a_i``, no exact work) and an ulp apart on others;
    an engine that trusts the gap counts an extra piece and region. Without exact decisions float
    must then refuse — never differ.
    """
    stats = {"ok": 0, "refused": 0}
    rng = np.random.default_rng(7)
    for _ in range(40):
        a, b = -float(rng.uniform(0, 2)), float(rng.uniform(0.5, 2))
        net = ReLUNetwork([(np.array([[3.0], [15.0]]), np.array([-1.0, -5.0])), (np.array([[1.0, 1.3]]), np.zeros(1))])
        agree_or_refuse(net, (a, b), stats)
    assert stats["refused"] > 0 and stats["ok"] > 0   # both kinds of interval occur


def test_coincident_non_dyadic_kinks_are_decided_exactly():
    """The same networks with the exact decisions on: always the exact answer, never a refusal."""
    stats = {"ok": 0, "refused": 0}
    rng = np.random.default_rng(7)
    for _ in range(40):
        a, b = -float(rng.uniform(0, 2)), float(rng.uniform(0.5, 2))
        c = float(rng.choice([1.0, -0.5, 0.7]))
        net = ReLUNetwork([(np.array([[3.0], [6.0]]), np.array([-1.0, -2.0])), (np.array([[c, 1.3]]), np.zeros(1))])
        agree_or_refuse(net, (a, b), stats)
        # a second layer whose neurons touch zero exactly at that kink
        deep = ReLUNetwork([net.layers[0], (np.array([[2.0, -1.0], [1.0, 1.0]]), np.zeros(2)),
                            (np.array([[1.0, -0.3]]), np.zeros(1))])
        agree_or_refuse(deep, (a, b), stats)
        agree_or_refuse(deep, None, stats)
    assert stats == {"ok": 120, "refused": 0}


@pytest.mark.parametrize("k", [-900, -40, 0, 20, 900])
def test_close_dyadic_kinks_are_kept_apart_without_exact_work(k, no_exact):
    """Kinks ``2^-30`` (relative) apart on intervals up to ``2^5`` times wider: float decides alone.

    ``KNOT_RTOL = 2^-40`` of the largest |knot| leaves these to float arithmetic (exactly right
    here); a looser margin (``2^-20``) would send them to the exact decision, which is off here.
    """
    t1 = 0.5 * 2.0**k
    for gap in (2.0 ** (k - 30), 3 * 2.0 ** (k - 30), 2.0 ** (k - 21)):
        t2 = t1 + gap
        net = two_relus(t1, t2)
        for interval in [(-2.0**(k + 5), 2.0**(k + 5)), (0.0, 2.0 ** (k + 1))]:
            assert count_pieces(net, interval) == 3
            assert count_activation_regions(net, interval) == 3
            assert breakpoints(net, interval).tolist() == [t1, t2]


@pytest.mark.parametrize("k", [-600, -40, 0, 20, 600])
def test_close_non_dyadic_kinks_are_kept_apart_by_float_alone(k, no_exact):
    """As above with weights 0.7 (not dyadic: no exactness certificate, float margins decide).

    Kinks ``2^-30`` (relative) apart are far outside ``KNOT_RTOL = 2^-40`` of the largest |knot|,
    so float arithmetic decides them (correctly); with a looser margin such as ``2^-20`` they would
    go to the exact decision, which is switched off here (a refusal).
    """
    t1 = 0.5 * 2.0**k
    for gap in (2.0 ** (k - 30), 3 * 2.0 ** (k - 30), 2.0 ** (k - 21)):
        t2 = t1 + gap
        net = ReLUNetwork([(np.full((2, 1), 0.7), -0.7 * np.array([t1, t2])), (np.array([[1.0, -2.0]]), np.zeros(1))])
        for interval in [(-2.0**(k + 5), 2.0**(k + 5)), (0.0, 2.0 ** (k + 1))]:
            assert count_pieces(net, interval) == 3
            assert count_activation_regions(net, interval) == 3
            np.testing.assert_allclose(breakpoints(net, interval), [t1, t2], rtol=1e-14, atol=0)


def test_refusal_names_the_budget_and_suggests_exact(no_exact):
    net = two_relus(0.1, 0.1 + 2**-40)
    with pytest.raises(ValueError, match=REFUSAL) as info:
        count_pieces(net, (-1e6, 1e6))
    assert "exact=True" in str(info.value) and "EXACT_WORK" in str(info.value)
    assert count_pieces(net, (-1e6, 1e6), exact=True) == 3


def test_cancelled_kink_close_slopes_are_decided_exactly():
    """ϱ(x) − ϱ(−x) + ε ϱ(x − 1/3): slopes differ by ε at 1/3 (a kink) and not at all at 0."""
    for eps in (1e-12, 2.0**-45, 1e-15):
        net = ReLUNetwork([(np.array([[1.0], [-1.0], [1.0]]), np.array([0.0, 0.0, -1 / 3])),
                           (np.array([[1.0, -1.0, eps]]), np.zeros(1))])
        for interval in [(-1.0, 1.0), None]:
            assert count_pieces(net, interval) == count_pieces(net, interval, exact=True) == 2
            (bp,) = breakpoints(net, interval).tolist()           # the float knot, a few ulps from 1/3
            assert abs(Fraction(bp) - Fraction(1, 3)) <= 4 * 2.0**-54


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
    assert network_state(dead, (-1, 1))["dead"].tolist() == [1]
    assert stats["refused"] == 0


@pytest.mark.parametrize("k", [1, 2, 5, 10, 14])
def test_deep_sawtooth_needs_no_exact_work(k, no_exact):
    """Dyadic data: float arithmetic is exact; no decision is left to the exact re-run."""
    net = sawtooth(k)
    assert count_pieces(net, (0, 1)) == 2**k
    assert count_pieces(net) == 2**k + 2
    bps = breakpoints(net, (0, 1))
    assert bps.tolist() == [i / 2**k for i in range(1, 2**k)]
    assert count_pieces(net, (-0.5, 1.5)) == 2**k + 2


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
    np.testing.assert_allclose(breakpoints(net, (a, b)), np.array(ref["breakpoints"], dtype=float), rtol=1e-12, atol=1e-12)
    assert propagate_knots(net, (a, b), exact=True)[-1].x.tolist() == ref["knots"]


def test_reference_agrees_with_the_sawtooth_closed_form():
    ref = reference_propagation(sawtooth(4), 0, 1)
    assert ref["breakpoints"] == [Fraction(i, 16) for i in range(1, 16)]
    assert ref["pieces"] == 16


def test_knots_stay_sorted_inside_the_interval_when_a_kink_is_an_ulp_from_the_end():
    """A kink 1–3 ulps inside the interval's end, where ``x0 + t (x1 − x0)`` can round past ``x1``."""
    rng = np.random.default_rng(3)
    for k in range(400):
        a, b = -float(rng.uniform(0.1, 10)), float(rng.uniform(0.1, 10)) * 10.0 ** int(rng.integers(0, 7))
        c = b
        for _ in range(int(rng.integers(1, 4))):
            c = np.nextafter(c, -np.inf)
        w = float(rng.uniform(0.5, 3))
        net = ReLUNetwork([(np.array([[w], [1.0]]), np.array([-w * c, 0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))])
        for r in propagate_knots(net, (a, b)):
            assert np.all(np.diff(r.x) >= 0) and r.x[0] == a and r.x[-1] == b, (a, b, c, w)
        if k % 20 == 0:
            assert count_pieces(net, (a, b)) == count_pieces(net, (a, b), exact=True)


# ----------------------------------------------------------------------------- one engine, batched
def _stack(nets):
    return [(np.stack([n.layers[j][0] for n in nets]), np.stack([n.layers[j][1] for n in nets]))
            for j in range(len(nets[0].layers))]


@pytest.mark.parametrize("rounded", [False, True])
def test_batched_states_equal_exact_counts_and_single_states(rounded):
    """Many networks at once (float16-rounded ones have ties: uncertain, re-run on their own)."""
    nets = [random_network([1, 6, 6, 1], seed=s, bias_std=0.5) for s in range(12)]
    if rounded:
        nets = [ReLUNetwork([(A.astype(np.float16).astype(float), b.astype(np.float16).astype(float))
                             for A, b in n.layers]) for n in nets]
    out = batched_states(_stack(nets), (-1.0, 1.0))
    for g, n in enumerate(nets):
        st = network_state(n, (-1.0, 1.0))
        assert out["pieces"][g] == st["pieces"] == count_pieces(n, (-1, 1), exact=True)
        assert out["regions"][g] == st["regions"] == count_activation_regions(n, (-1, 1), exact=True)
        np.testing.assert_array_equal(out["dead"][g], st["dead"])
        np.testing.assert_allclose(out["max_slope"][g], st["max_slope"], rtol=1e-12)
        # max |dz/dx| of each layer against the exact propagation's slopes
        rec = propagate_knots(n, (-1, 1), exact=True)
        want = [float(max(abs(v) for v in r.slope[1:r.x.shape[0]].ravel())) for r in rec]
        np.testing.assert_allclose(st["max_slope"], want, rtol=1e-12)


def test_zero_biases_are_merged_exactly_without_a_rerun(monkeypatch):
    """Zero biases put every first-layer kink at x = 0: one knot, decided in the batch itself
    (``b_i a_j == b_j a_i``), not by re-running each network with exact windows."""
    rng = np.random.default_rng(0)
    nets = [ReLUNetwork([(rng.standard_normal((o, i)), np.zeros(o)) for i, o in zip([1, 8, 8, 8], [8, 8, 8, 1])])
            for _ in range(32)]
    reruns = []
    monkeypatch.setattr(pieces, "_state_one", lambda *a: reruns.append(a) or pytest.fail("re-run"))
    out = batched_states(_stack(nets), (-1.0, 1.0))
    assert not reruns
    for g, n in enumerate(nets):
        assert out["pieces"][g] == count_pieces(n, (-1, 1), exact=True)
        assert out["regions"][g] == count_activation_regions(n, (-1, 1), exact=True)
        assert count_pieces(n, (-1, 1)) == out["pieces"][g]


@pytest.mark.parametrize("a, c, a2, c2", [
    (2.2913756864508983, 0.9009273926518706, 1.6411735905563687, 0.6452797123457398),
    (1.591410082036699, -0.1533471020548487, 2.771526420119016, -0.2670622422158937),
    (1.6540610077468225, 0.5768574068568086, 1.5792846211960574, 0.550778977924761),
    (0.9691459403650766, -0.19377402710574154, 0.7803397010034733, -0.1560235255352488),
    # here even the rounded products agree, fl(c a2) == fl(c2 a): only their rounding errors differ
    (3.3175102331088304, 0.8172773769139461, 2.303639463647497, 0.5675076445630104),
    (1.9296562189699953, -0.7019700400048575, 0.6706519875450883, -0.243969675996304),
    (3.99711640272775, 0.48722966015792046, 1.3207857058443837, 0.16099755567809762),
])
def test_equal_float_knots_of_different_exact_kinks_stay_two(a, c, a2, c2):
    """Kinks ``-c/a`` and ``-c2/a2`` a rounding apart land on one float position; they are two
    kinks (3 pieces). A zero neuron (a = b = 0, zero everywhere) listed first must not vouch for
    their coincidence."""
    assert Fraction(c) * Fraction(a2) != Fraction(c2) * Fraction(a)
    net = ReLUNetwork([(np.array([[0.0], [a], [a2]]), np.array([0.0, c, c2])),
                       (np.array([[1.0, 1.0, -2.0]]), np.zeros(1))])
    assert count_pieces(net, (-1, 1), exact=True) == 3
    assert count_pieces(net, (-1, 1)) == 3
    assert count_activation_regions(net, (-1, 1)) == count_activation_regions(net, (-1, 1), exact=True)
    out = batched_states(_stack([net, net]), (-1.0, 1.0))
    assert out["pieces"].tolist() == [3, 3]


def test_two_product_is_exact_where_it_claims_to_be():
    """``p + e == a c`` exactly (Fraction oracle) wherever ``_in_range`` accepts the inputs, at
    magnitudes from 2^-400 to 2^400; beyond that range it is refused, never trusted."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(4000) * np.exp2(rng.integers(-420, 420, 4000))
    c = rng.standard_normal(4000) * np.exp2(rng.integers(-420, 420, 4000))
    p, e = pieces._two_product(a, c)
    ok = pieces._in_range(a[:, None], c[:, None])
    assert 0.9 < ok.mean() < 1.0                           # both kinds occur
    for ai, ci, pi, ei in zip(a[ok], c[ok], p[ok], e[ok]):
        assert Fraction(pi) + Fraction(ei) == Fraction(ai) * Fraction(ci)
    assert not pieces._in_range(np.array([[2.0**401, 1.0]]))[0] and pieces._in_range(np.array([[0.0, 2.0**-400]]))[0]


def test_a_large_batch_keeps_each_networks_knots_in_order(monkeypatch):
    """More than ``_SMALL`` new knots in one layer (600 networks × up to 8 kinks) take the grouped
    sort: it must order knots within their segment, not across the batch's networks (which would
    mark every network unsure and re-run it alone). No re-run, and every count is the exact one."""
    rng = np.random.default_rng(1)
    nets = [random_network([1, 8, 8, 1], seed=rng) for _ in range(600)]
    monkeypatch.setattr(pieces, "_state_one", lambda *a: pytest.fail("a network was re-run on its own"))
    out = batched_states(_stack(nets), (-1.0, 1.0))
    for g in range(0, 600, 37):
        assert out["pieces"][g] == count_pieces(nets[g], (-1, 1), exact=True)
        assert out["regions"][g] == count_activation_regions(nets[g], (-1, 1), exact=True)


def test_batched_states_validates_its_arguments():
    layers = _stack([random_network([1, 3, 1], seed=s) for s in range(2)])
    with pytest.raises(ValueError, match="a < b"):
        batched_states(layers, (1.0, -1.0))
    with pytest.raises(ValueError, match="interval"):
        batched_states(layers, None)
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        batched_states([layers[0], (layers[1][0][:1], layers[1][1][:1])], (0.0, 1.0))
    with pytest.raises(TypeError, match="layers"):
        batched_states("layers", (0.0, 1.0))


def test_exact_flag_accepts_numpy_bools():
    net = sawtooth(2)
    assert count_pieces(net, (0, 1), exact=np.bool_(True)) == 4
    with pytest.raises(TypeError, match="exact"):
        count_pieces(net, (0, 1), exact="yes")


def _oracle_quantum(v) -> int:
    """Smallest q with v 2^q an integer, in rational arithmetic (the certificate's 'quantum')."""
    f = Fraction(float(v))
    if f == 0:
        return _dyadic.NOQ
    q = 0
    while (f * 2**q).denominator != 1:
        q += 1
    while (f * Fraction(2) ** (q - 1)).denominator == 1:
        q -= 1
    return q


def test_quanta_of_floats_match_rational_arithmetic():
    """The certificate's quanta (array, elementwise and the one-float path) against a Fraction
    oracle, from 2^-1074 to 2^1023, with zeros and negatives."""
    rng = np.random.default_rng(5)
    v = rng.integers(-2**20, 2**20, 300) * np.exp2(rng.integers(-1000, 1000, 300).astype(float))
    v = np.concatenate([v, [0.0, 5e-324, -5e-324, 2.0**1023, 0.75, -3.0, 1e300, 1 / 3]])
    want = [_oracle_quantum(x) for x in v]
    assert _dyadic.quanta(v).tolist() == want
    assert [_dyadic.quantum_of(float(x)) for x in v] == want
    assert _dyadic.quantum(v) == max(want)
    assert _dyadic.quantum(np.zeros(3)) == _dyadic.NOQ


def test_rooms_are_bound_times_two_to_the_q_and_fit_below_two_to_52():
    """``_rooms`` against the definition in rational arithmetic (row by row, exactly at the
    boundary too) and against ``_fits``; inf, nan and a quantum beyond 1074 never fit."""
    rng = np.random.default_rng(6)
    bounds = np.concatenate([rng.random(200) * np.exp2(rng.integers(-60, 80, 200).astype(float)),
                             [0.0, 2.0**52, np.nextafter(2.0**52, 0), 2.0**40]])
    qs = np.concatenate([rng.integers(-40, 60, 200), [_dyadic.NOQ, 0, 0, 12]])
    for bd, q in zip(bounds, qs):
        want = Fraction(float(bd)) * Fraction(2) ** int(q) < 2**52
        assert (_dyadic.rooms(np.array([[bd]]), np.array([[q]]))[0][0] < 2**52) == want == _dyadic.fits(float(bd), int(q))
    rooms, qmax = _dyadic.rooms(np.stack([bounds, bounds[::-1]]), np.stack([qs, qs[::-1]]))
    want = max(float(Fraction(float(b)) * Fraction(2) ** int(q)) for b, q in zip(bounds, qs))
    assert rooms == [want, want] and qmax == [int(qs.max())] * 2
    for bad in (np.inf, np.nan):
        assert not _dyadic.rooms(np.array([[1.0, bad]]), np.array([[0, 0]]))[0][0] < 2**52
    assert _dyadic.rooms(np.array([[0.0, 1.0]]), np.array([[1075, 0]]))[0] == [math.inf]


def test_weight_data_cache_is_by_content_and_read_only():
    """The certificate's per-layer weight data is cached by content: equal weights share it, any
    changed entry gets its own, and the shared arrays cannot be written."""
    A = np.array([[2.0, -4.0, 2.0]] * 3)
    b = np.array([0.0, -0.5, -1.0])
    w1 = _dyadic.cached_weight_data(A, b)
    assert w1 is _dyadic.cached_weight_data(A.copy(), b.copy())
    A2 = A.copy()
    A2[2, 2] = 2.25
    w2 = _dyadic.cached_weight_data(A2, b)
    assert w2 is not w1 and w2[0][2, 2] == 2 and w1[0][2, 2] == -1     # quanta of 2.25 and 2
    b2 = b.copy()
    b2[0] = 0.125
    assert _dyadic.cached_weight_data(A, b2)[1][0, 0] == 3 and w1[1][0, 0] == _dyadic.NOQ  # a changed bias
    assert _dyadic.cached_weight_data(A + 0.1, b) is None                           # not few-bit weights
    with pytest.raises(ValueError):
        w1[2][0, 0] = 1.0


def test_certificate_knot_test_is_the_fits_test_of_the_segment_differences():
    """``Certificate.knots`` keeps the certificate iff ``|z0 - z1| <= 2 zb`` fits at quanta ``qz + qt``
    (with ``t`` a multiple of ``2^-qt``): checked against :func:`_fits` on the doubled bounds
    over random states, on both sides of the boundary."""
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(400):
        cert = _dyadic.Certificate(np.array([0.0, 1.0]))
        cert._start()
        qZ = rng.integers(-5, 30, 3)
        Zb = rng.random(3) * np.exp2(rng.integers(0, 40, 3).astype(float))
        (cert.zroom,), (cert.zqmax,) = _dyadic.rooms(Zb[None], qZ[None])
        qt = int(rng.integers(1, 12))
        t = np.full(5, 1.0 - 2.0**-qt)                   # quantum qt
        want = all(_dyadic.fits(float(2 * z), int(q + qt)) for z, q in zip(Zb, qZ))
        assert cert.knots(t) == want
        seen.add(want)
    assert seen == {True, False}


def test_a_slope_bound_is_not_carried_over_a_certified_layer():
    """Float mode bounds the slopes of a layer by the previous layer's bound times max|A| N and
    measures them only when that bound nears overflow. A certified layer (here 2^40 x on a tiny
    interval) keeps no such bound, so the next layer (2^1000, not certifiable) must measure: its
    slopes, 2^1040, overflow there and are refused at layer 2 (not later, after an inf)."""
    net = ReLUNetwork([(np.array([[2.0**40]]), np.zeros(1)), (np.array([[2.0**1000]]), np.zeros(1)),
                       (np.ones((1, 1)), np.zeros(1))])
    with pytest.raises(ValueError, match="layer 2 has slopes of more than 1e308"):
        count_pieces(net, (0.0, 2.0**-100))
    assert count_pieces(net, (0.0, 2.0**-100), exact=True) == 1


def test_batched_products_are_each_networks_own_product_bit_for_bit():
    """``_batch_matmul`` stacks the networks with equal knot counts into one ``np.matmul``; every
    network's rows must still be exactly its own product ``H_g A_gᵀ`` (and ``D_g A_gᵀ`` one row
    down), whatever the other networks in the batch: the oracle is one 2-D product per network."""
    rng = np.random.default_rng(8)
    for B, n, m, counts in [(40, 8, 8, rng.integers(2, 9, 40)), (7, 3, 5, [1, 4, 4, 2, 4, 9, 1]),
                            (30, 16, 4, rng.integers(2, 40, 30))]:
        gid = np.repeat(np.arange(B), counts)
        K = gid.shape[0]
        H, D, A = rng.standard_normal((K, m)), rng.standard_normal((K + 1, m)), rng.standard_normal((B, n, m))
        Z, DZ = pieces._batch_matmul(H, D, A, gid)
        start = 0
        for g, c in enumerate(counts):
            assert np.array_equal(Z[start:start + c], H[start:start + c] @ A[g].T)
            assert np.array_equal(DZ[start + 1:start + c + 1], D[start + 1:start + c + 1] @ A[g].T)
            start += c
        assert np.array_equal(DZ[0], D[0] @ A[0].T)


@pytest.mark.parametrize("c", [2.0**-60, 1e-17, 3e-17, -1e-17, 1e-13, 0.0])
def test_slopes_equal_in_float_but_not_exactly(c):
    """f(x) = ϱ(x) + c ϱ(x − 1/2): for |c| below half an ulp of 1 the two slopes 1 and 1 + c are one
    float, yet f has a breakpoint at 1/2 (c = 0: none). Every path agrees with exact arithmetic."""
    net = ReLUNetwork([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])), (np.array([[1.0, c]]), np.zeros(1))])
    for interval in [(0.0, 1.0), (-1.0, 2.0), None]:
        want = count_pieces(net, interval, exact=True)
        assert want == (1 if interval == (0.0, 1.0) else 2) + (c != 0)
        assert count_pieces(net, interval) == want
        assert len(breakpoints(net, interval)) == want - 1
    assert network_state(net, (0.0, 1.0))["pieces"] == 1 + (c != 0)
    assert batched_states(_stack([net, net]), (0.0, 1.0))["pieces"].tolist() == [1 + (c != 0)] * 2


@pytest.mark.parametrize("seed", range(6))
def test_a_kink_below_rounding_is_found_in_random_networks(seed):
    """Random networks plus a neuron whose output weight is 10⁻¹⁷ of the others: float slopes on
    both sides of its kink round to one number; float mode must still count it (or refuse)."""
    rng = np.random.default_rng(seed)
    base = random_network([1, 6, 6, 1], seed=rng, bias_std=0.5)
    (A1, b1), (A2, b2), (A3, b3) = base.layers
    A1 = np.vstack([A1, [[1.0]]]); b1 = np.append(b1, -0.3)              # a new kink at x = 0.3
    A2 = np.hstack([A2, np.zeros((6, 1))])
    A2 = np.vstack([A2, np.eye(1, 7, 6)]); b2 = np.append(b2, 0.0)          # passed on unchanged
    A3 = np.hstack([A3, [[1e-17 * float(np.abs(A3).max())]]])
    net = ReLUNetwork([(A1, b1), (A2, b2), (A3, b3)])
    for interval in [(-1.0, 1.0), None]:
        assert count_pieces(net, interval) == count_pieces(net, interval, exact=True)
    out = batched_states(_stack([net, net]), (-1.0, 1.0))
    assert out["pieces"].tolist() == [count_pieces(net, (-1, 1), exact=True)] * 2


def _fraction_slope_at(net, p):
    """Oracle: the slope of the piece containing p by a Fraction forward pass (None on a kink)."""
    h, d = [Fraction(p)], [Fraction(1)]
    for j, (A, b) in enumerate(net.layers):
        z = [sum(Fraction(float(a)) * v for a, v in zip(row, h)) + Fraction(float(bb)) for row, bb in zip(A, b)]
        dz = [sum(Fraction(float(a)) * v for a, v in zip(row, d)) for row in A]
        if j == len(net.layers) - 1:
            return dz[0]
        if any(v == 0 for v in z):
            return None
        h = [v if v > 0 else Fraction(0) for v in z]
        d = [s if v > 0 else Fraction(0) for v, s in zip(z, dz)]


@pytest.mark.parametrize("scale", [1e-150, 1.0, 1e150])
def test_exact_slope_at_a_point_matches_fractions(scale):
    """The integer (dyadic) slope at a point against a Fraction forward pass, at extreme scales."""
    rng = np.random.default_rng(9)
    for _ in range(20):
        net = random_network([1, 4, 5, 1], seed=rng, bias_std=0.5)
        net = ReLUNetwork([(A * scale, b * scale) for A, b in net.layers[:1]] + list(net.layers[1:]))
        ints = [(_dyadic.dyadic_ints(A), _dyadic.dyadic_ints(b)) for A, b in net.layers]
        for p in rng.standard_normal(5):
            got, want = _dyadic.exact_slope_at(ints, float(p)), _fraction_slope_at(net, float(p))
            assert (got is None) == (want is None)
            if want is not None:
                assert Fraction(got[0], 2**got[1]) == want


def test_dyadic_integers_are_exact_at_every_scale():
    """``a == I 2^-q`` exactly (Fraction oracle), on the fast path (``a 2^q`` a float integer) and
    on the integer-shift path (a range from 2^-1074 to 1e300 needs more than 2^1023)."""
    rng = np.random.default_rng(10)
    for a in (rng.standard_normal(50), np.array([1e300, -1e-300, 5e-324, 0.0, 3.0, -0.375]),
              rng.standard_normal(30) * np.exp2(rng.integers(-1000, 1000, 30).astype(float))):
        I, q = _dyadic.dyadic_ints(a)
        assert q >= 0 and all(isinstance(v, int) for v in I)
        assert [Fraction(int(v), 2**q) for v in I] == [Fraction(float(v)) for v in a]


@pytest.mark.parametrize("k", [-1000, -600, -300, -100, 100, 300, 600])
def test_weights_at_extreme_scales_agree_or_refuse(k):
    """Weights of one or two layers scaled by 2^k (products underflow below 2^-1074 or overflow
    beyond 2^1024): float mode gives the exact count or refuses with a ValueError naming exact=True;
    never a different number. (Before the range guard, 1e-170 weights gave 1 piece for 3.)"""
    rng = np.random.default_rng(k % 97)
    seen = {"agree": 0, "refused": 0}
    for trial in range(12):
        net = _random_net(rng, dyadic=bool(trial % 2), scale=1.0)
        layers = [(A.copy(), b.copy()) for A, b in net.layers]
        for j in rng.choice(len(layers), size=min(2, len(layers)), replace=False):
            A, b = layers[j]
            layers[j] = (A * 2.0**k, b * 2.0**k)
        net = ReLUNetwork(layers)
        for interval in [(-1.0, 1.0), None, (-1e-300, 1e-300)]:
            want = (count_pieces(net, interval, exact=True), count_activation_regions(net, interval, exact=True))
            with warnings.catch_warnings():
                warnings.simplefilter("error")                         # no overflow warnings either
                try:
                    got = (count_pieces(net, interval), count_activation_regions(net, interval))
                except ValueError as err:
                    assert "exact=True" in str(err)
                    seen["refused"] += 1
                    continue
            assert got == want, (k, trial, interval)
            seen["agree"] += 1
    assert seen["agree"] > 0


@pytest.mark.parametrize("s", [1e-200, 1e-170, 2.0**-600, 2.0**-540, 1e150, 1e200, 2.0**600])
def test_tiny_and_huge_weights_never_give_a_wrong_count(s):
    """x ↦ s ϱ(s ϱ(x) − 3 s ϱ(x − ½)): its slopes are s² (below the smallest float for s < 1e-162,
    beyond the largest for s > 1e154) and the kink of the second layer lies at 3/4. Float mode
    once gave 1 piece for 3 (tiny s: the slopes underflowed to equal zeros) and 2 for 3 (huge s:
    they overflowed); now it counts exactly or refuses, without an overflow warning."""
    net = ReLUNetwork([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
                       (np.array([[s, -3 * s]]), np.zeros(1)), (np.array([[s]]), np.zeros(1))])
    for interval in [(0.0, 1.0), None, (-1e300, 1e300), (-1.0, 2.0)]:
        want = (count_pieces(net, interval, exact=True), count_activation_regions(net, interval, exact=True))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                got = (count_pieces(net, interval), count_activation_regions(net, interval))
            except ValueError as err:
                assert "exact=True" in str(err) and (s > 1 or interval is None)
                continue
        assert got == want
    out = batched_states(_stack([net, net]), (0.0, 1.0)) if s < 1e154 else None
    assert out is None or out["pieces"].tolist() == [3, 3]


def test_values_below_the_normal_range_are_refused_not_guessed():
    """A layer whose values all lie below about 1e-301 (float64 is losing relative accuracy there:
    its interpolated knots are not trustworthy) is refused with a message naming exact=True; a
    layer that is exactly zero (no nonzero weight or bias) is not refused."""
    net = ReLUNetwork([(np.array([[1e-305], [-2e-305]]), np.array([-1e-306, 5e-307])),
                       (np.array([[1.0, 1.0]]), np.zeros(1))])
    with pytest.raises(ValueError, match="exact=True"):
        count_pieces(net, (0.0, 1.0))
    assert count_pieces(net, (0.0, 1.0), exact=True) == 3
    zero = ReLUNetwork([(np.zeros((2, 1)), np.zeros(2)), (np.array([[1.0, 1.0]]), np.zeros(1))])
    assert count_pieces(zero, (0.0, 1.0)) == 1 and count_pieces(zero) == 1


def test_a_slope_cancelled_to_a_float_zero_is_not_taken_for_an_exact_zero():
    """0.1 ϱ(3x) − 0.30000000000000004 ϱ(x) has float slope 0 on x > 0 (the products round to
    one number) but exact slope −2.8e−17: a kink at 0, and on the line another one near 3.6e16.
    The shortcut 'all last hidden slopes are 0 on both sides: no breakpoint' must not fire."""
    net = ReLUNetwork([(np.array([[3.0], [1.0]]), np.zeros(2)),
                       (np.array([[0.1, -0.30000000000000004]]), np.array([1.0])), (np.array([[1.0]]), np.zeros(1))])
    for interval in [(-1.0, 1.0), None, (-1.0, 1e17)]:
        want = count_pieces(net, interval, exact=True)
        assert want == (2 if interval == (-1.0, 1.0) else 3)
        assert count_pieces(net, interval) == want
        assert count_activation_regions(net, interval) == count_activation_regions(net, interval, exact=True)
    assert batched_states(_stack([net, net]), (-1.0, 1.0))["pieces"].tolist() == [2, 2]


def test_a_slope_underflowed_to_a_float_zero_is_not_taken_for_an_exact_zero():
    """1 + 1e-400 ϱ(x), as ϱ(1e-200 ϱ(1e-200 x) + 1): the last hidden slope on x > 0 underflows to a
    float 0 (exact 1e-400, a nonzero product of nonzero terms). Both sides of the kink at 0 then
    have last hidden slopes 0 in float; only an exact 0 may skip the exact decision (killed the
    mutant that stops tracking this in count_pieces: 1 piece for 2)."""
    net = ReLUNetwork([(np.array([[1e-200]]), np.zeros(1)), (np.array([[1e-200]]), np.array([1.0])),
                       (np.array([[1.0]]), np.zeros(1))])
    for interval in [(-1.0, 1.0), (-1e-3, 5.0)]:
        assert count_pieces(net, interval, exact=True) == 2
        assert count_pieces(net, interval) == 2
        bps = breakpoints(net, interval)
        assert bps.shape == (1,) and abs(bps[0]) <= 1e-18      # (interpolated: 0 or near it)
    assert batched_states(_stack([net, net]), (-1.0, 1.0))["pieces"].tolist() == [2, 2]
    with pytest.raises(ValueError, match="exact=True"):      # the line: a ray slope below the floats
        count_pieces(net)


def test_exact_mode_finds_a_kink_on_a_ray_whose_slope_is_below_the_floats():
    """ϱ(s ϱ(s x) − c), s = 1e-200, c = 1e-300: on the right ray the hidden slope is s² ≈ 1e-400, below
    the smallest float, and the kink lies at c / s² ≈ 1e100. Exact mode decides the ray crossing in
    rational arithmetic (killed the mutant that multiplies the exact slopes by a float ±1, which
    rounds them to 0: 1 piece); float mode refuses on the line and agrees on a bounded interval."""
    s, c = 1e-200, 1e-300
    net = ReLUNetwork([(np.array([[s]]), np.zeros(1)), (np.array([[s]]), np.array([-c])),
                       (np.array([[1.0]]), np.zeros(1))])
    assert breakpoints(net, exact=True).tolist() == [Fraction(c) / (Fraction(s) * Fraction(s))]
    assert count_pieces(net, exact=True) == 2                      # 0 up to the kink, then s² x − c
    assert count_activation_regions(net, exact=True) == 3          # (the first neuron turns on at 0)
    with pytest.raises(ValueError, match="exact=True"):
        count_pieces(net)
    assert count_pieces(net, (0.0, 1e101)) == count_pieces(net, (0.0, 1e101), exact=True) == 2


@pytest.mark.parametrize("c", [1e-17, -3e-17, 0.0])
def test_a_kink_at_the_anchor_zero_with_slopes_equal_in_float(c):
    """x = ϱ(x) − ϱ(−x), plus c ϱ(x): on the whole line the knot 0 is also the propagation's anchor
    (the one knot not born from a sign change); its slopes 1 and 1 + c are one float, and it is a
    breakpoint exactly when c != 0."""
    net = ReLUNetwork([(np.array([[1.0], [-1.0], [1.0]]), np.zeros(3)), (np.array([[1.0, -1.0, c]]), np.zeros(1))])
    assert count_pieces(net) == count_pieces(net, exact=True) == 1 + (c != 0)
    assert count_pieces(net, (-1.0, 1.0)) == 1 + (c != 0)


def test_certified_output_slopes_beyond_the_float_range_are_refused_too():
    """With dyadic weights the certificate proves the output slopes exact, and their pass over the
    last hidden slopes is skipped; a slope bound beyond 2^1020 is still refused, as without the
    certificate. ϱ(x) and ϱ(x − ½) scaled by 2^127 in each of 8 layers (float32-sized weights, so
    the certificate applies), output weights 1 and 32: slopes 2^1016 and 33 · 2^1016 ≈ 2.3e307 (the
    certificate's bound; the uncertified bound would be 2^1022 ≈ 4.5e307)."""
    def net(out):
        return ReLUNetwork([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))]
                           + [(np.eye(2) * 2.0**127, np.zeros(2))] * 8 + [(np.array([[1.0, out]]), np.zeros(1))])
    assert count_pieces(net(32.0), (0.0, 1.0), exact=True) == 2
    with pytest.raises(ValueError, match="layer 10 has slopes of about 2.3e\\+307.*exact=True"):
        count_pieces(net(32.0), (0.0, 1.0))
    assert count_pieces(net(4.0), (0.0, 1.0)) == 2             # 5 · 2^1016 ≈ 3.5e306: in range
    with pytest.raises(ValueError, match="layer 10 has slopes of about 2.3e\\+307.*exact=True"):
        batched_states(_stack([net(32.0), net(32.0)]), (0.0, 1.0))   # the same check, batched
    assert batched_states(_stack([net(4.0), net(4.0)]), (0.0, 1.0))["pieces"].tolist() == [2, 2]


@pytest.mark.parametrize("e", [2.0**-30, 2.0**-45, 2.0**-50])
def test_certified_slopes_that_differ_by_less_than_the_float_margin_are_two_pieces(e):
    """ϱ(x) + e ϱ(x − ½) with dyadic e: the certificate proves the output slopes 1 and 1 + e exact,
    so they differ, however close (relative difference below SLOPE_RTOL = 1e-9). batched_states
    compared them with the float margin and said 1 piece (the training recorder's count)."""
    net = ReLUNetwork([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])), (np.array([[1.0, e]]), np.zeros(1))])
    assert count_pieces(net, (0.0, 1.0), exact=True) == 2
    assert count_pieces(net, (0.0, 1.0)) == 2
    assert network_state(net, (0.0, 1.0))["pieces"] == 2
    assert batched_states(_stack([net, net]), (0.0, 1.0))["pieces"].tolist() == [2, 2]


def test_certificate_bounds_and_quanta_hold_on_every_certified_layer(monkeypatch):
    """The invariant the certificate rests on, checked on the arrays themselves: on every layer it
    certifies, every pre-activation and slope after the split is bounded by the certificate's
    ``zb`` and is a multiple of ``2^-q`` for its quanta (``qz``, plus ``qt`` for the values at the
    new knots), the quanta computed here in rational arithmetic. Dyadic random networks,
    sawtooths, the whole line (ray knots). Kills the mutants 'bias magnitudes left out of zb' and
    'qt not carried to the next layer's quanta'."""
    claims = []

    class Spy(_dyadic.Certificate):
        depth = 0

        def layer(self, *args):
            self.depth += 1
            return super().layer(*args)

        def done(self):                   # after the split of a certified layer
            claims[-1][self.depth] = (self.qz[0] + max(self.qt, 0), self.qz[1], self.zb.copy())
            super().done()

    monkeypatch.setattr(pieces, "Certificate", Spy)
    rng = np.random.default_rng(11)
    nets = [(sawtooth(5), (0.0, 1.0)), (sawtooth(4), (-3.0, 2.0)), (sawtooth(3), None)]
    nets += [(_random_net(rng, dyadic=True, scale=s), iv) for s in (1.0, 8.0) for iv in ((-1.5, 2.25), None)
             for _ in range(15)]
    checked = 0
    for net, interval in nets:
        claims.append({})
        record = []
        pieces._run(net, interval, False, record=record)
        for depth, (qz, qdz, zb) in claims[-1].items():
            layer = record[depth - 1]                        # after the split, before the ReLU
            for V, q, bound in ((layer.z, qz, zb[0]), (layer.slope, qdz, zb[1])):
                assert (np.abs(V) <= bound).all()
                got = np.array([[_oracle_quantum(v) for v in col] for col in V.T]).max(axis=1)
                assert (got <= q).all()
            checked += 1
    assert checked >= 40
