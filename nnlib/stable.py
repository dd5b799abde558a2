"""Stable architectures: deep residual networks read as ODE integrators (Haber & Ruthotto 2018).

Serves Chapter 7 "Stable architectures: networks as ODEs". Reference: E. Haber and L. Ruthotto,
*Stable architectures for deep neural networks*, Inverse Problems 34 (2018) 014004; equation numbers
below are the paper's. The Hamiltonian (Verlet) and leapfrog blocks, the regulariser's exact form,
the prolongation and the data generators are taken from the authors' code, Meganet.m
(https://github.com/XtractOpen/Meganet.m, commit ``4f9fdbc``), and are cited to it, not to the paper.

Conventions (the paper's row convention)
----------------------------------------
Data ``Y ∈ R^{s×n}``, one example per **row**. A network of ``N = num_layers`` layers (the paper's
``N``; the chapter writes ``L``, the book's symbol for the number of layers) has
``K`` of shape ``(N, n, n)`` and ``b`` of shape ``(N,)`` (one scalar bias per layer, as in (2.1)) or
``(N, n)``. ``σ ∈ {tanh, relu}`` acts elementwise; ``h > 0`` is the step, ``T = N h`` the final time.

1. **ResNet = forward Euler** (§7.1, {prf:ref}`def-resnet-forward-euler`). (2.1)
   ``Y_{j+1} = Y_j + h σ(Y_j K_j + b_j)`` is forward Euler for (3.5) ``ẏ = σ(K(t)ᵀ y + b(t))``
   (there ``y`` is a column, the transposed row). :func:`forward` with ``kind="resnet"``.
2. **Example 1** (§7.2, {prf:ref}`ex-haber-ruthotto-1`): :data:`EXAMPLE_1` holds ``K₊, K₋, K₀``, the
   three inputs, ``h = 0.1``, ``N = 10``, ``b = 0``, tanh.
3. **Stability** (§7.3). The ODE's Jacobian (3.7) ``J = diag(σ'(Kᵀy + b)) Kᵀ`` is
   :func:`ode_jacobian`; the continuous dynamics are stable if ``max Re λ(J) ≤ 0`` (3.6), and since
   ``σ' ≥ 0`` one asks ``max Re λ(K) ≤ 0`` (3.8). Forward Euler needs more, (3.9)
   ``max_i |1 + h λ_i(J_j)| ≤ 1`` ({prf:ref}`lem-forward-euler-stability`): :func:`stability_factor`.
   :func:`layer_jacobian` is the Jacobian of one whole layer map.
4. **Stable designs** (§7.4). ``kind="antisymmetric"``, (4.12):
   ``Y_{j+1} = Y_j + h σ(½ Y_j (K_j − K_jᵀ − γ I) + b_j)``; the matrix ``½(K − Kᵀ − γI)`` has
   eigenvalues with real part exactly ``−γ/2`` ({prf:ref}`prop-antisymmetric-spectrum`).
   ``kind="hamiltonian"`` and ``kind="leapfrog"`` are Meganet's ``HamiltonianNN`` and ``LeapFrogNN``
   ({prf:ref}`prop-hamiltonian-spectrum`, {prf:ref}`prop-hamiltonian-volume`,
   {prf:ref}`prop-leapfrog-stability`); see "From Meganet's columns to the paper's rows" below.
5. **Sensitivity vs depth** (§7.5): :func:`sensitivity` measures ``‖Y_N(Y₀+δ) − Y_N(Y₀)‖/‖δ‖``
   for a time-constant ``K`` at fixed ``T = N h``.
6. **Training** (§7.6): :func:`swiss_roll`, :func:`peaks`; :func:`train_classifier` (torch, CPU)
   minimises softmax cross-entropy of the linear classifier ``Y_N W + e_s μᵀ`` (2.3)–(2.4) plus the
   time-smoothness regulariser :func:`smoothness_penalty` ``(α/2h) Σ_j ‖θ_j − θ_{j−1}‖²`` and a weight
   decay on ``W``, with multilevel training: :func:`prolongate` (``N → 2N`` layers, ``h → h/2``,
   piecewise-linear in time, {prf:ref}`prop-prolongation-consistency`). :func:`torch_network` is the
   same map as :func:`forward` on the same ``(K, b)`` arrays, as a ``torch.nn.Module``.

From Meganet's columns to the paper's rows
------------------------------------------
Meganet stores examples as columns, ``Y_M = Yᵀ``, and its ``singleLayer`` computes
``σ(K_M Y_M + b)``. This is (2.1) transposed exactly when ``K_M = Kᵀ``; we apply that one dictionary
to every block. ``HamiltonianNN.m`` (with ``Z₀ = 0``)::

    Z_{k+1} = Z_k − h σ(K_Mᵀ Y_k + b_k),   Y_{k+1} = Y_k + h σ(K_M Z_{k+1} + b_k)

becomes, since ``(K_Mᵀ Y_M)ᵀ = Y K_M = Y Kᵀ`` and ``(K_M Z_M)ᵀ = Z K``::

    Z_{k+1} = Z_k − h σ(Y_k K_kᵀ + b_k),   Y_{k+1} = Y_k + h σ(Z_{k+1} K_k + b_k).

``LeapFrogNN.m`` with ``doubleSymLayer.m`` (``−K_Mᵀ σ(K_M Y + b)``) and ``Y_{−1} = Y₀`` (its
``Yold = Y`` before the loop)::

    Y_{k+1} = 2 Y_k − Y_{k−1} − h² K_Mᵀ σ(K_M Y_k + b_k)

becomes, transposing each term, ``(K_Mᵀ σ(K_M Y_M + b))ᵀ = σ(Y K_Mᵀ + b) K_M = σ(Y K + b) Kᵀ``::

    Y_{k+1} = 2 Y_k − Y_{k−1} − h² σ(Y_k K_k + b_k) K_kᵀ.

It is the leapfrog (central-difference) scheme for ``ÿ = −σ(y K + b) Kᵀ``, i.e. in columns
``ÿ = −K σ(Kᵀ y + b)``, whose linearisation ``−K D Kᵀ`` (``D = diag σ' ≥ 0``) is symmetric negative
semidefinite. With ``Y_{−1} = Y₀`` the first step is ``Y₁ = Y₀ − h² σ(Y₀K₀ + b₀)K₀ᵀ`` (Meganet's
choice; the textbook Störmer start would use ``h²/2``). ``tests/test_stable.py`` runs Meganet's
column loops literally and checks that these row forms reproduce them.

Everything is numpy (float64) except :func:`torch_network` and :func:`train_classifier`, which
import torch when called.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_real_array, check_int, check_positive, check_seed
from .reproducibility import environment

__all__ = [
    "KINDS", "ACTIVATIONS", "EXAMPLE_1",
    "forward", "hamiltonian_forward",
    "ode_jacobian", "layer_jacobian", "stability_factor", "sensitivity",
    "prolongate", "smoothness_penalty", "classification_loss",
    "swiss_roll", "peaks_function", "peaks",
    "torch_network", "rounding_errors", "train_classifier", "ClassifierResult",
    "SWISS_ROLL_SETUPS", "SWISS_ROLL_COMMON", "swiss_roll_study", "float16_study",
    "read_rows", "read_classifiers", "write_study", "main",
]

#: The four layer designs of :func:`forward` (Chapter 7, §7.4): plain ResNet (forward Euler), antisymmetric,
#: Hamiltonian (Verlet) and leapfrog.
KINDS = ("resnet", "antisymmetric", "hamiltonian", "leapfrog")
#: The activations :func:`forward` accepts.
ACTIVATIONS = ("tanh", "relu")

#: The data of Example 1 of the paper, in the row convention.
#:
#: ``Y0`` has the three inputs ``y₁ = (0.1, 0.1)``, ``y₂ = −y₁``, ``y₃ = (0, 0.5)`` as rows; see
#: {prf:ref}`ex-haber-ruthotto-1`.
EXAMPLE_1 = {
    "K_plus": np.array([[2.0, -2.0], [0.0, 2.0]]),
    "K_minus": np.array([[-2.0, 0.0], [2.0, -2.0]]),
    "K_zero": np.array([[0.0, -1.0], [1.0, 0.0]]),
    "Y0": np.array([[0.1, 0.1], [-0.1, -0.1], [0.0, 0.5]]),
    "h": 0.1,
    "num_layers": 10,
    "activation": "tanh",
}


# ----------------------------------------------------------------------------- validation
def _check_choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {type(value).__name__} {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_design(kind, activation, gamma):
    kind = _check_choice(kind, "kind", KINDS)
    activation = _check_choice(activation, "activation", ACTIVATIONS)
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    if gamma != 0.0 and kind != "antisymmetric":
        raise ValueError(f"gamma is used only by kind='antisymmetric'; got gamma={gamma} with kind={kind!r}")
    return kind, activation, gamma


def _check_weights(K, b, n=None, *, K_name="K", b_name="b"):
    """``K`` (N, n, n) and ``b`` (N,) or (N, n) as float64, ``b`` broadcast to (N, n)."""
    K = as_real_array(K, K_name, ndim=3)
    N, n1, n2 = K.shape
    if N < 1 or n1 != n2 or n1 < 1:
        raise ValueError(f"{K_name} must have shape (num_layers, n, n) with num_layers >= 1, got {K.shape}")
    if n is not None and n1 != n:
        raise ValueError(f"{K_name} has shape {K.shape} but the data have n = {n} features per row")
    b = as_real_array(b, b_name)
    if b.shape == (N,):
        b = np.repeat(b[:, None], n1, axis=1)
    elif b.shape != (N, n1):
        raise ValueError(f"{b_name} must have shape ({N},) or ({N}, {n1}) to match {K_name} {K.shape}, got {b.shape}")
    return K, b


# ----------------------------------------------------------------------------- the layer maps
def _sigma(activation, xp):
    """The activation for the array namespace ``xp`` (numpy or torch)."""
    if activation == "tanh":
        return xp.tanh
    return (lambda z: np.maximum(z, 0.0)) if xp is np else xp.relu


def _sigma_prime(activation, z):
    """σ'(z) in numpy; relu'(0) = 0, as in torch's autograd."""
    if activation == "tanh":
        return 1.0 - np.tanh(z) ** 2
    return (z > 0).astype(np.float64)


def _layer_step(kind, Y, W, Kj, bj, h, gamma, sigma):
    """One layer in the row convention, for numpy arrays and torch tensors alike.

    ``W`` is the second state: ``Z_k`` (hamiltonian), ``Y_{k-1}`` (leapfrog), unused otherwise.
    Returns ``(Y_{k+1}, W_{k+1})``.
    """
    if kind == "resnet":
        return Y + h * sigma(Y @ Kj + bj), W
    if kind == "antisymmetric":
        return Y + h * sigma(Y @ _antisymmetric_kernel(Kj, gamma) + bj), W
    if kind == "hamiltonian":  # Verlet: the Y-update uses the new Z (two shears)
        Z = W - h * sigma(Y @ Kj.T + bj)
        return Y + h * sigma(Z @ Kj + bj), Z
    return 2.0 * Y - W - (h * h) * (sigma(Y @ Kj + bj) @ Kj.T), Y


def _antisymmetric_kernel(Kj, gamma):
    """``½(K_j − K_jᵀ − γI)`` of (4.12), for numpy arrays and torch tensors (the one place it is formed)."""
    if isinstance(Kj, np.ndarray):
        eye = np.eye(Kj.shape[0])
    else:
        import torch

        eye = torch.eye(Kj.shape[0], dtype=Kj.dtype)
    return 0.5 * (Kj - Kj.T) - (0.5 * gamma) * eye


def _integrate(kind, Y0, W0, K, b, h, gamma, sigma):
    """Lists ``[Y_0, …, Y_N]`` and ``[W_0, …, W_N]``; ``K``/``b`` indexable by layer."""
    Ys, Ws = [Y0], [W0]
    for j in range(len(K)):
        Y, W = _layer_step(kind, Ys[-1], Ws[-1], K[j], b[j], h, gamma, sigma)
        Ys.append(Y)
        Ws.append(W)
    return Ys, Ws


def forward(Y0, K, b, h, *, kind="resnet", activation="tanh", gamma=0.0):
    """Forward propagation of a stable-architecture network; the whole trajectory.

    Serves Chapter 7, §7.1 ({prf:ref}`def-resnet-forward-euler`), §7.2
    ({prf:ref}`ex-haber-ruthotto-1`) and §7.4.

    Parameters
    ----------
    Y0 : array_like, shape (s, n)
        Input features, one example per row (the paper's row convention).
    K : array_like, shape (num_layers, n, n)
        Layer weights ``K_j``.
    b : array_like, shape (num_layers,) or (num_layers, n)
        Biases: one scalar per layer as in (2.1), or one per feature.
    h : float
        Step size, ``h > 0``.
    kind : {"resnet", "antisymmetric", "hamiltonian", "leapfrog"}
        ``resnet``: (2.1) ``Y ← Y + h σ(Y K_j + b_j)``. ``antisymmetric``: (4.12)
        ``Y ← Y + h σ(½ Y (K_j − K_jᵀ − γI) + b_j)``. ``hamiltonian``: Meganet's Verlet block
        ``Z ← Z − h σ(Y K_jᵀ + b_j)``, ``Y ← Y + h σ(Z K_j + b_j)`` from ``Z_0 = 0``
        (use :func:`hamiltonian_forward` for ``Z``). ``leapfrog``: Meganet's
        ``Y_{j+1} = 2Y_j − Y_{j−1} − h² σ(Y_j K_j + b_j) K_jᵀ`` with ``Y_{−1} = Y_0``.
        The module docstring derives the last two in the row convention.
    activation : {"tanh", "relu"}
    gamma : float
        ``γ ≥ 0``, only for ``kind="antisymmetric"`` (any other kind with ``γ ≠ 0`` raises).

    Returns
    -------
    numpy.ndarray, shape (num_layers + 1, s, n)
        ``Y_0, …, Y_N`` (float64).

    Raises
    ------
    TypeError, ValueError
        Naming the argument: wrong shapes, ``h <= 0``, ``gamma < 0``, unknown ``kind`` or
        ``activation``, non-finite data.
    """
    kind, activation, gamma = _check_design(kind, activation, gamma)
    if kind == "hamiltonian":
        return hamiltonian_forward(Y0, None, K, b, h, activation=activation)[0]
    Y0 = as_real_array(Y0, "Y0", ndim=2)
    K, b = _check_weights(K, b, Y0.shape[1])
    h = check_positive(h, "h")
    Ys, _ = _integrate(kind, Y0, Y0, K, b, h, gamma, _sigma(activation, np))
    return np.stack(Ys)


def hamiltonian_forward(Y0, Z0, K, b, h, *, activation="tanh"):
    """Both trajectories of Meganet's Hamiltonian (Verlet) block, in the row convention.

    Serves Chapter 7, §7.4 ({prf:ref}`prop-hamiltonian-spectrum`,
    {prf:ref}`prop-hamiltonian-volume`). Source: Meganet.m ``integrators/HamiltonianNN.m``.

    ``Z_{k+1} = Z_k − h σ(Y_k K_kᵀ + b_k)``, ``Y_{k+1} = Y_k + h σ(Z_{k+1} K_k + b_k)``: each
    half-step is a shear (it changes one variable by a function of the other), so the map
    ``(Y_k, Z_k) ↦ (Y_{k+1}, Z_{k+1})`` has Jacobian determinant exactly 1.

    Parameters
    ----------
    Y0 : array_like, shape (s, n)
    Z0 : array_like, shape (s, n), or None
        ``None`` means ``Z_0 = 0`` (Meganet's choice).
    K, b, h, activation
        As in :func:`forward`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``Y`` and ``Z`` trajectories, each of shape (num_layers + 1, s, n).
    """
    _, activation, _ = _check_design("hamiltonian", activation, 0.0)
    Y0 = as_real_array(Y0, "Y0", ndim=2)
    Z0 = np.zeros_like(Y0) if Z0 is None else as_real_array(Z0, "Z0", ndim=2)
    if Z0.shape != Y0.shape:
        raise ValueError(f"Z0 must have the shape of Y0 {Y0.shape}, got {Z0.shape}")
    K, b = _check_weights(K, b, Y0.shape[1])
    h = check_positive(h, "h")
    Ys, Zs = _integrate("hamiltonian", Y0, Z0, K, b, h, 0.0, _sigma(activation, np))
    return np.stack(Ys), np.stack(Zs)


# ----------------------------------------------------------------------------- Jacobians and stability
def _one_layer_args(state, Kj, bj, kind, activation, gamma):
    """Validate one layer's ``K_j`` (n, n), ``b_j`` (scalar or (n,)) and the state (n,) or (2n,)."""
    kind, activation, gamma = _check_design(kind, activation, gamma)
    K = as_real_array(Kj, "K_j", ndim=2)
    n = K.shape[0]
    if K.shape != (n, n) or n < 1:
        raise ValueError(f"K_j must be one layer's square matrix of shape (n, n), got {K.shape}")
    b = as_real_array(bj, "b_j")
    if b.shape not in ((), (n,)):
        raise ValueError(f"b_j must be a scalar or have shape ({n},) to match K_j {K.shape}, got {b.shape}")
    state = as_real_array(state, "state", ndim=1)
    size = 2 * n if kind in ("hamiltonian", "leapfrog") else n
    if state.shape != (size,):
        what = {"hamiltonian": "(y, z)", "leapfrog": "(y_k, y_{k-1}) or (y, v)"}.get(kind, "y")
        raise ValueError(f"state must have shape ({size},) = {what} for kind={kind!r} and n = {n}, got {state.shape}")
    return state, K, np.broadcast_to(b, (n,)), kind, activation, gamma


def ode_jacobian(state, K_j, b_j, *, kind="resnet", activation="tanh", gamma=0.0):
    """Jacobian of the continuous dynamics at one example, in the column convention.

    Serves Chapter 7, §7.3 ((3.7)) and §7.4 ({prf:ref}`prop-antisymmetric-spectrum`,
    {prf:ref}`prop-hamiltonian-spectrum`, {prf:ref}`prop-leapfrog-stability`).

    With ``D(z) = diag σ'(z)``:

    * ``resnet``: ``D(yK + b) Kᵀ``, which is (3.7) ``diag(σ'(Kᵀy + b)) Kᵀ``;
    * ``antisymmetric``: ``D(yM + b) Mᵀ`` with ``M = ½(K − Kᵀ − γI)``;
    * ``hamiltonian``: state ``(y, z)``, ``ẏ = σ(zK + b)``, ``ż = −σ(yKᵀ + b)``:
      ``[[0, D(zK+b) Kᵀ], [−D(yKᵀ+b) K, 0]]``;
    * ``leapfrog``: first-order form ``ẏ = v``, ``v̇ = −σ(yK + b)Kᵀ``, state ``(y, v)``:
      ``[[0, I], [−K D(yK+b) Kᵀ, 0]]``.

    Parameters
    ----------
    state : array_like, shape (n,) or (2n,)
        ``y`` (resnet, antisymmetric) or the pair ``(y, z)`` / ``(y, v)`` concatenated.
    K_j : array_like, shape (n, n)
    b_j : float or array_like, shape (n,)
    kind, activation, gamma
        As in :func:`forward`.

    Returns
    -------
    numpy.ndarray, shape (n, n) or (2n, 2n)
        ``J[i, k] = ∂(rate of state_i)/∂ state_k``; eigenvalues by ``numpy.linalg.eigvals``.
    """
    state, K, b, kind, activation, gamma = _one_layer_args(state, K_j, b_j, kind, activation, gamma)
    n = K.shape[0]
    if kind in ("resnet", "antisymmetric"):
        M = K if kind == "resnet" else _antisymmetric_kernel(K, gamma)
        return _sigma_prime(activation, state @ M + b)[:, None] * M.T
    y, w = state[:n], state[n:]
    J = np.zeros((2 * n, 2 * n))
    if kind == "hamiltonian":
        J[:n, n:] = _sigma_prime(activation, w @ K + b)[:, None] * K.T
        J[n:, :n] = -_sigma_prime(activation, y @ K.T + b)[:, None] * K
    else:
        J[:n, n:] = np.eye(n)
        J[n:, :n] = -(K * _sigma_prime(activation, y @ K + b)) @ K.T
    return J


def layer_jacobian(state, K_j, b_j, h, *, kind="resnet", activation="tanh", gamma=0.0):
    """Jacobian of one layer map (the discrete dynamics), in the column convention.

    Serves Chapter 7, §7.3 ({prf:ref}`lem-forward-euler-stability`) and §7.4
    ({prf:ref}`prop-hamiltonian-volume`, {prf:ref}`prop-leapfrog-stability`).

    * ``resnet``/``antisymmetric``: ``I + h J`` with ``J`` from :func:`ode_jacobian`.
    * ``hamiltonian``: map ``(y, z) ↦ (y', z')``; the product of the two shears
      ``[[I, h D(z'K+b)Kᵀ], [0, I]] · [[I, 0], [−h D(yKᵀ+b)K, I]]`` (determinant 1).
    * ``leapfrog``: map ``(y_k, y_{k−1}) ↦ (y_{k+1}, y_k)``:
      ``[[2I − h² K D(y_kK+b) Kᵀ, −I], [I, 0]]`` (determinant 1).

    Parameters
    ----------
    state : array_like, shape (n,) or (2n,)
        ``y``, or ``(y, z)`` (hamiltonian), or ``(y_k, y_{k−1})`` (leapfrog).
    K_j, b_j, kind, activation, gamma
        As in :func:`ode_jacobian`.
    h : float
        Step, ``h > 0``.

    Returns
    -------
    numpy.ndarray, shape (n, n) or (2n, 2n)
    """
    state, K, b, kind, activation, gamma = _one_layer_args(state, K_j, b_j, kind, activation, gamma)
    h = check_positive(h, "h")
    n = K.shape[0]
    I = np.eye(n)
    if kind in ("resnet", "antisymmetric"):
        return I + h * ode_jacobian(state, K, b, kind=kind, activation=activation, gamma=gamma)
    y, w = state[:n], state[n:]
    if kind == "hamiltonian":
        sigma = _sigma(activation, np)
        z_new = w - h * sigma(y @ K.T + b)
        shear_z = np.block([[I, 0 * I], [-h * _sigma_prime(activation, y @ K.T + b)[:, None] * K, I]])
        shear_y = np.block([[I, h * _sigma_prime(activation, z_new @ K + b)[:, None] * K.T], [0 * I, I]])
        return shear_y @ shear_z
    A = (K * _sigma_prime(activation, y @ K + b)) @ K.T
    return np.block([[2 * I - h * h * A, -I], [I, 0 * I]])


def stability_factor(eigenvalues, h):
    """Forward-Euler amplification ``max_i |1 + h λ_i|``; (3.9) asks for ``≤ 1``.

    Serves Chapter 7, §7.3 ({prf:ref}`lem-forward-euler-stability`).

    Parameters
    ----------
    eigenvalues : array_like of complex or real numbers
        Eigenvalues ``λ_i`` of the ODE Jacobian (e.g. ``numpy.linalg.eigvals(ode_jacobian(...))``).
    h : float
        Step, ``h > 0``.

    Returns
    -------
    float
    """
    h = check_positive(h, "h")
    if isinstance(eigenvalues, (str, bytes)):
        raise TypeError("eigenvalues must be an array of numbers")
    lam = np.asarray(eigenvalues)
    if lam.dtype == bool or lam.dtype.kind not in "iufc" or lam.size == 0:
        raise TypeError(f"eigenvalues must be a non-empty array of real or complex numbers, got dtype {lam.dtype}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues has non-finite entries (nan or inf)")
    return float(np.max(np.abs(1.0 + h * lam.astype(complex))))


def sensitivity(Y0, K, b, T, depths, *, kind="resnet", activation="tanh", gamma=0.0, delta=1e-8, seed=0):
    """``‖Y_N(Y0 + δ) − Y_N(Y0)‖_F / ‖δ‖_F`` vs depth ``N`` at fixed final time ``T = N h``.

    Serves Chapter 7, §7.5. The weights are constant in time (``K_j = K``, ``b_j = b`` for all
    ``j``), so every ``N`` discretises the same ODE with ``h = T/N``: a plain ResNet with
    ``max Re λ(K) > 0`` amplifies like ``e^{T max Re λ}``, the stable designs stay ``O(1)``.

    Parameters
    ----------
    Y0 : array_like, shape (s, n)
    K : array_like, shape (n, n)
        The (time-constant) weight matrix.
    b : float or array_like, shape (n,)
    T : float
        Final time, ``T > 0``.
    depths : sequence of int
        Numbers of layers ``N >= 1``.
    kind, activation, gamma
        As in :func:`forward`.
    delta : float
        ``‖δ‖_F``; ``δ`` points in a seeded random direction. Keep ``delta · sensitivity`` small (the
        quotient is a finite difference).
    seed : int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (len(depths),)
    """
    kind, activation, gamma = _check_design(kind, activation, gamma)
    Y0 = as_real_array(Y0, "Y0", ndim=2)
    K = as_real_array(K, "K", ndim=2)
    if K.shape != (Y0.shape[1],) * 2:
        raise ValueError(f"K must have shape ({Y0.shape[1]}, {Y0.shape[1]}) to match Y0 {Y0.shape}, got {K.shape}")
    b = as_real_array(b, "b")
    if b.shape not in ((), (K.shape[0],)):
        raise ValueError(f"b must be a scalar or have shape ({K.shape[0]},), got {b.shape}")
    T = check_positive(T, "T")
    delta = check_positive(delta, "delta")
    if isinstance(depths, (str, bytes)) or not hasattr(depths, "__iter__"):
        raise TypeError(f"depths must be a sequence of positive integers, got {type(depths).__name__}")
    depths = [check_int(N, "depths[i]", minimum=1) for N in depths]
    direction = np.random.default_rng(check_seed(seed)).standard_normal(Y0.shape)
    dY = delta * direction / np.linalg.norm(direction)
    out = []
    for N in depths:
        Ks, bs = np.broadcast_to(K, (N,) + K.shape), np.broadcast_to(b, (N, K.shape[0]))
        kw = dict(kind=kind, activation=activation, gamma=gamma)
        diff = forward(Y0 + dY, Ks, bs, T / N, **kw)[-1] - forward(Y0, Ks, bs, T / N, **kw)[-1]
        out.append(np.linalg.norm(diff) / np.linalg.norm(dY))
    return np.array(out)


# ----------------------------------------------------------------------------- regularisation, multilevel, loss
def prolongate(K, b, h):
    """Multilevel prolongation: ``N`` layers with step ``h`` → ``2N`` layers with step ``h/2``.

    Serves Chapter 7, §7.6 ({prf:ref}`prop-prolongation-consistency`). As Meganet's
    ``prolongateWeights`` (``utils/inter1D.m``): the weights live at times ``t_j = j h`` and are
    interpolated piecewise-linearly to ``t_i = i h/2``, ``i = 0, …, 2N−1``; the last new time,
    ``(N − ½) h``, lies past ``t_{N−1}`` and takes the last weights (constant extrapolation). So
    ``θ'_{2j} = θ_j``, ``θ'_{2j+1} = (θ_j + θ_{j+1})/2``, ``θ'_{2N−1} = θ_{N−1}``. If the weights
    sample a smooth ``θ(t)``, both networks discretise the same ODE on ``[0, T]`` and their outputs
    (and losses) differ by ``O(h)``.

    Parameters
    ----------
    K : array_like, shape (N, n, n)
    b : array_like, shape (N,) or (N, n)
    h : float

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, float)
        ``K'`` of shape (2N, n, n), ``b'`` of shape (2N,) or (2N, n) (as ``b``), and ``h/2``.
    """
    _check_weights(K, b)
    K, b = np.asarray(K, dtype=float), np.asarray(b, dtype=float)
    h = check_positive(h, "h")

    def refine(theta):
        fine = np.repeat(theta, 2, axis=0)
        fine[1:-1:2] = 0.5 * (theta[:-1] + theta[1:])
        return fine

    return refine(K), refine(b), h / 2


def smoothness_penalty(K, b, h, alpha):
    """Time-smoothness regulariser ``(α/2h) Σ_{j=1}^{N−1} ‖θ_j − θ_{j−1}‖²``, ``θ_j = (K_j, b_j)``.

    Serves Chapter 7, §7.6. Meganet's ``tikhonovReg(opTimeDer(·, nt, h), h·α)``:
    ``½ (hα) Σ ‖(θ_j − θ_{j−1})/h‖²``, a discretisation of ``½ α ∫₀ᵀ ‖θ'(t)‖² dt``, so its value
    is consistent under :func:`prolongate`. ``b`` enters as given (one scalar per layer counts once).

    Parameters
    ----------
    K : array_like, shape (N, n, n)
    b : array_like, shape (N,) or (N, n)
    h, alpha : float
        ``h > 0``, ``α >= 0``.

    Returns
    -------
    float
    """
    _check_weights(K, b)
    K, b = np.asarray(K, dtype=float), np.asarray(b, dtype=float)
    h = check_positive(h, "h")
    alpha = check_positive(alpha, "alpha", allow_zero=True)
    jumps = np.sum(np.diff(K, axis=0) ** 2) + np.sum(np.diff(b, axis=0) ** 2)
    return float(alpha / (2 * h) * jumps)


def _check_labels(labels, s, name="labels"):
    arr = np.asarray(labels)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of class indices, got dtype {arr.dtype}")
    if arr.shape != (s,):
        raise ValueError(f"{name} must have shape ({s},), one class index per row of the data, got {arr.shape}")
    if s and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, got {arr.min()}")
    return arr.astype(np.int64)


def classification_loss(Y0, labels, K, b, h, W, mu, *, kind="resnet", activation="tanh", gamma=0.0):
    """Mean softmax cross-entropy of the classifier ``Y_N W + e_s μᵀ`` (2.3)–(2.4), in numpy.

    Serves Chapter 7, §7.6 ({prf:ref}`prop-prolongation-consistency`).

    Parameters
    ----------
    Y0 : array_like, shape (s, n)
    labels : array_like of int, shape (s,)
        Class indices in ``0, …, m−1``.
    K, b, h, kind, activation, gamma
        As in :func:`forward`.
    W : array_like, shape (n, m)
    mu : array_like, shape (m,)

    Returns
    -------
    float
    """
    YN = forward(Y0, K, b, h, kind=kind, activation=activation, gamma=gamma)[-1]
    W = as_real_array(W, "W", ndim=2)
    mu = as_real_array(mu, "mu", ndim=1)
    if W.shape[0] != YN.shape[1] or mu.shape != (W.shape[1],):
        raise ValueError(f"W must have shape ({YN.shape[1]}, m) and mu shape (m,), got {W.shape} and {mu.shape}")
    labels = _check_labels(labels, YN.shape[0])
    if labels.max() >= W.shape[1]:
        raise ValueError(f"labels must be < m = {W.shape[1]} (columns of W), got {labels.max()}")
    logits = YN @ W + mu
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - logits[np.arange(len(labels)), labels]))


# ----------------------------------------------------------------------------- data
def swiss_roll(n=256):
    """The two-class swiss roll of Meganet's ``data/setupSwissRoll.m`` (no randomness).

    Serves Chapter 7, §7.6. ``θ = 0, 4π/(2n), …, 4π`` (``2n+1`` angles); class 0 has radius
    ``r = linspace(0, 1)``, class 1 ``r = linspace(0.2, 1.2)``; points ``(r cos θ, r sin θ)``.
    The ``2(2n+1)`` points (class 0 first) alternate between training (odd positions in MATLAB's
    1-based count, i.e. ``[0::2]``) and validation (``[1::2]``).

    Parameters
    ----------
    n : int
        ``n >= 1`` (Meganet's default 256 gives 513 training and 513 validation points).

    Returns
    -------
    (Y_train, labels_train, Y_val, labels_val)
        ``Y`` of shape (2n+1, 2), labels int64 of shape (2n+1,).
    """
    n = check_int(n, "n", minimum=1)
    theta = (4 * np.pi / (2 * n)) * np.arange(2 * n + 1)
    rings = [np.linspace(r0, r0 + 1.0, 2 * n + 1) for r0 in (0.0, 0.2)]
    Y = np.concatenate([np.column_stack([r * np.cos(theta), r * np.sin(theta)]) for r in rings])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), 2 * n + 1)
    return Y[0::2], labels[0::2], Y[1::2], labels[1::2]


def peaks_function(x, y):
    """MATLAB's ``peaks``: ``3(1−x)² e^{−x²−(y+1)²} − 10(x/5 − x³ − y⁵) e^{−x²−y²} − ⅓ e^{−(x+1)²−y²}``.

    Serves Chapter 7, §7.6. ``x`` and ``y`` broadcast; returns a float64 array.
    """
    x, y = as_real_array(x, "x"), as_real_array(y, "y")
    return (3 * (1 - x) ** 2 * np.exp(-x ** 2 - (y + 1) ** 2)
            - 10 * (x / 5 - x ** 3 - y ** 5) * np.exp(-x ** 2 - y ** 2)
            - np.exp(-(x + 1) ** 2 - y ** 2) / 3)


def peaks(num_points=8000, num_classes=5, *, grid=256, seed=0):
    """Multi-class "peaks" data in the spirit of Meganet's ``data/setupPeaks.m``.

    Serves Chapter 7, §7.6. As Meganet: :func:`peaks_function` on a ``grid × grid`` grid over
    ``[−3, 3]²``; class ``i`` holds the grid points with ``min + i·Δ < value ≤ min + (i+1)·Δ``,
    ``Δ = (max − min)/num_classes`` (the minimum itself, and anything a rounding leaves out, in class
    0, as Meganet's zero initialisation does; the maximum is put in the top class); then
    ``ceil(num_points/num_classes)`` grid points are drawn per class uniformly *with replacement*.
    The draws come from ``numpy.random.default_rng(seed)``, not MATLAB's ``randi``, so the points
    differ from Meganet's; the construction is the same.

    Parameters
    ----------
    num_points : int
        Total requested (rounded up to a multiple of ``num_classes``).
    num_classes : int
        ``>= 2``.
    grid : int
        Grid points per axis, ``>= 2``.
    seed : int or numpy.random.Generator

    Returns
    -------
    (Y, labels)
        ``Y`` of shape (num_classes·ceil(num_points/num_classes), 2), class blocks in order;
        labels int64.
    """
    num_points = check_int(num_points, "num_points", minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    grid = check_int(grid, "grid", minimum=2)
    rng = np.random.default_rng(check_seed(seed))
    xs = np.linspace(-3.0, 3.0, grid)
    xx, yy = np.meshgrid(xs, xs)
    values = peaks_function(xx, yy)
    low, step = values.min(), (values.max() - values.min()) / num_classes
    classes = np.zeros(values.shape, dtype=np.int64)
    for i in range(num_classes):
        classes[(low + i * step < values) & (values <= low + (i + 1) * step)] = i
    classes[values == values.max()] = num_classes - 1
    per_class = -(-num_points // num_classes)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    members = [np.flatnonzero(classes.ravel() == k) for k in range(num_classes)]
    if min(map(len, members)) == 0:
        raise ValueError(f"grid = {grid} is too coarse: some of the {num_classes} classes has no grid point")
    Y = [points[rng.choice(idx, per_class)] for idx in members]
    return np.concatenate(Y), np.repeat(np.arange(num_classes, dtype=np.int64), per_class)


# ----------------------------------------------------------------------------- torch
_DTYPES = ("float64", "float32", "float16", "bfloat16")


@functools.lru_cache(maxsize=None)
def _torch_module_class():
    """Define the torch module on first use, so that importing nnlib.stable does not import torch."""
    import torch

    class StableNetwork(torch.nn.Module):
        """The map of :func:`forward` with trainable ``K`` (N, n, n) and ``b`` (N,) or (N, n)."""

        def __init__(self, K, b, h, kind, activation, gamma, dtype):
            super().__init__()
            self.K = torch.nn.Parameter(torch.tensor(K, dtype=dtype))
            self.b = torch.nn.Parameter(torch.tensor(b, dtype=dtype))
            self.h, self.kind, self.activation, self.gamma = h, kind, activation, gamma

        def states(self, Y0, Z0=None):
            """Stacked ``(Y_0..Y_N, W_0..W_N)``; ``W`` is ``Z`` (hamiltonian) or ``Y_{k−1}`` (leapfrog)."""
            N, n = self.K.shape[0], self.K.shape[1]
            b = self.b[:, None].expand(N, n) if self.b.ndim == 1 else self.b
            W0 = Y0 if self.kind != "hamiltonian" else (torch.zeros_like(Y0) if Z0 is None else Z0)
            Ys, Ws = _integrate(self.kind, Y0, W0, self.K, b, self.h, self.gamma,
                                _sigma(self.activation, torch))
            return torch.stack(Ys), torch.stack(Ws)

        def forward(self, Y0, Z0=None):
            """``Y_N`` for inputs ``Y0`` of shape (s, n)."""
            return self.states(Y0, Z0)[0][-1]

        def extra_repr(self):
            return (f"kind={self.kind!r}, activation={self.activation!r}, gamma={self.gamma}, "
                    f"num_layers={self.K.shape[0]}, n={self.K.shape[1]}, h={self.h}")

    return StableNetwork


def _torch_dtype(dtype):
    import torch

    return getattr(torch, _check_choice(dtype, "dtype", _DTYPES))


def torch_network(K, b, h, *, kind="resnet", activation="tanh", gamma=0.0, dtype="float64"):
    """The network of :func:`forward` as a ``torch.nn.Module`` on the same ``(K, b)`` arrays.

    Serves Chapter 7, §7.6. One parameterisation for analysis and training: the module's
    parameters ``.K`` and ``.b`` are copies of ``K`` and ``b`` (shapes unchanged), its layers run
    the very step function of :func:`forward`, and in float64 its output equals
    ``forward(Y0, K, b, h, …)[-1]`` up to rounding. ``module.states(Y0, Z0=None)`` gives both
    trajectories (``Z`` for the Hamiltonian block, ``Y_{k−1}`` for leapfrog).

    Parameters
    ----------
    K, b, h, kind, activation, gamma
        As in :func:`forward`.
    dtype : {"float64", "float32", "float16", "bfloat16"}

    Returns
    -------
    torch.nn.Module
    """
    kind, activation, gamma = _check_design(kind, activation, gamma)
    _check_weights(K, b)
    h = check_positive(h, "h")
    cls = _torch_module_class()
    return cls(np.asarray(K, dtype=float), np.asarray(b, dtype=float), h, kind, activation, gamma,
               _torch_dtype(dtype))


def rounding_errors(Y0, labels, K, b, h, W, mu, *, kind="resnet", activation="tanh", gamma=0.0,
                    dtype="float16"):
    """Relative errors of the forward map and of the loss gradient when computed in a low precision.

    Serves Chapter 7, §7.7 (the link to Chapters 3–5). Runs the network of :func:`forward` and the
    loss of :func:`classification_loss` through torch autograd once in ``dtype`` (every operation
    rounded to it, as torch's CPU kernels do) and once in float64, and compares:

    * ``forward_error = ‖Y_N^{low} − Y_N‖_F / ‖Y_N‖_F``,
    * ``gradient_error = ‖g^{low} − g‖_2 / ‖g‖_2`` with ``g`` the gradient of the loss with respect
      to all ``(K_j, b_j)``, stacked.

    The inputs are rounded to ``dtype`` first (that rounding is part of the error). A forward-Euler
    update ``Y_j + h f`` with ``h|f|`` below half a unit in the last place of ``Y_j`` is lost
    entirely (stagnation, Chapter 3), so at fixed ``T = N h`` the errors grow with the depth ``N``
    even when the forward map is stable.

    Parameters
    ----------
    Y0, labels, K, b, h, W, mu, kind, activation, gamma
        As in :func:`classification_loss`.
    dtype : {"float16", "bfloat16", "float32", "float64"}

    Returns
    -------
    (float, float)
        ``(forward_error, gradient_error)``; both ``inf`` if the low-precision run overflowed;
        ``gradient_error`` is ``nan`` if the float64 gradient is exactly zero.
    """
    import torch

    YN = forward(Y0, K, b, h, kind=kind, activation=activation, gamma=gamma)[-1]   # validates the design
    classification_loss(Y0, labels, K, b, h, W, mu, kind=kind, activation=activation, gamma=gamma)  # and the rest
    low = _torch_dtype(dtype)
    results = {}
    for name, tdtype in (("low", low), ("ref", torch.float64)):
        net = torch_network(K, b, h, kind=kind, activation=activation, gamma=gamma, dtype=dtype if name == "low"
                            else "float64")
        Wt = torch.tensor(np.asarray(W, dtype=float), dtype=tdtype)
        mut = torch.tensor(np.asarray(mu, dtype=float), dtype=tdtype)
        out = net(torch.tensor(np.asarray(Y0, dtype=float), dtype=tdtype))
        logits = out @ Wt + mut
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(np.asarray(labels, dtype=np.int64)))
        loss.backward()
        grad = torch.cat([net.K.grad.reshape(-1), net.b.grad.reshape(-1)])
        results[name] = (out.detach().double().numpy(), grad.double().numpy())
    (Y_low, g_low), (_, g_ref) = results["low"], results["ref"]
    if not (np.all(np.isfinite(Y_low)) and np.all(np.isfinite(g_low))):
        return math.inf, math.inf
    forward_error = float(np.linalg.norm(Y_low - YN) / np.linalg.norm(YN))
    norm = np.linalg.norm(g_ref)
    gradient_error = float(np.linalg.norm(g_low - g_ref) / norm) if norm > 0 else math.nan
    return forward_error, gradient_error


# ----------------------------------------------------------------------------- training
@dataclass
class ClassifierResult:
    """What :func:`train_classifier` returns (numpy arrays; ``K``, ``b``, ``h`` of the finest level).

    Attributes
    ----------
    kind : str
        The design, as in :func:`forward`.
    activation : str
    gamma : float
    T : float
        Final time.
    h : float
        Step of the finest level, ``T / K.shape[0]``.
    width : int
        Features per row inside the network (inputs are zero-padded to it).
    K : numpy.ndarray
        Weights of the finest level, shape ``(N, width, width)``.
    b : numpy.ndarray
        Shape ``(N,)``: one scalar bias per layer, as in (2.1).
    W : numpy.ndarray
        Classifier weights, shape ``(width, m)``.
    mu : numpy.ndarray
        Classifier offsets, shape ``(m,)``.
    num_layers : list of int
        Layers at each level (``N₀, 2N₀, 4N₀, …``).
    loss_history : list of numpy.ndarray
        Per level, the objective (cross-entropy + smoothness + weight decay) at every evaluation.
    train_accuracy : list of float
        Per level, at the level's end.
    val_accuracy : list of float
        Per level, at the level's end (``nan`` without validation data).
    seconds : list of float
        Wall-clock time per level.
    """

    kind: str
    activation: str
    gamma: float
    T: float
    h: float
    width: int
    K: np.ndarray
    b: np.ndarray
    W: np.ndarray
    mu: np.ndarray
    num_layers: list = field(default_factory=list)
    loss_history: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    def features(self, Y):
        """Trajectory ``Y_0, …, Y_N`` of the (zero-padded) inputs ``Y`` of shape (s, d), numpy."""
        Y0 = _pad(as_real_array(Y, "Y", ndim=2), self.width, "Y")
        return forward(Y0, self.K, self.b, self.h, kind=self.kind, activation=self.activation, gamma=self.gamma)

    def predict(self, Y):
        """Class indices ``argmax(Y_N W + μ)`` for inputs ``Y`` of shape (s, d) (e.g. a plotting grid)."""
        return np.argmax(self.features(Y)[-1] @ self.W + self.mu, axis=1)


def _pad(Y, width, name):
    if Y.shape[1] > width:
        raise ValueError(f"width = {width} is smaller than the {Y.shape[1]} features of {name}")
    return np.pad(Y, ((0, 0), (0, width - Y.shape[1])))


def _initial_weights(kind, num_layers, width, K0, b0):
    """Meganet's initialisations: ResNN ``K_j = −I/100``, antisymmetric ``θ = 0``, Hamiltonian ``K_j = I``.

    (Leapfrog is not in Meganet's swiss-roll drivers; we start it like the Hamiltonian block.)
    """
    if K0 is None:
        scale = {"resnet": -0.01, "antisymmetric": 0.0, "hamiltonian": 1.0, "leapfrog": 1.0}[kind]
        K0 = np.repeat(scale * np.eye(width)[None], num_layers, axis=0)
    b0 = np.zeros(num_layers) if b0 is None else b0
    K0, _ = _check_weights(K0, b0, width, K_name="K0", b_name="b0")
    if K0.shape[0] != num_layers:
        raise ValueError(f"K0 must have num_layers = {num_layers} layers, got shape {K0.shape}")
    return K0, as_real_array(b0, "b0")


def _fit_level(net, W, mu, data, *, alpha, weight_decay, steps, lr, optimizer):
    """Minimise cross-entropy + smoothness + weight decay over (K, b, W, μ); returns the objective history."""
    import torch

    Y0, labels = data
    params = [net.K, net.b, W, mu]
    history = []

    def objective():
        logits = net(Y0) @ W + mu
        smooth = (alpha / (2 * net.h)) * (torch.sum(torch.diff(net.K, dim=0) ** 2)
                                          + torch.sum(torch.diff(net.b, dim=0) ** 2))
        value = torch.nn.functional.cross_entropy(logits, labels) + smooth + 0.5 * weight_decay * torch.sum(W ** 2)
        history.append(float(value.detach()))
        return value

    if optimizer == "adam":   # torch's Adam, as in nnlib.training: one implementation of the algorithm
        opt = torch.optim.Adam(params, lr=lr)
        for _ in range(steps):
            opt.zero_grad()
            objective().backward()
            opt.step()
    else:
        opt = torch.optim.LBFGS(params, lr=lr, max_iter=steps, max_eval=2 * steps, history_size=20,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-10, tolerance_change=1e-14)

        def closure():
            opt.zero_grad()
            value = objective()
            value.backward()
            return value

        opt.step(closure)
    return np.array(history)


def train_classifier(Y, labels, *, kind="antisymmetric", T=20.0, num_layers=16, levels=1, width=None,
                     activation="tanh", gamma=0.0, alpha=5e-4, weight_decay=1e-3, steps=200, lr=0.05,
                     optimizer="adam", Y_val=None, labels_val=None, K0=None, b0=None, init_scale=0.0, seed=0,
                     dtype="float64"):
    """Train a stable-architecture classifier with multilevel prolongation (torch, CPU).

    Serves Chapter 7, §7.6. Minimises, over ``θ_j = (K_j, b_j)`` and the classifier ``(W, μ)``,

        mean softmax cross-entropy of ``Y_N W + e_s μᵀ``  +  ``(α/2h) Σ_j ‖θ_j − θ_{j−1}‖²``
        +  ``(weight_decay/2) ‖W‖²``

    ((2.3)–(2.4) with Meganet's regulariser, see :func:`smoothness_penalty`). Level 0 has
    ``num_layers`` layers and ``h = T/num_layers``; each further level :func:`prolongate` s to twice
    the layers with ``h/2`` and continues from there (the classifier is kept). Meganet's drivers
    use Newton–CG with the classifier eliminated; here ``optimizer="adam"`` (``steps`` steps per
    level) or ``"lbfgs"`` (``steps`` iterations, strong-Wolfe line search).

    Parameters
    ----------
    Y : array_like, shape (s, d)
        Training inputs, zero-padded to ``width`` features (Meganet pads the swiss roll to 4).
    labels : array_like of int, shape (s,)
        Class indices ``0, …, m−1`` (``m >= 2``).
    kind, activation, gamma
        As in :func:`forward`.
    T : float
        Final time (Meganet's swiss roll: 20).
    num_layers : int
        Layers at the coarsest level (Meganet: 16).
    levels : int
        Number of levels (``>= 1``).
    width : int or None
        Features inside the network, ``>= d``; ``None`` means ``d``.
    alpha, weight_decay : float
        ``>= 0``. Meganet: ``α = 5e-4`` (antisymmetric), ``5e-3`` (ResNN, Hamiltonian).
    steps : int
    lr : float
    optimizer : {"adam", "lbfgs"}
    Y_val, labels_val : array_like or None
        Validation data for ``val_accuracy``.
    K0, b0 : array_like or None
        Initial weights (shapes ``(num_layers, width, width)``, ``(num_layers,)``); ``None`` gives
        Meganet's initialisation (see ``_initial_weights``).
    init_scale : float
        Adds ``init_scale · N(0, 1/width)`` noise to every entry of the initial ``K`` (seeded). With
        Adam and Meganet's ``K_j = −I/100`` the plain ResNet can stall at the chance-level saddle
        (``W → 0``, no gradient for ``K``); Meganet's Newton–CG with variable projection does not.
    seed : int
        Seeds the initial noise of ``K`` (``numpy.random.default_rng(seed)``) and the classifier's
        initial ``W ~ N(0, 1/width)`` (``torch.Generator``; ``μ = 0``).
    dtype : {"float64", "float32"}

    Returns
    -------
    ClassifierResult

    Notes
    -----
    Deterministic: the same call, in the same process, with the same torch thread count gives the
    same result (full-batch; the only randomness is the seeded ``W``).
    """
    import torch

    kind, activation, gamma = _check_design(kind, activation, gamma)
    Y = as_real_array(Y, "Y", ndim=2)
    labels = _check_labels(labels, Y.shape[0])
    m = max(int(labels.max()) + 1, 2)
    width = Y.shape[1] if width is None else check_int(width, "width", minimum=1)
    T = check_positive(T, "T")
    num_layers = check_int(num_layers, "num_layers", minimum=1)
    levels = check_int(levels, "levels", minimum=1)
    alpha = check_positive(alpha, "alpha", allow_zero=True)
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    steps = check_int(steps, "steps", minimum=1)
    lr = check_positive(lr, "lr")
    optimizer = _check_choice(optimizer, "optimizer", ("adam", "lbfgs"))
    seed = check_int(seed, "seed", minimum=0)
    tdtype = _torch_dtype(_check_choice(dtype, "dtype", ("float64", "float32")))
    val = None
    if (Y_val is None) != (labels_val is None):
        raise ValueError("Y_val and labels_val must be given together")
    if Y_val is not None:
        Yv = as_real_array(Y_val, "Y_val", ndim=2)
        val = (_pad(Yv, width, "Y_val"), _check_labels(labels_val, Yv.shape[0], "labels_val"))
    K, b = _initial_weights(kind, num_layers, width, K0, b0)
    init_scale = check_positive(init_scale, "init_scale", allow_zero=True)
    K = K + init_scale * np.random.default_rng(seed).standard_normal(K.shape) / math.sqrt(width)
    h = T / num_layers
    gen = torch.Generator().manual_seed(seed)
    W = torch.nn.Parameter(torch.randn(width, m, generator=gen, dtype=tdtype) / math.sqrt(width))
    mu = torch.nn.Parameter(torch.zeros(m, dtype=tdtype))
    data = (torch.tensor(_pad(Y, width, "Y"), dtype=tdtype), torch.tensor(labels))
    result = ClassifierResult(kind, activation, gamma, T, h, width, K, b, W.detach().numpy(), mu.detach().numpy())
    for level in range(levels):
        start = time.perf_counter()
        if level:
            K, b, h = prolongate(K, b, h)
        net = torch_network(K, b, h, kind=kind, activation=activation, gamma=gamma, dtype=dtype)
        history = _fit_level(net, W, mu, data, alpha=alpha, weight_decay=weight_decay, steps=steps, lr=lr,
                             optimizer=optimizer)
        K, b = net.K.detach().numpy().astype(float), net.b.detach().numpy().astype(float)
        result.K, result.b, result.h = K, b, h
        result.W, result.mu = W.detach().numpy().astype(float), mu.detach().numpy().astype(float)
        result.num_layers.append(K.shape[0])
        result.loss_history.append(history)
        result.train_accuracy.append(float(np.mean(result.predict(Y) == labels)))
        result.val_accuracy.append(float(np.mean(result.predict(val[0]) == val[1])) if val else float("nan"))
        result.seconds.append(time.perf_counter() - start)
    return result


# ----------------------------------------------------------------------------- the chapter's study (a script)
#: Per-architecture settings of the swiss-roll study, from Meganet's drivers (``papers.md`` §4.5).
#: Width 4 (inputs padded with zeros) for the one-variable designs, 2 + 2 for the Hamiltonian block,
#: Meganet's time-smoothness ``α`` and classifier weight decay. ``init_scale`` is ours (see
#: :func:`train_classifier`).
SWISS_ROLL_SETUPS = {
    "resnet": {"width": 4, "alpha": 5e-3, "weight_decay": 1e-3, "init_scale": 0.1},
    "antisymmetric": {"width": 4, "alpha": 5e-4, "weight_decay": 1e-3, "init_scale": 0.0},
    "hamiltonian": {"width": 2, "alpha": 5e-3, "weight_decay": 1e-4, "init_scale": 0.0},
}
#: The settings every swiss-roll run shares (Meganet's ``T = 20`` and 16 layers at the coarsest level; L-BFGS).
SWISS_ROLL_COMMON = {"T": 20.0, "num_layers": 16, "optimizer": "lbfgs", "lr": 1.0, "seed": 0}

def swiss_roll_study(kinds=("resnet", "antisymmetric", "hamiltonian"), *, levels=3, steps=100, n=256):
    """Train each architecture on Meganet's swiss roll with multilevel training; one row per level.

    Serves Chapter 7, §7.6. Settings: :data:`SWISS_ROLL_SETUPS` and :data:`SWISS_ROLL_COMMON`;
    data :func:`swiss_roll` ``(n)``. One torch thread (deterministic rows).

    Parameters
    ----------
    kinds : sequence of {"resnet", "antisymmetric", "hamiltonian"}
    levels : int
        Levels ``16, 32, …`` layers.
    steps : int
        L-BFGS iterations per level.
    n : int
        Size parameter of :func:`swiss_roll`.

    Returns
    -------
    (list of dict, dict)
        Rows ``kind, level, num_layers, h, loss_start, loss_end, train_accuracy, val_accuracy,
        seconds`` and, per kind, the :class:`ClassifierResult` of the finest level.
    """
    import torch

    if isinstance(kinds, str) or not all(k in SWISS_ROLL_SETUPS for k in kinds):
        raise ValueError(f"kinds must be a sequence of names from {tuple(SWISS_ROLL_SETUPS)}, got {kinds!r}")
    levels = check_int(levels, "levels", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    Yt, lt, Yv, lv = swiss_roll(n)
    rows, results = [], {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for kind in kinds:
            res = train_classifier(Yt, lt, kind=kind, levels=levels, steps=steps, Y_val=Yv, labels_val=lv,
                                   **SWISS_ROLL_COMMON, **SWISS_ROLL_SETUPS[kind])
            for level, N in enumerate(res.num_layers):
                rows.append({"kind": kind, "level": level, "num_layers": N, "h": res.T / N,
                             "loss_start": float(res.loss_history[level][0]),
                             "loss_end": float(res.loss_history[level][-1]),
                             "train_accuracy": res.train_accuracy[level], "val_accuracy": res.val_accuracy[level],
                             "seconds": res.seconds[level]})
            results[kind] = res
    finally:
        torch.set_num_threads(threads)
    return rows, results


def float16_study(kinds=("resnet", "antisymmetric"), depths=(4, 16, 64, 256), seeds=range(20), *, T=5.0,
                  dtype="float16", n=32):
    """Forward and gradient rounding errors vs depth at fixed ``T``, for random time-constant weights.

    Serves Chapter 7, §7.7. For each seed: ``K = G/2`` with ``G`` a standard Gaussian 4×4 matrix,
    ``b = 0``, the same ``K`` in every layer and for every kind; inputs :func:`swiss_roll` ``(n)``
    (training half) padded to 4 features; classifier ``W`` standard Gaussian (4×2), ``μ = 0``; tanh.
    Each depth ``N`` uses ``h = T/N``; the errors are those of :func:`rounding_errors`.

    Returns
    -------
    list of dict
        Rows ``kind, num_layers, seed, forward_error, gradient_error``.
    """
    import torch

    Yt, lt, _, _ = swiss_roll(n)
    Y0 = _pad(Yt, 4, "Y")
    rows = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in seeds:
            rng = np.random.default_rng(check_int(seed, "seeds[i]", minimum=0))
            K = rng.standard_normal((4, 4)) / 2
            W = rng.standard_normal((4, 2))
            for kind in kinds:
                for N in depths:
                    N = check_int(N, "depths[i]", minimum=1)
                    fe, ge = rounding_errors(Y0, lt, np.repeat(K[None], N, axis=0), np.zeros(N), T / N, W,
                                             np.zeros(2), kind=kind, dtype=dtype)
                    rows.append({"kind": kind, "num_layers": N, "seed": int(seed), "forward_error": fe,
                                 "gradient_error": ge})
    finally:
        torch.set_num_threads(threads)
    return rows


def _write_csv(path, rows):
    import csv

    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})


def read_rows(path):
    """Rows of a study CSV written by ``python -m nnlib.stable`` (numbers converted back).

    Serves Chapter 7, §7.6–§7.7. Floats are written with ``repr``, so they read back bit for bit.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    list of dict
    """
    import csv

    def convert(value):
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                pass
        return value

    with open(path, newline="") as f:
        return [{k: convert(v) for k, v in row.items()} for row in csv.DictReader(f)]


def read_classifiers(path):
    """The trained classifiers stored in ``ch7_swiss_roll.json``, as :class:`ClassifierResult` s.

    Serves Chapter 7, §7.6 (the decision regions).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict
        ``kind -> ClassifierResult`` (``loss_history`` empty; everything else as trained).
    """
    import json

    with open(path) as f:
        data = json.load(f)
    out = {}
    for kind, r in data["classifiers"].items():
        out[kind] = ClassifierResult(kind, r["activation"], r["gamma"], r["T"], r["h"], r["width"],
                                     np.array(r["K"]), np.array(r["b"]), np.array(r["W"]), np.array(r["mu"]),
                                     num_layers=r["num_layers"], train_accuracy=r["train_accuracy"],
                                     val_accuracy=r["val_accuracy"], seconds=r["seconds"])
    return out


def write_study(out_dir, *, quick=False):
    """Run both studies and write ``ch7_swiss_roll.{csv,json}`` and ``ch7_float16.{csv,json}``.

    Serves Chapter 7, §7.6–§7.7: ``python -m nnlib.stable --out chapters/data`` (a few minutes on
    two cores; the command line selects MKL's reproducible code path, see :func:`main`); ``--quick`` runs a small version (2 levels, 20 iterations, 2 seeds, depths 4 and 16)
    into another directory, for a smoke test.

    Parameters
    ----------
    out_dir : str or pathlib.Path
    quick : bool

    Returns
    -------
    list of pathlib.Path
        The four files written.
    """
    import json
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    roll_kw = {"levels": 2, "steps": 20} if quick else {"levels": 3, "steps": 100}
    f16_kw = {"depths": (4, 16), "seeds": range(2)} if quick else {"depths": (4, 16, 64, 256), "seeds": range(20)}
    start = time.perf_counter()
    rows, results = swiss_roll_study(**roll_kw)
    roll_seconds = time.perf_counter() - start
    _write_csv(out / "ch7_swiss_roll.csv", rows)
    classifiers = {kind: {"activation": r.activation, "gamma": r.gamma, "T": r.T, "h": r.h, "width": r.width,
                          "K": r.K.tolist(), "b": r.b.tolist(), "W": r.W.tolist(), "mu": r.mu.tolist(),
                          "num_layers": r.num_layers, "train_accuracy": r.train_accuracy,
                          "val_accuracy": r.val_accuracy, "seconds": r.seconds} for kind, r in results.items()}
    config = {"command": "python -m nnlib.stable" + (" --quick" if quick else ""), "data": "swiss_roll(256)",
              "setups": SWISS_ROLL_SETUPS, "common": SWISS_ROLL_COMMON, **roll_kw, "seconds": roll_seconds,
              "environment": environment(torch_threads_per_run=1)}
    (out / "ch7_swiss_roll.json").write_text(json.dumps({"config": config, "classifiers": classifiers}, indent=1))
    start = time.perf_counter()
    f16 = float16_study(**f16_kw)
    _write_csv(out / "ch7_float16.csv", f16)
    config = {"command": config["command"], "function": "float16_study", "kinds": ["resnet", "antisymmetric"],
              "depths": list(f16_kw["depths"]), "seeds": list(f16_kw["seeds"]), "T": 5.0, "dtype": "float16",
              "data": "swiss_roll(32) training half, padded to 4", "seconds": time.perf_counter() - start,
              "environment": environment(torch_threads_per_run=1)}
    (out / "ch7_float16.json").write_text(json.dumps(config, indent=1))
    return [out / f"ch7_{name}.{ext}" for name in ("swiss_roll", "float16") for ext in ("csv", "json")]


def main(argv=None):
    """Command line: ``python -m nnlib.stable [--quick] --out DIR`` (see :func:`write_study`).

    Selects MKL's reproducible code path, ``MKL_CBWR=COMPATIBLE``, unless ``MKL_CBWR`` is already set,
    before torch is loaded. MKL (torch's BLAS and vector math: the products and ``tanh`` of the layers,
    the dot products of L-BFGS) otherwise picks its kernels by the CPU, and 100 L-BFGS iterations
    amplify the last-bit differences into different final losses; this path gives the same bits on
    every x86-64 CPU, so the committed tables can be re-run anywhere (``tests/test_stable_study.py``).
    """
    import argparse
    import os
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("MKL_CBWR", "COMPATIBLE")
    import torch

    torch.set_num_threads(1)   # as recorded (torch_threads_per_run=1): threads change the order of sums

    parser = argparse.ArgumentParser(prog="python -m nnlib.stable", description=write_study.__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output directory (the book's is chapters/data)")
    parser.add_argument("--quick", action="store_true", help="a small smoke-test version")
    args = parser.parse_args(argv)
    for path in write_study(args.out, quick=args.quick):
        print(path)


if __name__ == "__main__":
    main()
