"""A small deterministic trainer for univariate regression that watches the pieces.

Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd` (the experiments of that chapter).

:func:`train` fits a :class:`~nnlib.networks.ReLUNetwork` ``R: R → R`` to data ``(x, y)`` with
the mean squared error, by full-batch gradient descent (``"gd"``), seeded minibatch SGD
(``"sgd"``) or Adam (``"adam"``), in any :class:`nnlib.precision.Format`. Every ``record_every``
steps it records, *exactly* (knot propagation, never a grid):

* the loss, the affine pieces and the activation regions of the current network on ``D``;
* the bias gradients ``g_{j,i}`` and the bias updates actually applied (Assumption (A) is about
  these; exact zeros are counted);
* ``max_{x ∈ D} |∂z_{j,i}/∂x|`` per layer (Assumption (B)), read off the slopes of the knot
  propagation, and the neurons that are dead on ``D``.

Precision. ``FLOAT64`` and ``FLOAT32`` run natively. Any other format runs through
:func:`nnlib.precision.simulated` on float32 (or float64 for formats wider than float32) master
parameters, and after every update the parameters are rounded to the format, so the network that
is trained, recorded and returned is always a network of ``fmt`` numbers.

Perturbation. With ``eps > 0`` every bias update ``Δb`` of the optimiser is replaced by
``Δb (1 + ε ξ)`` with ``ξ ~ U[-1, 1]`` i.i.d. from a seeded generator; for ``"gd"`` this is the
model ``b̃ = b - η g (1 + ε ξ)`` of {prf:ref}`def-perturbed-gd`.

Determinism. All randomness (minibatches, ``ξ``) comes from generators seeded with ``seed``; the
same call in the same process with the same torch thread count gives bit-identical results.

Progress bar. ``progress=False`` by default, and this is what chapters use, so that nothing ends up
in stored notebook outputs. ``progress=True`` shows a plain :mod:`tqdm` bar on *stderr* (never
the notebook widget variant).
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

from ._validate import as_real_array, check_int, check_interval, check_real
from .networks import ReLUNetwork
from .pieces import _check_univariate
from .tracking import batched_states
from .precision import FLOAT32, FLOAT64, Format, round_to, simulated

__all__ = ["train", "TrainResult", "OPTIMIZERS", "torch_threads"]

OPTIMIZERS = ("gd", "sgd", "adam")


@dataclass
class TrainResult:
    """What :func:`train` returns: numpy arrays indexed by record, plus the final state.

    Entry ``r`` refers to step ``t = steps_recorded[r]``: the parameters ``θ_t`` *before* update
    ``t`` (``θ_0`` = the initial network rounded to ``fmt``) and the update ``θ_t → θ_{t+1}``.

    Attributes
    ----------
    loss_history : float64, shape ``(steps,)``
        Loss of ``θ_t`` on the batch of step ``t``, every step (full data for full-batch methods).
    steps_recorded : int64, shape ``(R,)``
        ``0, k, 2k, …`` (``k = record_every``) below ``steps``.
    loss : float64, shape ``(R,)``
        ``loss_history[steps_recorded]``.
    pieces, regions : int64, shape ``(R,)``
        Exact affine pieces and activation regions of ``R(θ_t)`` on ``interval``.
    max_slope : float64, shape ``(R, L)``
        ``max_{i, x ∈ D} |∂z_{j,i}/∂x|`` for layers ``j = 1, …, L`` (column ``L-1``: the output).
    dead : int64, shape ``(R, L-1)``
        Hidden neurons of layer ``j`` with ``z_{j,i} <= 0`` on all of ``D``.
    bias_grad : float64, shape ``(R, H)``
        ``g = ∂_b 𝓛`` of the ``H = N_1 + … + N_{L-1}`` hidden neurons at step ``t`` (layer-major).
    bias_update : float64, shape ``(R, H)``
        The update ``b_{t+1} - b_t`` actually applied (after perturbation and rounding).
    zero_updates : int64, shape ``(R,)``
        Number of hidden bias updates that are exactly 0.
    final_network : ReLUNetwork
        ``θ_steps``.
    final_loss : float
        Full-data loss of ``θ_steps``.
    interval : (float, float)
        The interval ``D``.
    """

    loss_history: np.ndarray
    steps_recorded: np.ndarray
    loss: np.ndarray
    pieces: np.ndarray
    regions: np.ndarray
    max_slope: np.ndarray
    dead: np.ndarray
    bias_grad: np.ndarray
    bias_update: np.ndarray
    zero_updates: np.ndarray
    final_network: ReLUNetwork
    final_loss: float
    interval: tuple
    config: dict = field(default_factory=dict)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the body with ``torch.set_num_threads(n)``, restoring the previous count afterwards.

    Float results of a matrix product may depend on the thread count, so runs that must agree
    bit for bit across processes (:mod:`nnlib.experiments`) use one thread each.
    """
    n = check_int(n, "n", minimum=1)
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ----------------------------------------------------------------------------- recording
_CHUNK = 128   # snapshots per batched propagation


def _states_of_snapshots(snaps, shapes, interval, chunk: int = _CHUNK) -> dict:
    """:func:`batched_states` of the recorded parameter snapshots, ``chunk`` networks at a time."""
    L = len(shapes) // 2
    parts = []
    for c0 in range(0, len(snaps), chunk):
        flat = torch.stack(snaps[c0:c0 + chunk]).numpy()
        layers, k = [], 0
        for shA, shb in zip(shapes[0::2], shapes[1::2]):
            nA, nb = int(np.prod(shA)), int(np.prod(shb))
            layers.append((flat[:, k:k + nA].reshape((-1,) + shA), np.ascontiguousarray(flat[:, k + nA:k + nA + nb])))
            k += nA + nb
        parts.append(batched_states(layers, interval))
    if not parts:
        return {"pieces": np.zeros(0, np.int64), "regions": np.zeros(0, np.int64),
                "max_slope": np.zeros((0, L)), "dead": np.zeros((0, L - 1), np.int64)}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _hidden_bias_positions(shapes) -> np.ndarray:
    """Indices of the hidden-layer biases ``b_1, …, b_{L-1}`` in the flat parameter vector."""
    pos, k = [], 0
    for m, shape in enumerate(shapes):
        size = int(np.prod(shape))
        if m % 2 == 1 and m < len(shapes) - 1:
            pos.append(np.arange(k, k + size))
        k += size
    return np.concatenate(pos) if pos else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------- validation
def _check_data(x, y):
    x = as_real_array(x, "x", ndim=1)
    y = as_real_array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.shape[0] < 1:
        raise ValueError("x must hold at least one data point")
    return x, y


def _master_dtype(fmt: Format):
    """float64 only for formats that float32 cannot hold (and float64 itself)."""
    return torch.float32 if fmt.exp_bits <= 8 and fmt.man_bits <= 23 else torch.float64


def _is_native(fmt: Format, dtype) -> bool:
    return (fmt.exp_bits, fmt.man_bits, fmt.fn) == ((11, 52, False) if dtype == torch.float64 else (8, 23, False))


# ----------------------------------------------------------------------------- the trainer
def train(net: ReLUNetwork, x, y, *, steps: int, lr: float, optimizer: str = "gd", batch_size=None,
          fmt: Format = FLOAT64, eps: float = 0.0, seed: int = 0, interval=None, record_every: int = 1,
          callbacks=(), progress: bool = False) -> TrainResult:
    """Train ``net`` on ``(x, y)`` with the mean squared error and record the pieces.

    Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd`; tested in ``tests/test_training.py``.

    Parameters
    ----------
    net : ReLUNetwork
        Initial network, univariate (not modified).
    x, y : array_like, shape ``(n,)``
        Inputs and targets (real, finite).
    steps : int
        Number of optimiser steps (``>= 0``).
    lr : float
        Step size ``η > 0``.
    optimizer : {"gd", "sgd", "adam"}
        Full-batch gradient descent, minibatch SGD, or Adam (full batch unless ``batch_size``).
    batch_size : int, optional
        Minibatch size in ``1 … n`` (each step draws ``batch_size`` distinct points from a seeded
        generator). Default: ``n`` (full batch) for ``"gd"``/``"adam"``, ``min(32, n)`` for
        ``"sgd"``; ``"gd"`` accepts only ``n``.
    fmt : nnlib.precision.Format
        Working precision (default ``FLOAT64``).
    eps : float
        Perturbation level ``ε >= 0`` of the bias updates (0: none).
    seed : int
        Seeds the minibatch and perturbation generators (``>= 0``).
    interval : (a, b), optional
        The input interval ``D`` for the piece counts; default ``(min x, max x)`` (needs two
        distinct ``x``).
    record_every : int
        Record every ``k``-th step (``k >= 1``), or ``0`` for no recording.
    callbacks : sequence of callables
        ``cb(t, network)`` is called at each recorded step with the current :class:`ReLUNetwork`.
    progress : bool
        Show a tqdm bar on stderr (keep ``False`` in notebooks).

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError, ValueError
        Naming the offending argument.
    """
    net = _check_univariate(net)
    x, y = _check_data(x, y)
    n = x.shape[0]
    steps = check_int(steps, "steps", minimum=0)
    lr = check_real(lr, "lr", allow_fraction=False)
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    if batch_size is None:
        batch_size = min(32, n) if optimizer == "sgd" else n
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    if optimizer == "gd" and batch_size != n:
        raise ValueError(f"batch_size must be n = {n} for optimizer 'gd' (full batch), got {batch_size}")
    if not isinstance(fmt, Format):
        raise TypeError(f"fmt must be an nnlib.precision.Format, got {type(fmt).__name__}")
    eps = check_real(eps, "eps", allow_fraction=False)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    seed = check_int(seed, "seed", minimum=0)
    if interval is None:
        if not x.min() < x.max():
            raise ValueError("interval must be given when x has fewer than two distinct points")
        interval = (float(x.min()), float(x.max()))
    interval = check_interval(interval, "interval", allow_none=False)
    record_every = check_int(record_every, "record_every", minimum=0)
    if not isinstance(callbacks, (list, tuple)) or not all(callable(cb) for cb in callbacks):
        raise TypeError("callbacks must be a list or tuple of callables cb(t, network)")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")

    dtype = _master_dtype(fmt)
    native = _is_native(fmt, dtype)
    module = net.to_torch(dtype)
    linears = list(module)[::2]
    params = [p for lin in linears for p in (lin.weight, lin.bias)]
    # All parameters become views of one flat tensor (A_1, b_1, A_2, …): a snapshot or a rounding
    # of the whole network is then one tensor operation instead of one per parameter.
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    k = 0
    for p in params:
        p.data = flat[k:k + p.numel()].view_as(p)
        k += p.numel()
    # Same for the gradients: backward accumulates into existing .grad tensors in place.
    flat_grad = torch.zeros_like(flat)
    k = 0
    for p in params:
        p.grad = flat_grad[k:k + p.numel()].view_as(p)
        k += p.numel()
    if not native:
        flat.copy_(round_to(flat, fmt))
    forward = module if native else simulated(module, fmt)
    xt = torch.as_tensor(x, dtype=dtype)[:, None]
    yt = torch.as_tensor(y, dtype=dtype)[:, None]
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    batch_gen = torch.Generator().manual_seed(seed)
    xi_gen = torch.Generator().manual_seed(seed + 1_000_003)  # a different stream from the batches
    hidden_biases = [lin.bias for lin in linears[:-1]]
    all_biases = [lin.bias for lin in linears]

    loss_history = np.empty(steps)
    # In the loop only flat float64 snapshots of θ_t are taken (a few µs). The exact knot
    # propagation runs on _CHUNK snapshots at once (batched_states): one network at a time it
    # would cost about as much as an optimiser step, batched it costs a fraction. Processing in
    # chunks keeps the memory for snapshots bounded however long the run.
    shapes = [tuple(p.shape) for p in params]
    snaps, parts, grads, updates, t_rec = [], [], [], [], []
    bias_pos = _hidden_bias_positions(shapes)
    bias_pos_t = torch.from_numpy(bias_pos)
    from tqdm import tqdm  # only needed here; tqdm is a pinned dependency of the book

    bar = tqdm(total=steps, disable=not progress, file=sys.stderr, leave=False, desc="train")
    try:
        for t in range(steps):
            if batch_size == n:
                xb, yb = xt, yt
            else:
                idx = torch.randperm(n, generator=batch_gen)[:batch_size]
                xb, yb = xt[idx], yt[idx]
            opt.zero_grad(set_to_none=False)
            loss = torch.mean((forward(xb) - yb) ** 2)
            loss.backward()
            loss_history[t] = loss.item()
            recording = record_every > 0 and t % record_every == 0
            if recording:
                t_rec.append(t)
                snaps.append(flat.to(torch.float64, copy=True))
                grads.append(flat_grad[bias_pos_t].to(torch.float64))
                for cb in callbacks:
                    cb(t, ReLUNetwork.from_torch(module))
            old = [b.detach().clone() for b in all_biases] if eps > 0 else None
            opt.step()
            with torch.no_grad():
                if eps > 0:
                    for b, b0 in zip(all_biases, old):
                        xi = torch.rand(b.shape, generator=xi_gen, dtype=dtype).mul_(2).sub_(1)
                        b.copy_(b0 + (b - b0) * (1 + eps * xi))
                if not native:
                    flat.copy_(round_to(flat, fmt))
            if recording:
                # b_{t+1} - b_t in float64: zero exactly when the stored bias did not move (so
                # exact-zero updates are counted exactly); for float32 storage the difference is exact.
                new_b = flat[bias_pos_t].to(torch.float64).numpy()
                updates.append(new_b - snaps[-1].numpy()[bias_pos])
                if len(snaps) == _CHUNK:
                    parts.append(_states_of_snapshots(snaps, shapes, interval))
                    snaps = []
            bar.update(1)
    finally:
        bar.close()

    H = net.num_neurons
    if snaps or not parts:
        parts.append(_states_of_snapshots(snaps, shapes, interval))
    rec = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    bias_update = np.array(updates, dtype=np.float64).reshape(-1, H)
    rec["t"] = t_rec
    rec["bias_grad"] = [g.numpy() for g in grads]

    with torch.no_grad():
        final_loss = float(torch.mean((forward(xt) - yt) ** 2))
    L = net.depth
    t_rec = np.array(rec["t"], dtype=np.int64)
    return TrainResult(
        loss_history=loss_history,
        steps_recorded=t_rec,
        loss=loss_history[t_rec],
        pieces=np.array(rec["pieces"], dtype=np.int64),
        regions=np.array(rec["regions"], dtype=np.int64),
        max_slope=np.array(rec["max_slope"], dtype=np.float64).reshape(-1, L),
        dead=np.array(rec["dead"], dtype=np.int64).reshape(-1, L - 1),
        bias_grad=np.array(rec["bias_grad"], dtype=np.float64).reshape(-1, H),
        bias_update=bias_update,
        zero_updates=np.count_nonzero(bias_update == 0, axis=1).astype(np.int64),
        final_network=ReLUNetwork.from_torch(module),
        final_loss=final_loss,
        interval=interval,
        config=dict(steps=steps, lr=lr, optimizer=optimizer, batch_size=batch_size, fmt=str(fmt), eps=eps,
                    seed=seed, record_every=record_every),
    )
