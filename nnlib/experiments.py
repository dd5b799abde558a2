"""A grid of training runs (architecture × format × ε × seed) as one tidy table.

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
import re
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ._validate import check_choice, check_flag, check_format, check_int, check_real
from .networks import random_network
from .precision import FORMATS, Format
from .reproducibility import environment
from .theory import telgarsky_bound
from .training import OPTIMIZERS   # the one definition (nnlib.training imports torch only when training)

__all__ = ["Config", "TARGETS", "INTERVAL", "SUP_GRID", "make_grid", "validate_config", "run_batch", "run_config",
           "run_grid", "plot_study", "chapter5_grid", "main"]

#: Target functions by name (a callable of a float64 array), sampled on :data:`INTERVAL`.
TARGETS = {
    "sin": lambda x: np.sin(6 * x) + 0.3 * np.sign(x),   # smooth plus a jump: needs many pieces near 0
    "square": lambda x: x ** 2,
    "triangle": lambda x: np.abs(np.mod(4 * x, 2.0) - 1.0),   # 8 pieces on [-1, 1]: a sawtooth target
}
#: The input interval of every run (data and piece counts).
INTERVAL = (-1.0, 1.0)


@dataclass(frozen=True)
class Config:
    """One training run of :func:`nnlib.training.train`.

    Chapter 5 "Numerical study". ``widths`` are the full layer widths ``(1, N_1, …, N_{L-1}, 1)``
    (as everywhere in nnlib), so ``depth`` ``L = len(widths) - 1`` is the number of affine layers;
    data are ``n_points`` equispaced points of :data:`INTERVAL`. ``fmt`` is a
    :class:`nnlib.precision.Format`; a format name (``"float32"``) is converted on construction.
    """

    widths: tuple
    fmt: Format
    eps: float
    seed: int
    optimizer: str = "adam"
    lr: float = 3e-3
    steps: int = 1000
    n_points: int = 256
    target: str = "sin"
    record_every: int = 10
    batch_size: int | None = None

    def __post_init__(self):
        # Normalise what is unambiguous (a list of widths, a format name); validate_config judges the rest.
        if isinstance(self.widths, list):
            object.__setattr__(self, "widths", tuple(self.widths))
        if isinstance(self.fmt, str) and self.fmt in FORMATS:
            object.__setattr__(self, "fmt", FORMATS[self.fmt])

    @property
    def depth(self) -> int:
        """``L = len(widths) - 1``, the number of affine layers."""
        return len(self.widths) - 1

    @property
    def width(self) -> int:
        """The largest hidden width ``max(N_1, …, N_{L-1})`` (the width of a uniform network)."""
        return max(self.widths[1:-1])


def _check_widths(widths, name: str = "widths") -> tuple:
    if not isinstance(widths, (list, tuple)):
        raise TypeError(f"{name} must be a sequence (1, N_1, …, N_(L-1), 1), got {type(widths).__name__}")
    if not 3 <= len(widths) <= 65:
        raise ValueError(f"{name} must have 3 to 65 entries (depth 2 to 64), got {len(widths)}: {widths!r}")
    for k, w in enumerate(widths):
        check_int(w, f"{name}[{k}]", minimum=1, maximum=4096)
    if widths[0] != 1 or widths[-1] != 1:
        raise ValueError(f"{name} must start and end with 1 (univariate regression), got {widths!r}")
    return tuple(int(w) for w in widths)


def validate_config(cfg, index: int | None = None) -> Config:
    """Check every field of ``cfg``; raise TypeError/ValueError naming the configuration and field.

    Chapter 5 "Numerical study". Called by :func:`make_grid` and :func:`run_grid` before any work.

    Parameters
    ----------
    cfg : Config
    index : int, optional
        Position of ``cfg`` in a grid, for the message (``"config 3: field 'eps' …"``).

    Returns
    -------
    Config
        ``cfg`` itself.
    """
    where = "config" if index is None else f"config {index}"
    if not isinstance(cfg, Config):
        raise TypeError(f"{where} must be an nnlib.experiments.Config, got {type(cfg).__name__}")

    def field_error(name, exc):
        return type(exc)(f"{where}: field '{name}': {exc}")

    checks = {"widths": lambda v: _check_widths(v, "widths"), "fmt": lambda v: check_format(v, "fmt"),
              "optimizer": lambda v: check_choice(v, "optimizer", OPTIMIZERS),
              "target": lambda v: check_choice(v, "target", tuple(TARGETS))}
    ints = {"seed": (0, None), "steps": (0, None), "n_points": (2, None), "record_every": (1, None)}
    checks.update({name: (lambda v, name=name, lo=lo, hi=hi: check_int(v, name, minimum=lo, maximum=hi))
                   for name, (lo, hi) in ints.items()})
    for name, check in checks.items():
        try:
            check(getattr(cfg, name))
        except (TypeError, ValueError) as exc:
            raise field_error(name, exc) from None
    for name, ok, rule in (("eps", lambda v: 0 <= v < 1, "in [0, 1)"), ("lr", lambda v: v > 0, "> 0")):
        try:
            v = check_real(getattr(cfg, name), name, allow_fraction=False)
        except (TypeError, ValueError) as exc:
            raise field_error(name, exc) from None
        if not ok(v):
            raise ValueError(f"{where}: field '{name}' must be {rule}, got {v}")
    if cfg.batch_size is not None:
        try:
            check_int(cfg.batch_size, "batch_size", minimum=1, maximum=cfg.n_points)
        except (TypeError, ValueError) as exc:
            raise field_error("batch_size", exc) from None
        if cfg.optimizer == "gd" and cfg.batch_size != cfg.n_points:
            raise ValueError(f"{where}: field 'batch_size' must be None or n_points for optimizer 'gd'")
    return cfg


def make_grid(widths, formats, epsilons, seeds, **common) -> list:
    """All configurations ``widths × format × ε × seed`` (in that nesting order).

    Chapter 5 "Numerical study".

    Parameters
    ----------
    widths : list of sequences of int
        Architectures, each the full layer widths ``(1, N_1, …, N_{L-1}, 1)``; e.g.
        ``[[1] + [8] * (L - 1) + [1] for L in (2, 4, 8)]`` for width 8 at depths 2, 4, 8.
    formats : list of Format or str
        Working precisions (format names are converted).
    epsilons, seeds : list
        Perturbation levels ``ε`` and seeds.
    **common
        The remaining :class:`Config` fields (``optimizer``, ``lr``, ``steps``, …).

    Returns
    -------
    list of Config
        Every configuration validated (:func:`validate_config`).

    Examples
    --------
    >>> grid = make_grid([[1, 4, 1], [1, 4, 4, 1]], ["float32"], [0.0], [0, 1], steps=10)
    >>> [(c.depth, str(c.fmt), c.seed) for c in grid]
    [(2, 'float32', 0), (2, 'float32', 1), (3, 'float32', 0), (3, 'float32', 1)]
    """
    known = {f.name for f in fields(Config)} - {"widths", "fmt", "eps", "seed"}
    for key in common:
        if key not in known:
            raise TypeError(f"unknown Config field {key!r}; allowed: {sorted(known)}")
    axes = {"widths": widths, "formats": formats, "epsilons": epsilons, "seeds": seeds}
    for name, axis in axes.items():
        if isinstance(axis, (str, bytes)) or not hasattr(axis, "__iter__"):
            raise TypeError(f"{name} must be a list of values, got {type(axis).__name__}")
        if len(list(axis)) == 0:
            raise ValueError(f"{name} must not be empty")
    for k, w in enumerate(widths):
        if not isinstance(w, (list, tuple)):
            raise TypeError(f"widths[{k}] must be a sequence of layer widths (1, N_1, …, 1), got {type(w).__name__}")
    grid = [Config(widths=tuple(w), fmt=f, eps=e, seed=s, **common)
            for w in widths for f in formats for e in epsilons for s in seeds]
    for k, cfg in enumerate(grid):
        validate_config(cfg, k)
    return grid


# ----------------------------------------------------------------------------- one run
#: Points of the grid on which ``sup_error`` (``max |R(x) - f(x)|``) is taken.
SUP_GRID = 4097


def _group_key(cfg: Config) -> tuple:
    """Configurations with equal keys differ only in the seed: they train together in one batch."""
    return tuple(str(getattr(cfg, f.name)) for f in fields(Config) if f.name != "seed")


def _summarise(cfg: Config, net, res, seconds: float) -> dict:
    """One table row: the configuration and the summaries of one :class:`~nnlib.training.TrainResult`."""
    from .pieces import count_pieces
    from .pieces import network_state

    final = network_state(res.final_network, INTERVAL)   # pieces and regions in one propagation
    upd, grad = np.abs(res.bias_update), np.abs(res.bias_grad)
    nonzero = upd[upd > 0]
    per_step = [float(np.mean(1.0 / u[u > 0])) for u in upd if np.any(u > 0)]   # (A)'s statistic per iteration
    xs = np.linspace(*INTERVAL, SUP_GRID)
    row = {f.name: getattr(cfg, f.name) for f in fields(Config)}
    row.update(depth=cfg.depth, width=cfg.width, fmt=str(cfg.fmt), parameters=int(sum(
        (a + 1) * b for a, b in zip(cfg.widths[:-1], cfg.widths[1:]))))
    row.update(
        final_loss=res.final_loss,
        sup_error=float(np.max(np.abs(res.final_network(xs, fixed_order=True) - TARGETS[cfg.target](xs)))),
        initial_pieces=int(res.pieces[0]) if res.pieces.size else count_pieces(net, INTERVAL),
        final_pieces=final["pieces"],
        max_pieces=int(max(res.pieces.max(initial=0), final["pieces"])),
        final_regions=final["regions"],
        max_regions=int(max(res.regions.max(initial=0), final["regions"])),
        telgarsky_bound=telgarsky_bound(cfg.widths)[0],
        max_slope=float(res.max_slope.max()) if res.max_slope.size else math.nan,
        zero_update_fraction=float(np.mean(upd == 0)) if upd.size else math.nan,
        stagnant_fraction=float(np.mean((upd == 0) & (grad > 0))) if upd.size else math.nan,
        mean_inv_update=float(np.mean(1.0 / nonzero)) if nonzero.size else math.nan,
        median_step_inv_update=float(np.median(per_step)) if per_step else math.nan,
        max_step_inv_update=float(np.max(per_step)) if per_step else math.nan,
        initial_dead=int(res.dead[0].sum()) if res.dead.size else 0,
        final_dead=int(res.dead[-1].sum()) if res.dead.size else 0,
        seconds=seconds,
    )
    return row


def run_batch(configs) -> list:
    """Train configurations that differ only in the seed together (:func:`nnlib.training.train_batch`).

    Chapter 5 "Numerical study". Each row equals, bit for bit, the row of the same configuration
    trained alone (``run_batch([cfg])``), except ``seconds`` (the batch's wall time divided by its
    size). See :func:`run_config` for the columns.

    Parameters
    ----------
    configs : list of Config
        Non-empty; all fields but ``seed`` equal.

    Returns
    -------
    list of dict
        One row per configuration, in order.
    """
    from .training import torch_threads, train_batch   # torch is imported by the worker, not by the caller

    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError("configs must be a non-empty list of Config")
    for k, cfg in enumerate(configs):
        validate_config(cfg, k)
        if _group_key(cfg) != _group_key(configs[0]):
            raise ValueError(f"config {k} differs from config 0 in more than the seed; run_batch trains one shape "
                             "and one setting")
    cfg0 = configs[0]
    t0 = time.perf_counter()
    x = np.linspace(*INTERVAL, cfg0.n_points)
    y = TARGETS[cfg0.target](x)
    nets = [random_network(cfg.widths, seed=cfg.seed) for cfg in configs]
    with torch_threads(1):
        results = train_batch(nets, x, y, steps=cfg0.steps, lr=cfg0.lr, optimizer=cfg0.optimizer,
                              batch_size=cfg0.batch_size, fmt=cfg0.fmt, eps=cfg0.eps,
                              seeds=[cfg.seed for cfg in configs], interval=INTERVAL,
                              record_every=cfg0.record_every)
    seconds = (time.perf_counter() - t0) / len(configs)
    return [_summarise(cfg, net, res, seconds) for cfg, net, res in zip(configs, nets, results)]


def run_config(cfg: Config) -> dict:
    """Train one configuration and summarise it as a flat dict (one table row): ``run_batch([cfg])[0]``.

    Columns besides the config fields: ``parameters`` (weights and biases), ``final_loss``,
    ``sup_error`` (``max |R(x) - f(x)|`` on :data:`SUP_GRID` equispaced points of :data:`INTERVAL`,
    ``R`` evaluated with ``fixed_order=True``: the same bits on every CPU),
    ``initial_pieces``, ``final_pieces``, ``max_pieces``, ``final_regions``, ``max_regions`` (exact,
    on ``[-1, 1]``), ``telgarsky_bound``, ``max_slope`` (Assumption (B): ``max |∂z_{j,i}/∂x|`` over
    all layers and records), ``zero_update_fraction`` (hidden bias updates that are exactly 0),
    ``stagnant_fraction`` (exactly 0 although the computed gradient is not: rounded away),
    ``mean_inv_update`` (mean of ``1/|Δb|`` over all non-zero recorded updates),
    ``median_step_inv_update`` / ``max_step_inv_update`` (Assumption (A)'s statistic — the average
    of ``1/|Δb|`` over the non-zero updates of one iteration — median / max over the recorded
    iterations), ``initial_dead``, ``final_dead`` (hidden neurons dead on ``D`` at the first and the
    last record) and ``seconds`` (wall time; the only column that differs between repetitions).
    The config columns are the fields (``widths`` a tuple, ``fmt`` the format's name) plus ``depth``
    and ``width``.

    Chapter 5 "Numerical study".

    Parameters
    ----------
    cfg : Config

    Returns
    -------
    dict
    """
    return run_batch([cfg])[0]


# ----------------------------------------------------------------------------- the grid
def run_grid(configs, *, n_jobs: int = 2, scheduler=None, progress: bool = False, max_batch: int = 16):
    """Run every configuration, in parallel; return a tidy :class:`pandas.DataFrame`.

    Chapter 5 "Numerical study".

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
    max_batch : int
        Configurations that differ only in the seed are trained together, up to ``max_batch`` per
        batch (:func:`run_batch`); the rows do not depend on the grouping.

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
    max_batch = check_int(max_batch, "max_batch", minimum=1)
    progress = check_flag(progress, "progress")
    if scheduler is not None and not isinstance(scheduler, str) and type(scheduler).__name__ != "Client":
        raise TypeError(f"scheduler must be an address string or a distributed.Client, got {type(scheduler).__name__}")

    groups = _groups(configs, max_batch)
    jobs = (joblib.delayed(run_batch)([configs[k] for k in group]) for group in groups)
    if scheduler is None:
        parts = _collect(joblib.Parallel(n_jobs=n_jobs, return_as="generator"), jobs, len(configs), progress)
    else:
        from dask.distributed import Client

        client = Client(scheduler) if isinstance(scheduler, str) else scheduler
        try:
            with joblib.parallel_config(backend="dask"):
                parts = _collect(joblib.Parallel(n_jobs=-1, return_as="generator"), jobs, len(configs), progress)
        finally:
            if isinstance(scheduler, str):
                client.close()
    rows = [None] * len(configs)
    for group, part in zip(groups, parts):
        for k, row in zip(group, part):
            rows[k] = row
    return pd.DataFrame(rows)


def _groups(configs, max_batch: int) -> list:
    """Indices of the configurations, grouped by everything but the seed, at most ``max_batch`` per group;
    the most expensive groups first (so that parallel workers finish together)."""
    by_key: dict = {}
    for k, cfg in enumerate(configs):
        by_key.setdefault(_group_key(cfg), []).append(k)
    groups = [idx[i:i + max_batch] for idx in by_key.values() for i in range(0, len(idx), max_batch)]

    def cost(group):
        cfg = configs[group[0]]
        return -cfg.steps * sum(a * b for a, b in zip(cfg.widths[:-1], cfg.widths[1:])) * len(group)

    return sorted(groups, key=cost)


def _collect(parallel, jobs, total, progress):
    from tqdm import tqdm

    with tqdm(total=total, disable=not progress, file=sys.stderr, desc="runs") as bar:
        parts = []
        for part in parallel(jobs):
            parts.append(part)
            bar.update(len(part))
    return parts


# ----------------------------------------------------------------------------- summaries
# ----------------------------------------------------------------------------- figures
def plot_study(table, out_dir) -> list:
    """Median pieces, max slope and final loss against depth, one line per format and width.

    Chapter 5 "Numerical study" (the command line's figures). Draws on
    :class:`matplotlib.figure.Figure` objects and saves them as PNG files: no pyplot state, no
    backend switch, no window.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`run_grid`.
    out_dir : str or pathlib.Path
        Existing directory for the PNG files.

    Returns
    -------
    list of pathlib.Path
        The three files written.
    """
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    paths = []
    for column, log in (("final_pieces", True), ("max_slope", True), ("final_loss", True)):
        fig = Figure(figsize=(5, 3.5))
        ax = fig.add_subplot()
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
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- command line
FULL_STUDY = dict(depths=[2, 4, 8, 12], hidden_widths=[8, 16], formats=["float64", "float32", "bfloat16", "float16"],
                  epsilons=[0.0, 1e-2], seeds=[0, 1, 2, 3, 4], steps=2000, record_every=20)
QUICK_STUDY = dict(depths=[2, 4], hidden_widths=[8], formats=["float64", "float16"], epsilons=[0.0], seeds=[0],
                   steps=100, record_every=10)


#: The Chapter 5 study: part → (architectures, (format, ε) variants, common Config fields, optimizer → lr).
CHAPTER5 = {
    "scaling": dict(widths=[[1] + [n] * (d - 1) + [1] for n in (4, 8, 16, 32) for d in (2, 4, 8, 16)],
                    variants=[("float64", 0.0), ("float32", 0.0), ("bfloat16", 0.0), ("float16", 0.0),
                              ("float64", 1e-2)],
                    targets=["square"], optimizers={"gd": 0.01}, steps=100, record_every=10, n_points=64),
    "reach": dict(widths=[[1] + [8] * 7 + [1], [1, 152, 1]],      # 457 parameters each
                  variants=[("float64", 0.0), ("float32", 0.0), ("bfloat16", 0.0)],
                  targets=["triangle", "square"], optimizers={"gd": 0.01, "adam": 3e-3}, steps=400,
                  record_every=50, n_points=64),
}


def chapter5_grid(seeds: int = 10) -> list:
    """The configurations of the Chapter 5 study, as ``(part, Config)`` pairs.

    Chapter 5 "Numerical study": part ``"scaling"`` (Assumptions (A) and (B) and the regions as
    functions of the width ``N`` and depth ``L``; float64, float32, bfloat16, float16, and float64
    with perturbed updates ``ε = 10⁻²``, the model of {prf:ref}`def-perturbed-gd`) and part
    ``"reach"`` (sawtooth and ``x²`` targets, GD and Adam, a deep narrow and a shallow wide network
    with the same number of parameters). The settings are the module constant ``CHAPTER5``.

    Parameters
    ----------
    seeds : int
        Seeds ``0 … seeds-1`` of every setting.

    Returns
    -------
    list of (str, Config)
    """
    seeds = check_int(seeds, "seeds", minimum=1)
    out = []
    for part, spec in CHAPTER5.items():
        for target in spec["targets"]:
            for optimizer, lr in spec["optimizers"].items():
                for widths in spec["widths"]:
                    for fmt, eps in spec["variants"]:
                        for seed in range(seeds):
                            out.append((part, validate_config(Config(
                                widths=tuple(widths), fmt=fmt, eps=eps, seed=seed, optimizer=optimizer, lr=lr,
                                steps=spec["steps"], n_points=spec["n_points"], target=target,
                                record_every=spec["record_every"]))))
    return out


def _run_chapter5(args) -> Path:
    """``--chapter5``: the Chapter 5 study → ``<out>/<name>.csv`` and ``<out>/<name>.json``."""
    pairs = chapter5_grid(args.seeds if args.seeds is not None else 10)
    configs = [cfg for _, cfg in pairs]
    out = Path("chapters/data") if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table = run_grid(configs, n_jobs=args.n_jobs, scheduler=args.scheduler, progress=not args.no_progress)
    elapsed = time.perf_counter() - t0
    table.insert(0, "part", [part for part, _ in pairs])
    table = table.drop(columns=["seconds"])   # the only column that is not reproducible
    name = args.name or "ch5_study"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"--name must be a plain file name stem (letters, digits, _ . -), got {name!r}")
    table.to_csv(out / f"{name}.csv", index=False, float_format="%.17g")
    spec = {part: {**v, "variants": [list(x) for x in v["variants"]]} for part, v in CHAPTER5.items()}
    meta = dict(command=" ".join(["python -m nnlib.experiments"] + args.argv), study=spec,
                interval=list(INTERVAL), sup_grid=SUP_GRID, seeds=int(table["seed"].max()) + 1, runs=len(configs),
                seconds=round(elapsed, 1), environment=environment(n_jobs=args.n_jobs, torch_threads_per_run=1))
    (out / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(configs)} runs in {elapsed:.1f} s; wrote {out / name}.csv and .json")
    return out


def _parser():
    p = argparse.ArgumentParser(prog="python -m nnlib.experiments", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (created); default: a new temporary directory")
    p.add_argument("--quick", action="store_true", help="a small smoke-test grid instead of the full study")
    p.add_argument("--chapter5", action="store_true",
                   help="the Chapter 5 study (CHAPTER5): writes <out>/<name>.csv and .json (default out: chapters/data)")
    p.add_argument("--name", default=None, help="file name stem for --chapter5 (default ch5_study)")
    p.add_argument("--depths", type=int, nargs="+")
    p.add_argument("--hidden-widths", type=int, nargs="+", help="N of the uniform architectures (1, N, …, N, 1)")
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
    """Command-line entry point (``python -m nnlib.experiments``); returns the output directory.

    Chapter 5 "Numerical study". ``--depths`` × ``--hidden-widths`` give the uniform architectures
    ``(1, N, …, N, 1)`` of each depth ``L``.
    """
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.chapter5:
        return _run_chapter5(args)
    study = dict(QUICK_STUDY if args.quick else FULL_STUDY)
    for key in ("depths", "hidden_widths", "formats", "epsilons", "steps", "record_every"):
        if getattr(args, key) is not None:
            study[key] = getattr(args, key)
    if args.seeds is not None:
        study["seeds"] = list(range(args.seeds))
    study.update(optimizer=args.optimizer, lr=args.lr, target=args.target)
    depths, hidden = study.pop("depths"), study.pop("hidden_widths")
    for k, d in enumerate(depths):
        check_int(d, f"depths[{k}]", minimum=2, maximum=64)
    study["widths"] = [[1] + [n] * (d - 1) + [1] for d in depths for n in hidden]
    configs = make_grid(**study)            # every configuration is validated before any work
    out = Path(tempfile.mkdtemp(prefix="nnlib-study-")) if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    table = run_grid(configs, n_jobs=args.n_jobs, scheduler=args.scheduler, progress=not args.no_progress)
    elapsed = time.perf_counter() - t0
    table.to_csv(out / "results.csv", index=False)
    study = {**study, "formats": [str(f) for f in study["formats"]], "depths": depths, "hidden_widths": hidden}
    (out / "study.json").write_text(json.dumps({**study, "runs": len(configs), "seconds": elapsed}, indent=1))
    plot_study(table, out)
    print(f"{len(configs)} runs in {elapsed:.1f} s; results in {out}")
    return out


if __name__ == "__main__":
    main()
