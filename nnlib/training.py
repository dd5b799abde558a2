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

from ._validate import (as_real_array, check_callables, check_choice, check_flag, check_format, check_int,
                        check_interval, check_network, check_positive)
from .networks import ReLUNetwork
from .precision import FLOAT64, Format, round_to, simulated
from .tracking import batched_states

__all__ = ["train", "TrainResult", "OPTIMIZERS", "torch_threads"]

#: The optimisers of :func:`train` (the one definition; :mod:`nnlib.experiments` imports it).
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
    pieces : int64, shape ``(R,)``
        Exact affine pieces of ``R(θ_t)`` on ``interval``.
    regions : int64, shape ``(R,)``
        Exact activation regions of ``R(θ_t)`` on ``interval``.
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

    Chapter 5 "Numerical study". Float results of a matrix product may depend on the thread count,
    so runs that must agree bit for bit across processes (:mod:`nnlib.experiments`) use one thread
    each.

    Parameters
    ----------
    n : int
        Number of threads, ``>= 1``.
    """
    import torch

    n = check_int(n, "n", minimum=1)
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ----------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class _Settings:
    """The validated arguments of :func:`train`."""

    x: np.ndarray
    y: np.ndarray
    steps: int
    lr: float
    optimizer: str
    batch_size: int
    fmt: Format
    eps: float
    seed: int
    interval: tuple
    record_every: int
    callbacks: tuple
    progress: bool

    def config(self) -> dict:
        return dict(steps=self.steps, lr=self.lr, optimizer=self.optimizer, batch_size=self.batch_size,
                    fmt=str(self.fmt), eps=self.eps, seed=self.seed, record_every=self.record_every)


def _check_data(x, y):
    x = as_real_array(x, "x", ndim=1)
    y = as_real_array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.shape[0] < 1:
        raise ValueError("x must hold at least one data point")
    return x, y


def _validate(x, y, steps, lr, optimizer, batch_size, fmt, eps, seed, interval, record_every, callbacks,
              progress) -> _Settings:
    """Every argument of :func:`train` but the network, checked; defaults resolved."""
    x, y = _check_data(x, y)
    n = x.shape[0]
    optimizer = check_choice(optimizer, "optimizer", OPTIMIZERS)
    if batch_size is None:
        batch_size = min(32, n) if optimizer == "sgd" else n
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    if optimizer == "gd" and batch_size != n:
        raise ValueError(f"batch_size must be n = {n} for optimizer 'gd' (full batch), got {batch_size}")
    if interval is None:
        if not x.min() < x.max():
            raise ValueError("interval must be given when x has fewer than two distinct points")
        interval = (float(x.min()), float(x.max()))
    seed = check_int(seed, "seed", minimum=0)
    return _Settings(
        x=x, y=y, steps=check_int(steps, "steps", minimum=0), lr=check_positive(lr, "lr"), optimizer=optimizer,
        batch_size=batch_size, fmt=check_format(fmt, "fmt"), eps=check_positive(eps, "eps", allow_zero=True),
        seed=seed, interval=check_interval(interval, "interval", allow_none=False),
        record_every=check_int(record_every, "record_every", minimum=0),
        callbacks=check_callables(callbacks, "callbacks"), progress=check_flag(progress, "progress"))


# ----------------------------------------------------------------------------- flat parameters
def _master_dtype(fmt: Format):
    """float64 only for formats that float32 cannot hold (and float64 itself)."""
    import torch

    return torch.float32 if fmt.exp_bits <= 8 and fmt.man_bits <= 23 else torch.float64


def _is_native(fmt: Format, dtype) -> bool:
    import torch

    return (fmt.exp_bits, fmt.man_bits, fmt.fn) == ((11, 52, False) if dtype == torch.float64 else (8, 23, False))


class _FlatModel:
    """The torch module of a network whose parameters ``(A_1, b_1, A_2, …)`` are views of one flat tensor.

    A snapshot or a rounding of the whole network is then one tensor operation instead of one per
    parameter; the gradients are views of one flat tensor too (backward accumulates into existing
    ``.grad`` tensors in place).
    """

    def __init__(self, net: ReLUNetwork, fmt: Format):
        import torch

        self.dtype = _master_dtype(fmt)
        self.native = _is_native(fmt, self.dtype)
        self.fmt = fmt
        self.module = net.to_torch(self.dtype)
        self.linears = list(self.module)[::2]
        self.params = [p for lin in self.linears for p in (lin.weight, lin.bias)]
        self.shapes = [tuple(p.shape) for p in self.params]
        self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        self.flat_grad = torch.zeros_like(self.flat)
        k = 0
        for p in self.params:
            p.data = self.flat[k:k + p.numel()].view_as(p)
            p.grad = self.flat_grad[k:k + p.numel()].view_as(p)
            k += p.numel()
        if not self.native:
            self.flat.copy_(round_to(self.flat, fmt))
        self.forward = self.module if self.native else simulated(self.module, fmt)
        self.biases = [lin.bias for lin in self.linears]

    def round_in_place(self) -> None:
        """Round the parameters to the format (nothing to do for native formats)."""
        if not self.native:
            self.flat.copy_(round_to(self.flat, self.fmt))

    def network(self) -> ReLUNetwork:
        return ReLUNetwork.from_torch(self.module)


def _hidden_bias_positions(shapes) -> np.ndarray:
    """Indices of the hidden-layer biases ``b_1, …, b_{L-1}`` in the flat parameter vector."""
    pos, k = [], 0
    for m, shape in enumerate(shapes):
        size = int(np.prod(shape))
        if m % 2 == 1 and m < len(shapes) - 1:
            pos.append(np.arange(k, k + size))
        k += size
    return np.concatenate(pos) if pos else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------- recording
_CHUNK = 128   # snapshots per batched propagation


def _states_of_snapshots(snaps, shapes, interval) -> dict:
    """:func:`batched_states` of a list of flat parameter snapshots (one batched propagation)."""
    import torch

    flat = torch.stack(snaps).numpy()
    layers, k = [], 0
    for shA, shb in zip(shapes[0::2], shapes[1::2]):
        nA, nb = int(np.prod(shA)), int(np.prod(shb))
        layers.append((flat[:, k:k + nA].reshape((-1,) + shA), np.ascontiguousarray(flat[:, k + nA:k + nA + nb])))
        k += nA + nb
    return batched_states(layers, interval)


class _Recorder:
    """Records ``θ_t`` every ``record_every`` steps; propagates the knots of ``_CHUNK`` snapshots at once.

    In the loop only flat float64 snapshots of ``θ_t`` are taken (a few µs). The exact knot
    propagation runs on ``_CHUNK`` snapshots at once (:func:`nnlib.tracking.batched_states`): one
    network at a time it would cost about as much as an optimiser step, batched it costs a fraction.
    Processing in chunks keeps the memory for snapshots bounded however long the run.
    """

    def __init__(self, model: _FlatModel, interval, record_every: int, callbacks):
        import torch

        self.model, self.interval, self.every, self.callbacks = model, interval, record_every, callbacks
        self.bias_pos = _hidden_bias_positions(model.shapes)
        self.bias_pos_t = torch.from_numpy(self.bias_pos)
        self.snaps, self.parts, self.grads, self.updates, self.t = [], [], [], [], []

    def wants(self, t: int) -> bool:
        return self.every > 0 and t % self.every == 0

    def before_update(self, t: int) -> None:
        """After backward, before the update: ``θ_t`` and the bias gradients of step ``t``."""
        import torch

        m = self.model
        self.t.append(t)
        self.snaps.append(m.flat.to(torch.float64, copy=True))
        self.grads.append(m.flat_grad[self.bias_pos_t].to(torch.float64))
        for cb in self.callbacks:
            cb(t, m.network())

    def after_update(self) -> None:
        """``b_{t+1} - b_t`` in float64: zero exactly when the stored bias did not move (so exact-zero
        updates are counted exactly); for float32 storage the difference is exact."""
        import torch

        new_b = self.model.flat[self.bias_pos_t].to(torch.float64).numpy()
        self.updates.append(new_b - self.snaps[-1].numpy()[self.bias_pos])
        if len(self.snaps) == _CHUNK:
            self.parts.append(_states_of_snapshots(self.snaps, self.model.shapes, self.interval))
            self.snaps = []

    def arrays(self, L: int, H: int) -> dict:
        """The recorded columns of :class:`TrainResult`, shapes ``(R, …)``."""
        if self.snaps:
            self.parts.append(_states_of_snapshots(self.snaps, self.model.shapes, self.interval))
            self.snaps = []
        R = len(self.t)
        rec = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]} if self.parts else {}
        bias_update = np.array(self.updates, dtype=np.float64).reshape(R, H)
        return dict(
            steps_recorded=np.array(self.t, dtype=np.int64),
            pieces=np.array(rec.get("pieces", []), dtype=np.int64),
            regions=np.array(rec.get("regions", []), dtype=np.int64),
            max_slope=np.array(rec.get("max_slope", []), dtype=np.float64).reshape(R, L),
            dead=np.array(rec.get("dead", []), dtype=np.int64).reshape(R, L - 1),
            bias_grad=np.array([g.numpy() for g in self.grads], dtype=np.float64).reshape(R, H),
            bias_update=bias_update,
            zero_updates=np.count_nonzero(bias_update == 0, axis=1).astype(np.int64),
        )


# ----------------------------------------------------------------------------- one step
class _Stepper:
    """One optimiser step ``θ_t → θ_{t+1}``: minibatch, loss, backward, update, perturbation, rounding."""

    def __init__(self, model: _FlatModel, s: _Settings):
        import torch

        self.model, self.s = model, s
        dtype = model.dtype
        self.xt = torch.as_tensor(s.x, dtype=dtype)[:, None]
        self.yt = torch.as_tensor(s.y, dtype=dtype)[:, None]
        opt = torch.optim.Adam if s.optimizer == "adam" else torch.optim.SGD
        self.opt = opt(model.params, lr=s.lr)
        self.batch_gen = torch.Generator().manual_seed(s.seed)
        self.xi_gen = torch.Generator().manual_seed(s.seed + 1_000_003)  # a different stream from the batches

    def loss_and_gradient(self) -> float:
        """Loss of ``θ_t`` on this step's batch; leaves the gradient in ``model.flat_grad``."""
        import torch

        n = self.xt.shape[0]
        if self.s.batch_size == n:
            xb, yb = self.xt, self.yt
        else:
            idx = torch.randperm(n, generator=self.batch_gen)[:self.s.batch_size]
            xb, yb = self.xt[idx], self.yt[idx]
        self.opt.zero_grad(set_to_none=False)
        loss = torch.mean((self.model.forward(xb) - yb) ** 2)
        loss.backward()
        return loss.item()

    def update(self) -> None:
        """The optimiser's update, with perturbed bias updates (``eps > 0``), rounded to the format."""
        import torch

        m, eps = self.model, self.s.eps
        old = [b.detach().clone() for b in m.biases] if eps > 0 else None
        self.opt.step()
        with torch.no_grad():
            if eps > 0:
                for b, b0 in zip(m.biases, old):
                    xi = torch.rand(b.shape, generator=self.xi_gen, dtype=m.dtype).mul_(2).sub_(1)
                    b.copy_(b0 + (b - b0) * (1 + eps * xi))
            m.round_in_place()

    def full_loss(self) -> float:
        import torch

        with torch.no_grad():
            return float(torch.mean((self.model.forward(self.xt) - self.yt) ** 2))


# ----------------------------------------------------------------------------- the trainer
def train(net: ReLUNetwork, x, y, *, steps: int, lr: float, optimizer: str = "gd", batch_size=None,
          fmt: Format = FLOAT64, eps: float = 0.0, seed: int = 0, interval=None, record_every: int = 1,
          callbacks=(), progress: bool = False) -> TrainResult:
    """Train ``net`` on ``(x, y)`` with the mean squared error and record the pieces.

    Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd`, and Chapter 5 "Numerical study";
    tested in ``tests/test_training.py``.

    Parameters
    ----------
    net : ReLUNetwork
        Initial network, univariate (not modified). Any depth ``L >= 1`` (``L = 1``: an affine
        model, no hidden neurons, one piece).
    x, y : array_like, shape ``(n,)``
        Inputs and targets (real, finite).
    steps : int
        Number of optimiser steps (``>= 0``).
    lr : float
        Step size ``η > 0``.
    optimizer : {"gd", "sgd", "adam"}
        Full-batch gradient descent, minibatch SGD, or Adam (full batch unless ``batch_size``);
        see :data:`OPTIMIZERS`.
    batch_size : int, optional
        Minibatch size in ``1 … n`` (each step draws ``batch_size`` distinct points from a seeded
        generator). Default: ``n`` (full batch) for ``"gd"``/``"adam"``, ``min(32, n)`` for
        ``"sgd"``; ``"gd"`` accepts only ``n``.
    fmt : nnlib.precision.Format or str
        Working precision (default ``FLOAT64``; names such as ``"bfloat16"`` are converted).
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
        ``cb(t, network)`` is called at each recorded step with the current
        :class:`~nnlib.networks.ReLUNetwork`.
    progress : bool
        Show a tqdm bar on stderr (keep ``False`` in notebooks).

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError, ValueError
        Naming the offending argument; raised before the first step.
    """
    net = check_network(net, univariate=True)
    s = _validate(x, y, steps, lr, optimizer, batch_size, fmt, eps, seed, interval, record_every, callbacks,
                  progress)
    model = _FlatModel(net, s.fmt)
    stepper = _Stepper(model, s)
    recorder = _Recorder(model, s.interval, s.record_every, s.callbacks)
    loss_history = np.empty(s.steps)
    from tqdm import tqdm  # only needed here; tqdm is a pinned dependency of the book

    with tqdm(total=s.steps, disable=not s.progress, file=sys.stderr, leave=False, desc="train") as bar:
        for t in range(s.steps):
            loss_history[t] = stepper.loss_and_gradient()
            recording = recorder.wants(t)
            if recording:
                recorder.before_update(t)
            stepper.update()
            if recording:
                recorder.after_update()
            bar.update(1)
    rec = recorder.arrays(net.depth, net.num_neurons)
    return TrainResult(loss_history=loss_history, loss=loss_history[rec["steps_recorded"]], **rec,
                       final_network=model.network(), final_loss=stepper.full_loss(), interval=s.interval,
                       config=s.config())
