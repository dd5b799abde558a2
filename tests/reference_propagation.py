"""Reference knot propagation (tests only): Chapter 1's algorithm in its own words.

Plain loops over lists of ``Fraction``, no vectorisation, no shortcuts — the micrograd idea: short
enough to check by reading, and independent of ``nnlib.pieces`` (it imports nothing from nnlib).
Bounded intervals only.
"""
from fractions import Fraction


def reference_propagation(net, a, b):
    """Knots, breakpoints, pieces and activation regions of a univariate ``net`` on ``[a, b]``.

    Layer by layer: evaluate the pre-activations at the knots; wherever one changes sign strictly
    inside a segment, insert a knot at the zero of that affine segment; record the on/off pattern
    of every segment; apply the ReLU. At the end a knot is a breakpoint iff the slope changes.
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
            points = zeros + [x1]
            left, left_z = x0, z0
            for x in points:
                t = (x - x0) / (x1 - x0)
                zx = [p + t * (q - p) for p, q in zip(z0, z1)]   # affine on the segment
                on = tuple(u + v > 0 for u, v in zip(left_z, zx))  # no sign change inside
                new_patterns.append(patterns[k] + on)
                new_knots.append(x)
                new_z.append(zx)
                left, left_z = x, zx
        knots, patterns = new_knots, new_patterns
        inputs = [[max(v, Fraction(0)) for v in row] for row in new_z]
    out = [row[0] for row in z]
    slopes = [(out[k + 1] - out[k]) / (knots[k + 1] - knots[k]) for k in range(len(knots) - 1)]
    bps = [knots[k] for k in range(1, len(knots) - 1) if slopes[k - 1] != slopes[k]]
    region_edges = sum(patterns[k - 1] != patterns[k] for k in range(1, len(knots) - 1))
    return {"knots": knots, "breakpoints": bps, "pieces": len(bps) + 1, "regions": region_edges + 1}
