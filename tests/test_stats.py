"""nnlib.stats: the confidence intervals of Chapters 5, 7 and 8, against scipy (an independent oracle)."""
import math

import numpy as np
import pandas as pd
import pytest

from nnlib.stats import mean_ci, mean_ci95, t975

scipy_stats = pytest.importorskip("scipy.stats")


def test_t975_against_scipy():
    for df in list(range(1, 31)) + [31, 40, 100, 1000]:
        assert t975(df) == pytest.approx(scipy_stats.t.ppf(0.975, df), rel=1e-3)
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="df"):
            t975(bad)


def test_mean_ci95_against_scipy():
    rng = np.random.default_rng(0)
    for n in (2, 3, 10, 31, 32, 40, 200):
        x = rng.standard_normal(n)
        mean, half = mean_ci95(x)
        lo, hi = scipy_stats.t.interval(0.95, n - 1, loc=x.mean(), scale=scipy_stats.sem(x))
        assert mean == pytest.approx(x.mean(), rel=1e-15)
        assert half == pytest.approx((hi - lo) / 2, rel=2e-3)           # the table has 3 decimals
    assert mean_ci95([5.0, 5.0, 5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError, match="values"):
        mean_ci95([1.0])
    with pytest.raises(ValueError, match="values"):
        mean_ci95([1.0, float("nan")])
    with pytest.raises(TypeError, match="values"):
        mean_ci95(["a", "b"])


def test_mean_ci_per_group_against_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=7), rng.normal(size=40)
    t = pd.DataFrame({"g": ["a"] * 7 + ["b"] * 40 + ["c"], "v": [*a, *b, 3.0]})
    out = mean_ci(t, "g", "v").set_index("g")
    for name, vals in (("a", a), ("b", b)):
        half = scipy_stats.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / np.sqrt(vals.size)
        assert out.loc[name, "n"] == vals.size
        assert out.loc[name, "mean"] == pytest.approx(vals.mean(), rel=1e-14)
        assert out.loc[name, "ci"] == pytest.approx(half, rel=2e-3)
    assert out.loc["c", "mean"] == 3.0 and math.isnan(out.loc["c", "ci"]) and out.loc["c", "n"] == 1


def test_mean_ci_groups_by_several_columns_and_drops_nan():
    t = pd.DataFrame({"f": ["x", "x", "x", "y"], "d": [1, 1, 1, 2], "v": [1.0, 3.0, float("nan"), 4.0]})
    out = mean_ci(t, ["f", "d"], "v")
    assert list(out.columns) == ["f", "d", "mean", "ci", "n"]
    row = out.iloc[0]
    assert (row["f"], row["d"], row["mean"], row["n"]) == ("x", 1, 2.0, 2)
    assert row["ci"] == pytest.approx(12.706 * math.sqrt(2) / math.sqrt(2))


def test_mean_ci_bad_input():
    t = pd.DataFrame({"g": ["a", "a"], "v": [1.0, 2.0]})
    with pytest.raises(ValueError, match="nope"):
        mean_ci(t, "g", "nope")
    with pytest.raises(TypeError, match="table"):
        mean_ci({"g": [1]}, "g", "v")
