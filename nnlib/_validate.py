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


def as_real_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise naming ``name``.

    Accepts real integer and floating arrays (and nested lists of such numbers). Rejects booleans,
    complex numbers, strings and objects with :class:`TypeError`; wrong dimensionality and
    non-finite entries with :class:`ValueError`.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real numeric array, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a real numeric array: {exc}") from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must have a real integer or floating dtype, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    return arr


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
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
