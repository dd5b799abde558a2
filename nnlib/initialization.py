"""Random initialisation, dead layers and constant networks: why deep narrow nets never start.

Chapter 6, "Deep and narrow" (Cheridito, Jentzen, Rossmannek 2021). A hidden layer is *dead* on a
set ``D`` if every one of its neurons has pre-activation ``<= 0`` at every input of ``D``. Then the
layer outputs 0 on ``D``, so the realisation is constant there ({prf:ref}`prop-dead-layer-frozen`),
and with the convention ``ReLU'(0) = 0`` every parameter at or below the dead layer gets gradient
exactly 0, for every loss and every step: gradient descent never leaves the constant.

Everything here is decided **exactly**, through the knot propagation of :mod:`nnlib.pieces`, never
by sampling the input: between two knots every pre-activation is affine, so its sign on ``D`` is
known from its values at the knots (and, on the whole line, from the slopes of the two rays).

How likely a dead layer is at initialisation:

* :func:`constant_probability_bound` — our rigorous lower bound {prf:ref}`thm-constant-bound`:
  a layer after the first is dead whenever all its ``N (N + 1)`` incoming weights and biases are
  ``<= 0``, which has probability ``2^{-N(N+1)}`` under any symmetric law with no atom at 0;
* :func:`prob_constant` — a Monte Carlo estimate with a Wilson 95 % interval;
* :func:`fit_death_rate` — the per-layer rate ``q_N`` in ``P = 1 - (1 - q_N)^{L-1}``, fitted by
  maximum likelihood with a profile-likelihood 95 % interval;
* :func:`restarts_needed` — how many independent initialisations reach a success probability.

What it costs in training (experiment E3.2 of Chapter 6): :func:`training_run` trains one
He-initialised network on ``y = x^2`` and records whether it failed and whether it was constant at
the start; ``python -m nnlib.initialization --out chapters/data`` runs the whole grid of
:data:`STUDY` and writes ``ch6_training_failure.csv`` and ``ch6_training_failure.json``
(configuration and environment).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from ._validate import as_generator, check_choice, check_flag, check_int, check_interval, check_network, check_real
from .pieces import batched_states, propagate_knots
from .reproducibility import data_file, environment

__all__ = [
    "INIT_LAWS",
    "init_layers",
    "dead_layers",
    "is_constant_on",
    "prob_constant",
    "wilson_interval",
    "constant_probability_bound",
    "fit_death_rate",
    "restarts_needed",
    "STUDY",
    "STUDY_COLUMNS",
    "training_run",
    "training_study",
    "load_study",
]

#: The initialisation laws, by name. ``n_in`` is the fan-in of the layer, ``n_out`` its width.
INIT_LAWS = {
    "he": "weights and biases i.i.d. N(0, 2 / n_in)",
    "he-zero-bias": "weights i.i.d. N(0, 2 / n_in), biases 0",
    "glorot": "weights and biases i.i.d. N(0, 2 / (n_in + n_out))",
    "uniform": "weights and biases i.i.d. U(-1/sqrt(n_in), 1/sqrt(n_in)) (PyTorch's nn.Linear default)",
    "he-positive-bias": "weights i.i.d. N(0, 2 / n_in), biases i.i.d. |N(0, 2 / n_in)| (half-normal, > 0)",
    "asymmetric": ("as 'he', then in every neuron one of its n_in + 1 incoming parameters, chosen uniformly, "
                   "is replaced by its absolute value (a simplified randomised asymmetric initialisation in the "
                   "spirit of Lu, Shin, Su, Karniadakis 2019)"),
}


def _check_widths(widths, name="widths") -> list:
    if not isinstance(widths, (list, tuple)) or len(widths) < 2:
        raise ValueError(f"{name} must be a sequence (N_0, …, N_L) with at least two entries, got {widths!r}")
    return [check_int(w, f"{name}[{k}]", minimum=1) for k, w in enumerate(widths)]


def _sample_layer(init: str, n_in: int, n_out: int, rng: np.random.Generator, batch=()):
    """``A`` of shape ``batch + (n_out, n_in)`` and ``b`` of shape ``batch + (n_out,)`` from the law ``init``."""
    shape = tuple(batch) + (n_out, n_in)
    if init == "uniform":
        r = 1.0 / math.sqrt(n_in)
        return rng.uniform(-r, r, size=shape), rng.uniform(-r, r, size=shape[:-1])
    std = math.sqrt(2.0 / (n_in + n_out)) if init == "glorot" else math.sqrt(2.0 / n_in)
    A = rng.normal(0.0, std, size=shape)
    b = np.zeros(shape[:-1]) if init == "he-zero-bias" else rng.normal(0.0, std, size=shape[:-1])
    if init == "he-positive-bias":
        b = np.abs(b)
    if init == "asymmetric":
        params = np.concatenate([A, b[..., None]], axis=-1)       # one row per neuron: (weights, bias)
        pick = rng.integers(0, n_in + 1, size=shape[:-1] + (1,))
        np.put_along_axis(params, pick, np.abs(np.take_along_axis(params, pick, axis=-1)), axis=-1)
        A, b = params[..., :n_in].copy(), params[..., n_in].copy()
    return A, b


def init_layers(widths: Sequence[int], init: str = "he", seed=None) -> list:
    """The ``(A_j, b_j)`` of a network with full layer widths ``widths`` drawn from the law ``init``.

    Chapter 6, section "How likely is a dead layer?"; the laws are listed in :data:`INIT_LAWS`.
    :func:`nnlib.networks.random_network` with ``init=…`` builds the network from these layers.

    Parameters
    ----------
    widths : sequence of int
        Full layer widths ``(N_0, N_1, …, N_L)``, each >= 1.
    init : str
        A key of :data:`INIT_LAWS`.
    seed : None, int or numpy.random.Generator
        The same seed gives the same layers.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``A_j`` of shape ``(N_j, N_{j-1})`` and ``b_j`` of shape ``(N_j,)``.
    """
    widths = _check_widths(widths)
    init = check_choice(init, "init", INIT_LAWS)
    rng = as_generator(seed, "seed")
    return [_sample_layer(init, n_in, n_out, rng) for n_in, n_out in zip(widths[:-1], widths[1:])]


def _positive_somewhere(rec, bounded: bool) -> np.ndarray:
    """For each neuron of one layer record: is its pre-activation > 0 somewhere on the domain?"""
    positive = np.any(rec.z > 0, axis=0)
    if not bounded:  # the rays beyond the outermost knots: z(x) = z_edge + slope (x - x_edge)
        positive = positive | (rec.slope[0] < 0) | (rec.slope[-1] > 0)
    return np.asarray(positive, dtype=bool)


def dead_layers(net, interval=None, *, exact: bool = False) -> list:
    """1-based indices of the hidden layers of ``net`` that are dead on ``interval``.

    A hidden layer ``j`` is dead if every neuron has pre-activation ``z_{j,i}(x) <= 0`` for every
    ``x`` in ``interval`` (``None``: the whole line). Chapter 6, {prf:ref}`prop-dead-layer-frozen`;
    checked by ``tests/test_initialization.py``.

    Parameters
    ----------
    net : ReLUNetwork
        Univariate network (widths ``(1, …, 1)``).
    interval : (a, b) or None
    exact : bool
        Run the knot propagation in rational arithmetic (see :func:`nnlib.pieces.propagate_knots`).

    Returns
    -------
    list of int
    """
    net = check_network(net, univariate=True)
    interval = check_interval(interval)
    exact = check_flag(exact, "exact")
    record = propagate_knots(net, interval, exact=exact)
    return [j for j, rec in enumerate(record[:-1], start=1)
            if not np.any(_positive_somewhere(rec, interval is not None))]


def is_constant_on(net, interval=None, *, exact: bool = False) -> bool:
    """Is the realisation of ``net`` constant on ``interval`` (``None``: the whole line)?

    Decided from the slopes of the output on every segment between knots, so it also detects a
    network that is constant although every layer is alive (cancellation). Chapter 6,
    {prf:ref}`prop-dead-layer-frozen`; checked by ``tests/test_initialization.py``. Parameters as in
    :func:`dead_layers`.
    """
    net = check_network(net, univariate=True)
    interval = check_interval(interval)
    exact = check_flag(exact, "exact")
    last = propagate_knots(net, interval, exact=exact)[-1]
    slopes = last.slope[1:-1] if interval is not None else last.slope   # rays lie outside [a, b]
    return not bool(np.any(slopes != 0))


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple:
    """Wilson score interval for a binomial proportion (95 % for the default ``z``)."""
    trials = check_int(trials, "trials", minimum=1)
    successes = check_int(successes, "successes", minimum=0, maximum=trials)
    z = check_real(z, "z", allow_fraction=False)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


_BATCH = 256   # networks per batched propagation in prob_constant


def prob_constant(width: int, depth: int, n_draws: int, *, init: str = "he", interval=(0.0, 1.0), seed=0) -> tuple:
    """Monte Carlo estimate of P(the realisation is constant on ``interval``) at initialisation.

    Networks ``R -> R`` with ``depth`` affine layers and every hidden width ``width``, drawn from
    ``init``. Each draw is decided exactly: the realisation is constant on ``interval`` iff the
    largest ``|dR/dx|`` over its pieces is 0, computed by the batched knot propagation
    (:func:`nnlib.pieces.batched_states`) for many draws at once. Chapter 6, section "How likely is a dead
    layer?" (compared with {prf:ref}`thm-constant-bound`).

    Returns
    -------
    (float, (float, float))
        The fraction of constant draws and its Wilson 95 % interval.
    """
    width = check_int(width, "width", minimum=1)
    depth = check_int(depth, "depth", minimum=1)
    n_draws = check_int(n_draws, "n_draws", minimum=1)
    init = check_choice(init, "init", INIT_LAWS)
    interval = check_interval(interval, allow_none=False)
    rng = as_generator(seed, "seed")
    widths = [1] + [width] * (depth - 1) + [1]
    hits = 0
    for start in range(0, n_draws, _BATCH):   # networks of one shape, decided as one batch
        batch = (min(_BATCH, n_draws - start),)
        layers = [_sample_layer(init, n_in, n_out, rng, batch) for n_in, n_out in zip(widths[:-1], widths[1:])]
        hits += int(np.count_nonzero(batched_states(layers, interval)["max_slope"][:, -1] == 0))
    return hits / n_draws, wilson_interval(hits, n_draws)


def constant_probability_bound(width: int, depth: int, *, zero_bias: bool = False) -> float:
    """Our lower bound {prf:ref}`thm-constant-bound` on P(constant) for symmetric laws.

    Hypotheses: all weights (and, unless ``zero_bias``, all biases) of the hidden layers ``2, …,
    L - 1`` are independent, each symmetric about 0 with ``P(= 0) = 0``; every hidden width is
    ``N = width``; ``L = depth`` affine layers. A hidden layer after the first receives inputs
    ``>= 0``, so it is dead on *every* input set when all its ``N (N + 1)`` incoming parameters are
    ``<= 0`` (``N^2`` with zero biases, which are then ``<= 0`` surely). These ``L - 2`` events are
    independent, each of probability ``q = 2^{-N(N+1)}``, so ``P(constant) >= 1 - (1 - q)^{L-2}``.
    """
    width = check_int(width, "width", minimum=1)
    depth = check_int(depth, "depth", minimum=1)
    zero_bias = check_flag(zero_bias, "zero_bias")
    e = width * width if zero_bias else width * (width + 1)      # q = 2^-e
    k = max(depth - 2, 0)
    if e * k <= 100_000:                                          # exact, then rounded once
        return float(1 - (1 - Fraction(1, 2**e)) ** k)
    return -math.expm1(k * math.log1p(-(2.0 ** -e)))              # 1 - (1 - q)^k, accurate for tiny q


def _loglik(s: float, depths, hits, n_draws) -> float:
    """Log-likelihood of survival rate ``s = 1 - q`` under P(constant at depth L) = 1 - s^(L-1)."""
    total = 0.0
    for L, k, n in zip(depths, hits, n_draws):
        m = L - 1
        if k:
            total += k * math.log1p(-(s ** m)) if s ** m < 1 else -math.inf
        if n - k:
            total += (n - k) * m * math.log(s) if s > 0 else -math.inf
    return total


def _score(s: float, depths, hits, n_draws) -> float:
    """d/ds of :func:`_loglik`; decreasing in ``s`` because the log-likelihood is concave."""
    return sum(-k * (L - 1) * s ** (L - 2) / -math.expm1((L - 1) * math.log(s)) + (n - k) * (L - 1) / s
               for L, k, n in zip(depths, hits, n_draws))


def _bisect(f, lo: float, hi: float, iters: int = 200) -> float:
    """A root of ``f`` between ``lo`` and ``hi`` where ``f(lo) >= 0 > f(hi)``, to full precision."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if f(mid) >= 0 else (lo, mid)
    return 0.5 * (lo + hi)


def fit_death_rate(depths, hits, n_draws) -> tuple:
    """Fit the per-layer death rate ``q`` of ``P(constant at depth L) = 1 - (1 - q)^{L-1}``.

    Maximum likelihood from independent binomial counts (``hits[i]`` constant networks out of
    ``n_draws[i]`` at depth ``depths[i]``), with a 95 % profile-likelihood interval (the set of ``q``
    whose log-likelihood is within ``chi2_1(0.95) / 2 = 1.92`` of the maximum). Chapter 6, section
    "How likely is a dead layer?". The model is a simplification: it treats the
    layers as dying independently at one rate.

    Returns
    -------
    (float, (float, float))
    """
    depths = [check_int(L, f"depths[{i}]", minimum=2) for i, L in enumerate(depths)]
    if not depths or len(hits) != len(depths) or len(n_draws) != len(depths):
        raise ValueError(f"depths, hits and n_draws must be non-empty and of one length, got "
                         f"{len(depths)}, {len(hits)}, {len(n_draws)}")
    n_draws = [check_int(n, f"n_draws[{i}]", minimum=1) for i, n in enumerate(n_draws)]
    hits = [check_int(k, f"hits[{i}]", minimum=0, maximum=n) for i, (k, n) in enumerate(zip(hits, n_draws))]
    f = lambda s: _loglik(s, depths, hits, n_draws)  # noqa: E731
    tiny = 1e-15
    if sum(hits) == 0:           # no constant network: the likelihood increases up to s = 1 (q = 0)
        s_hat = 1 - tiny
    elif sum(hits) == sum(n_draws):
        s_hat = tiny
    else:                        # the log-likelihood is concave in s: its maximum is the score's root
        s_hat = _bisect(lambda s: _score(s, depths, hits, n_draws), tiny, 1 - tiny)
    excess = lambda s: f(s) - (f(s_hat) - 1.920729410347062)  # noqa: E731  >= 0 inside the interval
    s_lo = tiny if excess(tiny) >= 0 else _bisect(lambda s: -excess(s), tiny, s_hat)
    s_hi = 1 - tiny if excess(1 - tiny) >= 0 else _bisect(excess, s_hat, 1 - tiny)
    return 1 - s_hat, (1 - s_hi, 1 - s_lo)


def restarts_needed(p_fail: float, success: float = 0.9) -> int:
    """Fewest independent initialisations ``K`` with ``P(at least one succeeds) = 1 - p_fail^K >= success``.

    Chapter 6, section "Restarts" (used with {prf:ref}`prop-dead-layer-frozen`: a constant start
    always fails). ``p_fail`` in ``[0, 1)``, ``success`` in ``(0, 1)``.
    """
    p_fail = check_real(p_fail, "p_fail", allow_fraction=False)
    success = check_real(success, "success", allow_fraction=False)
    if not 0 <= p_fail < 1:
        raise ValueError(f"p_fail must be in [0, 1) (with p_fail = 1 no number of restarts succeeds), got {p_fail}")
    if not 0 < success < 1:
        raise ValueError(f"success must be in (0, 1), got {success}")
    if p_fail == 0:
        return 1
    K = max(1, math.ceil(math.log1p(-success) / math.log(p_fail)))
    while 1 - p_fail ** K < success:            # guard the logarithms' rounding on both sides
        K += 1
    while K > 1 and 1 - p_fail ** (K - 1) >= success:
        K -= 1
    return K


#: The grid of the training study (experiment E3.2 of Chapter 6) and its fixed settings.
STUDY = {
    "widths": (2, 3, 5),
    "depths": (3, 5, 10, 20),
    "seeds": 40,
    "init": "he",
    "n_points": 128,
    "optimizer": "adam",
    "steps": 300,
    "lr": 0.01,
    "threshold": 0.9,
}

#: The columns of a row of :func:`training_run`, in the order of the CSV file.
STUDY_COLUMNS = ("width", "depth", "seed", "constant_at_init", "first_dead_layer", "final_loss", "var_y",
                 "failed", "constant_at_end")


def _study_seed(width: int, depth: int, seed: int) -> int:
    """The network seed of one cell of the study: distinct for every (width, depth, seed)."""
    return 1_000_000 * width + 1_000 * depth + seed


def training_run(width: int, depth: int, seed: int, *, init: str = "he", n_points: int = 128,
                 optimizer: str = "adam", steps: int = 300, lr: float = 0.01, threshold: float = 0.9) -> dict:
    """Train one random network on ``y = x^2`` and say whether gradient descent failed.

    Chapter 6, section "What a dead start costs in training" (experiment E3.2; {prf:ref}`prop-dead-layer-frozen`
    explains the failures). The network has ``depth`` affine layers of hidden width ``width``, drawn
    from ``init`` with the network seed ``1_000_000 width + 1_000 depth + seed``; it is trained
    full-batch in float64 by ``optimizer`` (:func:`nnlib.training.train`, ``steps`` steps of size
    ``lr``) on ``n_points`` equally spaced points of ``[0, 1]`` with targets ``x^2``. The run
    *failed* if its final loss is ``>= threshold * Var(y)`` (the best constant has loss ``Var(y)``).
    Checked by ``tests/test_initialization.py`` (a slice of the committed table is re-run).

    Returns
    -------
    dict
        The keys of :data:`STUDY_COLUMNS`: ``constant_at_init`` and ``constant_at_end`` are decided
        exactly on ``[0, 1]`` (:func:`is_constant_on`), ``first_dead_layer`` is the first hidden layer
        dead on ``[0, 1]`` at initialisation (0: none).
    """
    from .networks import random_network
    from .training import train   # imports torch: only when a study runs

    width = check_int(width, "width", minimum=1)
    depth = check_int(depth, "depth", minimum=2)
    seed = check_int(seed, "seed", minimum=0, maximum=999)
    init = check_choice(init, "init", INIT_LAWS)
    n_points = check_int(n_points, "n_points", minimum=2)
    steps = check_int(steps, "steps", minimum=0)
    threshold = check_real(threshold, "threshold", allow_fraction=False)
    net = random_network([1] + [width] * (depth - 1) + [1], seed=_study_seed(width, depth, seed), init=init)
    x = np.linspace(0.0, 1.0, n_points)
    y = x * x
    run = train(net, x, y, steps=steps, lr=lr, optimizer=optimizer, record_every=0)
    dead = dead_layers(net, (0.0, 1.0))
    var_y = float(np.var(y))
    return {"width": width, "depth": depth, "seed": seed,
            "constant_at_init": bool(is_constant_on(net, (0.0, 1.0))),
            "first_dead_layer": dead[0] if dead else 0,
            "final_loss": float(run.final_loss), "var_y": var_y,
            "failed": bool(run.final_loss >= threshold * var_y),
            "constant_at_end": bool(is_constant_on(run.final_network, (0.0, 1.0)))}


def training_study(widths=STUDY["widths"], depths=STUDY["depths"], seeds=STUDY["seeds"], **kwargs) -> list:
    """:func:`training_run` for every width, depth and seed ``0 … seeds - 1``, as a list of rows.

    Chapter 6, section "What a dead start costs in training". Keyword arguments go to :func:`training_run`.
    """
    seeds = check_int(seeds, "seeds", minimum=1, maximum=1000)
    jobs = check_int(kwargs.pop("jobs", 1), "jobs", minimum=1)
    cells = [(int(N), int(L)) for N in widths for L in depths]
    if jobs == 1:
        return [row for N, L in cells for row in _study_cell(N, L, seeds, kwargs)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:     # cells in parallel; rows come back in the order of cells
        parts = list(pool.map(_study_cell, *zip(*[(N, L, seeds, kwargs) for N, L in cells])))
    return [row for part in parts for row in part]


def _study_cell(width: int, depth: int, seeds: int, kwargs: dict) -> list:
    """The rows of one (width, depth) cell of :func:`training_study` (one thread of torch)."""
    import torch

    torch.set_num_threads(1)
    return [training_run(width, depth, s, **kwargs) for s in range(seeds)]


#: Where :func:`load_study` finds the committed table when nnlib is not a source checkout (Colab).
def load_study(path=None) -> list:
    """The committed rows of the training study, as dicts with typed values (ints, floats).

    Chapter 6, section "What a dead start costs in training". ``path`` defaults to
    the committed ``chapters/data/ch6_training_failure.csv``, found (or, on Colab, downloaded) by
    :func:`nnlib.reproducibility.data_file`.
    """
    import csv
    import io
    from pathlib import Path

    if path is None:
        text = data_file("ch6_training_failure.csv").read_text()
    else:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__} {path!r}")
        text = Path(path).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != STUDY_COLUMNS:
        raise ValueError(f"path: not a table of the training study (columns {STUDY_COLUMNS})")
    return [{k: (float(v) if k in ("final_loss", "var_y") else int(v)) for k, v in r.items()} for r in rows]


def _main(argv=None) -> None:
    """``python -m nnlib.initialization --out DIR``: run :data:`STUDY`, write the CSV and the JSON."""
    import argparse
    import csv
    import json
    import os
    import time

    parser = argparse.ArgumentParser(description="Chapter 6, experiment E3.2: training failure vs depth and width.")
    parser.add_argument("--out", required=True, help="directory for ch6_training_failure.{csv,json}")
    parser.add_argument("--seeds", type=int, default=STUDY["seeds"], help="seeds per (width, depth)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the rows do not depend on it)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    settings = {k: v for k, v in STUDY.items() if k not in ("widths", "depths", "seeds")}
    start = time.perf_counter()
    rows = training_study(STUDY["widths"], STUDY["depths"], args.seeds, jobs=args.jobs, **settings)
    elapsed = time.perf_counter() - start
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ch6_training_failure.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=STUDY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) else int(v) if isinstance(v, bool) else v)
                             for k, v in row.items()})
    meta = {"experiment": "Chapter 6, E3.2: fraction of failed trainings vs depth and width",
            "command": "python -m nnlib.initialization --out " + args.out
                       + ("" if args.seeds == STUDY["seeds"] else f" --seeds {args.seeds}"),
            "configuration": {**STUDY, "seeds": args.seeds, "target": "x^2", "interval": [0.0, 1.0],
                              "batch": "full", "fmt": "float64",
                              "network_seed": "1_000_000 * width + 1_000 * depth + seed",
                              "failed": "final_loss >= threshold * var_y"},
            "environment": environment(),
            "jobs": args.jobs, "elapsed_seconds": round(elapsed, 1), "rows": len(rows)}
    with open(os.path.join(args.out, "ch6_training_failure.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{len(rows)} runs in {elapsed:.0f} s -> {args.out}")


if __name__ == "__main__":
    _main()
