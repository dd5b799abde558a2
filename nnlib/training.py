"""A small deterministic trainer for univariate regression that watches the pieces.

Chapter 4 "The main theorem", {prf:ref}`def-perturbed-gd` (the experiments of that chapter), and
Chapter 5 "The numerical study" (the batched study).

:func:`train` fits a :class:`~nnlib.networks.ReLUNetwork` ``R: R → R`` to data ``(x, y)`` with
the mean squared error, by full-batch gradient descent (``"gd"``), seeded minibatch SGD
(``"sgd"``) or Adam (``"adam"``), in any :class:`nnlib.precision.Format`. Every ``record_every``
steps it records, *exactly* (knot propagation, never a grid):

* the loss, the affine pieces and the activation regions of the current network on ``D``;
* the bias gradients ``g_{j,i}`` and the bias updates actually applied (Assumption (A) is about
  these; exact zeros are counted);
* ``max_{x ∈ D} |∂z_{j,i}/∂x|`` per layer (Assumption (B)), read off the slopes of the knot
  propagation, and the neurons that are dead on ``D``.

Precision. Every format runs on master parameters of float32 (or float64 for float64 and formats wider
than float32) with the rounding model of :func:`nnlib.precision.simulated`
({prf:ref}`def-simulated-precision`): input, parameters, every pre-activation ``W a + b``, every
back-propagated error and every parameter gradient are rounded to ``fmt``; after every update the
parameters are rounded to ``fmt``, so the network that is trained, recorded and returned is always a
network of ``fmt`` numbers. Forward and backward pass are written out (no autograd) so that every sum
is taken in one fixed pairwise order.

Batches. :func:`train_batch` trains ``B`` networks of one shape at once (seeds stacked in a batch
dimension). Since every operation is either a single IEEE operation on elements or such a fixed-order
sum, run ``r`` of a batch computes exactly the numbers :func:`train` computes for it alone — ``train``
*is* ``train_batch`` with ``B = 1`` (tested bit for bit in ``tests/test_training_batched.py``). No BLAS
kernel is involved, whose blocking may depend on shapes and memory alignment; a BLAS ``matmul`` in
place of the fixed-order sums breaks that test on this machine.

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
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from ._validate import (as_real_array, check_callables, check_choice, check_flag, check_format, check_int,
                        check_interval, check_network, check_positive)
from .networks import ReLUNetwork
from .precision import FLOAT64, Format, round_to
from .pieces import batched_states

__all__ = ["train", "train_batch", "TrainResult", "OPTIMIZERS", "torch_threads"]

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
    seeds: tuple
    interval: tuple
    record_every: int
    callbacks: tuple
    progress: bool

    def config(self, r: int = 0) -> dict:
        return dict(steps=self.steps, lr=self.lr, optimizer=self.optimizer, batch_size=self.batch_size,
                    fmt=str(self.fmt), eps=self.eps, seed=self.seeds[r], record_every=self.record_every)


def _check_data(x, y):
    x = as_real_array(x, "x", ndim=1)
    y = as_real_array(y, "y", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.shape[0] < 1:
        raise ValueError("x must hold at least one data point")
    return x, y


def _validate(x, y, steps, lr, optimizer, batch_size, fmt, eps, seeds, interval, record_every, callbacks,
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
    return _Settings(
        x=x, y=y, steps=check_int(steps, "steps", minimum=0), lr=check_positive(lr, "lr"), optimizer=optimizer,
        batch_size=batch_size, fmt=check_format(fmt, "fmt"), eps=check_positive(eps, "eps", allow_zero=True),
        seeds=tuple(seeds), interval=check_interval(interval, "interval", allow_none=False),
        record_every=check_int(record_every, "record_every", minimum=0),
        callbacks=check_callables(callbacks, "callbacks"), progress=check_flag(progress, "progress"))


# ----------------------------------------------------------------------------- deterministic arithmetic
def _master_dtype(fmt: Format):
    """float64 only for formats that float32 cannot hold (and float64 itself)."""
    import torch

    return torch.float32 if fmt.exp_bits <= 8 and fmt.man_bits <= 23 else torch.float64


def _is_native(fmt: Format, dtype) -> bool:
    import torch

    return (fmt.exp_bits, fmt.man_bits, fmt.fn) == ((11, 52, False) if dtype == torch.float64 else (8, 23, False))


def _tree_sum(t, dim: int):
    """Sum over ``dim`` in a fixed pairwise order that does not depend on the other dimensions.

    The length is padded with zeros to a power of two, then halves are added elementwise until one
    slice is left. Every operation is an elementwise IEEE addition (exactly rounded whatever the SIMD
    path), so each output element is the same number whatever the batch size: this, not a BLAS
    kernel whose blocking may depend on the shapes and the alignment, is what makes batched training
    bit-identical to one-at-a-time training (and reproducible across CPUs).
    """
    import torch

    n = t.shape[dim]
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        pad_shape = list(t.shape)
        pad_shape[dim] = size - n
        t = torch.cat([t, t.new_zeros(pad_shape)], dim=dim)
    while size > 1:
        size //= 2
        t = t.narrow(dim, 0, size) + t.narrow(dim, size, size)
    return t.squeeze(dim)


def _matmul(W, a):
    """``W @ a`` for stacks ``W: (B, o, i)``, ``a: (B or 1, i, n)``: exact products, then :func:`_tree_sum`."""
    return _tree_sum(W[:, :, :, None] * a[:, None, :, :], 2)


class _Arithmetic:
    """The working format: master dtype and the rounding ``q`` applied to every stored quantity.

    The model is that of :func:`nnlib.precision.simulated` ({prf:ref}`def-simulated-precision`):
    input, parameters, every pre-activation ``W a + b``, every back-propagated error and every
    parameter gradient are rounded to ``fmt``; sums are accumulated in the master dtype (float32 for
    formats float32 can hold, else float64), in the fixed order of :func:`_tree_sum`, and rounded once.
    For float32/float64 the rounding is the identity.
    """

    def __init__(self, fmt: Format):
        self.fmt = fmt
        self.dtype = _master_dtype(fmt)
        self.native = _is_native(fmt, self.dtype)

    def q(self, t):
        return t if self.native else round_to(t, self.fmt)


# ----------------------------------------------------------------------------- forward and backward
def _forward(W, b, x, ar: _Arithmetic):
    """Pre-activations ``z_1 … z_L`` (each ``(B, N_j, n)``) and activations ``a_0 … a_{L-1}``."""
    import torch

    acts, zs = [ar.q(x)], []
    for j, (Wj, bj) in enumerate(zip(W, b)):
        z = ar.q(_matmul(Wj, acts[-1]) + bj[:, :, None])
        zs.append(z)
        if j < len(W) - 1:
            acts.append(torch.where(z > 0, z, torch.zeros((), dtype=z.dtype)))
    return zs, acts


def _loss(out, y):
    """Mean squared error per run: ``out (B, 1, n)``, ``y (B or 1, n)`` → residual ``(B, n)``, loss ``(B,)``."""
    d = out[:, 0, :] - y
    return d, _tree_sum(d * d, 1) / d.shape[1]


def _backward(W, zs, acts, d, ar: _Arithmetic):
    """Gradients ``(∂W_j, ∂b_j)`` of the mean squared error, by hand (no autograd: its reductions are
    torch's, in an order we do not control). ``d`` is the residual ``out - y``."""
    import torch

    n = d.shape[1]
    g = ar.q(d * (2.0 / n))[:, None, :]
    gW, gb = [None] * len(W), [None] * len(W)
    for j in range(len(W) - 1, -1, -1):
        gb[j] = ar.q(_tree_sum(g, 2))
        gW[j] = ar.q(_tree_sum(g[:, :, None, :] * acts[j][:, None, :, :], 3))
        if j > 0:
            back = _tree_sum(W[j][:, :, :, None] * g[:, :, None, :], 1)
            g = ar.q(torch.where(zs[j - 1] > 0, back, torch.zeros((), dtype=back.dtype)))
    return gW, gb


# ----------------------------------------------------------------------------- the batch and its optimiser
class _Batch:
    """``B`` networks of one shape: parameters ``W_j (B, N_j, N_{j-1})``, ``b_j (B, N_j)`` in the master dtype."""

    def __init__(self, nets, ar: _Arithmetic):
        import torch

        self.ar = ar
        self.W = [ar.q(torch.as_tensor(np.stack([net.layers[j][0] for net in nets]), dtype=ar.dtype))
                  for j in range(nets[0].depth)]
        self.b = [ar.q(torch.as_tensor(np.stack([net.layers[j][1] for net in nets]), dtype=ar.dtype))
                  for j in range(nets[0].depth)]

    @property
    def size(self) -> int:
        return self.W[0].shape[0]

    def hidden_biases(self):
        """``(B, H)`` float64: ``b_1 … b_{L-1}`` of every run, layer-major."""
        import torch

        return torch.cat([bj.to(torch.float64) for bj in self.b[:-1]] or [torch.zeros(self.size, 0,
                         dtype=torch.float64)], dim=1)

    def snapshot(self) -> list:
        """The parameters as float64 numpy ``(A, b)`` stacks (exact: every master dtype fits float64)."""
        import torch

        return [(Wj.to(torch.float64, copy=True).numpy(), bj.to(torch.float64, copy=True).numpy())
                for Wj, bj in zip(self.W, self.b)]

    def network(self, r: int) -> ReLUNetwork:
        return ReLUNetwork([(A[r], b[r]) for A, b in self.snapshot()])


class _Optimizer:
    """GD/SGD (``p - η g``) or Adam (torch's formula), elementwise, then the bias perturbation and ``q``.

    Only single IEEE operations (no fused multiply-add kernels such as ``add(alpha=…)`` or
    ``addcdiv``), so that each element of the update is the same number whatever the batch size.
    """

    BETAS, ADAM_EPS = (0.9, 0.999), 1e-8

    def __init__(self, batch: _Batch, s: _Settings):
        import torch

        self.batch, self.s, self.t = batch, s, 0
        params = batch.W + batch.b
        self.m = [torch.zeros_like(p) for p in params] if s.optimizer == "adam" else None
        self.v = [torch.zeros_like(p) for p in params] if s.optimizer == "adam" else None
        self.xi_gens = [torch.Generator().manual_seed(sd + 1_000_003) for sd in s.seeds]

    def _steps(self, grads):
        """The unperturbed, unrounded updates ``Δp`` of all parameters (``W_1 … W_L, b_1 … b_L``)."""
        import torch

        s = self.s
        if s.optimizer != "adam":
            return [g * (-s.lr) for g in grads]
        self.t += 1
        b1, b2 = self.BETAS
        bc1, sqrt_bc2 = 1 - b1 ** self.t, math.sqrt(1 - b2 ** self.t)
        out = []
        for k, g in enumerate(grads):
            self.m[k] = self.m[k] * b1 + g * (1 - b1)
            self.v[k] = self.v[k] * b2 + (g * g) * (1 - b2)
            # numpy's sqrt is correctly rounded on every CPU; torch.sqrt goes through MKL's vector math,
            # which is 1 ulp off for some inputs on some instruction sets (AVX-512) and not on others
            denom = torch.from_numpy(np.sqrt(self.v[k].numpy())) / sqrt_bc2 + self.ADAM_EPS
            out.append((self.m[k] / denom) * (-s.lr / bc1))
        return out

    def step(self, gW, gb) -> None:
        import torch

        batch, L = self.batch, len(gW)
        steps = self._steps(gW + gb)
        if self.s.eps > 0:
            xi = torch.stack([torch.rand(sum(bj.shape[1] for bj in batch.b), generator=g, dtype=batch.ar.dtype)
                              for g in self.xi_gens]) * 2 - 1
            factor = xi * self.s.eps + 1
            k = 0
            for j in range(L):
                n_j = batch.b[j].shape[1]
                steps[L + j] = steps[L + j] * factor[:, k:k + n_j]
                k += n_j
        batch.W = [batch.ar.q(p + dp) for p, dp in zip(batch.W, steps[:L])]
        batch.b = [batch.ar.q(p + dp) for p, dp in zip(batch.b, steps[L:])]


# ----------------------------------------------------------------------------- recording
_CHUNK = 64   # recorded steps per batched knot propagation (times B networks)


class _Recorder:
    """Records ``θ_t`` of every run every ``record_every`` steps; the exact knot propagation
    (:func:`nnlib.pieces.batched_states`) runs on ``_CHUNK`` recorded steps × ``B`` runs at once,
    so that memory for snapshots stays bounded however long the run."""

    def __init__(self, batch: _Batch, interval, record_every: int, callbacks):
        self.batch, self.interval, self.every, self.callbacks = batch, interval, record_every, callbacks
        self.snaps, self.parts, self.grads, self.updates, self.t, self.old_b = [], [], [], [], [], None

    def wants(self, t: int) -> bool:
        return self.every > 0 and t % self.every == 0

    def before_update(self, t: int, gb) -> None:
        import torch

        self.t.append(t)
        self.snaps.append(self.batch.snapshot())
        self.old_b = self.batch.hidden_biases()
        self.grads.append(torch.cat([g.to(torch.float64) for g in gb[:-1]] or [self.old_b], dim=1).numpy())
        for cb in self.callbacks:
            cb(t, self.batch.network(0))

    def after_update(self) -> None:
        """``b_{t+1} - b_t`` in float64: exact (both are numbers of the master dtype), zero exactly
        when the stored bias did not move."""
        self.updates.append((self.batch.hidden_biases() - self.old_b).numpy())
        if len(self.snaps) == _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.snaps:   # (R, B) snapshots → one propagation of R·B networks
            layers = [(np.concatenate([s[j][0] for s in self.snaps]), np.concatenate([s[j][1] for s in self.snaps]))
                      for j in range(len(self.snaps[0]))]
            B = self.batch.size
            self.parts.append({k: v.reshape((len(self.snaps), B) + v.shape[1:])
                               for k, v in batched_states(layers, self.interval).items()})
            self.snaps = []

    def arrays(self, r: int, L: int, H: int) -> dict:
        """The recorded columns of :class:`TrainResult` for run ``r``, shapes ``(R, …)``."""
        self._flush()
        R = len(self.t)
        rec = {k: np.concatenate([p[k][:, r] for p in self.parts]) for k in self.parts[0]} if self.parts else {}
        bias_update = np.array([u[r] for u in self.updates], dtype=np.float64).reshape(R, H)
        return dict(
            steps_recorded=np.array(self.t, dtype=np.int64),
            pieces=np.array(rec.get("pieces", []), dtype=np.int64),
            regions=np.array(rec.get("regions", []), dtype=np.int64),
            max_slope=np.array(rec.get("max_slope", []), dtype=np.float64).reshape(R, L),
            dead=np.array(rec.get("dead", []), dtype=np.int64).reshape(R, L - 1),
            bias_grad=np.array([g[r] for g in self.grads], dtype=np.float64).reshape(R, H),
            bias_update=bias_update,
            zero_updates=np.count_nonzero(bias_update == 0, axis=1).astype(np.int64),
        )


# ----------------------------------------------------------------------------- the loop
class _Data:
    """The data in the master dtype and the per-run minibatch generators."""

    def __init__(self, s: _Settings, ar: _Arithmetic):
        import torch

        self.s = s
        self.x = torch.as_tensor(s.x, dtype=ar.dtype)
        self.y = torch.as_tensor(s.y, dtype=ar.dtype)
        self.gens = [torch.Generator().manual_seed(sd) for sd in s.seeds]

    def full(self):
        return self.x[None, None, :], self.y[None, :]

    def batch(self):
        """This step's inputs ``(B or 1, 1, m)`` and targets ``(B or 1, m)``."""
        import torch

        n = self.x.shape[0]
        if self.s.batch_size == n:
            return self.full()
        idx = torch.stack([torch.randperm(n, generator=g)[:self.s.batch_size] for g in self.gens])
        return self.x[idx][:, None, :], self.y[idx]


def _run(nets, s: _Settings) -> list:
    """Train the networks ``nets`` (one shape) together; the one implementation behind :func:`train`
    and :func:`train_batch`."""
    import torch

    ar = _Arithmetic(s.fmt)
    batch, data = _Batch(nets, ar), _Data(s, ar)
    opt = _Optimizer(batch, s)
    rec = _Recorder(batch, s.interval, s.record_every, s.callbacks)
    loss_history = torch.empty(len(nets), s.steps, dtype=torch.float64)
    from tqdm import tqdm  # only needed here; tqdm is a pinned dependency of the book

    with torch.no_grad(), tqdm(total=s.steps, disable=not s.progress, file=sys.stderr, leave=False,
                               desc="train") as bar:
        for t in range(s.steps):
            xb, yb = data.batch()
            zs, acts = _forward(batch.W, batch.b, xb, ar)
            d, loss = _loss(zs[-1], yb)
            loss_history[:, t] = loss.to(torch.float64)
            _check_finite(loss, t)
            gW, gb = _backward(batch.W, zs, acts, d, ar)
            recording = rec.wants(t)
            if recording:
                rec.before_update(t, gb)
            opt.step(gW, gb)
            if recording:
                rec.after_update()
            bar.update(1)
        final_loss = _loss(_forward(batch.W, batch.b, data.full()[0], ar)[0][-1], data.full()[1])[1]
        _check_finite(final_loss, s.steps)
    return _results(nets, s, batch, rec, loss_history.numpy(), final_loss.to(torch.float64).numpy())


def _check_finite(loss, t: int) -> None:
    """Raise if a run diverged: a non-finite loss means non-finite parameters, whose pieces mean nothing."""
    import torch

    bad = torch.nonzero(~torch.isfinite(loss)).flatten().tolist()
    if bad:
        raise FloatingPointError(f"training diverged: the loss of run {bad[0]} (of {loss.shape[0]}) is "
                                 f"{float(loss[bad[0]])} at step {t}; use a smaller lr")


def _results(nets, s, batch, rec, loss_history, final_loss) -> list:
    out, L, H = [], nets[0].depth, nets[0].num_neurons
    final = batch.snapshot()
    for r in range(len(nets)):
        arrays = rec.arrays(r, L, H)
        out.append(TrainResult(loss_history=loss_history[r].copy(), loss=loss_history[r][arrays["steps_recorded"]],
                               **arrays, final_network=ReLUNetwork([(A[r], b[r]) for A, b in final]),
                               final_loss=float(final_loss[r]), interval=s.interval, config=s.config(r)))
    return out


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
    FloatingPointError
        The loss became inf or nan (the step size is too large for this network).
    """
    net = check_network(net, univariate=True)
    seed = check_int(seed, "seed", minimum=0)
    s = _validate(x, y, steps, lr, optimizer, batch_size, fmt, eps, (seed,), interval, record_every, callbacks,
                  progress)
    return _run([net], s)[0]


def train_batch(nets, x, y, *, steps: int, lr: float, seeds, optimizer: str = "gd", batch_size=None,
                fmt: Format = FLOAT64, eps: float = 0.0, interval=None, record_every: int = 1,
                progress: bool = False) -> list:
    """Train many networks of one shape at once; bit-identical to :func:`train` on each.

    Chapter 5 "Numerical study" (the study of :mod:`nnlib.experiments`); the bit-identity is tested
    in ``tests/test_training_batched.py``. The runs are stacked in a batch dimension: one forward and
    one backward pass of ``B`` networks per step. Every sum is taken in a fixed pairwise order and
    every other operation is a single IEEE operation, so run ``r`` of the batch computes exactly the
    numbers that ``train(nets[r], x, y, seed=seeds[r], …)`` computes (which is this function with
    ``B = 1``).

    Parameters
    ----------
    nets : sequence of ReLUNetwork
        Initial univariate networks, all with the same widths (not modified).
    seeds : list, tuple or range of int
        One seed ``>= 0`` per network (minibatches and perturbations of run ``r``).
    x, y, steps, lr, optimizer, batch_size, fmt, eps, interval, record_every, progress
        As for :func:`train`.

    Returns
    -------
    list of TrainResult
        One per network, in order.

    Raises
    ------
    TypeError, ValueError
        Naming the offending argument; raised before the first step.
    FloatingPointError
        A run's loss became inf or nan (the message names the run and the step).
    """
    if not isinstance(nets, (list, tuple)) or not nets:
        raise TypeError(f"nets must be a non-empty list or tuple of ReLUNetwork, got {type(nets).__name__}")
    nets = [check_network(net, f"nets[{r}]", univariate=True) for r, net in enumerate(nets)]
    for r, net in enumerate(nets):
        if net.widths != nets[0].widths:
            raise ValueError(f"nets must share one shape: nets[0] has widths {nets[0].widths}, "
                             f"nets[{r}] has {net.widths}")
    if not isinstance(seeds, (list, tuple, range, np.ndarray)):
        raise TypeError(f"seeds must be a list, tuple or range of {len(nets)} seeds (one per network), "
                        f"got {type(seeds).__name__}")
    if len(seeds) != len(nets):
        raise ValueError(f"seeds must hold {len(nets)} seeds (one per network), got {len(seeds)}: {seeds!r}")
    seeds = tuple(check_int(sd, f"seeds[{r}]", minimum=0) for r, sd in enumerate(seeds))
    s = _validate(x, y, steps, lr, optimizer, batch_size, fmt, eps, seeds, interval, record_every, (), progress)
    return _run(nets, s)
