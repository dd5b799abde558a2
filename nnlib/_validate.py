"""Shared argument checks.

Every public function of :mod:`nnlib` validates its inputs with these helpers, so that bad input
raises a :class:`TypeError` or :class:`ValueError` that names the offending argument instead of
failing somewhere deep inside numpy or torch.
"""
from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

__all__ = ["as_real_array", "as_points", "check_int", "check_real", "check_interval", "check_flag", "check_positive",
           "check_network", "check_seed", "as_generator", "check_generator", "check_format", "check_choice",
           "check_callables", "check_callable"]


def as_real_array(value, name: str, ndim: int | None = None, *, allow_complex: bool = False,
                  keep_float32: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array (complex128 for complex input with ``allow_complex``; a
    float32 array stays float32 with ``keep_float32``).

    Accepts real integer and floating arrays (and nested lists of such numbers), and complex ones
    only with ``allow_complex=True``. Rejects booleans, strings and objects (and complex numbers by
    default) with :class:`TypeError`; wrong dimensionality and non-finite entries with
    :class:`ValueError`; every message names ``name``.
    """
    kind = "real or complex" if allow_complex else "real"
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a {kind} numeric array, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a {kind} numeric array: {exc}") from None
    if arr.dtype == bool or arr.dtype.kind not in ("iufc" if allow_complex else "iuf"):
        raise TypeError(f"{name} must have a {kind} integer or floating dtype, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not (keep_float32 and arr.dtype == np.float32):
        arr = arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    return arr


def as_points(x, dim: int, name: str = "x") -> tuple[np.ndarray, bool]:
    """Return input points as a float64 array of shape ``(n, dim)`` and whether they came flat.

    Accepts shape ``(n, dim)``, and for ``dim == 1`` also a scalar or shape ``(n,)`` (then the
    second value is ``True``, so callers can return results in the same flat shape).
    """
    x = as_real_array(x, name)
    if x.ndim == 0 and dim == 1:
        return x.reshape(1, 1), True
    if x.ndim == 1 and dim == 1:
        return x[:, None], True
    if x.ndim == 2 and x.shape[1] == dim:
        return x, False
    raise ValueError(f"{name} must have shape (n, {dim})" + (" or (n,)" if dim == 1 else "") + f", got {x.shape}")


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``, else raise.

    ``bool`` is rejected; numpy integers are accepted. With both bounds, every message also states
    the allowed range (``"k must be >= 1 (an integer in [1, 60]), got 0"``).
    """
    both = minimum is not None and maximum is not None
    allowed = f" (an integer in [{minimum}, {maximum}])" if both else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        where = f" in [{minimum}, {maximum}]" if both else ""
        raise TypeError(f"{name} must be an integer{where}, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{allowed}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}{allowed}, got {value}")
    return value


def check_real(value, name: str, *, allow_fraction: bool = True) -> float | Fraction:
    """Return a finite real scalar, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if isinstance(value, Fraction) and allow_fraction:
        return value
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_interval(interval, name: str = "interval", *, allow_none: bool = True):
    """Validate ``interval = (a, b)`` with finite ``a < b``; ``None`` means the whole real line."""
    if interval is None:
        if allow_none:
            return None
        raise ValueError(f"{name} must be a finite pair (a, b); None (the whole line) is not allowed here")
    if not isinstance(interval, (tuple, list, np.ndarray)) or len(interval) != 2:
        raise TypeError(f"{name} must be None or a pair (a, b), got {interval!r}")
    a = check_real(interval[0], f"{name}[0]")
    b = check_real(interval[1], f"{name}[1]")
    if not a < b:
        raise ValueError(f"{name} must satisfy a < b, got ({a}, {b})")
    return a, b


def check_flag(value, name: str) -> bool:
    """Return ``value`` as a Python ``bool``; accepts ``bool`` and ``numpy.bool_`` only."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return a finite real ``value > 0`` (``>= 0`` with ``allow_zero``) as a float, or raise."""
    value = check_real(value, name, allow_fraction=False)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


_NETWORK_CLASS = []


def _network_class():
    """:class:`nnlib.networks.ReLUNetwork`, imported on first use (networks imports this module)."""
    if not _NETWORK_CLASS:
        from .networks import ReLUNetwork

        _NETWORK_CLASS.append(ReLUNetwork)
    return _NETWORK_CLASS[0]


def check_network(net, name: str = "net", *, univariate: bool = False):
    """Return ``net`` if it is an :class:`nnlib.networks.ReLUNetwork`, else raise naming ``name``.

    With ``univariate=True`` the network must also map R to R (widths ``(1, …, 1)``), as piece
    counting requires.
    """
    if not isinstance(net, _network_class()):
        raise TypeError(f"{name} must be an nnlib ReLUNetwork, got {type(net).__name__}")
    if univariate and (net.layers[0][0].shape[1] != 1 or net.layers[-1][0].shape[0] != 1):
        raise ValueError(
            f"{name} must have one input and one output (widths (1, …, 1)), got widths {net.widths}; "
            "piece counting is for univariate networks"
        )
    return net


def check_seed(seed, name: str = "seed"):
    """Validate a seed: ``None``, a non-negative integer, or a ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy Generator, got {type(seed).__name__} {seed!r}")
    return check_int(seed, name, minimum=0)


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """A numpy ``Generator`` for ``seed`` (validated by :func:`check_seed`).

    ``None`` gives nnlib's own default generator (:func:`nnlib.reproducibility.default_generator`,
    which :func:`nnlib.reproducibility.set_seed` seeds); an integer gives ``default_rng(seed)``; a
    generator is returned as is.
    """
    seed = check_seed(seed, name)
    if seed is None:
        from .reproducibility import default_generator  # reproducibility imports this module

        return default_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_generator(generator, kind: str = "numpy", name: str = "generator"):
    """``None``, or a ``numpy.random.Generator`` (``kind="numpy"``) / ``torch.Generator`` (``kind="torch"``)."""
    if generator is None:
        return None
    if kind == "numpy":
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"{name} must be a numpy.random.Generator for numpy input, got {type(generator).__name__}")
        return generator
    import torch  # only reached for tensor input, so torch is already imported

    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator for tensor input, got {type(generator).__name__}")
    return generator


def check_choice(value, name: str, allowed) -> str:
    """Return ``value`` if it is one of ``allowed`` (strings), else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {tuple(allowed)}, got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def check_callables(value, name: str) -> tuple:
    """A list or tuple of callables, returned as a tuple."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple of callables, got {type(value).__name__}")
    for k, v in enumerate(value):
        check_callable(v, f"{name}[{k}]")
    return tuple(value)


def check_callable(value, name: str):
    """Return ``value`` if it is callable, else raise naming ``name``."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value
    return tuple(value)


def check_format(fmt, name: str = "fmt"):
    """Return ``fmt`` as an :class:`nnlib.precision.Format`; a format name (``"bfloat16"``) is converted."""
    from .precision import Format  # precision imports this module: import on use

    if isinstance(fmt, Format):
        return fmt
    if isinstance(fmt, str):
        from .precision import FORMATS

        if fmt not in FORMATS:
            raise ValueError(f"{name} must be a Format or one of {sorted(FORMATS)}, got {fmt!r}")
        return FORMATS[fmt]
    raise TypeError(f"{name} must be an nnlib.precision.Format or a format name, got {type(fmt).__name__}")
