"""Tests for nnlib.precision. Oracles: gfloat (independent correct rounding), torch dtype casts,
numpy/torch finfo, and statistics for stochastic rounding. No expected value is copied from nnlib."""
import subprocess
import sys

import numpy as np
import pytest

# gfloat (test-only, pinned) and torch are hard requirements of this file: a missing oracle must fail
# loudly rather than skip the correctness checks
import gfloat
import torch
from gfloat.formats import format_info_bfloat16, format_info_binary16, format_info_ocp_e4m3, format_info_ocp_e5m2
from gfloat.types import Domain, FormatInfo

from nnlib.precision import (BFLOAT16, FLOAT8_E4M3, FLOAT8_E5M2, FLOAT16, FLOAT32, FLOAT64, Format,
                             fixed_order_matmul, round_to, simulated)

NATIVE = {FLOAT16: torch.float16, BFLOAT16: torch.bfloat16, FLOAT8_E5M2: torch.float8_e5m2,
          FLOAT8_E4M3: torch.float8_e4m3fn}
# custom formats checked against gfloat through the own float64 kernel; all fit in float32 except where noted
CUSTOM32 = [Format(4, 3), Format(6, 9), Format(3, 1), Format(8, 3), Format(2, 1), Format(5, 2, fn=True),
            Format(7, 14)]
CUSTOM64 = [Format(11, 10), Format(10, 40), Format(11, 51), Format(3, 52), FLOAT16, BFLOAT16, FLOAT8_E4M3]
INFO_FIELDS = ["k", "precision", "bias", "is_signed", "domain", "has_nz", "num_high_nans", "has_subnormals",
               "is_twos_complement"]


# ----------------------------------------------------------------------------- helpers (oracles)
def gfloat_info(fmt):
    """gfloat's description of ``fmt`` (checked against gfloat's own presets below)."""
    return FormatInfo(str(fmt), k=1 + fmt.exp_bits + fmt.man_bits, precision=fmt.man_bits + 1,
                      bias=2 ** (fmt.exp_bits - 1) - 1, is_signed=True,
                      domain=Domain.Finite if fmt.fn else Domain.Extended, has_nz=True,
                      num_high_nans=1 if fmt.fn else 2 ** fmt.man_bits - 1, has_subnormals=True,
                      is_twos_complement=False)


def oracle(x, fmt, rnd=None):
    """gfloat rounding of ``x`` (float64 in, float64 out); fn formats saturate, like torch's e4m3fn cast."""
    kw = {} if rnd is None else {"rnd": rnd}
    with np.errstate(over="ignore", invalid="ignore"):
        return gfloat.round_ndarray(gfloat_info(fmt), np.asarray(x, dtype=np.float64), sat=fmt.fn, **kw)


def grid_points(fmt, rng, max_count=40000):
    """Non-negative finite numbers of ``fmt`` and the spacing to the next one: all if few, else a sample
    that always includes both ends of every range (zero, subnormals, min normal, max)."""
    m, E = fmt.man_bits, np.arange(fmt.emin - 1, fmt.emax + 1)     # emin-1 stands for the subnormals
    if (len(E) << m) <= max_count:
        EE, JJ = np.meshgrid(E, np.arange(2 ** m), indexing="ij")
        EE, JJ = EE.ravel(), JJ.ravel()
    else:
        ends = np.array([0, 1, 2, 3])
        js = np.concatenate([ends, 2 ** m - 1 - ends, rng.integers(0, 2 ** m, 8)]) % (2 ** m)
        es = np.concatenate([E[:3], E[-3:], rng.choice(E, 20)])
        EE, JJ = (a.ravel() for a in np.meshgrid(es, js, indexing="ij"))
    spacing = np.ldexp(1.0, np.maximum(EE, fmt.emin) - m)
    lead = np.where(EE < fmt.emin, 0.0, np.ldexp(1.0, np.maximum(EE, fmt.emin)))
    values = lead + JJ * spacing
    keep = values <= fmt.max
    return values[keep], spacing[keep]


def edge_suite(fmt, dtype, seed=0):
    """Values on the grid, every tie between neighbours (incl. the overflow threshold max + spacing/2),
    one input-ulp either side of each tie, specials and random values; both signs."""
    rng = np.random.default_rng(seed)
    v, s = grid_points(fmt, rng)
    ties = v + s / 2
    with np.errstate(over="ignore"):
        beyond = np.array([np.ldexp(1.0, fmt.emax + 1), 2 * fmt.max, 4 * fmt.max, fmt.min_subnormal / 4])
    base = np.concatenate([v, ties, beyond])
    base = base[np.abs(base) <= np.finfo(dtype).max]
    cast = base.astype(dtype)
    assert np.array_equal(cast.astype(np.float64), base), "suite value not exact in the input dtype"
    with np.errstate(over="ignore"):
        near = np.concatenate([np.nextafter(cast, dtype(np.inf)), np.nextafter(cast, dtype(-np.inf))])
    fi = np.finfo(dtype)
    special = np.array([0, np.inf, np.nan, fi.max, fi.smallest_subnormal, fi.smallest_normal, 1.0], dtype=dtype)
    lo, hi = np.log2(fmt.min_subnormal) - 2, min(np.log2(fmt.max) + 2, np.log2(float(fi.max)))
    rand = np.exp2(rng.uniform(lo, hi, 20000)).astype(dtype)
    x = np.concatenate([cast, near, special, rand])
    return np.concatenate([x, -x])


def assert_same_bits(got, expected, what):
    """Bitwise equality (the sign of zero counts); NaN must be NaN."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan), f"{what}: NaN placement differs"
    ints = {4: np.int32, 8: np.int64}[got.dtype.itemsize]
    bad = got[~nan].view(ints) != expected[~nan].view(ints)
    got, expected = got[~nan][bad], expected[~nan][bad]
    assert bad.sum() == 0, f"{what}: {bad.sum()} mismatches, e.g. got {got[:5]} expected {expected[:5]}"


# ----------------------------------------------------------------------------- Format
def test_gfloat_helper_reproduces_gfloat_presets():
    for fmt, info in [(FLOAT16, format_info_binary16), (BFLOAT16, format_info_bfloat16),
                      (FLOAT8_E5M2, format_info_ocp_e5m2), (FLOAT8_E4M3, format_info_ocp_e4m3)]:
        mine = gfloat_info(fmt)
        assert [getattr(mine, f) for f in INFO_FIELDS] == [getattr(info, f) for f in INFO_FIELDS], fmt


@pytest.mark.parametrize("fmt,finfo", [(FLOAT64, np.finfo(np.float64)), (FLOAT32, np.finfo(np.float32)),
                                       (FLOAT16, np.finfo(np.float16))])
def test_format_properties_match_numpy(fmt, finfo):
    assert fmt.max == float(finfo.max)
    assert fmt.min_normal == float(finfo.smallest_normal)
    assert fmt.min_subnormal == float(finfo.smallest_subnormal)
    assert fmt.eps == float(finfo.eps)
    assert fmt.unit_roundoff == float(finfo.eps) / 2
    assert fmt.bias == finfo.maxexp - 1


@pytest.mark.parametrize("fmt", [BFLOAT16, FLOAT8_E5M2, FLOAT8_E4M3])
def test_format_properties_match_torch(fmt):
    fi = torch.finfo(NATIVE[fmt])
    assert (fmt.max, fmt.min_normal, fmt.eps) == (fi.max, fi.smallest_normal, fi.eps)


@pytest.mark.parametrize("fmt", CUSTOM32 + CUSTOM64)
def test_format_properties_match_gfloat(fmt):
    info = gfloat_info(fmt)
    assert fmt.max == info.max
    assert fmt.min_subnormal == info.smallest_subnormal
    assert fmt.min_normal == info.smallest_normal
    assert fmt.eps == info.eps


def test_e4m3_is_the_ocp_fn_variant():
    assert FLOAT8_E4M3.max == 448.0 and FLOAT8_E4M3.fn and FLOAT8_E4M3.emax == 8
    # 1.75 * 2^8: the all-ones mantissa 1.875 * 2^8 = 480 is NaN, not a number
    assert round_to(np.array([480.0, np.inf, -1e6], np.float32), FLOAT8_E4M3).tolist() == [448.0, 448.0, -448.0]


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"exp_bits": 1, "man_bits": 3}, ValueError, "exp_bits"),
    ({"exp_bits": 12, "man_bits": 3}, ValueError, "exp_bits"),
    ({"exp_bits": 5, "man_bits": 53}, ValueError, "man_bits"),
    ({"exp_bits": 5, "man_bits": 0}, ValueError, "man_bits"),
    ({"exp_bits": 5.0, "man_bits": 2}, TypeError, "exp_bits"),
    ({"exp_bits": True, "man_bits": 2}, TypeError, "exp_bits"),
    ({"exp_bits": 5, "man_bits": "2"}, TypeError, "man_bits"),
    ({"exp_bits": 5, "man_bits": False}, TypeError, "man_bits"),
    ({"exp_bits": 5, "man_bits": 2, "fn": 1}, TypeError, "fn"),
    ({"exp_bits": 5, "man_bits": 2, "name": 7}, TypeError, "name"),
])
def test_format_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Format(**kwargs)


def test_format_is_frozen_and_hashable():
    with pytest.raises(AttributeError):
        FLOAT16.man_bits = 3
    assert Format(5, 10) == Format(5, 10) and len({Format(5, 10), Format(5, 10)}) == 1


# ----------------------------------------------------------------------------- round-to-nearest: oracles
@pytest.mark.parametrize("fmt", list(NATIVE))
@pytest.mark.parametrize("method", ["auto", "own"])
def test_native_formats_match_gfloat_and_torch_cast(fmt, method):
    x = edge_suite(fmt, np.float32)
    expected = oracle(x, fmt).astype(np.float32)
    cast = torch.from_numpy(x).to(NATIVE[fmt]).float().numpy()
    assert_same_bits(cast, expected, f"torch cast vs gfloat {fmt}")   # the two oracles agree
    assert_same_bits(round_to(torch.from_numpy(x), fmt, method=method).numpy(), expected, f"{fmt} tensor {method}")
    assert_same_bits(round_to(x, fmt, method=method), expected, f"{fmt} numpy {method}")


@pytest.mark.parametrize("fmt", CUSTOM32, ids=str)
def test_custom_formats_match_gfloat_float32_input(fmt):
    x = edge_suite(fmt, np.float32)
    expected = oracle(x, fmt).astype(np.float32)
    assert_same_bits(round_to(x, fmt), expected, str(fmt))
    assert_same_bits(round_to(torch.from_numpy(x), fmt).numpy(), expected, f"{fmt} tensor")


@pytest.mark.parametrize("fmt", CUSTOM64, ids=str)
def test_float64_input_matches_gfloat(fmt):
    x = edge_suite(fmt, np.float64)
    # values a hair off every tie in float64 (2^-40 relative) catch double rounding through float32
    with np.errstate(over="ignore"):
        x = np.concatenate([x, x * (1 + 2.0 ** -40), x * (1 - 2.0 ** -40)])
    expected = oracle(x, fmt)
    assert_same_bits(round_to(x, fmt), expected, str(fmt))
    assert_same_bits(round_to(torch.from_numpy(x), fmt).numpy(), expected, f"{fmt} tensor")


def test_float64_input_avoids_torch_double_rounding():
    x = np.array([1 + 2.0 ** -11 + 2.0 ** -40])          # just above a float16 tie: rounds up
    assert round_to(x, FLOAT16)[0] == 1 + 2.0 ** -10
    assert round_to(torch.from_numpy(x), FLOAT16).item() == 1 + 2.0 ** -10


@pytest.mark.parametrize("fmt,fast", [(Format(5, 10), FLOAT16), (Format(8, 7), BFLOAT16),
                                      (Format(5, 2), FLOAT8_E5M2), (Format(4, 3, fn=True), FLOAT8_E4M3)])
def test_own_rounder_equals_cast_bit_for_bit(fmt, fast):
    x = edge_suite(fast, np.float32, seed=1)
    x = np.concatenate([x, (np.random.default_rng(2).standard_normal(10 ** 5) * 1e3).astype(np.float32)])
    expected = torch.from_numpy(x).to(NATIVE[fast]).float().numpy()
    assert_same_bits(round_to(x, fmt, method="own"), expected, str(fmt))
    assert_same_bits(round_to(torch.from_numpy(x), fmt, method="own").numpy(), expected, f"{fmt} tensor")


def test_hand_derived_float16_values():
    ulp = 2.0 ** -10
    x = np.array([1 + ulp / 2, 1 + 3 * ulp / 2, -(1 + ulp / 2), 65504 + 16, 65504 + 15.99, 2.0 ** -25,
                  3 * 2.0 ** -26, -2.0 ** -26, -0.0], np.float32)
    expected = np.array([1, 1 + 2 * ulp, -1, np.inf, 65504, 0, 2.0 ** -24, -0.0, -0.0], np.float32)
    assert_same_bits(round_to(x, Format(5, 10), method="own"), expected, "hand-derived")


def test_identity_when_format_contains_input():
    x = edge_suite(FLOAT16, np.float32)
    for fmt in (FLOAT32, FLOAT64, Format(8, 30), Format(11, 23)):
        assert_same_bits(round_to(x, fmt), x, str(fmt))
    x64 = edge_suite(FLOAT32, np.float64)
    assert_same_bits(round_to(x64, FLOAT64), x64, "float64")
    assert_same_bits(round_to(x64, FLOAT32), oracle(x64, FLOAT32), "float64 -> float32")


def test_returns_same_type_dtype_shape_and_does_not_modify_input():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    before = x.copy()
    for fmt in (FLOAT16, Format(6, 9)):
        y = round_to(x, fmt)
        assert type(y) is np.ndarray and y.dtype == np.float32 and y.shape == (3, 4)
        t = torch.from_numpy(x.astype(np.float64)).T.requires_grad_()    # non-contiguous, tracked
        yt = round_to(t, fmt)
        assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float64 and yt.shape == (4, 3)
        assert not yt.requires_grad
        assert_same_bits(yt.detach().numpy(), oracle(t.detach().numpy(), fmt), "transposed")
    assert_same_bits(x, before, "input unchanged")
    for shape in ((), (0, 3)):                           # 0-d and empty arrays keep their shape
        z = np.full(shape, 1 + 2.0 ** -11, np.float32)
        for stochastic in (False, True):
            assert round_to(z, Format(6, 9), stochastic).shape == shape
            assert round_to(torch.from_numpy(z), Format(6, 9), stochastic).shape == shape
    assert round_to(np.array(1 + 3 * 2.0 ** -11, np.float32), Format(5, 10), method="own") == 1 + 2.0 ** -9


# ----------------------------------------------------------------------------- stochastic rounding
@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, Format(4, 3), Format(6, 9), FLOAT8_E4M3], ids=str)
@pytest.mark.parametrize("kind", ["numpy32", "numpy64", "torch32", "torch64"])
def test_stochastic_rounding_is_unbiased(fmt, kind):
    # points at 1/4, 1/3 (non-dyadic), 1/2, 0.9 of a spacing above a grid point; normal and subnormal
    # range, both signs
    spacing_points = [(1.0, 2.0 ** -fmt.man_bits), (fmt.min_normal, fmt.min_subnormal),
                      (0.0, fmt.min_subnormal), (fmt.max / 2, 2.0 ** (fmt.emax - 1 - fmt.man_bits))]
    xs = np.array([s * (a + f * d) for a, d in spacing_points for f in (0.25, 1 / 3, 0.5, 0.9) for s in (1, -1)])
    dtype = np.float32 if kind.endswith("32") else np.float64
    xs = xs.astype(dtype).astype(np.float64)             # the value actually rounded
    lo = oracle(xs, fmt, gfloat.RoundMode.TowardNegative)
    hi = oracle(xs, fmt, gfloat.RoundMode.TowardPositive)
    n = 20000
    x = np.repeat(xs, n).astype(dtype)
    if kind.startswith("numpy"):
        r = round_to(x, fmt, stochastic=True, generator=np.random.default_rng(5)).astype(np.float64)
    else:
        g = torch.Generator().manual_seed(5)
        r = round_to(torch.from_numpy(x), fmt, stochastic=True, generator=g).numpy().astype(np.float64)
    r = r.reshape(len(xs), n)
    assert np.all((r == lo[:, None]) | (r == hi[:, None])), "stochastic result is not a neighbour"
    p = (xs - lo) / (hi - lo)                            # P(round up)
    std_err = (hi - lo) * np.sqrt(p * (1 - p) / n)
    bias = np.abs(r.mean(axis=1) - xs)
    assert np.all(bias <= 5 * std_err), f"bias {bias / std_err} standard errors"
    assert np.all(r.min(axis=1) < r.max(axis=1)), "both neighbours must occur"


@pytest.mark.parametrize("fmt,dtype", [(FLOAT16, np.float32), (Format(6, 9), np.float32), (Format(3, 1), np.float32),
                                       (FLOAT8_E4M3, np.float32), (Format(4, 48), np.float64),
                                       (Format(11, 51), np.float64), (Format(6, 28), np.float32),
                                       (Format(6, 30), np.float32)], ids=str)
def test_stochastic_rounding_keeps_representable_values(fmt, dtype):
    # with many mantissa bits a random offset that is not an exact multiple of the spacing's fraction
    # grid (e.g. 53 random bits) would round t + u up to t + 1 and move values: this catches it
    v, _ = grid_points(fmt, np.random.default_rng(0))
    v = v[v.astype(dtype) == v]                          # numbers of fmt that the input dtype holds
    v = np.concatenate([v, -v, [np.inf, -np.inf, np.nan] if not fmt.fn else [np.nan]]).astype(dtype)
    x = np.tile(v, 20)
    assert_same_bits(round_to(x, fmt, stochastic=True, generator=np.random.default_rng(1)), x, "numpy")
    g = torch.Generator().manual_seed(1)
    assert_same_bits(round_to(torch.from_numpy(x), fmt, stochastic=True, generator=g).numpy(), x, "torch")


def test_stochastic_rounding_is_reproducible_and_random():
    x = np.full(1000, 1 + 2.0 ** -12, np.float32)
    a = round_to(x, FLOAT16, stochastic=True, generator=np.random.default_rng(3))
    b = round_to(x, FLOAT16, stochastic=True, generator=np.random.default_rng(3))
    assert np.array_equal(a, b) and len(np.unique(a)) == 2
    ta = round_to(torch.from_numpy(x), FLOAT16, True, torch.Generator().manual_seed(3))
    tb = round_to(torch.from_numpy(x), FLOAT16, True, torch.Generator().manual_seed(3))
    assert torch.equal(ta, tb)


def test_stochastic_rounding_overflow_and_sign_of_zero():
    x = np.array([-1e-30, -0.0, 65504 + 31, 1e6], np.float32)   # 65504 + 31 lies between max and 2^16
    r = round_to(np.repeat(x, 200), FLOAT16, stochastic=True, generator=np.random.default_rng(0)).reshape(4, 200)
    assert np.all(np.signbit(r[0]) & (r[0] == 0)) and np.all(np.signbit(r[1]))
    assert set(r[2].tolist()) == {65504.0, np.inf}
    assert np.all(r[3] == np.inf)
    s = round_to(np.repeat(np.float32(460.0), 100), FLOAT8_E4M3, stochastic=True, generator=np.random.default_rng(0))
    assert np.all(s == 448.0)   # fn formats saturate


# ----------------------------------------------------------------------------- round_to validation
def test_round_to_validation():
    x = np.ones(3, np.float32)
    cases = [
        (lambda: round_to([1.0, 2.0], FLOAT16), TypeError, "x must be"),
        (lambda: round_to(np.ones(3, np.int64), FLOAT16), TypeError, "x must have dtype"),
        (lambda: round_to(torch.ones(3, dtype=torch.float16), FLOAT16), TypeError, "x must have dtype"),
        (lambda: round_to(x, (5, 10)), TypeError, "fmt"),
        (lambda: round_to(x, FLOAT16, stochastic=1), TypeError, "stochastic"),
        (lambda: round_to(x, FLOAT16, True, torch.Generator()), TypeError, "generator"),
        (lambda: round_to(torch.ones(3), FLOAT16, True, np.random.default_rng()), TypeError, "generator"),
        (lambda: round_to(x, FLOAT16, True, 5), TypeError, "generator"),
        (lambda: round_to(x, FLOAT16, method="fast"), ValueError, "method"),
        (lambda: round_to(x, Format(6, 9), method="cast"), ValueError, "method='cast'"),
        (lambda: round_to(x, FLOAT16, stochastic=True, method="cast"), ValueError, "method='cast'"),
        (lambda: round_to(x.astype(np.float64), FLOAT16, method="cast"), ValueError, "method='cast'"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


# ----------------------------------------------------------------------------- simulated training
def _mlp(seed=0, dtype=torch.float32, width=16, depth=4):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(2, width), torch.nn.ReLU()]
    for _ in range(depth - 2):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 1)).to(dtype)


def _grads(net, module, x, y):
    module.zero_grad()
    x = x.clone().requires_grad_()
    out = net(x)
    torch.nn.functional.mse_loss(out, y).backward()
    return out.detach(), [p.grad.clone() for p in module.parameters()] + [x.grad]


def _representable(t, fmt):
    return torch.equal(round_to(t, fmt, method="own"), t)


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, FLOAT8_E5M2, Format(6, 9), Format(4, 3)], ids=str)
@pytest.mark.parametrize("stochastic", [False, True])
def test_simulated_forward_and_backward_are_in_format(fmt, stochastic):
    module = _mlp()
    x, y = torch.randn(64, 2), torch.randn(64, 1)
    gen = torch.Generator().manual_seed(0) if stochastic else None
    out, grads = _grads(simulated(module, fmt, stochastic, gen), module, x, y)
    assert _representable(out, fmt)
    for g in grads:                       # weights, biases and the input gradient
        assert _representable(g, fmt)
    ref_out, ref_grads = _grads(module, module, x, y)
    assert not all(torch.equal(a, b) for a, b in zip(grads, ref_grads)), "nothing was rounded"
    # How close the values are to the rounding model is checked exactly, bit for bit, by
    # test_simulated_gradients_equal_an_independent_implementation below. (A norm bound against
    # the float32 gradient cannot be tight: activation flips and fp8 underflow make it 1 … 270 u.)
    if stochastic:                        # reproducible with the same seed
        _, again = _grads(simulated(module, fmt, True, torch.Generator().manual_seed(0)), module, x, y)
        assert all(torch.equal(a, b) for a, b in zip(grads, again))


def test_simulated_matches_a_hand_written_rounded_network():
    module = _mlp(1)
    x = torch.randn(32, 2)

    def q(t):
        return t.to(torch.bfloat16).float()

    h = q(x)
    lin = [m for m in module if isinstance(m, torch.nn.Linear)]
    for k, layer in enumerate(lin):
        h = q(h @ q(layer.weight).T + q(layer.bias))
        if k < len(lin) - 1:
            h = torch.relu(h)
    assert torch.equal(simulated(module, BFLOAT16)(x), h)


def test_simulated_own_kernel_equals_cast_kernel_in_training():
    from nnlib.precision import _torch_module

    module = _mlp(2)
    x, y = torch.randn(100, 2), torch.randn(100, 1)
    cast = simulated(module, FLOAT16)
    own = _torch_module()(module, FLOAT16, False, None, rounder=lambda t: round_to(t, Format(5, 10), method="own"))
    for a, b in zip(_grads(cast, module, x, y)[1], _grads(own, module, x, y)[1]):
        assert torch.equal(a, b)


def _simulated_oracle(module, fmt, x, y):
    """The rounding model of ``simulated`` re-implemented in numpy, with gfloat as the rounding.

    Forward: ``h_0 = q(x)``, ``z_j = q(h_{j-1} q(W_j)^T + q(b_j))``, ``h_j = ϱ(z_j)``; loss
    ``mean((z_L - y)^2)``. Backward: every gradient that flows through a rounding is rounded:
    ``g_L = q(2 (z_L - y) / n)``, ``∂W_j = q(g_j^T h_{j-1})``, ``∂b_j = q(Σ g_j)``,
    ``g_{j-1} = q([z_{j-1} > 0] ⊙ g_j q(W_j))``.
    """
    q = lambda a: oracle(a, fmt)
    params = [(q(m.weight.detach().numpy()), q(m.bias.detach().numpy())) for m in module
              if isinstance(m, torch.nn.Linear)]
    hs, zs = [q(x)], []
    for j, (W, b) in enumerate(params):
        zs.append(q(hs[-1] @ W.T + b))
        hs.append(np.maximum(zs[-1], 0.0))
    g = q(2.0 * (zs[-1] - y) / y.size)
    grads = []
    for j in range(len(params) - 1, -1, -1):
        grads += [q(g.sum(axis=0)), q(g.T @ hs[j])]
        if j > 0:
            g = q(np.where(zs[j - 1] > 0, g @ params[j][0], 0.0))
    return grads[::-1]


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, FLOAT8_E5M2, FLOAT8_E4M3, Format(6, 9), Format(4, 3)], ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_simulated_gradients_equal_an_independent_implementation(fmt, seed):
    """Round-to-nearest: the simulated gradients are exactly the rounding model's, entry by entry.

    Float64 master parameters: every product of two ``fmt`` numbers (at most 2·11 significant bits)
    and every sum of 16 or 64 of them is exact in float64 here, so the summation order of torch and
    numpy cannot matter and the only roundings are the model's — the tightest possible bound (0).
    n = 64 is a power of two, so ``2 (z - y) / n`` is exact too.
    """
    module = _mlp(seed, dtype=torch.float64)
    gen = torch.Generator().manual_seed(100 + seed)
    x, y = torch.randn(64, 2, generator=gen, dtype=torch.float64), torch.randn(64, 1, generator=gen, dtype=torch.float64)
    module.zero_grad()
    torch.nn.functional.mse_loss(simulated(module, fmt)(x), y).backward()
    got = [p.grad.numpy() for p in module.parameters()]
    expected = _simulated_oracle(module, fmt, x.numpy(), y.numpy())
    for k, (a, b) in enumerate(zip(got, expected)):
        assert np.array_equal(a, b), f"gradient {k}: {np.count_nonzero(a != b)} entries differ"
    assert any(np.any(g != 0) for g in got)


def test_simulated_float32_is_plain_float32_and_shares_parameters():
    module = _mlp(3)
    x, y = torch.randn(50, 2), torch.randn(50, 1)
    sim = simulated(module, FLOAT32)
    a, b = _grads(sim, module, x, y), _grads(module, module, x, y)
    assert torch.equal(a[0], b[0]) and all(torch.equal(g, h) for g, h in zip(a[1], b[1]))
    with torch.no_grad():
        module[0].bias.add_(1.0)
    assert not torch.equal(sim(x), a[0])     # the wrapper sees the updated master parameters


def test_simulated_validation():
    good = _mlp()
    cases = [
        (lambda: simulated(torch.nn.Linear(2, 2), FLOAT16), TypeError, "module must be"),
        (lambda: simulated(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()), FLOAT16), TypeError,
         r"module\[1\]"),
        (lambda: simulated(torch.nn.Sequential(torch.nn.ReLU()), FLOAT16), ValueError, "module"),
        (lambda: simulated(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2).double()), FLOAT16),
         ValueError, "dtype"),
        (lambda: simulated(torch.nn.Sequential(torch.nn.Linear(2, 2).half()), FLOAT16), TypeError, "float32"),
        (lambda: simulated(good, "fp16"), ValueError, "fmt must be a Format or one of"),
        (lambda: simulated(good, 16), TypeError, "fmt"),
        (lambda: simulated(good, FLOAT16, stochastic="yes"), TypeError, "stochastic"),
        (lambda: simulated(good, FLOAT16, True, np.random.default_rng()), TypeError, "generator"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


def test_import_nnlib_does_not_import_torch():
    code = "import sys, nnlib, nnlib.precision, nnlib.gradients; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numpy_path_works_without_torch():
    # torch is an optional extra: with torch unimportable, numpy input takes the float64 kernel
    x = edge_suite(FLOAT16, np.float32)
    code = ("import sys, numpy as np; sys.modules['torch'] = None\n"
            "from nnlib.precision import round_to, FLOAT16, Format\n"
            "x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float32)\n"
            "sys.stdout.buffer.write(round_to(x, FLOAT16).tobytes() + round_to(x, Format(6, 9), True).tobytes())")
    out = subprocess.run([sys.executable, "-c", code], input=x.tobytes(), capture_output=True, check=True).stdout
    got = np.frombuffer(out, dtype=np.float32)
    assert_same_bits(got[:x.size], torch.from_numpy(x).half().float().numpy(), "float16 without torch")
    assert got.size == 2 * x.size


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16, FLOAT8_E5M2, Format(6, 9), Format(4, 3)])
def test_rounding_error_is_at_most_unit_roundoff(fmt):
    """Chapter 3, lem-rounding-error: |fl(x) - x| <= u |x| in the normal range, with equality approached at ties."""
    rng = np.random.default_rng(0)
    lo, hi = np.log2(fmt.min_normal), np.log2(fmt.max)
    x = np.exp2(rng.uniform(lo, hi - 1e-9, 100_000)) * rng.choice([-1.0, 1.0], 100_000)
    rel = np.abs(round_to(x, fmt) - x) / np.abs(x)
    assert rel.max() <= fmt.unit_roundoff
    tie = np.array([1.0 + fmt.unit_roundoff])  # halfway between 1 and 1 + 2u: rounds to 1
    assert abs(round_to(tie, fmt)[0] - tie[0]) / tie[0] == fmt.unit_roundoff / (1 + fmt.unit_roundoff)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["auto", "own"])
def test_read_only_arrays_round_without_warnings(dtype, method):
    import warnings

    x = np.array([0.1, 1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11, -70000.0, 2.0**-26, 3.0], dtype=dtype)
    before = x.copy()
    x.setflags(write=False)
    assert not x.flags.writeable                      # the input really is read-only
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # torch.from_numpy warns on read-only arrays
        y = round_to(x, FLOAT16, method=method)
        s = round_to(x, FLOAT16, stochastic=True, generator=np.random.default_rng(0))
    # oracle: numpy's own float -> float16 conversion (a single correct rounding, ties to even)
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16).astype(dtype)
    assert y.dtype == dtype and y.tolist() == expected.tolist()
    assert np.array_equal(x, before) and not x.flags.writeable      # input untouched
    with np.errstate(over="ignore"):                  # -70000 overflows to -inf, as it should
        assert np.array_equal(s.astype(np.float16).astype(dtype), s)     # stochastic results are float16 numbers
    assert s[-1] == 3.0 and s[3] == -np.inf

# ----------------------------------------------------------------------------- fixed_order_matmul
def _wide_range(rng, shape, dtype):
    """Entries of both signs over 2^-20 .. 2^20: sums whose value depends on the order of the additions."""
    return (rng.standard_normal(shape) * 2.0 ** rng.integers(-20, 21, shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fixed_order_matmul_sums_left_to_right(dtype):
    # Oracle: scalar loops, one IEEE rounding per operation (numpy float32 scalars / Python floats).
    rng = np.random.default_rng(5)
    A, B = _wide_range(rng, (7, 30), dtype), _wide_range(rng, (30, 6), dtype)
    scalar = np.float32 if dtype == np.float32 else float
    expected = np.empty((7, 6), dtype)
    for i in range(7):
        for j in range(6):
            acc = scalar(A[i, 0]) * scalar(B[0, j])
            for k in range(1, 30):
                acc = acc + scalar(A[i, k]) * scalar(B[k, j])
            expected[i, j] = acc
    got = fixed_order_matmul(A, B)
    assert got.dtype == dtype and got.tobytes() == expected.tobytes()
    # the order matters for these entries, so the test would see another order
    assert fixed_order_matmul(A[:, ::-1], B[::-1]).tobytes() != expected.tobytes()


def test_fixed_order_matmul_bad_input():
    a32, a64 = np.ones((2, 3), np.float32), np.ones((3, 2))
    with pytest.raises(TypeError, match="same dtype"):
        fixed_order_matmul(a32, a64)
    with pytest.raises(ValueError, match="A has shape"):
        fixed_order_matmul(a64, a64)
    with pytest.raises(ValueError, match="B must be 2-dimensional"):
        fixed_order_matmul(a64.T, np.ones(3))
    with pytest.raises(ValueError, match="A has non-finite"):
        fixed_order_matmul(np.array([[np.inf]], np.float32), np.ones((1, 1), np.float32))
    with pytest.raises(TypeError, match="A must have a real"):
        fixed_order_matmul(np.ones((1, 1), bool), np.ones((1, 1)))
