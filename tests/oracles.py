"""Independent oracles for the tests: plain Python, exact rational arithmetic, no nnlib code.

Kept deliberately naive (loops over lists of ``Fraction``) so that it shares nothing with the
vectorised implementation it checks.
"""
from fractions import Fraction


def exact_layers(net):
    """The network's parameters as nested lists of Fractions (floats convert exactly)."""
    return [([[Fraction(float(a)) for a in row] for row in A], [Fraction(float(v)) for v in b])
            for A, b in net.layers]


def exact_forward(layers, x):
    """R(Φ)(x) for a univariate network, in exact arithmetic."""
    h = [Fraction(x)]
    for j, (A, b) in enumerate(layers):
        z = [sum((a * v for a, v in zip(row, h)), Fraction(0)) + bj for row, bj in zip(A, b)]
        h = z if j == len(layers) - 1 else [max(v, Fraction(0)) for v in z]
    return h[0]


def exact_pattern(layers, x):
    """On/off pattern (pre-activation > 0) of all hidden neurons at x, exactly."""
    h, pattern = [Fraction(x)], []
    for A, b in layers[:-1]:
        z = [sum((a * v for a, v in zip(row, h)), Fraction(0)) + bj for row, bj in zip(A, b)]
        pattern.extend(v > 0 for v in z)
        h = [max(v, Fraction(0)) for v in z]
    return tuple(pattern)


def check_pieces_are_maximal_affine(layers, bps, a, b, samples_per_piece=4):
    """Assert that R(Φ) is affine between consecutive breakpoints and kinks at each breakpoint.

    ``bps`` are exact breakpoints in (a, b). Affinity is checked at the piece's endpoints and at
    interior rational points (a missed kink between the endpoints makes them non-collinear unless
    a second kink cancels it exactly at every sample, which the interior samples guard against).
    """
    f = lambda t: exact_forward(layers, t)
    edges = [Fraction(a)] + [Fraction(p) for p in bps] + [Fraction(b)]
    for lo, hi in zip(edges[:-1], edges[1:]):
        assert lo < hi, "breakpoints must be strictly increasing and inside the interval"
        slope = (f(hi) - f(lo)) / (hi - lo)
        for k in range(1, samples_per_piece + 1):
            t = lo + (hi - lo) * Fraction(k, samples_per_piece + 1) * Fraction(7, 9) ** k
            assert f(t) == f(lo) + slope * (t - lo), f"not affine on [{lo}, {hi}] at {t}"
    for k in range(1, len(edges) - 1):
        p = edges[k]
        d = min(edges[k] - edges[k - 1], edges[k + 1] - edges[k]) / 3
        left = (f(p) - f(p - d)) / d
        right = (f(p + d) - f(p)) / d
        assert left != right, f"no slope change at the reported breakpoint {p}"
