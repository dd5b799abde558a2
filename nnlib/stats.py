"""Confidence intervals for the book's experiments: one implementation each.

Every error bar and "± …" in Chapters 5–8 comes from here: :func:`mean_ci95` for means over seeds
(Student's t), :func:`mean_ci` for the same per group of a table. Numpy only (pandas is imported by
:func:`mean_ci` on use).
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_real_array

__all__ = ["t975", "mean_ci95", "mean_ci"]

#: Two-sided 95 % quantiles ``t_{0.975, df}`` of Student's t for ``df = 1 … 30`` (standard tables,
#: three decimals).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
_Z975 = 1.959963984540054


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom.

    From the standard table for ``df <= 30`` (three decimals), beyond it the Cornish–Fisher expansion
    ``z + (z³ + z)/(4 df) + (5z⁵ + 16z³ + 3z)/(96 df²)`` with ``z = 1.95996…`` (within 0.01 % there;
    checked against scipy in the tests).
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"df must be an integer >= 1, got {df!r}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci95(values) -> tuple:
    """Mean and half-width of the 95 % Student-t confidence interval of independent repetitions.

    Serves the error bars of Chapters 5, 7 and 8 (seeds of an experiment).

    Parameters
    ----------
    values : array_like, shape (n,), n >= 2
        Finite numbers, one per independent repetition (seed).

    Returns
    -------
    (float, float)
        ``(mean, t_{0.975, n−1} · sd / √n)`` with the sample standard deviation ``sd`` (``ddof=1``).

    Examples
    --------
    >>> mean, half = mean_ci95([1.0, 2.0, 3.0])
    >>> mean, round(half, 3)                   # t_{0.975, 2} = 4.303, sd = 1
    (2.0, 2.484)
    """
    x = as_real_array(values, "values", ndim=1)
    if x.size < 2:
        raise ValueError(f"values must hold at least 2 numbers, got {x.size}")
    return float(x.mean()), float(t975(x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def mean_ci(table, by, column):
    """Mean of ``column`` per group of ``by`` with the half-width of its 95 % confidence interval.

    Serves Chapter 5 "Numerical study" (every figure's error bars): :func:`mean_ci95` per group of
    runs (seeds); NaN values are dropped.

    Parameters
    ----------
    table : pandas.DataFrame
    by : str or list of str
        Grouping columns.
    column : str
        The numeric column.

    Returns
    -------
    pandas.DataFrame
        Columns ``by`` + ``mean``, ``ci`` (half-width; NaN when a group has fewer than 2 values) and ``n``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas.DataFrame, got {type(table).__name__}")
    if column not in table.columns:
        raise ValueError(f"column {column!r} is not a column of table")
    rows = []
    for key, values in table.groupby(by)[column]:
        v = values.dropna().to_numpy(np.float64)
        mean, half = mean_ci95(v) if v.size >= 2 else (float(v.mean()) if v.size else math.nan, math.nan)
        rows.append((*(key if isinstance(key, tuple) else (key,)), mean, half, v.size))
    names = list(by) if isinstance(by, (list, tuple)) else [by]
    return pd.DataFrame(rows, columns=[*names, "mean", "ci", "n"])
