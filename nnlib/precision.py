"""Floating-point formats, correct rounding into them, and simulated low-precision training.

Chapter 3, "Floating point and backpropagation".

A binary floating-point format with ``e`` exponent bits and ``m`` stored mantissa bits
({prf:ref}`def-float-format`) has the numbers ``±(1.f) · 2^E`` with ``emin <= E <= emax`` (normal) and
``±(0.f) · 2^emin`` (subnormal). :func:`round_to` maps real numbers into such a format with
round-to-nearest-even or unbiased stochastic rounding, and :func:`simulated` runs the forward *and* the
backward pass of a ReLU network with every stored quantity rounded to the format, so that fp16, bf16,
fp8 or any custom ``(e, m)`` format can be "trained" on a CPU.

How the rounding is done (and why it is exact): for the native formats (fp32, fp16, bf16, fp8 e5m2,
fp8 e4m3fn) and float32 input, a torch dtype cast is a single IEEE rounding and runs at memory speed.
Everything else goes through ``_round_own``, which works in float64: with the grid spacing
``d = 2^(E' - m)`` (``E'`` the exponent of ``x`` clamped to ``[emin, emax]``), ``x / d`` is exact because
``d`` is a power of two, and ``round(x / d) * d`` is the nearest grid point with ties to even — the IEEE
rule, subnormals included. (torch's float64 → fp16/bf16/fp8 casts go through float32 and round *twice*;
e.g. ``1 + 2^-11 + 2^-40`` becomes ``1.0`` in fp16 instead of ``1 + 2^-10`` — so float64 input always
takes the own path.)
"""
from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import numpy as np

from ._validate import as_real_array, check_choice, check_flag, check_format, check_generator, check_int

__all__ = [
    "Format", "FLOAT64", "FLOAT32", "BFLOAT16", "FLOAT16", "FLOAT8_E5M2", "FLOAT8_E4M3",
    "FORMATS", "round_to", "simulated", "fixed_order_matmul",
]

_EXP_MASK = 0x7FF0000000000000  # the 11 exponent bits of a float64


# ----------------------------------------------------------------------------- formats
@dataclass(frozen=True)
class Format:
    """A binary floating-point format with ``exp_bits`` exponent and ``man_bits`` mantissa bits.

    Chapter 3, {prf:ref}`def-float-format`. The precision is ``p = man_bits + 1`` (hidden bit),
    the exponent bias ``2^(exp_bits-1) - 1``, normal exponents ``emin = 1 - bias <= E <= emax``.

    Parameters
    ----------
    exp_bits : int
        2 … 11. (11 is the float64 exponent range, the widest that float64 arithmetic can simulate.)
    man_bits : int
        1 … 52 stored mantissa (fraction) bits. 52 is float64's; more cannot be simulated in float64.
        (With 0 bits every significand is odd and "ties to even" would have to refer to the encoding.)
    name : str, optional
        Display name.
    fn : bool, default False
        ``False``: IEEE 754 layout — the top exponent encodes inf/NaN, ``emax = bias``, and results beyond
        ``max`` overflow to ``±inf``. ``True``: the OCP "FN" layout of ``float8_e4m3fn`` — **F**\\ inite (no
        inf), only the all-ones pattern ``S.1…1.1…1`` is NaN, so ``emax = bias + 1`` and
        ``max = (2 - 2^(1-m)) · 2^emax`` (448 for e4m3). Overflow **saturates**: every value whose
        rounded magnitude exceeds ``max``, including ``±inf``, becomes ``±max``; NaN stays NaN. This is
        exactly what ``torch``'s ``float8_e4m3fn`` cast does (measured on torch 2.13: ``1e6 → 448``,
        ``inf → 448``) and OCP's / gfloat's saturating conversion (``sat=True``).

    Raises
    ------
    TypeError
        If ``exp_bits``/``man_bits`` are not integers (``bool`` is rejected), ``fn`` is not a bool,
        or ``name`` is not a string.
    ValueError
        If ``exp_bits`` or ``man_bits`` is out of range.

    Examples
    --------
    >>> FLOAT16.max, FLOAT16.unit_roundoff, FLOAT8_E4M3.max
    (65504.0, 0.00048828125, 448.0)
    """

    exp_bits: int
    man_bits: int
    name: str | None = None
    fn: bool = False

    def __post_init__(self):
        check_int(self.exp_bits, "exp_bits", minimum=2, maximum=11)
        check_int(self.man_bits, "man_bits", minimum=1, maximum=52)
        if not isinstance(self.fn, bool):
            raise TypeError(f"fn must be a bool, got {type(self.fn).__name__}")
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a str or None, got {type(self.name).__name__}")

    def __str__(self) -> str:
        return self.name or f"e{self.exp_bits}m{self.man_bits}" + ("fn" if self.fn else "")

    @property
    def bias(self) -> int:
        """Exponent bias ``2^(exp_bits-1) - 1``."""
        return 2 ** (self.exp_bits - 1) - 1

    @property
    def emin(self) -> int:
        """Smallest normal exponent ``1 - bias``."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        """The largest exponent, ``bias`` (IEEE) or ``bias + 1`` (``fn``, no inf encoding)."""
        return self.bias + (1 if self.fn else 0)

    @property
    def precision(self) -> int:
        """``p = man_bits + 1`` significant bits."""
        return self.man_bits + 1

    @property
    def unit_roundoff(self) -> float:
        """``u = 2^-(man_bits+1)``: ``|fl(x) - x| <= u |x|`` in the normal range ({prf:ref}`lem-rounding-error`)."""
        return math.ldexp(1.0, -(self.man_bits + 1))

    @property
    def eps(self) -> float:
        """Machine epsilon ``2^-man_bits``, the gap between 1 and the next larger number."""
        return math.ldexp(1.0, -self.man_bits)

    @property
    def max(self) -> float:
        """Largest finite number."""
        top = 2.0 - math.ldexp(1.0, (1 if self.fn else 0) - self.man_bits)
        return math.ldexp(top, self.emax)

    @property
    def min_normal(self) -> float:
        """Smallest positive normal number ``2^emin``."""
        return math.ldexp(1.0, self.emin)

    @property
    def min_subnormal(self) -> float:
        """Smallest positive (subnormal) number ``2^(emin - man_bits)``."""
        return math.ldexp(1.0, self.emin - self.man_bits)


#: IEEE binary64 (double), with 11 exponent bits and 52 mantissa bits.
FLOAT64 = Format(11, 52, "float64")
#: IEEE binary32 (single), with 8 exponent bits and 23 mantissa bits.
FLOAT32 = Format(8, 23, "float32")
#: Brain float16, with the float32 exponent range (8 bits) and 7 mantissa bits.
BFLOAT16 = Format(8, 7, "bfloat16")
#: IEEE binary16 (half), with 5 exponent bits and 10 mantissa bits.
FLOAT16 = Format(5, 10, "float16")
#: OCP float8 E5M2 (IEEE layout, with infinities).
FLOAT8_E5M2 = Format(5, 2, "float8_e5m2")
#: OCP float8 E4M3FN, finite (no infinities, saturating overflow, max 448).
FLOAT8_E4M3 = Format(4, 3, "float8_e4m3fn", fn=True)
#: The named formats by name (``"float64"``, ``"float32"``, ``"bfloat16"``, ``"float16"``,
#: ``"float8_e5m2"``, ``"float8_e4m3fn"``); every ``fmt`` argument of nnlib accepts these names.
FORMATS = {f.name: f for f in (FLOAT64, FLOAT32, BFLOAT16, FLOAT16, FLOAT8_E5M2, FLOAT8_E4M3)}

# (exp_bits, man_bits, fn) -> torch dtype name whose float32 -> dtype cast is exactly round_to.
_NATIVE = {(8, 23, False): "float32", (8, 7, False): "bfloat16", (5, 10, False): "float16",
           (5, 2, False): "float8_e5m2", (4, 3, True): "float8_e4m3fn"}


# ----------------------------------------------------------------------------- rounding kernels
def _round_own(w, x, fmt: Format, xp, u=None):
    """Round the float64 working copy ``w`` of ``x`` to ``fmt`` **in place** and return it.

    ``xp`` is ``numpy`` or ``torch`` (the same in-place ops exist in both). ``u`` (same shape) holds
    uniform random numbers from :func:`_random_unit` for stochastic rounding, else None.
    Every step is exact in float64, so the only rounding is the intended one.
    """
    m = fmt.man_bits
    # 2^E', E' = exponent of x clamped to [emin, emax]: below emin the grid is the fixed subnormal grid,
    # above emax the value overflows anyway. The bits of 2^E are the exponent bits of x.
    scale = xp.bitwise_and(w.view(xp.int64), _EXP_MASK)
    xp.clip(scale, (fmt.emin + 1023) << 52, (fmt.emax + 1023) << 52, out=scale)
    d = scale.view(xp.float64)
    xp.multiply(d, 2.0 ** -m, out=d)          # grid spacing 2^(E'-m); a float64 power of 2 (maybe subnormal)
    xp.divide(w, d, out=w)                    # x / d: exact, a power-of-two scaling
    if u is None:
        xp.round(w, out=w)                    # nearest integer, ties to even = IEEE round-to-nearest-even
    else:
        # floor(t + u) rounds t up with probability frac(t) exactly: t + u is exact (see _random_unit),
        # and an integer t never moves because u < 1.
        xp.add(w, u, out=w)
        xp.floor(w, out=w)
    xp.multiply(w, d, out=w)                  # back to the grid: integer * power of two, exact
    if u is not None:
        xp.copysign(w, x, out=w)              # floor(-0.3 + u) = +0: restore the sign of zero results
    if fmt.fn:
        xp.clip(w, -fmt.max, fmt.max, out=w)  # saturate (inf too), NaN passes through
    elif fmt.emax < 1023:
        # |w| >= 2^(emax+1) must become inf: scaling by 2^k with k = 1023 - emax overflows exactly those
        # values in float64 and is exact for all others, so scaling back restores them bit for bit.
        k = 1023 - fmt.emax
        xp.multiply(w, 2.0 ** k, out=w)
        xp.multiply(w, 2.0 ** -k, out=w)
    return w


def _random_unit(shape, man_bits, xp, generator, single):
    """Uniform random numbers in ``[0, 1)`` made of ``k`` *integer* random bits (multiples of ``2^-k``).

    ``t = x / spacing`` has at most ``52 - m`` fraction bits for float64 ``x`` on the normal grid, and at most
    ``23 - m`` for float32 ``x``; ``k`` covers that, so ``P(round up)`` is exact, while ``t + u`` stays
    exact in float64 (``m + 1 + k <= 53``), so an integer ``t`` never moves. For float32 input the 24-bit
    float32 generators (about 1.5× faster than 64-bit draws) suffice.
    """
    k = 52 - man_bits
    if k == 0:   # the float64 grid itself: nothing to round stochastically
        return xp.zeros(shape, dtype=xp.float64)
    if single and k >= 24:   # numpy's and torch's float32 uniforms are (24 random bits) * 2^-24
        if xp is np:
            return generator.random(shape, dtype=np.float32)
        return xp.rand(shape, generator=generator, dtype=xp.float32)
    if xp is np:
        u = generator.integers(0, 2 ** k, size=shape, dtype=np.int64)
        u = u.astype(np.float64)
    else:
        u = xp.randint(0, 2 ** k, shape, generator=generator, dtype=xp.float64)   # integers, exact in float64
    xp.multiply(u, 2.0 ** -k, out=u)
    return u


def _is_identity(fmt: Format, dtype_name: str) -> bool:
    """True if every number of the input dtype (subnormals, inf, NaN included) is in ``fmt`` unchanged."""
    if dtype_name == "float32":
        return not fmt.fn and fmt.exp_bits >= 8 and fmt.man_bits >= 23
    return not fmt.fn and fmt.exp_bits == 11 and fmt.man_bits == 52


def _torch_or_none():
    try:
        import torch  # lazy: importing nnlib must not import torch
    except ImportError:
        return None
    return torch


def _make_rounder(fmt: Format, dtype_name: str, stochastic: bool, generator, method: str, xp):
    """Return ``f(x) -> rounded copy`` for arrays/tensors of one float dtype, choosing the fastest exact path."""
    if _is_identity(fmt, dtype_name):
        return (lambda x: x.copy()) if xp is np else (lambda x: x.clone())
    native = _NATIVE.get((fmt.exp_bits, fmt.man_bits, fmt.fn))
    # torch's casts are single IEEE roundings from float32 only (from float64 they pass through float32)
    castable = native is not None and not stochastic and (dtype_name == "float32" or native == "float32")
    if method == "cast" and not castable:
        raise ValueError(f"method='cast' needs a native format ({', '.join(sorted(_NATIVE.values()))}), "
                         f"round-to-nearest and float32 input (float64 only for float32); got {fmt}, "
                         f"stochastic={stochastic}, dtype {dtype_name}")
    torch = _torch_or_none() if castable and method != "own" else None
    if torch is not None:
        target = getattr(torch, native)
        if xp is np:
            def cast_numpy(x):
                # zero-copy view, then the same cast; torch warns on read-only arrays, so copy those
                x = np.ascontiguousarray(x) if x.flags.writeable else np.array(x, order="C")
                t = torch.from_numpy(x)
                return t.to(target).to(t.dtype).numpy()
            return cast_numpy
        return lambda x: x.to(target).to(x.dtype)

    def own(x):
        # a fresh, flat float64 copy (exact for float32 input) that the kernel may overwrite;
        # flat also because numpy turns 0-d arrays into scalars, which have no out= buffers
        flat = x.reshape(-1)
        w = flat.astype(np.float64) if xp is np else flat.to(xp.float64, copy=True)
        u = _random_unit(w.shape, fmt.man_bits, xp, generator, dtype_name == "float32") if stochastic else None
        if xp is np:
            with np.errstate(over="ignore"):   # the overflow-to-inf step overflows on purpose
                return _round_own(w, flat, fmt, xp, u).astype(x.dtype, copy=False).reshape(x.shape)
        return _round_own(w, flat, fmt, xp, u).to(x.dtype).reshape(x.shape)

    return own


def _array_kind(x):
    """``(xp, dtype_name)`` for a float32/float64 numpy array or torch tensor, else raise TypeError."""
    torch = sys.modules.get("torch")   # if torch was never imported, x cannot be a tensor
    if torch is not None and isinstance(x, torch.Tensor):
        xp, name = torch, {torch.float32: "float32", torch.float64: "float64"}.get(x.dtype)
    elif isinstance(x, np.ndarray):
        xp, name = np, {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}.get(x.dtype)
    else:
        raise TypeError(f"x must be a numpy.ndarray or torch.Tensor, got {type(x).__name__}")
    if name is None:
        raise TypeError(f"x must have dtype float32 or float64, got {x.dtype}")
    return xp, name


def round_to(x, fmt: Format, stochastic: bool = False, generator=None, *, method: str = "auto"):
    """Round every entry of ``x`` to the nearest number of ``fmt`` (``fl(x)``), or stochastically.

    Chapter 3, {prf:ref}`def-rounding` (round-to-nearest-even; stochastic rounding is the chapter's
    exercise on unbiased rounding).

    Round-to-nearest follows IEEE 754 ``roundTiesToEven`` with gradual underflow (subnormals); a result
    beyond ``fmt.max`` overflows to ``±inf`` (IEEE formats) or saturates to ``±fmt.max`` (``fn``
    formats, see :class:`Format`). NaN stays NaN, ``-0`` stays ``-0``, and values that round to zero
    keep their sign.

    Stochastic rounding picks one of the two neighbours ``a <= x <= b`` on ``fmt``'s grid (extended
    beyond ``max`` with the top spacing) with ``P(b) = (x - a)/(b - a)``, so ``E[fl(x)] = x``; the
    result then overflows/saturates as above. It draws ``k`` *integer* random bits per entry
    (``k = 52 - man_bits``, or 24 for float32 input when that is fewer), so a number already in ``fmt``
    never moves, and ``P(b)`` is exact for every ``x`` in or above ``fmt``'s normal range; deeper in the
    subnormal range, where ``x / spacing`` can have more than ``k`` fraction bits, ``P(b)`` is off by
    less than ``2^-k``.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor, dtype float32 or float64, any shape
        Values to round (nan and inf allowed).
    fmt : Format or str
        Target format (or its name, e.g. ``"float16"``, see :data:`FORMATS`).
    stochastic : bool, default False
        Stochastic instead of round-to-nearest-even.
    generator : numpy.random.Generator or torch.Generator, optional
        Source of randomness for ``stochastic=True`` (numpy Generator for arrays, torch Generator for
        tensors); the same seeded generator gives the same result. ``None``: nnlib's default
        generator for arrays (:func:`nnlib.reproducibility.default_generator`), torch's global
        generator for tensors — both seeded by :func:`nnlib.reproducibility.set_seed`.
    method : {"auto", "cast", "own"}, keyword-only
        ``"auto"`` uses an exact torch dtype cast where one exists (native ``fmt``, float32 input,
        round-to-nearest) and the float64 kernel otherwise; ``"own"`` forces the float64 kernel (used
        by the tests to check it against the casts); ``"cast"`` requires the cast.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        A new array/tensor of the same type, shape and dtype as ``x`` (tensors: detached). Its values
        are in ``fmt`` — except that a value of ``fmt`` outside the float32 range (only possible when
        ``fmt`` is wider than float32) becomes float32 ``inf``.

    Raises
    ------
    TypeError
        ``x`` not a float32/float64 array or tensor; ``fmt`` not a Format; ``stochastic`` not a bool;
        ``generator`` of the wrong kind.
    ValueError
        Unknown ``method``, or ``method="cast"`` where no exact cast exists.

    Examples
    --------
    >>> import numpy as np
    >>> round_to(np.array([1 + 2**-11, 1 + 3 * 2**-11, 70000.0, -1e-8]), FLOAT16).tolist()
    [1.0, 1.001953125, inf, -0.0]
    """
    xp, dtype_name = _array_kind(x)
    fmt = check_format(fmt)
    stochastic = check_flag(stochastic, "stochastic")
    generator = check_generator(generator, "numpy" if xp is np else "torch")
    if xp is np and stochastic and generator is None:
        from .reproducibility import default_generator   # seeded by set_seed

        generator = default_generator()
    method = check_choice(method, "method", ("auto", "cast", "own"))
    rounder = _make_rounder(fmt, dtype_name, stochastic, generator, method, xp)
    if xp is np:
        return rounder(x)
    with xp.no_grad():
        return rounder(x.detach())


# ----------------------------------------------------------------------------- simulated training
def _quantizer(rounder):
    """The autograd function ``Q``: forward ``q(x)``, backward ``q(grad)`` (straight-through *and* rounded)."""
    import torch

    class Q(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return rounder(x)

        @staticmethod
        def backward(ctx, grad):
            return rounder(grad)

    return Q.apply


def fixed_order_matmul(A, B) -> np.ndarray:
    """``A @ B`` with every entry summed left to right, one rounding per product and per addition.

    Chapter 3, "Floating point and backpropagation" ({prf:ref}`def-standard-model`): entry ``(i, j)`` is
    ``fl(…fl(fl(a_i1 b_1j) + fl(a_i2 b_2j)) + … + fl(a_iK b_Kj))`` in the arrays' own precision (float32
    or float64), with no fused multiply-add. A BLAS library (numpy's OpenBLAS, torch's MKL) picks the
    summation order, the blocking and the use of fused multiply-adds by the CPU it runs on, so the last
    bits of its products differ from machine to machine; this product gives the same bits on every
    CPU. The book uses it where a committed number must be reproducible anywhere (the gradients of
    :func:`nnlib.gradients.float_backprop`, the ``sup_error`` of the Chapter 5 study). Costs ``K`` numpy
    operations on ``(m, n)`` arrays: for the book's widths, not for large matrices.

    Parameters
    ----------
    A : numpy.ndarray, shape ``(m, K)``
    B : numpy.ndarray, shape ``(K, n)``
        Real and finite; both float32 (float32 arithmetic) or otherwise converted to float64.

    Returns
    -------
    numpy.ndarray, shape ``(m, n)``, float32 or float64

    Raises
    ------
    TypeError
        Non-real input, or one float32 and one other array.
    ValueError
        Not 2-D, non-finite entries, ``K == 0`` or inner dimensions that differ.

    Examples
    --------
    >>> a = np.array([[1.0, 2.0**-53, 2.0**-53]])
    >>> float(fixed_order_matmul(a, np.ones((3, 1)))[0, 0])        # (1 + u) + u: each sum rounds to 1
    1.0
    >>> float(fixed_order_matmul(a[:, ::-1], np.ones((3, 1)))[0, 0]) == 1 + 2.0**-52   # (u + u) + 1
    True
    """
    A, B = as_real_array(A, "A", ndim=2, keep_float32=True), as_real_array(B, "B", ndim=2, keep_float32=True)
    if A.dtype != B.dtype:
        raise TypeError(f"A and B must have the same dtype (both float32, or both float64), got {A.dtype} and {B.dtype}")
    if A.shape[1] != B.shape[0] or A.shape[1] == 0:
        raise ValueError(f"A has shape {A.shape} and B has shape {B.shape}: need A (m, K), B (K, n), K >= 1")
    out = A[:, :1] * B[:1, :]
    for k in range(1, A.shape[1]):
        out = out + A[:, k:k + 1] * B[k:k + 1, :]
    return out


@functools.lru_cache(maxsize=None)
def _torch_module():
    import torch

    class SimulatedNetwork(torch.nn.Module):
        """See :func:`simulated`."""

        def __init__(self, module, fmt, stochastic, generator, rounder=None):
            super().__init__()
            self.module, self.fmt, self.stochastic = module, fmt, stochastic
            dtype = next(module.parameters()).dtype
            name = {torch.float32: "float32", torch.float64: "float64"}[dtype]
            self._q = _quantizer(rounder or _make_rounder(fmt, name, stochastic, generator, "auto", torch))

        def forward(self, x):
            q = self._q
            h = q(x)
            for layer in self.module:
                if isinstance(layer, torch.nn.Linear):
                    bias = None if layer.bias is None else q(layer.bias)
                    # the product is accumulated in the storage dtype (float32/64), then rounded once:
                    # the "round after every layer operation" model of the chapter
                    h = q(torch.nn.functional.linear(h, q(layer.weight), bias))
                else:
                    # ReLU maps fmt to fmt (and its backward only zeroes entries), so no rounding needed
                    h = torch.relu(h)
            return h

        def extra_repr(self):
            return f"fmt={self.fmt}, stochastic={self.stochastic}"

    return SimulatedNetwork


def simulated(module, fmt: Format, stochastic: bool = False, generator=None):
    """Wrap a ``torch.nn.Sequential`` of ``Linear``/``ReLU`` so that it computes in simulated precision ``fmt``.

    Chapter 3, {prf:ref}`def-simulated-precision`: every quantity of the forward and backward pass is
    rounded to ``fmt`` by an autograd function ``Q`` (forward ``q(x)``, backward ``q(grad)``), applied to
    the input, every weight and bias, and every pre-activation ``W h + b``. Hence the output, the
    activations, the gradients flowing back through each layer and the weight/bias gradients are all
    numbers of ``fmt``. Matrix products are accumulated in the parameters' dtype and rounded once
    (the standard model {prf:ref}`def-standard-model` applied per layer, not per flop).

    The wrapper shares the parameters of ``module`` (the float32/float64 *master* copy): an optimizer
    over ``module.parameters()`` trains it. The loss is computed by the caller; its gradient is rounded
    when it enters the network output.

    Parameters
    ----------
    module : torch.nn.Sequential
        Only ``torch.nn.Linear`` and ``torch.nn.ReLU`` children; float32 or float64 parameters.
    fmt : Format or str
        Working precision (or its name).
    stochastic : bool, default False
        Stochastic rounding (forward and backward) instead of round-to-nearest-even.
    generator : torch.Generator, optional
        Randomness for ``stochastic=True``.

    Returns
    -------
    torch.nn.Module
        ``net(x)`` takes ``x`` of shape ``(batch, in_features)`` in the parameters' dtype and returns
        ``(batch, out_features)``.

    Raises
    ------
    TypeError
        ``module`` is not a Sequential of Linear/ReLU, or has parameters of another dtype;
        ``fmt``/``stochastic``/``generator`` of the wrong type.
    ValueError
        ``module`` has no parameters or mixes parameter dtypes.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> loss = simulated(net, BFLOAT16)(torch.randn(16, 1)).square().mean()
    >>> loss.backward()            # every .grad of net now holds bfloat16 numbers
    >>> all(torch.equal(round_to(p.grad, BFLOAT16), p.grad) for p in net.parameters())
    True
    """
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    for k, layer in enumerate(module):
        if not isinstance(layer, (torch.nn.Linear, torch.nn.ReLU)):
            raise TypeError(f"module[{k}] must be torch.nn.Linear or torch.nn.ReLU, got {type(layer).__name__}")
    dtypes = {p.dtype for p in module.parameters()}
    if not dtypes:
        raise ValueError("module must contain at least one Linear layer")
    if len(dtypes) > 1:
        raise ValueError(f"module parameters must share one dtype, got {sorted(map(str, dtypes))}")
    if dtypes.pop() not in (torch.float32, torch.float64):
        raise TypeError("module parameters must be float32 or float64")
    fmt = check_format(fmt)
    stochastic = check_flag(stochastic, "stochastic")
    check_generator(generator, "torch")
    return _torch_module()(module, fmt, stochastic, generator)


def __getattr__(name):  # ``nnlib.precision.SimulatedNetwork`` without importing torch at import time
    if name == "SimulatedNetwork":
        return _torch_module()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
