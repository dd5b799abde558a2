"""nnlib.experiments: the grid, validation before work, local joblib vs Dask, the command line."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import nnlib.experiments as ex
from nnlib import count_activation_regions, count_pieces
from nnlib.experiments import Config, make_grid, run_config, run_grid, validate_config
from nnlib.networks import random_network
from nnlib.precision import BFLOAT16, FLOAT16, FLOAT64, Format

SMALL = dict(widths=[[1, 4, 1], [1, 4, 4, 1]], formats=["float64", "bfloat16"], epsilons=[0.0, 0.05], seeds=[0],
             steps=25, n_points=48, record_every=5)


@pytest.fixture(scope="module")
def local_table():
    return run_grid(make_grid(**SMALL), n_jobs=2)


def test_grid_order_and_size():
    grid = make_grid(**SMALL)
    assert len(grid) == 2 * 1 * 2 * 2 * 1
    assert [(c.depth, c.fmt, c.eps) for c in grid[:4]] == [
        (2, FLOAT64, 0.0), (2, FLOAT64, 0.05), (2, BFLOAT16, 0.0), (2, BFLOAT16, 0.05)]
    assert grid[0].widths == (1, 4, 1) and grid[-1].widths == (1, 4, 4, 1)
    assert all(isinstance(c.fmt, Format) for c in grid)      # format names are converted


def test_config_accepts_formats_and_names_alike():
    assert Config((1, 3, 1), "float16", 0.0, 0) == Config([1, 3, 1], FLOAT16, 0.0, 0)
    assert Config((1, 3, 3, 5, 1), "float16", 0.0, 0).width == 5


def test_optimizers_are_defined_once():
    import nnlib.training

    assert ex.OPTIMIZERS is nnlib.training.OPTIMIZERS
    assert "OPTIMIZERS" not in ex.__all__


def test_table_is_tidy_and_correct(local_table):
    t = local_table
    assert len(t) == 8 and t["seconds"].gt(0).all()
    assert list(t[["depth", "fmt", "eps"]].itertuples(index=False, name=None))[:2] == [(2, "float64", 0.0),
                                                                                      (2, "float64", 0.05)]
    # initial pieces of the float64 runs: the initial network, counted independently
    for depth in (2, 3):
        row = t[(t.depth == depth) & (t.fmt == "float64") & (t.eps == 0.0)].iloc[0]
        net = random_network([1] + [4] * (depth - 1) + [1], seed=0)
        assert row.initial_pieces == count_pieces(net, (-1, 1))
        assert row.telgarsky_bound == 2 ** (depth - 1) * 4 ** (depth - 1)   # 2^(L-1) N^(L-1), by hand
    assert (t.final_pieces <= t.final_regions).all() and (t.final_pieces <= t.telgarsky_bound).all()
    assert t.zero_update_fraction.between(0, 1).all()


def test_row_matches_a_direct_training_run():
    from nnlib.precision import FLOAT64
    from nnlib.training import train, torch_threads

    cfg = Config(widths=(1, 5, 5, 1), fmt="float64", eps=0.0, seed=3, optimizer="gd", lr=0.05, steps=15,
                 n_points=40, target="square", record_every=5)
    row = run_config(cfg)
    x = np.linspace(-1, 1, 40)
    with torch_threads(1):
        res = train(random_network([1, 5, 5, 1], seed=3), x, x ** 2, steps=15, lr=0.05, optimizer="gd",
                    fmt=FLOAT64, seed=3, interval=(-1, 1), record_every=5)
    assert row["final_loss"] == res.final_loss
    assert row["final_pieces"] == count_pieces(res.final_network, (-1, 1))
    assert row["final_regions"] == count_activation_regions(res.final_network, (-1, 1))


def test_sequential_equals_parallel(local_table):
    seq = run_grid(make_grid(**SMALL), n_jobs=1)
    pd.testing.assert_frame_equal(seq.drop(columns="seconds"), local_table.drop(columns="seconds"))


def test_dask_cluster_gives_the_same_table(local_table):
    distributed = pytest.importorskip("dask.distributed")
    # processes=True: each worker is its own process with its own torch thread setting
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        table = run_grid(make_grid(**SMALL), scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(table.drop(columns="seconds"), local_table.drop(columns="seconds"))


def test_bad_configuration_rejected_before_any_work(monkeypatch):
    def must_not_run(cfg):
        raise AssertionError("work started")

    monkeypatch.setattr(ex, "run_config", must_not_run)
    good = make_grid(**SMALL)[0]
    bad = dataclasses.replace(good, widths=(1, 0, 1))
    with pytest.raises(ValueError, match=r"config 1: field 'widths'"):
        run_grid([good, bad], n_jobs=1)


@pytest.mark.parametrize("field, value, exc", [
    ("widths", (1, 1), ValueError), ("widths", (1, 2.0, 1), TypeError), ("widths", (1, 0, 1), ValueError),
    ("widths", (2, 3, 1), ValueError), ("widths", 3, TypeError), ("fmt", "float8", ValueError), ("fmt", 16, TypeError),
    ("eps", 1.0, ValueError), ("eps", -1e-3, ValueError), ("eps", "a", TypeError), ("seed", -1, ValueError),
    ("optimizer", "lbfgs", ValueError), ("lr", 0.0, ValueError), ("steps", -1, ValueError),
    ("n_points", 1, ValueError), ("target", "cos", ValueError), ("record_every", 0, ValueError),
    ("batch_size", 1000, ValueError),
])
def test_every_field_is_validated(field, value, exc):
    cfg = dataclasses.replace(make_grid(**SMALL)[0], **{field: value})
    with pytest.raises(exc, match=f"field '{field}'"):
        validate_config(cfg)
    with pytest.raises(exc, match=f"config 0: field '{field}'"):
        run_grid([cfg])


def test_other_validation_paths():
    with pytest.raises(ValueError, match="batch_size"):
        validate_config(Config((1, 4, 1), "float64", 0.0, 0, optimizer="gd", n_points=10, batch_size=5))
    with pytest.raises(TypeError, match="unknown Config field 'stpes'"):
        make_grid(**{**SMALL, "stpes": 3})
    with pytest.raises(ValueError, match="seeds must not be empty"):
        make_grid(**{**SMALL, "seeds": []})
    with pytest.raises(TypeError, match="widths"):
        make_grid(**{**SMALL, "widths": 3})
    with pytest.raises(TypeError, match=r"widths\[0\] must be a sequence of layer widths"):
        make_grid(**{**SMALL, "widths": [4, 8]})      # hidden widths alone: refused, not misread
    with pytest.raises(ValueError, match="configs"):
        run_grid([])
    with pytest.raises(TypeError, match="config 0 must be"):
        run_grid([{"depth": 2}])
    with pytest.raises(ValueError, match="n_jobs"):
        run_grid(make_grid(**SMALL), n_jobs=0)
    with pytest.raises(TypeError, match="scheduler"):
        run_grid(make_grid(**SMALL), scheduler=8786)
    with pytest.raises(TypeError, match="progress"):
        run_grid(make_grid(**SMALL), progress="yes")


def test_command_line_writes_csv_and_figures(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    out = tmp_path / "study"
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    ex.main(["--quick", "--out", str(out), "--no-progress", "--n-jobs", "1", "--steps", "5",
             "--depths", "2", "3", "--formats", "float64"])
    # no global backend switch and no pyplot figures left behind by the library
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 2 and table["steps"].eq(5).all()
    assert json.loads((out / "study.json").read_text())["runs"] == 2
    for name in ("final_pieces", "max_slope", "final_loss"):
        assert (out / f"{name}_vs_depth.png").stat().st_size > 1000


def test_command_line_rejects_bad_input_before_writing(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match=r"depths\[0\]"):
        ex.main(["--quick", "--out", str(out), "--depths", "1"])
    assert not out.exists()
    with pytest.raises(SystemExit):
        ex.main(["--formats", "float128"])
