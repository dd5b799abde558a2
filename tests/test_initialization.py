"""Tests of nnlib.initialization: dead layers and constant networks, decided exactly.

Oracles: hand-made networks whose answer is known by construction, exact rational evaluation
(tests/oracles.py), closed forms for width-1 networks derived in the docstrings below, and hand
computations of the bound and of the number of restarts.
"""
import csv
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nnlib.initialization import (
    INIT_LAWS, STUDY, STUDY_COLUMNS, constant_probability_bound, dead_layers, fit_death_rate, init_layers,
    is_constant_on, load_study, prob_constant, restarts_needed, training_run, wilson_interval,
)
from nnlib.networks import ReLUNetwork, random_network
from oracles import exact_forward, exact_layers


def net_of(*layers):
    return ReLUNetwork([(np.array(A, dtype=float), np.array(b, dtype=float)) for A, b in layers])


# A dead second hidden layer: all its weights and biases are < 0 and its inputs are >= 0.
DEAD_MIDDLE = net_of(([[1], [-1]], [0, 0]), ([[-1, -2], [-3, -1]], [-0.5, -1]),
                     ([[1, 1], [1, -1]], [0.5, 0.25]), ([[1, 2]], [0.1]))
# First layer z = (x - 1, 2x - 3): <= 0 on [0, 1] (x - 1 touches 0 at x = 1), alive on (0, 2).
DEAD_FIRST_ON_UNIT = net_of(([[1], [2]], [-1, -3]), ([[1, 1]], [0]))
# relu(x) - relu(-x) - relu(x + 1) + relu(-x - 1) = x - (x + 1) = -1: constant, every neuron alive.
CONSTANT_BUT_ALIVE = net_of(([[1], [-1], [1], [-1]], [0, 0, 1, -1]), ([[1, -1, -1, 1]], [0]))
# relu(x - 1): constant on (-2, 1), not on (0, 2).
RAMP = net_of(([[1]], [-1]), ([[1]], [0]))
# relu(-x - 1): constant on [-1, 5], alive only on the left ray of the whole line.
LEFT_RAMP = net_of(([[-1]], [-1]), ([[1]], [0]))

CASES = [  # (network, interval, constant?, dead layers)
    (DEAD_MIDDLE, (-1, 1), True, [2]),
    (DEAD_MIDDLE, None, True, [2]),
    (DEAD_FIRST_ON_UNIT, (0, 1), True, [1]),
    (DEAD_FIRST_ON_UNIT, (0, 2), False, []),
    (DEAD_FIRST_ON_UNIT, None, False, []),
    (CONSTANT_BUT_ALIVE, None, True, []),
    (CONSTANT_BUT_ALIVE, (-3, 2), True, []),
    (RAMP, (-2, 1), True, [1]),
    (RAMP, (0, 2), False, []),
    (RAMP, None, False, []),
    (LEFT_RAMP, (-1, 5), True, [1]),
    (LEFT_RAMP, None, False, []),
]


def exactly_constant_on_samples(net, interval, num=257):
    """Oracle: exact values at ``num`` equally spaced rational points (and the hand-made kinks)."""
    a, b = (Fraction(-5), Fraction(5)) if interval is None else (Fraction(interval[0]), Fraction(interval[1]))
    points = {a + (b - a) * k / (num - 1) for k in range(num)} | {Fraction(v) for v in (-1, 0, 1) if a <= v <= b}
    layers = exact_layers(net)
    return len({exact_forward(layers, x) for x in points}) == 1


@pytest.mark.parametrize("net, interval, constant, dead", CASES)
@pytest.mark.parametrize("exact", [False, True])
def test_hand_made_networks(net, interval, constant, dead, exact):
    assert is_constant_on(net, interval, exact=exact) is constant
    assert dead_layers(net, interval, exact=exact) == dead
    assert exactly_constant_on_samples(net, interval) is constant or not constant   # sampling can only refute
    if not constant:
        assert not exactly_constant_on_samples(net, interval)


def test_dead_means_pre_activation_at_most_zero_everywhere():
    """Touching 0 at an endpoint is still dead (ReLU(0) = 0); crossing it by one ulp is alive."""
    assert dead_layers(DEAD_FIRST_ON_UNIT, (0, 1)) == [1]
    assert dead_layers(DEAD_FIRST_ON_UNIT, (0, np.nextafter(1.0, 2.0))) == []
    assert not is_constant_on(DEAD_FIRST_ON_UNIT, (0, np.nextafter(1.0, 2.0)), exact=True)


def test_random_networks_float_equals_exact_and_samples_agree():
    rng = np.random.default_rng(5)
    seen = {True: 0, False: 0}
    for _ in range(60):
        width, depth = int(rng.integers(1, 4)), int(rng.integers(2, 7))
        net = random_network([1] + [width] * (depth - 1) + [1], rng, init=str(rng.choice(sorted(INIT_LAWS))))
        for interval in [(0.0, 1.0), (-2.0, 3.0), None]:
            c = is_constant_on(net, interval)
            assert c == is_constant_on(net, interval, exact=True)
            assert dead_layers(net, interval) == dead_layers(net, interval, exact=True)
            if c:
                assert exactly_constant_on_samples(net, interval, num=33)
            if dead_layers(net, interval):
                assert c                                   # a dead layer forces a constant
            seen[c] += 1
    assert min(seen.values()) >= 20                        # both outcomes were exercised


def test_laws_have_their_documented_moments():
    for init, var in [("he", 2 / 4), ("glorot", 2 / (4 + 6)), ("uniform", (1 / 2) ** 2 / 3)]:
        A = np.concatenate([init_layers([4, 6], init, seed=s)[0][0].ravel() for s in range(400)])
        assert abs(A.mean()) < 0.02 and abs(A.var() / var - 1) < 0.05, init
    assert all(np.all(b == 0) for _, b in init_layers([1, 5, 5, 1], "he-zero-bias", seed=0))
    A, b = init_layers([3, 50], "uniform", seed=0)[0]
    assert np.all(np.abs(A) <= 1 / math.sqrt(3)) and np.all(np.abs(b) <= 1 / math.sqrt(3))
    # asymmetric: every neuron has at least one positive incoming parameter
    for A, b in init_layers([2, 7, 7, 1], "asymmetric", seed=1):
        assert np.all(np.any(np.concatenate([A, b[:, None]], axis=1) > 0, axis=1))
    assert init_layers([1, 3, 1], "he", seed=4)[0][0].tolist() == init_layers([1, 3, 1], "he", seed=4)[0][0].tolist()
    # he-positive-bias: weights as "he", biases half-normal: > 0 with E b^2 = 2 / n_in
    A, b = init_layers([4, 20000], "he-positive-bias", seed=2)[0]
    assert np.all(b > 0) and abs(np.mean(b * b) / (2 / 4) - 1) < 0.05 and abs(A.var() / (2 / 4) - 1) < 0.05


# --- closed forms for width 1 (derived by hand) --------------------------------------------------
# With zero biases every hidden pre-activation is a_j * (previous output), so on [0, 1] the network
# is non-constant iff every hidden weight is > 0: P(constant) = 1 - 2^-(L-1).
# With one hidden neuron z = a x + b, (a, b) i.i.d. and rotationally symmetric ("he": both N(0, 2)),
# z <= 0 on [0, 1] iff b <= 0 and a + b <= 0: a wedge of angle 135 degrees, P = 3/8.
# "uniform" (a, b i.i.d. U(-1, 1)): the area of {b <= 0, a <= -b} is 3/2 of 4, P = 3/8 as well.
# "asymmetric": with prob. 1/2 the bias is made positive (alive); otherwise a = |a'| and
# P(b <= -|a'|) = 1/4 (a 90 degree wedge), so P = 1/8.
# "he-positive-bias": z(0) = b > 0, so one hidden neuron is never dead on [0, 1]: P = 0.
@pytest.mark.parametrize("init, depth, exact_p", [("he-zero-bias", L, 1 - 2.0 ** -(L - 1)) for L in (2, 3, 4, 6)]
                         + [("he", 2, 3 / 8), ("uniform", 2, 3 / 8), ("asymmetric", 2, 1 / 8),
                            ("he-positive-bias", 2, 0.0)])
def test_prob_constant_matches_closed_form_for_width_one(init, depth, exact_p):
    est, (lo, hi) = prob_constant(1, depth, 4000, init=init, seed=11)
    assert lo <= exact_p <= hi
    assert hi - lo < 0.04


def test_prob_constant_is_at_least_the_bound():
    for width, depth in [(1, 4), (2, 8), (2, 20)]:
        est, (lo, hi) = prob_constant(width, depth, 1000, seed=3)
        assert hi >= constant_probability_bound(width, depth)


def test_prob_constant_counts_the_same_as_is_constant_on():
    """The batched decision equals the one-network decision, draw by draw."""
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    from nnlib.initialization import _sample_layer   # test-only: redraw the same batch one by one
    widths = [1, 3, 3, 3, 3, 1]
    layers = [_sample_layer("he", i, o, rng_a, (50,)) for i, o in zip(widths[:-1], widths[1:])]
    one_by_one = sum(is_constant_on(ReLUNetwork([(A[k], b[k]) for A, b in layers]), (0, 1), exact=True)
                     for k in range(50))
    est, _ = prob_constant(3, 5, 50, seed=rng_b)
    assert est == one_by_one / 50


def test_bound_by_hand():
    assert constant_probability_bound(1, 1) == 0 and constant_probability_bound(3, 2) == 0
    assert constant_probability_bound(1, 3) == 0.25                      # q = 2^-2, one layer after the first
    assert constant_probability_bound(2, 4) == pytest.approx(1 - (63 / 64) ** 2, rel=1e-15, abs=0)
    assert constant_probability_bound(2, 3, zero_bias=True) == 1 / 16    # q = 2^-(N^2)
    assert constant_probability_bound(8, 10) == pytest.approx(8 * 2.0 ** -72, rel=1e-12, abs=0)  # no cancellation


def test_restarts_by_hand():
    assert restarts_needed(0.97) == 76            # log 0.1 / log 0.97 = 75.6
    assert restarts_needed(0.75) == 9             # 8.004
    assert restarts_needed(0.5, 0.75) == 2        # exactly 2: the boundary counts as success
    assert restarts_needed(0.5, 0.875) == 3
    assert restarts_needed(0.0) == 1
    assert restarts_needed(0.1, 0.5) == 1


def test_wilson_by_hand():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775327998628899, rel=1e-12, abs=0)   # z^2/(n+z^2)
    lo, hi = wilson_interval(5, 10)
    assert (lo + hi) / 2 == pytest.approx(0.5, abs=1e-15)


def test_fit_death_rate_single_depth_closed_form_and_coverage():
    q, (lo, hi) = fit_death_rate([5], [30], [100])            # s^4 = 0.7 maximises the likelihood
    assert q == pytest.approx(1 - 0.7 ** 0.25, rel=1e-9, abs=0)
    assert lo < q < hi
    depths = [3, 6, 11, 21]
    n = [100000] * 4
    hits = [round(100000 * (1 - 0.9 ** (L - 1))) for L in depths]
    q, (lo, hi) = fit_death_rate(depths, hits, n)
    assert lo <= 0.1 <= hi and hi - lo < 0.003


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_frozen_gradients_at_and_below_a_dead_layer(optimizer):
    torch = pytest.importorskip("torch")
    x = torch.linspace(0, 1, 33)[:, None]
    for dtype in (torch.float32, torch.float64):
        model = DEAD_MIDDLE.to_torch(dtype)
        params = list(model.parameters())            # (A_1, b_1, A_2, b_2, A_3, b_3, A_4, b_4)
        before = [p.detach().clone() for p in params]
        opt = getattr(torch.optim, optimizer)(params, lr=0.1)
        for _ in range(20):
            opt.zero_grad()
            loss = ((model(x.to(dtype)) - x.to(dtype) ** 2) ** 2).mean()
            loss.backward()
            for p in params[:4]:                     # layers 1 and 2 (the dead one): exactly zero
                assert torch.count_nonzero(p.grad) == 0
            assert torch.count_nonzero(params[7].grad) == 1   # the output bias still learns the constant
            opt.step()
        for p, p0 in zip(params[:4], before[:4]):
            assert torch.equal(p, p0)
        assert torch.count_nonzero(params[4].grad) == 0          # A_3 multiplies the dead layer's output 0
        assert not torch.equal(params[7], before[7])             # ... while the output bias did move


# --- the training study (experiment E3.2): the committed table is what the code produces -------------
DATA = Path(__file__).resolve().parents[1] / "chapters" / "data"


def _committed_rows():
    with open(DATA / "ch6_training_failure.csv") as f:
        rows = [{k: (float(v) if k in ("final_loss", "var_y") else int(v)) for k, v in r.items()}
                for r in csv.DictReader(f)]
    assert load_study() == rows == load_study(DATA / "ch6_training_failure.csv")   # the loader reads this file
    return rows


def test_committed_study_is_complete_and_obeys_the_proposition():
    meta = json.loads((DATA / "ch6_training_failure.json").read_text())
    config = meta["configuration"]
    assert {k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items() if k in STUDY} == STUDY
    rows = _committed_rows()
    assert tuple(rows[0]) == STUDY_COLUMNS and len(rows) == meta["rows"]
    cells = {(r["width"], r["depth"]) for r in rows}
    assert cells == {(N, L) for N in STUDY["widths"] for L in STUDY["depths"]}
    for N, L in cells:
        assert sorted(r["seed"] for r in rows if (r["width"], r["depth"]) == (N, L)) == list(range(STUDY["seeds"]))
    var_y = float(np.var(np.linspace(0, 1, STUDY["n_points"]) ** 2))
    for r in rows:
        assert r["var_y"] == pytest.approx(var_y, rel=1e-15)
        assert r["failed"] == (r["final_loss"] >= STUDY["threshold"] * r["var_y"])
        assert (r["first_dead_layer"] > 0) <= r["constant_at_init"]        # a dead layer forces a constant
        if r["constant_at_init"]:                                          # ... and freezes training
            assert r["failed"] and r["constant_at_end"]
            assert r["final_loss"] >= r["var_y"] * (1 - 1e-12)   # no better than the best constant
    assert 0 < sum(r["constant_at_init"] for r in rows) < len(rows)        # both kinds of start occur


@pytest.mark.parametrize("width, depth, seed", [(3, 5, 0), (3, 5, 1), (2, 3, 7), (5, 10, 3)])
def test_study_slice_reproduces_the_committed_rows(width, depth, seed):
    pytest.importorskip("torch")
    settings = {k: STUDY[k] for k in ("init", "n_points", "optimizer", "steps", "lr", "threshold")}
    row = next(r for r in _committed_rows() if (r["width"], r["depth"], r["seed"]) == (width, depth, seed))
    live = training_run(width, depth, seed, **settings)
    for k in STUDY_COLUMNS:
        if k == "final_loss":
            assert live[k] == pytest.approx(row[k], rel=1e-9, abs=1e-12)
        else:
            assert live[k] == row[k], k


# --- the coding exercise's self-check -------------------------------------------------------------
def restarts_correct(p_fail, success):
    return restarts_needed(p_fail, success)


@pytest.mark.parametrize("wrong, words", [
    (lambda p, s: round(math.log1p(-s) / math.log(p)) if p else 1, "0.75"),             # rounds 8.004 down
    (lambda p, s: math.ceil(math.log1p(-s) / math.log(p)), "p_fail = 0.0"),                # log(0)
    (lambda p, s: float(restarts_needed(p, s)), "got"),                                      # not an int
    (lambda p, s: restarts_needed(p, s) + 1, "expected"),                                    # off by one
    (lambda p, s: max(1, math.floor(math.log1p(-s) / math.log(p)) + 1) if p else 1, "0.5"),  # boundary 0.75
    (lambda p, s: max(1, math.ceil(math.log1p(-s) / math.log(p))) if p else 1, "rounded"),  # trusts the logs
])
def test_restarts_check_explains_mistakes(wrong, words):
    from nnlib.checks import CheckFailed, check_restarts
    with pytest.raises(CheckFailed, match=words):
        check_restarts(wrong)


def test_restarts_check_passes_a_correct_solution(capsys):
    from nnlib.checks import check_restarts
    check_restarts(restarts_correct)
    assert "all 55 answers correct" in capsys.readouterr().out


@pytest.mark.parametrize("p_fail", [0.5, 0.3, 0.77, 0.9, 0.999])
def test_restarts_when_the_answer_is_an_exact_integer(p_fail):
    """success = 1 - p_fail**K (in float64) is reached at K and not at K - 1, by definition: the answer
    is K, whichever way log(1 - success) / log(p_fail) rounds."""
    for K in range(1, 60):
        success = 1 - p_fail ** K
        if 0 < success < 1 and 1 - p_fail ** (K - 1) < success:
            assert restarts_needed(p_fail, success) == K, K
        above = np.nextafter(success, 1.0)            # one ulp more: K no longer suffices
        if 0 < above < 1 and 1 - p_fail ** (K + 1) >= above:
            assert restarts_needed(p_fail, above) == K + 1, K


def test_restarts_by_brute_force():
    """Oracle: the smallest K found by counting up, in exact rational arithmetic."""
    rng = np.random.default_rng(8)
    for _ in range(200):
        p, s = Fraction(int(rng.integers(0, 1000)), 1000), Fraction(int(rng.integers(1, 1000)), 1000)
        K = 1
        while 1 - p ** K < s:
            K += 1
        if min(abs(1 - p ** K - s), abs(1 - p ** (K - 1) - s)) < Fraction(1, 10**9):
            continue                  # an exact tie: float64 may decide it either way (the check tests ties)
        assert restarts_needed(float(p), float(s)) == K


@pytest.mark.parametrize("call, exc, match", [
    (lambda: prob_constant(0, 3, 10), ValueError, "width"),
    (lambda: prob_constant(2, 0, 10), ValueError, "depth"),
    (lambda: prob_constant(2.5, 3, 10), TypeError, "width"),
    (lambda: prob_constant(2, 3, 0), ValueError, "n_draws"),
    (lambda: prob_constant(2, 3, 10, init="kaiming"), ValueError, "init"),
    (lambda: prob_constant(2, 3, 10, init=3), TypeError, "init"),
    (lambda: prob_constant(2, 3, 10, interval=(1, 0)), ValueError, "interval"),
    (lambda: prob_constant(2, 3, 10, interval=None), ValueError, "interval"),
    (lambda: prob_constant(2, 3, 10, seed=1.5), TypeError, "seed"),
    (lambda: init_layers([1, 0, 1]), ValueError, r"widths\[1\]"),
    (lambda: init_layers([1]), ValueError, "widths"),
    (lambda: is_constant_on("net"), TypeError, "net"),
    (lambda: is_constant_on(net_of(([[1, 1]], [0]),)), ValueError, "net"),
    (lambda: dead_layers(RAMP, (2, 1)), ValueError, "interval"),
    (lambda: dead_layers(RAMP, exact="yes"), TypeError, "exact"),
    (lambda: constant_probability_bound(0, 3), ValueError, "width"),
    (lambda: restarts_needed(1.0), ValueError, "p_fail"),
    (lambda: restarts_needed(0.5, 1.0), ValueError, "success"),
    (lambda: fit_death_rate([1], [0], [10]), ValueError, "depths"),
    (lambda: fit_death_rate([3], [11], [10]), ValueError, "hits"),
    (lambda: fit_death_rate([3, 4], [1], [10, 10]), ValueError, "one length"),
    (lambda: random_network([1, 2, 1], init="he", bias_std=0.5), ValueError, "bias_std"),
    (lambda: random_network([1, 2, 1], init="lecun"), ValueError, "init"),
    (lambda: training_run(0, 3, 0), ValueError, "width"),
    (lambda: training_run(2, 1, 0), ValueError, "depth"),
    (lambda: training_run(2, 3, -1), ValueError, "seed"),
    (lambda: training_run(2, 3, 0, init="xavier"), ValueError, "init"),
    (lambda: load_study(3), TypeError, "path"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
