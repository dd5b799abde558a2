"""Self-checks for the coding exercises.

Each ``check_…(student_function)`` runs the student's function on hand-made inputs with known
answers and on seeded random inputs, compares with ``nnlib``'s reference, and on the first
mismatch raises :class:`CheckFailed` saying *which* input, what was expected, what came back,
and a hint. It prints a one-line success message otherwise. Messages show values, never the
reference implementation.

Chapter 1, exercise ``ex1-shallow-breakpoints``; Chapter 2, ``ex2-yarotsky-numpy``; Chapter 3,
``ex3-round-nearest-even``; Chapter 4, ``ex4-level-crossings``; Chapter 5,
``ex5-assumption-a``; Chapter 6, ``ex6-restarts``; Chapter 7, ``ex7-verlet-step``;
Chapter 8, ``ex8-soft-threshold``.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_callable, check_int
from .networks import ReLUNetwork, random_network
from .pieces import breakpoints

__all__ = ["CheckFailed", "check_shallow_breakpoints", "check_yarotsky_square", "check_round_nearest_even",
           "check_level_crossings", "check_assumption_a_stats", "check_restarts",
           "check_hamiltonian_step", "check_soft_threshold"]


class CheckFailed(AssertionError):
    """Raised by a ``check_…`` function; the message says what is wrong and how to look into it."""


def _check_callable(student_function) -> None:
    check_callable(student_function, "student_function")


def _call(name: str, function, args: tuple, where: str, hint: str):
    """Run the student's function; an exception, or None from a starter that still ends in ``...``,
    becomes a :class:`CheckFailed` that names the input and gives the hint."""
    try:
        got = function(*args)
    except Exception as exc:
        raise CheckFailed(f"{name} raised {type(exc).__name__}: {exc}\n  input: {where}\n  hint: {hint}") from exc
    if got is None:
        raise CheckFailed(f"{name} returned None: did you forget to `return` the result?")
    return got


def _compare_values(name: str, x, got, expected, where: str, hint: str, *, exact: bool) -> None:
    """Report the first entry where the student's array differs from the reference, with its input."""
    if got.shape != expected.shape:
        raise CheckFailed(f"{name} must return an array of shape {expected.shape}, got {got.shape}\n  input: {where}")
    same = got == expected if exact else np.isclose(got, expected, rtol=1e-12, atol=1e-14)
    bad = np.flatnonzero(~same)
    if bad.size:
        i = bad[0]
        raise CheckFailed(f"wrong value for {where}, at x = {float(x[i])!r}\n"
                          f"  expected: {float(expected[i])!r}\n  got:      {float(got[i])!r}\n  hint: {hint}")


def _describe(net: ReLUNetwork) -> str:
    (A1, b1), (A2, b2) = net.layers
    fmt = lambda v: np.array2string(np.asarray(v).ravel(), precision=4, separator=", ")
    return f"a = A_1[:, 0] = {fmt(A1)}, b = b_1 = {fmt(b1)}, c = A_2[0] = {fmt(A2)}, d = b_2 = {fmt(b2)}"


def _shallow(a, b, c, d=0.0) -> ReLUNetwork:
    a, b, c = (np.asarray(v, dtype=float) for v in (a, b, c))
    return ReLUNetwork([(a[:, None], b), (c[None, :], np.array([d], dtype=float))])


def _hand_made_shallow_cases():
    """(description, network, hint) with answers that follow from the definitions by hand."""
    return [
        ("|x| = relu(x) + relu(-x)", _shallow([1, -1], [0, 0], [1, 1]),
         "both neurons switch at x = 0; the slope jumps from -1 to 1."),
        ("relu(x - 1) + relu(x - 2)", _shallow([1, 1], [-1, -2], [1, 1]),
         "a neuron relu(a x + b) switches at x = -b / a."),
        ("relu(x - 1) - relu(x - 1) + relu(x - 2)", _shallow([1, 1, 1], [-1, -1, -2], [1, -1, 1]),
         "two neurons switch at x = 1 with opposite jumps in slope: they cancel, so 1 is no breakpoint."),
        ("a constant neuron relu(0 x + 1) and relu(2x - 1)", _shallow([0, 2], [1, -1], [3, 1]),
         "a neuron with a = 0 never switches; don't divide by zero."),
        ("a neuron with zero output weight", _shallow([1, 1], [-1, 1], [0, 2]),
         "a neuron whose output weight c_i is 0 does not change the slope of R(Phi)."),
        ("relu(-2x + 1), a negative slope", _shallow([-2], [1], [1]),
         "for a < 0 the neuron is on to the left of -b / a; the jump in slope is still c |a|."),
    ]


def check_shallow_breakpoints(student_function, num_random: int = 50) -> None:
    """Check a student's ``shallow_breakpoints(net)`` (Chapter 1, exercise ``ex1-shallow-breakpoints``).

    Parameters
    ----------
    student_function : callable
        ``student_function(net) -> array_like`` of the sorted breakpoints on the real line of a
        network with one hidden layer (``net.depth == 2``, ``net.widths == (1, N, 1)``).
    num_random : int
        Number of seeded random networks tried after the hand-made cases.

    Raises
    ------
    CheckFailed
        On the first input where the result is wrong, naming the input, expected vs got, and a hint.
    TypeError
        If ``student_function`` is not callable.
    """
    _check_callable(student_function)
    num_random = check_int(num_random, "num_random", minimum=0)
    cases = _hand_made_shallow_cases()
    rng = np.random.default_rng(12345)
    for k in range(num_random):
        width = int(rng.integers(1, 9))
        net = random_network([1, width, 1], seed=rng, bias_std=1.0)
        cases.append((f"random network #{k} of width {width}", net,
                      "compare your candidates with a plot of R(Phi): plot_network(net, (lo, hi))."))
    for description, net, hint in cases:
        expected = breakpoints(net)
        got = _call("shallow_breakpoints", student_function, (net,), f"{description}: {_describe(net)}", hint)
        try:
            got = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            raise CheckFailed(f"shallow_breakpoints must return an array of numbers, got {type(got).__name__}\n"
                              f"  input: {description}") from None
        ok = got.shape == expected.shape and np.allclose(got, expected, rtol=1e-9, atol=1e-12)
        if not ok:
            detail = ""
            if got.shape == expected.shape and np.allclose(np.sort(got), expected, rtol=1e-9, atol=1e-12):
                detail = "\n  (the right points, but not sorted in increasing order)"
            raise CheckFailed(
                f"wrong breakpoints for {description}\n  input: {_describe(net)}\n"
                f"  expected: {np.array2string(expected, precision=6, separator=', ')}\n"
                f"  got:      {np.array2string(got, precision=6, separator=', ')}{detail}\n  hint: {hint}"
            )
    print(f"shallow_breakpoints: all {len(cases)} checks passed "
          f"({len(cases) - num_random} hand-made networks, {num_random} random ones).")


def check_yarotsky_square(student_function) -> None:
    """Check a student's ``yarotsky(m, x)`` (Chapter 2, exercise ``ex2-yarotsky-numpy``).

    Parameters
    ----------
    student_function : callable
        ``student_function(m, x) -> numpy.ndarray`` evaluating ``h_m(x) = x − Σ_{s=1}^m Δ^s(x)/4^s``
        at the points ``x`` (a float64 array in ``[0, 1]``), same shape as ``x``.

    Raises
    ------
    CheckFailed
        On the first wrong value: which ``m`` and ``x``, expected vs got, and a hint.
    """
    from .constructions import yarotsky_square

    _check_callable(student_function)
    rng = np.random.default_rng(2)
    hints = {
        "knots": "at the grid points k / 2^m, h_m equals x² exactly: check the sign and the 4^s scaling.",
        "midpoints": "at the midpoints the error is exactly 4^-(m+1); did you sum s = 1 … m (not 0 … m-1)?",
        "random": "Δ^s means Δ applied s times (composition), not the s-th power of Δ(x).",
    }
    checked = 0
    for m in (1, 2, 3, 5, 8):
        grids = {
            "knots": np.arange(2**m + 1) / 2**m,
            "midpoints": (np.arange(2**m) + 0.5) / 2**m,
            "random": rng.uniform(0.0, 1.0, 20),
        }
        reference = yarotsky_square(m)
        for kind, x in grids.items():
            where = f"m = {m}, {kind} of [0, 1]"
            got = np.asarray(_call("yarotsky", student_function, (m, x.copy()), where, hints[kind]), dtype=float)
            _compare_values("yarotsky", x, got, reference(x), where, hints[kind], exact=False)
            checked += x.size
    print(f"yarotsky: all {checked} values correct (m = 1, 2, 3, 5, 8 at knots, midpoints and random points).")


def check_round_nearest_even(student_function) -> None:
    """Check a student's ``round_nearest_even(x, man_bits)`` (Chapter 3, exercise ``ex3-round-nearest-even``).

    Parameters
    ----------
    student_function : callable
        ``student_function(x, man_bits) -> numpy.ndarray``: ``x`` rounded to ``man_bits`` mantissa
        bits, round to nearest with ties to even, float64's exponent range (no overflow or subnormals).

    Raises
    ------
    CheckFailed
        On the first wrong value: which ``x`` and ``man_bits``, expected vs got, and a hint.
    """
    from .precision import Format, round_to

    _check_callable(student_function)
    rng = np.random.default_rng(3)
    checked = 0
    for m in (1, 3, 7, 10, 23):
        spacing = 2.0**-m                      # spacing of the format just above 1
        cases = {
            "ties just above 1 (exactly halfway between two neighbours)":
                (np.array([1 + spacing / 2, 1 + 3 * spacing / 2, -(1 + spacing / 2), 2 + spacing]),
                 "a tie goes to the neighbour with an even last bit: 1 + spacing/2 rounds to 1, 1 + 3 spacing/2 up."),
            "numbers already in the format": (np.array([0.0, 1.0, -0.75, 2.0**40, 1 + spacing]),
                 "numbers of the format must not move; did you scale by 2**man_bits instead of 2**(man_bits + 1)?"),
            "random values of all sizes": (rng.normal(size=50) * 10.0 ** rng.integers(-30, 30, 50),
                 "round the significand, not the number: x = mantissa * 2**exponent (np.frexp)."),
        }
        for kind, (x, hint) in cases.items():
            expected = round_to(x, Format(11, m), method="own")
            where = f"man_bits = {m}, {kind}"
            got = np.asarray(_call("round_nearest_even", student_function, (x.copy(), m), where, hint), dtype=float)
            _compare_values("round_nearest_even", x, got, expected, where, hint, exact=True)
            checked += x.size
    print(f"round_nearest_even: all {checked} values correct (man_bits = 1, 3, 7, 10, 23; ties, exact and random values).")


def check_level_crossings(student_function) -> None:
    """Check a student's ``level_crossings(x, y, t)`` (Chapter 4, exercise ``ex4-level-crossings``).

    Parameters
    ----------
    student_function : callable
        ``student_function(x, y, t) -> int``: the number of solutions of ``h(s) = t`` on
        ``[x[0], x[-1]]`` for the piecewise-affine ``h`` with knots ``x`` (strictly increasing) and
        values ``y``, for a level ``t`` that is not one of the values ``y``.

    Raises
    ------
    CheckFailed
        On the first wrong count: the knots, the level, expected vs got, and a hint.
    """
    from .crossings import indicatrix

    _check_callable(student_function)
    cases = [
        ("the hat on [0, 1]", [0.0, 0.5, 1.0], [0.0, 1.0, 0.0], [0.25, 0.75, 1.5, -0.5],
         "a level between 0 and 1 is crossed once on each side of the peak; levels outside [0, 1] never."),
        ("a monotone function", [0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 3.0, 7.0], [1.0, 2.5, 5.0],
         "count the segments whose value range contains t strictly."),
        ("a function with a flat segment", [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 1.0, 0.0], [0.5, 1.5],
         "a flat segment at another level is never crossed."),
        ("a zigzag", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 3.0, -1.0, 2.0, -2.0, 1.0], [0.5, -0.5, 2.5],
         "each segment with t strictly between its end values holds exactly one solution."),
    ]
    rng = np.random.default_rng(4)
    for k in range(20):
        x = np.cumsum(rng.uniform(0.1, 1.0, 12))
        y = rng.normal(size=12)
        cases.append((f"random knots #{k}", x.tolist(), y.tolist(), rng.normal(size=5).tolist(),
                      "compare with a plot: plt.plot(x, y); plt.axhline(t)."))
    checked = 0
    for description, x, y, levels, hint in cases:
        N = indicatrix(np.array(x), np.array(y))
        for t in levels:
            expected = N(t)
            got = _call("level_crossings", student_function, (np.array(x), np.array(y), t),
                        f"{description}, x = {x}, y = {y}, t = {t}", hint)
            if not isinstance(got, (int, np.integer)) or got != expected:
                raise CheckFailed(f"wrong count for {description} at level t = {t}\n  x = {np.round(x, 4).tolist()}\n"
                                  f"  y = {np.round(y, 4).tolist()}\n  expected: {expected}\n  got:      {got!r}\n"
                                  f"  hint: {hint}")
            checked += 1
    print(f"level_crossings: all {checked} counts correct ({len(cases) - 20} hand-made functions, 20 random ones).")


def check_assumption_a_stats(student_function) -> None:
    """Check a student's ``assumption_a_stats(updates)`` (Chapter 5, exercise ``ex5-assumption-a``).

    Parameters
    ----------
    student_function : callable
        ``student_function(updates) -> (zero_fraction, mean_inverse)`` for an array of bias
        updates of any shape: the fraction of entries that are exactly 0, and the mean of
        ``1 / |Δb|`` over the non-zero entries (``nan`` if there are none).

    Raises
    ------
    CheckFailed
        On the first wrong result: which input, expected vs got, and a hint.
    """
    _check_callable(student_function)
    rng = np.random.default_rng(5)
    cases = [
        ("[[0.5, 0.0], [-0.25, 0.0]]", np.array([[0.5, 0.0], [-0.25, 0.0]]), (0.5, 3.0),
         "negative updates count by their absolute value: 1/|-0.25| = 4."),
        ("all zero", np.zeros((3, 4)), (1.0, float("nan")),
         "with no non-zero update the mean of 1/|Δb| is undefined: return nan (not inf, not 0)."),
        ("no zeros, 1-D", np.array([1.0, 2.0, 4.0]), (0.0, 7 / 12),
         "average over the entries, not over the rows."),
        ("a tiny update", np.array([1e-12, 1.0, 0.0, 0.0]), (0.5, (1e12 + 1) / 2),
         "tiny but non-zero updates count (they dominate the mean: that is what Assumption (A) bounds)."),
    ]
    for k in range(10):
        u = rng.normal(size=(int(rng.integers(1, 6)), int(rng.integers(1, 9)))) * 10.0 ** rng.integers(-8, 0)
        u[rng.random(u.shape) < 0.3] = 0.0
        nz = np.abs(u[u != 0])
        cases.append((f"random array #{k} of shape {u.shape}", u,
                      (float(np.mean(u == 0)), float(np.mean(1 / nz)) if nz.size else float("nan")),
                      "compare with a small example you can check by hand."))
    for description, updates, (zero_fraction, mean_inverse), hint in cases:
        got = _call("assumption_a_stats", student_function, (updates.copy(),), description, hint)
        try:
            got_zero, got_inv = (float(v) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(f"assumption_a_stats must return a pair of numbers (zero fraction, mean of 1/|Δb|), "
                              f"got {got!r}\n  input: {description}") from None
        ok_zero = np.isclose(got_zero, zero_fraction, rtol=1e-12, atol=0)
        ok_inv = (np.isnan(mean_inverse) and np.isnan(got_inv)) or np.isclose(got_inv, mean_inverse, rtol=1e-9, atol=0)
        if not (ok_zero and ok_inv):
            raise CheckFailed(f"wrong result for {description}\n"
                              f"  expected: zero fraction {zero_fraction!r}, mean of 1/|Δb| {mean_inverse!r}\n"
                              f"  got:      zero fraction {got_zero!r}, mean of 1/|Δb| {got_inv!r}\n  hint: {hint}")
    print(f"assumption_a_stats: all {len(cases)} checks passed (4 hand-made arrays, 10 random ones).")


def check_restarts(student_function) -> None:
    """Check a student's ``restarts(p_fail, success)`` (Chapter 6, exercise ``ex6-restarts``).

    Parameters
    ----------
    student_function : callable
        ``student_function(p_fail, success) -> int``: the smallest ``K >= 1`` with
        ``1 - p_fail**K >= success`` (evaluated in float64), for ``0 <= p_fail < 1`` and
        ``0 < success < 1``.

    Raises
    ------
    CheckFailed
        On the first wrong answer: the input, expected vs got, and a hint.
    """
    from .initialization import restarts_needed

    _check_callable(student_function)
    cases = [
        (0.75, 0.9, "log(0.1) / log(0.75) = 8.004: round up, never to the nearest integer."),
        (0.97, 0.9, "log(0.1) / log(0.97) = 75.6."),
        (0.5, 0.75, "1 - 0.5**2 = 0.75 exactly: the boundary counts as success, so K = 2, not 3."),
        (0.5, 0.875, "1 - 0.5**3 = 0.875 exactly: K = 3."),
        (0.0, 0.9, "a start that never fails needs one start (and log(0) is not defined)."),
        (0.1, 0.5, "one start already succeeds with probability 0.9 >= 0.5: K is at least 1."),
        (0.9, 0.99, "log(0.01) / log(0.9) = 43.7."),
        (0.999, 0.9, "rare successes need thousands of starts: log(0.1) / log(0.999) = 2301.4."),
    ]
    rng = np.random.default_rng(6)
    for k in range(30):
        cases.append((float(rng.uniform(0, 0.999)), float(rng.uniform(0.01, 0.999)),
                      "K must satisfy 1 - p_fail**K >= success, and K - 1 must not."))
    for k in range(8):                    # success = 1 - p_fail**K exactly: the answer is K, an exact integer
        p_fail, K = float(rng.uniform(0.05, 0.95)), int(rng.integers(2, 60))
        cases.append((p_fail, 1 - p_fail ** K, "the quotient of logarithms should be an exact integer here but "
                      "is rounded: check 1 - p_fail**K >= success instead of trusting the logarithms."))
        cases.append((p_fail, float(np.nextafter(1 - p_fail ** K, 1.0)), "success is one ulp above 1 - p_fail**K, "
                      "so K starts are not enough, but the rounded logarithms may say they are: check."))
    cases.append((0.5, 1 - 0.5 ** 29, "1 - 0.5**29 is exact, so K = 29; log(2**-29) / log(0.5) may round up."))
    for p_fail, success, hint in cases:
        expected = restarts_needed(p_fail, success)
        assert 1 - p_fail ** expected >= success and (expected == 1 or 1 - p_fail ** (expected - 1) < success)
        got = _call("restarts", student_function, (p_fail, success), f"p_fail = {p_fail!r}, success = {success!r}",
                    hint)
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool) or got != expected:
            raise CheckFailed(f"wrong number of restarts for p_fail = {p_fail!r}, success = {success!r}\n"
                              f"  expected: {expected}\n  got:      {got!r}\n  hint: {hint}")
    print(f"restarts: all {len(cases)} answers correct (9 hand-made cases, 46 random ones).")


def check_hamiltonian_step(student_function) -> None:
    """Check a student's ``hamiltonian_step(Y, Z, K, b, h)`` (Chapter 7, exercise ``ex7-verlet-step``).

    Parameters
    ----------
    student_function : callable
        ``student_function(Y, Z, K, b, h) -> (Y_new, Z_new)``: one layer of the Hamiltonian (Verlet)
        block in the row convention with tanh, ``Z_new = Z − h tanh(Y Kᵀ + b)``,
        ``Y_new = Y + h tanh(Z_new K + b)``, for ``Y``, ``Z`` of shape (s, n), ``K`` (n, n), scalar ``b``.

    Raises
    ------
    CheckFailed
        On the first wrong result: which input, expected vs got, and a hint.
    """
    from .stable import hamiltonian_forward

    _check_callable(student_function)
    rng = np.random.default_rng(7)
    cases = [
        ("K = 0, b = 0.5 (no coupling)", np.ones((1, 2)), np.zeros((1, 2)), np.zeros((2, 2)), 0.5, 0.1,
         "with K = 0 both updates are h tanh(b): Z decreases and Y increases by 0.1 tanh(0.5)."),
        ("K = I, Z = 0", np.array([[1.0, -1.0]]), np.zeros((1, 2)), np.eye(2), 0.0, 1.0,
         "update Z first, then use the NEW Z in the update of Y (Verlet); with the old Z = 0, Y would not move."),
        ("K = [[0, 1], [0, 0]], Z = 0", np.array([[1.0, 2.0]]), np.zeros((1, 2)), np.array([[0.0, 1.0], [0.0, 0.0]]),
         0.0, 0.5, "rows: Z is updated with Y K^T (not Y K), and Y with Z_new K (not Z_new K^T)."),
    ]
    for k in range(10):
        s, n = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        cases.append((f"random case #{k}: s = {s}, n = {n}", rng.normal(size=(s, n)), rng.normal(size=(s, n)),
                      rng.normal(size=(n, n)), float(rng.normal()), float(rng.uniform(0.05, 1.0)),
                      "compare with the formulas on a 1 x 2 example you can work out by hand."))
    for description, Y, Z, K, b, h, hint in cases:
        Ys, Zs = hamiltonian_forward(Y, Z, K[None], np.array([b]), h)
        expected = (Ys[-1], Zs[-1])
        got = _call("hamiltonian_step", student_function, (Y.copy(), Z.copy(), K.copy(), b, h), description, hint)
        try:
            got_Y, got_Z = (np.asarray(v, dtype=float) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(f"hamiltonian_step must return a pair of arrays (Y_new, Z_new), got {got!r}\n"
                              f"  input: {description}") from None
        for name, g, e in (("Y_new", got_Y, expected[0]), ("Z_new", got_Z, expected[1])):
            if g.shape != e.shape or not np.allclose(g, e, rtol=1e-12, atol=1e-14):
                raise CheckFailed(f"wrong {name} for {description}\n  Y = {np.round(Y, 4).tolist()}, "
                                  f"Z = {np.round(Z, 4).tolist()}, K = {np.round(K, 4).tolist()}, b = {b:.4g}, "
                                  f"h = {h:.4g}\n  expected: {np.round(e, 6).tolist()}\n"
                                  f"  got:      {np.round(g, 6).tolist()}\n  hint: {hint}")
    print(f"hamiltonian_step: all {len(cases)} checks passed (3 hand-made cases, 10 random ones).")


def check_soft_threshold(student_function) -> None:
    """Check a student's ``soft_threshold(z, t)`` (Chapter 8, exercise ``ex8-soft-threshold``).

    Serves Chapter 8, §8.4, {prf:ref}`alg-firenet` (the non-linear layer of FIRENET). The expected
    value is the proximal map of ``Σ_i t_i |x_i|``: ``z_i max(0, 1 − t_i/|z_i|)`` (and ``0`` at
    ``z_i = 0``), for real and complex ``z`` and thresholds ``t_i >= 0``; hand-made cases with
    known answers, then seeded random ones.

    Parameters
    ----------
    student_function : callable
        ``student_function(z, t) -> numpy.ndarray``, entrywise on arrays of the same shape.

    Raises
    ------
    CheckFailed
        On the first wrong entry: the input, expected vs got, and a hint.
    """
    _check_callable(student_function)

    def expected_of(z, t):
        mag = np.abs(z)
        return z * np.maximum(0.0, 1.0 - t / np.where(mag > 0, mag, np.inf))

    hint_real = "for real z: shrink |z| by t towards 0 and keep the sign; entries with |z| <= t become 0."
    hint_complex = "for complex z keep the phase z/|z| and shrink the modulus: (z/|z|) max(|z| - t, 0)."
    cases = [
        ("real values, threshold 1", np.array([3.0, -3.0, 0.5, -0.5, 1.0, 0.0]), np.ones(6), hint_real),
        ("real values, weighted thresholds", np.array([2.0, 2.0, -2.0, 5.0]), np.array([0.0, 1.5, 3.0, 2.0]),
         "each entry has its own threshold t_i; t_i = 0 leaves z_i unchanged."),
        ("complex values", np.array([3 + 4j, -1j, 0.6 + 0.8j, 0j]), np.array([1.0, 0.5, 2.0, 1.0]), hint_complex),
    ]
    rng = np.random.default_rng(8)
    for k in range(10):
        z = rng.normal(size=7) + (1j * rng.normal(size=7) if k % 2 else 0)
        cases.append((f"random {'complex' if k % 2 else 'real'} values #{k}", z, rng.uniform(0, 1.5, 7),
                      hint_complex if k % 2 else hint_real))
    for description, z, t, hint in cases:
        where = f"{description}, z = {np.round(z, 4).tolist()}, t = {np.round(t, 4).tolist()}"
        got = np.asarray(_call("soft_threshold", student_function, (z.copy(), t.copy()), where, hint))
        expected = expected_of(z, t)
        if got.shape != expected.shape:
            raise CheckFailed(f"soft_threshold must return an array of shape {expected.shape}, got {got.shape}\n"
                              f"  input: {where}")
        bad = np.flatnonzero(~np.isclose(got, expected, rtol=1e-12, atol=1e-14))
        if bad.size:
            i = bad[0]
            raise CheckFailed(f"wrong value for {description}, at z = {z[i]!r}, t = {t[i]!r}\n"
                              f"  expected: {expected[i]!r}\n  got:      {got[i]!r}\n  hint: {hint}")
    print(f"soft_threshold: all {len(cases)} cases correct (real, weighted and complex; "
          f"{len(cases) - 3} random).")
