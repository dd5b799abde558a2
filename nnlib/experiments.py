"""A grid of training runs (depth × width × format × ε × seed) as one tidy table.

Chapter 4 "The main theorem", the experiments next to {prf:ref}`thm-one-step-bound`.

:func:`make_grid` builds and validates the configurations, :func:`run_grid` runs them in parallel
with joblib — on local processes (``loky``), or on a Dask cluster when given a scheduler address
(``pip install "nnlib[distributed]"``) — and returns a :class:`pandas.DataFrame` with one row per
run. Every run uses one torch thread, so a configuration gives the same row bit for bit wherever
it runs (local, Dask, sequential). From the shell::

    python -m nnlib.experiments --out _build/study            # the full-size study
    python -m nnlib.experiments --quick --out /tmp/smoke       # a one-minute smoke run

writes ``results.csv``, ``study.json`` (the grid) and figures into the output directory (default:
a fresh temporary directory, printed at the end).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ._validate import check_int, check_real
from .networks import random_network
from .precision import BFLOAT16, FLOAT16, FLOAT32, FLOAT64
from .theory import telgarsky_bound

__all__ = ["Config", "FORMATS", "TARGETS", "make_grid", "validate_config", "run_config", "run_grid", "main"]

FORMATS = {"float64": FLOAT64, "float32": FLOAT32, "bfloat16": BFLOAT16, "float16": FLOAT16}
TARGETS = {
    "sin": lambda x: np.sin(6 * x) + 0.3 * np.sign(x),   # smooth plus a jump: needs many pieces near 0
    "square": lambda x: x ** 2,
    "triangle": lambda x: np.abs(np.mod(4 * x, 2.0) - 1.0),   # 8 pieces on [-1, 1]: a sawtooth target
}
INTERVAL = (-1.0, 1.0)
OPTIMIZERS = ("gd", "sgd", "adam")


@dataclass(frozen=True)
class Config:
    """One training run. ``depth`` is ``L``, the number of affine layers (``L - 1`` hidden layers
    of ``width`` neurons); data are ``n_points`` equispaced points of ``[-1, 1]``."""

    depth: int
    width: int
    fmt: str
    eps: float
    seed: int
    optimizer: str = "adam"
    lr: float = 3e-3
    steps: int = 1000
    n_points: int = 256
    target: str = "sin"
    record_every: int = 10
    batch_size: int | None = None

    @property
    def widths(self) -> list:
        return [1] + [self.width] * (self.depth - 1) + [1]


def validate_config(cfg, index: int | None = None) -> Config:
    """Check every field of ``cfg``; raise TypeError/ValueError naming the configuration and field."""
    where = "config" if index is None else f"config {index}"
    if not isinstance(cfg, Config):
        raise TypeError(f"{where} must be an nnlib.experiments.Config, got {type(cfg).__name__}")

    def field_error(name, exc):
        return type(exc)(f"{where}: field '{name}': {exc}")

    ints = {"depth": (2, 64), "width": (1, 4096), "seed": (0, None), "steps": (0, None),
            "n_points": (2, None), "record_every": (1, None)}
    for name, (lo, hi) in ints.items():
        try:
            check_int(getattr(cfg, name), name, minimum=lo, maximum=hi)
        except (TypeError, ValueError) as exc:
            raise field_error(name, exc) from None
    for name, ok, rule in (("eps", lambda v: 0 <= v < 1, "in [0, 1)"), ("lr", lambda v: v > 0, "> 0")):
        try:
            v = check_real(getattr(cfg, name), name, allow_fraction=False)
        except (TypeError, ValueError) as exc:
            raise field_error(name, exc) from None
        if not ok(v):
            raise ValueError(f"{where}: field '{name}' must be {rule}, got {v}")
    for name, allowed in (("fmt", FORMATS), ("optimizer", OPTIMIZERS), ("target", TARGETS)):
        if getattr(cfg, name) not in allowed:
            raise ValueError(f"{where}: field '{name}' must be one of {sorted(allowed)}, got {getattr(cfg, name)!r}")
    if cfg.batch_size is not None:
        try:
            check_int(cfg.batch_size, "batch_size", minimum=1, maximum=cfg.n_points)
        except (TypeError, ValueError) as exc:
            raise field_error("batch_size", exc) from None
        if cfg.optimizer == "gd" and cfg.batch_size != cfg.n_points:
            raise ValueError(f"{where}: field 'batch_size' must be None or n_points for optimizer 'gd'")
    return cfg


def make_grid(depths, widths, formats, epsilons, seeds, **common) -> list:
    """All configurations ``depth × width × format × ε × seed`` (in that nesting order).

    ``common`` sets the remaining :class:`Config` fields (``optimizer``, ``lr``, ``steps``, …).
    Every configuration is validated before the list is returned.
    """
    known = {f.name for f in fields(Config)} - {"depth", "width", "fmt", "eps", "seed"}
    for key in common:
        if key not in known:
            raise TypeError(f"unknown Config field {key!r}; allowed: {sorted(known)}")
    axes = {"depths": depths, "widths": widths, "formats": formats, "epsilons": epsilons, "seeds": seeds}
    for name, axis in axes.items():
        if isinstance(axis, (str, bytes)) or not hasattr(axis, "__iter__"):
            raise TypeError(f"{name} must be a list of values, got {type(axis).__name__}")
        if len(list(axis)) == 0:
            raise ValueError(f"{name} must not be empty")
    grid = [Config(depth=d, width=w, fmt=f, eps=e, seed=s, **common)
            for d in depths for w in widths for f in formats for e in epsilons for s in seeds]
    for k, cfg in enumerate(grid):
        validate_config(cfg, k)
    return grid


# ----------------------------------------------------------------------------- one run
def run_config(cfg: Config) -> dict:
    """Train one configuration and summarise it as a flat dict (one table row).

    Columns besides the config fields: ``final_loss``, ``initial_pieces``, ``final_pieces``,
    ``max_pieces``, ``final_regions``, ``max_regions`` (exact, on ``[-1, 1]``), ``telgarsky_bound``,
    ``max_slope`` (Assumption (B): ``max |∂z_{j,i}/∂x|`` over all layers and records),
    ``zero_update_fraction`` and ``mean_inv_update`` (Assumption (A): fraction of hidden bias
    updates that are exactly 0, and the mean of ``1/|Δb|`` over the others), ``final_dead`` and
    ``seconds`` (wall time; the only column that differs between repetitions).
    """
    from .training import torch_threads, train   # torch is imported by the worker, not by the caller

    validate_config(cfg)
    t0 = time.perf_counter()
    x = np.linspace(*INTERVAL, cfg.n_points)
    y = TARGETS[cfg.target](x)
    net = random_network(cfg.widths, seed=cfg.seed)
    with torch_threads(1):
        res = train(net, x, y, steps=cfg.steps, lr=cfg.lr, optimizer=cfg.optimizer, batch_size=cfg.batch_size,
                    fmt=FORMATS[cfg.fmt], eps=cfg.eps, seed=cfg.seed, interval=INTERVAL,
                    record_every=cfg.record_every)
    from .pieces import count_pieces
    from .tracking import network_state

    final = network_state(res.final_network, INTERVAL)   # pieces and regions in one propagation
    upd = np.abs(res.bias_update)
    nonzero = upd[upd > 0]
    row = asdict(cfg)
    row.update(
        final_loss=res.final_loss,
        initial_pieces=int(res.pieces[0]) if res.pieces.size else count_pieces(net, INTERVAL),
        final_pieces=final["pieces"],
        max_pieces=int(max(res.pieces.max(initial=0), final["pieces"])),
        final_regions=final["regions"],
        max_regions=int(max(res.regions.max(initial=0), final["regions"])),
        telgarsky_bound=telgarsky_bound(cfg.widths)[0],
        max_slope=float(res.max_slope.max()) if res.max_slope.size else math.nan,
        zero_update_fraction=float(np.mean(upd == 0)) if upd.size else math.nan,
        mean_inv_update=float(np.mean(1.0 / nonzero)) if nonzero.size else math.nan,
        final_dead=int(res.dead[-1].sum()) if res.dead.size else 0,
        seconds=time.perf_counter() - t0,
    )
    return row


# ----------------------------------------------------------------------------- the grid
def run_grid(configs, *, n_jobs: int = 2, scheduler=None, progress: bool = False):
    """Run every configuration, in parallel; return a tidy :class:`pandas.DataFrame`.

    Parameters
    ----------
    configs : list of Config
        All are validated before any work starts (the error names the config index and field).
    n_jobs : int
        Local worker processes (joblib ``loky``; 1 = sequential in this process). Ignored with a
        scheduler (the cluster's workers are used).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address such as ``"tcp://127.0.0.1:8786"`` (or a connected client): run on
        that cluster through joblib's ``dask`` backend.
    progress : bool
        A tqdm bar on stderr (keep ``False`` in notebooks).

    Returns
    -------
    pandas.DataFrame
        One row per configuration, in the order of ``configs``.
    """
    import joblib
    import pandas as pd

    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError("configs must be a non-empty list of Config")
    for k, cfg in enumerate(configs):
        validate_config(cfg, k)
    n_jobs = check_int(n_jobs, "n_jobs", minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    if scheduler is not None and not isinstance(scheduler, str) and type(scheduler).__name__ != "Client":
        raise TypeError(f"scheduler must be an address string or a distributed.Client, got {type(scheduler).__name__}")

    jobs = (joblib.delayed(run_config)(cfg) for cfg in configs)
    if scheduler is None:
        rows = _collect(joblib.Parallel(n_jobs=n_jobs, return_as="generator"), jobs, len(configs), progress)
    else:
        from dask.distributed import Client

        client = Client(scheduler) if isinstance(scheduler, str) else scheduler
        try:
            with joblib.parallel_config(backend="dask"):
                rows = _collect(joblib.Parallel(n_jobs=-1, return_as="generator"), jobs, len(configs), progress)
        finally:
            if isinstance(scheduler, str):
                client.close()
    return pd.DataFrame(rows)


def _collect(parallel, jobs, total, progress):
    from tqdm import tqdm

    with tqdm(total=total, disable=not progress, file=sys.stderr, desc="runs") as bar:
        rows = []
        for row in parallel(jobs):
            rows.append(row)
            bar.update(1)
    return rows


# ----------------------------------------------------------------------------- figures
def plot_study(table, out_dir) -> list:
    """Median pieces, max slope and final loss against depth, one line per format and width."""
    import matplotlib

    matplotlib.use("Agg")   # files only; never opens a window
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = []
    for column, log in (("final_pieces", True), ("max_slope", True), ("final_loss", True)):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        med = table.groupby(["fmt", "width", "depth"])[column].median().reset_index()
        colours = {fmt: f"C{k}" for k, fmt in enumerate(sorted(med["fmt"].unique()))}
        styles = {w: s for w, s in zip(sorted(med["width"].unique()), ["-", "--", ":", "-."] * 8)}
        for (fmt, width), part in med.groupby(["fmt", "width"]):
            ax.plot(part["depth"], part[column], marker="o", color=colours[fmt], linestyle=styles[width],
                    label=f"{fmt}, N={width}")
        if column == "final_pieces":
            depths = np.array(sorted(table["depth"].unique()))
            ax.plot(depths, 2.0 ** depths, "k", linewidth=0.8, label="$2^L$")
        ax.set_xlabel("depth $L$")
        ax.set_ylabel(column.replace("_", " ") + " (median over seeds, ε)")
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out_dir / f"{column}_vs_depth.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- command line
FULL_STUDY = dict(depths=[2, 4, 8, 12], widths=[8, 16], formats=["float64", "float32", "bfloat16", "float16"],
                  epsilons=[0.0, 1e-2], seeds=[0, 1, 2, 3, 4], steps=2000, record_every=20)
QUICK_STUDY = dict(depths=[2, 4], widths=[8], formats=["float64", "float16"], epsilons=[0.0], seeds=[0],
                   steps=100, record_every=10)


def _parser():
    p = argparse.ArgumentParser(prog="python -m nnlib.experiments", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (created); default: a new temporary directory")
    p.add_argument("--quick", action="store_true", help="a small smoke-test grid instead of the full study")
    p.add_argument("--depths", type=int, nargs="+")
    p.add_argument("--widths", type=int, nargs="+")
    p.add_argument("--formats", nargs="+", choices=sorted(FORMATS))
    p.add_argument("--epsilons", type=float, nargs="+")
    p.add_argument("--seeds", type=int, help="number of seeds (0 … n-1)")
    p.add_argument("--steps", type=int)
    p.add_argument("--record-every", type=int)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--target", choices=sorted(TARGETS), default="sin")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> Path:
    """Command-line entry point; returns the output directory."""
    args = _parser().parse_args(argv)
    study = dict(QUICK_STUDY if args.quick else FULL_STUDY)
    for key in ("depths", "widths", "formats", "epsilons", "steps", "record_every"):
        if getattr(args, key) is not None:
            study[key] = getattr(args, key)
    if args.seeds is not None:
        study["seeds"] = list(range(args.seeds))
    study.update(optimizer=args.optimizer, lr=args.lr, target=args.target)
    configs = make_grid(**study)            # every configuration is validated before any work
    out = Path(tempfile.mkdtemp(prefix="nnlib-study-")) if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table = run_grid(configs, n_jobs=args.n_jobs, scheduler=args.scheduler, progress=not args.no_progress)
    elapsed = time.perf_counter() - t0
    table.to_csv(out / "results.csv", index=False)
    (out / "study.json").write_text(json.dumps({**study, "runs": len(configs), "seconds": elapsed}, indent=1))
    plot_study(table, out)
    print(f"{len(configs)} runs in {elapsed:.1f} s; results in {out}")
    return out


if __name__ == "__main__":
    main()
