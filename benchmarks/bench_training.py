"""Benchmark of nnlib.training: runs per second, batched (train_batch) vs one at a time (train).

Run:  python benchmarks/bench_training.py   (prints a markdown report, writes benchmarks/results/training.md)

Both ways are measured in one run, in turns (round robin), so that both see the same background load;
the ratio is the figure of merit (goal: >= 5x). One torch thread, as in the study
(``python -m nnlib.experiments --chapter5``). Before timing, the script checks that the batched
results equal the one-at-a-time results bit for bit (a speed-up of a different computation would
mean nothing).

A third column, for reference only, times the conventional one-at-a-time loop (``torch.autograd``,
BLAS matrix products, ``torch.optim``) on the same networks and data, in the native formats
(float32/float64) where it computes the same mathematics. It is not bit-identical to nnlib (its
sums are BLAS's, in an order that depends on the shapes) and records nothing, so it bounds from
below what a single run costs without the fixed summation order that makes batching bit-identical.
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nnlib.networks import random_network  # noqa: E402
from nnlib.training import train, train_batch  # noqa: E402

from _timing import round_robin

OUT = Path(__file__).resolve().parent / "results" / "training.md"
SEEDS = list(range(10))
STEPS = 50
#: (label, widths, fmt, optimizer, lr): shapes and settings of the Chapter 5 study
CASES = [
    ("N=8, L=8, float32, GD", [1] + [8] * 7 + [1], "float32", "gd", 0.01),
    ("N=8, L=8, bfloat16, GD", [1] + [8] * 7 + [1], "bfloat16", "gd", 0.01),
    ("N=4, L=16, float16, GD", [1] + [4] * 15 + [1], "float16", "gd", 0.01),
    ("N=32, L=4, float64, Adam", [1] + [32] * 3 + [1], "float64", "adam", 3e-3),
]
X = np.linspace(-1, 1, 64)
Y = X ** 2
lines: list[str] = []


def say(text=""):
    print(text, flush=True)
    lines.append(text)


def plain_torch_loop(net, fmt, optimizer, lr, steps):
    """The conventional training loop (reference speed only): ``net.to_torch()``, autograd, torch.optim."""
    dtype = {"float32": torch.float32, "float64": torch.float64}[fmt]
    model = net.to_torch(dtype)
    x = torch.tensor(X, dtype=dtype)[:, None]
    y = torch.tensor(Y, dtype=dtype)[:, None]
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return float(loss.detach())


def main():
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    say("# nnlib.training benchmark: batched vs one at a time")
    say()
    say(f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} (1 thread), "
        f"numpy {np.__version__}. Load average at start: {load:.1f}"
        + (" — **the machine was busy: absolute times are inflated; the ratio is measured round-robin**."
           if load > 1.5 else "."))
    say(f"{len(SEEDS)} runs of {STEPS} steps each, {X.size} data points, record every 10 steps.")
    say()
    say("| setting | one at a time (runs/s) | batched (runs/s) | speed-up | bit-identical "
        "| plain torch loop, reference (runs/s) | batched vs plain loop |")
    say("|---|---|---|---|---|---|---|")
    for label, widths, fmt, opt, lr in CASES:
        nets = [random_network(widths, seed=s) for s in SEEDS]
        kw = dict(steps=STEPS, lr=lr, optimizer=opt, fmt=fmt, record_every=10)

        def single():
            return [train(net, X, Y, seed=s, **kw) for net, s in zip(nets, SEEDS)]

        def batched():
            return train_batch(nets, X, Y, seeds=SEEDS, **kw)

        same = all(a.loss_history.tobytes() == b.loss_history.tobytes()
                   and a.bias_update.tobytes() == b.bias_update.tobytes()
                   for a, b in zip(single(), batched()))
        fns = [single, batched]
        if fmt in ("float32", "float64"):
            fns.append(lambda: [plain_torch_loop(net, fmt, opt, lr, STEPS) for net in nets])
        times = round_robin(fns, repeats=3, warmup=1)
        t_single, t_batched = times[:2]
        plain = (f"{len(SEEDS) / times[2]:.2f} | {times[2] / t_batched:.1f}×" if len(times) == 3
                 else "— (no native format) | —")
        say(f"| {label} | {len(SEEDS) / t_single:.2f} | {len(SEEDS) / t_batched:.2f} | "
            f"{t_single / t_batched:.1f}× | {'yes' if same else '**NO**'} | {plain} |")
    say()
    say("Goal: ≥ 5× against one-at-a-time `train` (issue 11 §3). The plain torch loop is a reference, not a "
        "competitor: it is not bit-identical, simulates no low-precision format and records nothing.")
    say()
    recording_cost()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")


def recording_cost():
    """Exact recording at every step (pieces, regions, slopes, dead neurons via
    ``nnlib.pieces.batched_states``) against no recording, as a fraction of an optimiser step."""
    say("## Recording every step: its cost as a fraction of an optimiser step")
    say()
    say("Same runs with `record_every=1` and `record_every=0` (no recording), timed in turns; "
        "cost = (t_record − t_none) ÷ t_none. Goal: ≤ 0.5 of one training step (issue 10 §2; the goal "
        "in the project's performance plan is \"exact count ≤ 0.5× one training step\", set against a "
        "one-network Adam step): the column *one at a time*. The batched column divides the same "
        "recording by a `train_batch` step, several times cheaper per run than a `train` step; it is "
        "shown for information and depends more on the machine (the step's cost varies more than the "
        "recording's).")
    say()
    say("| setting | step, one at a time (ms) | recording ÷ step, one at a time | step, batched (ms per run) "
        "| recording ÷ step, batched |")
    say("|---|---|---|---|---|")
    worst = 0.0
    for label, widths, fmt, opt, lr in CASES:
        nets = [random_network(widths, seed=s) for s in SEEDS]
        kw = dict(steps=STEPS, lr=lr, optimizer=opt, fmt=fmt)
        fns = [lambda every=every: [train(net, X, Y, seed=s, record_every=every, **kw) for net, s in zip(nets, SEEDS)]
               for every in (0, 1)]
        fns += [lambda every=every: train_batch(nets, X, Y, seeds=SEEDS, record_every=every, **kw) for every in (0, 1)]
        s0, s1, b0, b1 = round_robin(fns, repeats=5, warmup=1)   # a difference of two timings: more repeats
        per_step = len(SEEDS) * STEPS
        worst = max(worst, (s1 - s0) / s0)
        say(f"| {label} | {s0 / per_step * 1e3:.2f} | {(s1 - s0) / s0:.2f} | {b0 / per_step * 1e3:.3f} "
            f"| {(b1 - b0) / b0:.2f} |")
    say()
    say(f"Worst recording ÷ one training step: {worst:.2f} (goal ≤ 0.5): **{'met' if worst <= 0.5 else 'not met'}**.")


if __name__ == "__main__":
    main()
