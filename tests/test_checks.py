"""Exercise self-checks: a correct solution passes; typical mistakes get a specific message."""
import numpy as np
import pytest

from nnlib.checks import CheckFailed, check_shallow_breakpoints


def correct(net):
    (A1, b1), (A2, _) = net.layers
    jumps = {}
    for a, b, c in zip(A1[:, 0], b1, A2[0]):
        if a != 0:
            jumps[-b / a] = jumps.get(-b / a, 0.0) + c * abs(a)
    return np.array(sorted(t for t, j in jumps.items() if abs(j) > 1e-12))


def no_cancellation(net):
    (A1, b1), (A2, _) = net.layers
    return np.array(sorted({-b / a for a, b, c in zip(A1[:, 0], b1, A2[0]) if a != 0 and c != 0}))


def divides_by_zero(net):
    """Correct except that it forgets neurons with a = 0."""
    (A1, b1), (A2, _) = net.layers
    jumps = {}
    with np.errstate(divide="raise", invalid="raise"):
        for a, b, c in zip(A1[:, 0], b1, A2[0]):
            jumps[-b / a] = jumps.get(-b / a, 0.0) + c * abs(a)
    return np.array(sorted(t for t, j in jumps.items() if abs(j) > 1e-12))


def unsorted(net):
    return correct(net)[::-1]


def test_correct_solution_passes(capsys):
    check_shallow_breakpoints(correct)
    assert "all 56 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, expected_words", [
    (no_cancellation, ["relu(x - 1) - relu(x - 1) + relu(x - 2)", "expected: [2.]", "got:      [1., 2.]", "cancel"]),
    (divides_by_zero, ["raised FloatingPointError", "constant neuron", "don't divide by zero"]),
    (unsorted, ["not sorted in increasing order", "expected:", "got:"]),
    (lambda net: "nonsense", ["must return an array of numbers"]),
])
def test_typical_mistakes_are_explained(wrong, expected_words):
    with pytest.raises(CheckFailed) as info:
        check_shallow_breakpoints(wrong)
    message = str(info.value)
    for words in expected_words:
        assert words in message, message
    assert "def " not in message and "breakpoints(net)" not in message  # no reference source


def test_non_callable_is_rejected():
    with pytest.raises(TypeError, match="student_function must be callable"):
        check_shallow_breakpoints([1, 2, 3])


def hat(x):
    return np.where(x < 0.5, 2 * x, 2 - 2 * x) * ((x >= 0) & (x <= 1))


def yarotsky_correct(m, x):
    total, g = x.copy(), x.copy()
    for s in range(1, m + 1):
        g = hat(g)
        total = total - g / 4.0**s
    return total


def yarotsky_power_not_composition(m, x):
    return x - sum(hat(x) ** s / 4.0**s for s in range(1, m + 1))


def yarotsky_off_by_one(m, x):
    total, g = x.copy(), x.copy()
    for s in range(0, m):
        g = hat(g)
        total = total - g / 4.0**s
    return total


def test_yarotsky_check_passes_a_correct_solution(capsys):
    from nnlib.checks import check_yarotsky_square
    check_yarotsky_square(yarotsky_correct)
    assert "all" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (yarotsky_power_not_composition, ["m = 2", "expected:", "got:"]),
    (yarotsky_off_by_one, ["m = 1", "4^s scaling"]),
    (lambda m, x: x[:-1], ["must return an array of shape"]),
])
def test_yarotsky_check_explains_mistakes(wrong, words):
    from nnlib.checks import check_yarotsky_square
    with pytest.raises(CheckFailed) as info:
        check_yarotsky_square(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)


def rne_correct(x, man_bits):
    mantissa, exponent = np.frexp(np.asarray(x, dtype=float))
    return np.ldexp(np.rint(np.ldexp(mantissa, man_bits + 1)), exponent - man_bits - 1)


def rne_ties_away(x, man_bits):
    mantissa, exponent = np.frexp(np.asarray(x, dtype=float))
    scaled = np.ldexp(mantissa, man_bits + 1)
    return np.ldexp(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), exponent - man_bits - 1)


def rne_wrong_scale(x, man_bits):
    mantissa, exponent = np.frexp(np.asarray(x, dtype=float))
    return np.ldexp(np.rint(np.ldexp(mantissa, man_bits)), exponent - man_bits)


def test_round_nearest_even_check_passes_a_correct_solution(capsys):
    from nnlib.checks import check_round_nearest_even
    check_round_nearest_even(rne_correct)
    assert "all" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (rne_ties_away, ["ties just above 1", "expected: 1.0", "got:      1.5", "even last bit"]),
    (rne_wrong_scale, ["man_bits = 1", "expected:", "got:"]),
])
def test_round_nearest_even_check_explains_mistakes(wrong, words):
    from nnlib.checks import check_round_nearest_even
    with pytest.raises(CheckFailed) as info:
        check_round_nearest_even(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)


def crossings_correct(x, y, t):
    return int(np.count_nonzero((y[:-1] - t) * (y[1:] - t) < 0))


def crossings_counts_knots(x, y, t):
    return int(np.count_nonzero(y < t))


def test_level_crossings_check_passes_a_correct_solution(capsys):
    from nnlib.checks import check_level_crossings
    check_level_crossings(crossings_correct)
    assert "all" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (crossings_counts_knots, ["wrong count", "expected:", "got:"]),
    (lambda x, y, t: float(crossings_correct(x, y, t)), ["got:      2.0"]),
])
def test_level_crossings_check_explains_mistakes(wrong, words):
    from nnlib.checks import check_level_crossings
    with pytest.raises(CheckFailed) as info:
        check_level_crossings(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)


def stats_correct(updates):
    nz = np.abs(updates[updates != 0])
    return float(np.mean(updates == 0)), (float(np.mean(1 / nz)) if nz.size else float("nan"))


def test_assumption_a_check_passes_a_correct_solution(capsys):
    from nnlib.checks import check_assumption_a_stats
    check_assumption_a_stats(stats_correct)
    assert "all 14 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda u: (float(np.mean(u == 0)), float(np.mean(1 / u[u != 0]))), ["[[0.5, 0.0], [-0.25, 0.0]]", "absolute value"]),
    (lambda u: (float(np.mean(u == 0)), float(np.mean(1 / np.abs(u[u != 0]))) if np.any(u) else 0.0),
     ["all zero", "return nan"]),
])
def test_assumption_a_check_explains_mistakes(wrong, words):
    from nnlib.checks import check_assumption_a_stats
    with pytest.raises(CheckFailed) as info:
        check_assumption_a_stats(wrong)
    for w in words:
        assert w in str(info.value), str(info.value)


@pytest.mark.parametrize("check, stub", [
    ("check_shallow_breakpoints", lambda net: None),
    ("check_yarotsky_square", lambda m, x: None),
    ("check_round_nearest_even", lambda x, m: None),
    ("check_level_crossings", lambda x, y, t: None),
    ("check_assumption_a_stats", lambda u: None),
])
def test_unfinished_starter_gets_a_direct_message(check, stub):
    import nnlib.checks
    with pytest.raises(CheckFailed, match="returned None: did you forget to `return`"):
        getattr(nnlib.checks, check)(stub)


def test_assumption_a_check_wants_a_pair():
    from nnlib.checks import check_assumption_a_stats
    with pytest.raises(CheckFailed, match="must return a pair of numbers"):
        check_assumption_a_stats(lambda u: float(np.mean(u == 0)))


def test_student_exceptions_name_the_input():
    from nnlib.checks import check_level_crossings
    with pytest.raises(CheckFailed, match=r"level_crossings raised ZeroDivisionError: .*\n  input: the hat on \[0, 1\]"):
        check_level_crossings(lambda x, y, t: 1 // 0)
