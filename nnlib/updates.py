"""The bias update gradient descent really applies, against the exact one: Chapter 3 → Chapter 4.

Chapter 4 models a step of gradient descent in floating point as the exact step with a relative
perturbation, ``b̃ = b - η g (1 + ε)`` ({prf:ref}`def-perturbed-gd`). Chapter 3 measured only the
error of the computed *gradient* ``g̃``. What the network receives is the update

    Δb = fl(b - fl(η g̃)) - b,

which carries, besides the gradient's error, the rounding of the product and of the sum. The sum
is rounded to a spacing of about ``u |b|``, so its absolute error is up to ``u |b|``, i.e. a
relative error up to about ``u |b| / (η |g|)`` of the update. Hence two regimes:

* ``η |g| ≫ u |b|``: ``Δb = -η g (1 + δ)`` with ``|δ|`` of the order of the gradient's relative
  error (a few ``u`` to tens of ``u``): the perturbation model of Chapter 4 is a fair idealisation;
* ``η |g| ≲ u |b|``: the update is rounded away — often to exactly 0 (*stagnation*): the live neuron
  does not move at all, which is outside the perturbed-step model.

:func:`applied_update_errors` trains with plain gradient descent in a given format, and at every
recorded step compares, for each hidden bias, the computed gradient ``g̃`` and the applied update
``Δb`` with the exact gradient ``g`` of the same network on the same data (rational arithmetic,
:func:`nnlib.gradients.reference_gradient`). All comparisons are made in exact arithmetic and
rounded once.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validate import as_real_array, check_format, check_int, check_network, check_positive
from .gradients import reference_gradient
from .precision import round_to

__all__ = ["UpdateErrors", "applied_update_errors"]


@dataclass(frozen=True)
class UpdateErrors:
    """Per recorded step ``r`` and hidden neuron ``i`` (layer-major), as float64 arrays ``(R, H)``.

    Attributes
    ----------
    steps : int64, shape ``(R,)``
        The recorded steps ``t``.
    bias : the bias ``b`` before the update.
    grad_exact : the exact gradient ``g = ∂𝓛/∂b`` (rounded once to float64).
    grad_computed : the gradient ``g̃`` computed in the working format.
    update : the applied update ``Δb = b_{t+1} - b_t``.
    rel_error : ``|Δb + η g| / (η |g|)`` (``nan`` where ``g = 0``).
    grad_rel_error : ``|g̃ - g| / |g|`` (``nan`` where ``g = 0``).
    sum_ratio : ``u |b| / (η |g|)``: the size of the sum's rounding relative to the update.
    unit_roundoff : ``u`` of the format.
    lr : ``η``.
    """

    steps: np.ndarray
    bias: np.ndarray
    grad_exact: np.ndarray
    grad_computed: np.ndarray
    update: np.ndarray
    rel_error: np.ndarray
    grad_rel_error: np.ndarray
    sum_ratio: np.ndarray
    unit_roundoff: float
    lr: float

    @property
    def live(self) -> np.ndarray:
        """Entries with a non-zero exact gradient (a neuron that gradient descent should move)."""
        return self.grad_exact != 0

    @property
    def stagnation_share(self) -> float:
        """Share of live entries whose applied update is exactly 0."""
        live = self.live
        return float(np.count_nonzero(self.update[live] == 0) / max(1, np.count_nonzero(live)))


def _hidden_biases(net) -> np.ndarray:
    return np.concatenate([b for _, b in net.layers[:-1]])


def _relative(num: Fraction, den: Fraction) -> float:
    return float(abs(num) / abs(den)) if den != 0 else float("nan")


def applied_update_errors(net, x, y, *, lr: float, steps: int, fmt="float32", record_every: int = 1) -> UpdateErrors:
    """Train ``net`` by full-batch gradient descent in ``fmt`` and measure every hidden bias update.

    Chapter 4, section "What gradient descent really applies" (the bridge from Chapter 3's
    gradient errors to {prf:ref}`def-perturbed-gd`); checked by ``tests/test_updates.py``.

    Parameters
    ----------
    net : ReLUNetwork
        Initial univariate network (rounded to ``fmt`` by the trainer).
    x, y : array_like, shape ``(n,)``
        Data; rounded to ``fmt`` first, so that the exact reference sees exactly the numbers the
        computation sees.
    lr : float
        Step size ``η > 0``.
    steps : int
        Number of gradient steps (>= 1).
    fmt : Format or str
        Working format (``"float64"``, ``"float32"``, ``"bfloat16"``, ``"float16"``, or a Format).
    record_every : int
        Measure every ``k``-th step.

    Returns
    -------
    UpdateErrors
    """
    from .training import train   # torch is imported on use

    net = check_network(net, univariate=True)
    fmt = check_format(fmt)
    lr = check_positive(lr, "lr")
    steps = check_int(steps, "steps", minimum=1)
    record_every = check_int(record_every, "record_every", minimum=1)
    x = round_to(as_real_array(x, "x", ndim=1), fmt)
    y = round_to(as_real_array(y, "y", ndim=1), fmt)
    seen = []
    result = train(net, x, y, steps=steps, lr=lr, optimizer="gd", fmt=fmt, record_every=record_every,
                   callbacks=[lambda t, network: seen.append(network)])
    eta = Fraction(lr)
    rows = {k: [] for k in ("bias", "grad_exact", "rel_error", "grad_rel_error")}
    for net_t, g_comp, upd in zip(seen, result.bias_grad, result.bias_update):
        exact = reference_gradient(net_t, x, y, exact=True)
        g = [gi for _, gb in exact[:-1] for gi in gb]                       # hidden biases, layer-major
        rows["bias"].append(_hidden_biases(net_t))
        rows["grad_exact"].append([float(gi) for gi in g])
        rows["rel_error"].append([_relative(Fraction(float(d)) + eta * gi, eta * gi) for d, gi in zip(upd, g)])
        rows["grad_rel_error"].append([_relative(Fraction(float(gc)) - gi, gi) for gc, gi in zip(g_comp, g)])
    arrays = {k: np.array(v, dtype=np.float64).reshape(len(seen), -1) for k, v in rows.items()}
    u = fmt.unit_roundoff
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(arrays["grad_exact"] != 0, u * np.abs(arrays["bias"]) / (lr * np.abs(arrays["grad_exact"])),
                         np.nan)
    return UpdateErrors(steps=result.steps_recorded, bias=arrays["bias"], grad_exact=arrays["grad_exact"],
                        grad_computed=np.asarray(result.bias_grad, dtype=np.float64),
                        update=np.asarray(result.bias_update, dtype=np.float64), rel_error=arrays["rel_error"],
                        grad_rel_error=arrays["grad_rel_error"], sum_ratio=ratio, unit_roundoff=u, lr=lr)
