"""The Chapter 5 study: batched rows equal single rows, and the committed table is reproducible.

tests/test_experiments.py covers the grid, validation and the command line; here: the grouping of
configurations into batches does not change any row, and a slice of the committed table
chapters/data/ch5_study.csv, re-run now, equals the committed rows bit for bit (``max_slope``, a product
of BLAS calls in the counting engine, to 1e-13: BLAS rounds differently on different CPUs). Training
and ``sup_error`` avoid the CPU-dependent kernels found so far: Adam takes numpy's correctly rounded
sqrt (not MKL's), ``sup_error`` a fixed-order evaluation (not BLAS).
"""
import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnlib.experiments import CHAPTER5, Config, chapter5_grid, make_grid, run_batch, run_config, run_grid
from nnlib.training import train

DATA = Path(__file__).resolve().parents[1] / "chapters" / "data"


def _strip(row):
    return {k: v for k, v in row.items() if k != "seconds"}


def test_batched_rows_equal_single_rows():
    grid = make_grid([[1, 5, 5, 1]], ["bfloat16"], [0.05], [0, 1, 2], steps=12, n_points=20, record_every=3,
                     optimizer="gd", lr=0.05, target="square")
    batched = run_batch(grid)
    for cfg, row in zip(grid, batched):
        assert _strip(row) == _strip(run_config(cfg))
    assert len({row["final_loss"] for row in batched}) == 3        # three different runs


def test_grouping_does_not_change_the_table():
    grid = make_grid([[1, 4, 1], [1, 3, 3, 1]], ["float16", "float64"], [0.0], [0, 1, 2], steps=8, n_points=16,
                     record_every=2, optimizer="adam", lr=0.01)
    a = run_grid(grid, n_jobs=1, max_batch=1).drop(columns="seconds")
    b = run_grid(grid, n_jobs=1, max_batch=16).drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a["seed"]) == [c.seed for c in grid]                 # rows in the order of the grid


def test_run_batch_rejects_mixed_settings():
    a = Config((1, 4, 1), "float32", 0.0, 0, steps=2)
    with pytest.raises(ValueError, match="more than the seed"):
        run_batch([a, Config((1, 4, 1), "float16", 0.0, 1, steps=2)])
    with pytest.raises(ValueError, match="configs"):
        run_batch([])


def test_sup_error_against_the_network_itself():
    cfg = Config((1, 6, 1), "float64", 0.0, 4, optimizer="gd", lr=0.05, steps=5, n_points=16, target="square")
    row = run_config(cfg)
    from nnlib.networks import random_network

    x = np.linspace(-1, 1, 16)
    res = train(random_network(cfg.widths, seed=4), x, x ** 2, steps=5, lr=0.05, seed=4, interval=(-1, 1),
                record_every=5)
    xs = np.linspace(-1, 1, 4097)
    assert row["sup_error"] == np.max(np.abs(res.final_network(xs, fixed_order=True) - xs ** 2))   # same on every CPU
    assert row["sup_error"] >= np.max(np.abs(res.final_network(x) - x ** 2))


def test_chapter5_grid_has_the_promised_size():
    pairs = chapter5_grid()
    assert len(pairs) >= 1000
    scaling = [c for p, c in pairs if p == "scaling"]
    assert {c.width for c in scaling} == {4, 8, 16, 32} and max(c.depth for c in scaling) >= 16
    assert {c.seed for c in scaling} == set(range(10))
    reach = [c for p, c in pairs if p == "reach"]
    params = {sum((a + 1) * b for a, b in zip(c.widths[:-1], c.widths[1:])) for c in reach}
    assert len(params) == 1                                          # deep narrow and shallow wide: equal size
    assert {c.optimizer for c in reach} == {"gd", "adam"}


def _committed():
    path = DATA / "ch5_study.csv"
    if not path.exists():
        pytest.fail(f"{path} is missing: run python -m nnlib.experiments --chapter5")
    return pd.read_csv(path)


def test_committed_table_matches_its_configuration():
    table = _committed()
    meta = json.loads((DATA / "ch5_study.json").read_text())
    assert meta["runs"] == len(table) == len(chapter5_grid(meta["seeds"]))
    for (part, cfg), row in zip(chapter5_grid(meta["seeds"]), table.itertuples()):
        assert (row.part, ast.literal_eval(row.widths), row.fmt, row.eps, row.seed, row.optimizer, row.steps) == (
            part, cfg.widths, str(cfg.fmt), cfg.eps, cfg.seed, cfg.optimizer, cfg.steps)
    assert set(meta["study"]) == set(CHAPTER5)
    assert {"python", "torch", "numpy", "platform"} <= set(meta["environment"])


@pytest.mark.parametrize("where", [
    dict(part="scaling", width=4, depth=4, fmt="bfloat16", eps=0.0),
    dict(part="scaling", width=8, depth=2, fmt="float64", eps=0.01),
    dict(part="reach", width=8, depth=8, fmt="float32", optimizer="adam", target="triangle"),
])
def test_committed_rows_are_reproduced_bit_for_bit(where):
    table = _committed()
    sel = np.ones(len(table), dtype=bool)
    for k, v in where.items():
        sel &= (table[k] == v).to_numpy()
    rows = table[sel].iloc[:3]                                       # three seeds of one setting
    assert len(rows) == 3
    grid = {idx: cfg for idx, (_, cfg) in enumerate(chapter5_grid(int(table["seed"].max()) + 1))}
    fresh = run_batch([grid[i] for i in rows.index])
    for (_, old), new in zip(rows.iterrows(), fresh):
        for col in table.columns.drop("part"):
            a, b = old[col], new[col]
            if col == "widths":
                b = str(b)
            if b is None:                                            # written as an empty field
                assert pd.isna(a), col
                continue
            if col == "max_slope":
                # the engine's slopes are BLAS products (their last bits depend on the CPU); the counts are exact
                assert b == pytest.approx(a, rel=1e-13, abs=0, nan_ok=True), col
            elif isinstance(b, float) or isinstance(a, float):
                assert np.float64(a).tobytes() == np.float64(b).tobytes() or (np.isnan(a) and np.isnan(b)), col
            else:
                assert str(a) == str(b), col
