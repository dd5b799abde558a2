"""ReLU networks as sequences of matrix–vector tuples.

Chapter 1, section "Networks and their realisation" ({prf:ref}`def-relu-network`).

A network with ``L`` layers is ``Φ = ((A_1, b_1), …, (A_L, b_L))`` with ``A_j`` of shape
``(N_j, N_{j-1})`` and ``b_j`` of shape ``(N_j,)``. Its realisation is

    x^(0) = x,   x^(j) = ϱ(A_j x^(j-1) + b_j)  for j = 1, …, L-1,   R(Φ)(x) = A_L x^(L-1) + b_L,

with the ReLU ``ϱ(t) = max(0, t)`` applied entrywise after every layer but the last.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from ._validate import as_generator, as_points, as_real_array, check_flag, check_int, check_network, check_positive
from .precision import fixed_order_matmul

__all__ = ["ReLUNetwork", "compose", "random_network"]


class ReLUNetwork:
    """A fully connected ReLU network ``Φ = ((A_1, b_1), …, (A_L, b_L))``.

    Chapter 1, {prf:ref}`def-relu-network`; checked by ``tests/test_networks.py``.

    Parameters
    ----------
    layers : sequence of (A, b) pairs
        ``A_j`` is a real array of shape ``(N_j, N_{j-1})`` and ``b_j`` of shape ``(N_j,)``;
        integer or floating dtypes are accepted and stored as float64 (read-only copies).

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence of pairs, or an entry has a non-real dtype.
    ValueError
        If ``layers`` is empty, shapes do not chain, or an entry is nan/inf. The message names the
        layer (1-based, as in the book) and the argument (``A`` or ``b``).

    Examples
    --------
    >>> import numpy as np
    >>> absolute = ReLUNetwork([(np.array([[1.0], [-1.0]]), np.zeros(2)),
    ...                         (np.array([[1.0, 1.0]]), np.zeros(1))])
    >>> absolute(np.array([-2.0, 3.0]))
    array([2., 3.])
    """

    def __init__(self, layers: Sequence):
        if isinstance(layers, ReLUNetwork):
            layers = layers.layers
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers must be a list of (A, b) pairs, got {type(layers).__name__}")
        if len(layers) == 0:
            raise ValueError("layers must contain at least one (A, b) pair")
        checked = []
        for j, pair in enumerate(layers, start=1):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise TypeError(f"layer {j}: expected a pair (A, b), got {type(pair).__name__}")
            A = as_real_array(pair[0], f"layer {j}: A", ndim=2)
            b = as_real_array(pair[1], f"layer {j}: b", ndim=1)
            if A.shape[0] == 0 or A.shape[1] == 0:
                raise ValueError(f"layer {j}: A must have at least one row and column, got shape {A.shape}")
            if b.shape[0] != A.shape[0]:
                raise ValueError(
                    f"layer {j}: b has shape {b.shape} but A has {A.shape[0]} rows; b must have shape ({A.shape[0]},)"
                )
            if checked and A.shape[1] != checked[-1][0].shape[0]:
                raise ValueError(
                    f"layer {j}: A has {A.shape[1]} columns but layer {j - 1} has {checked[-1][0].shape[0]} outputs"
                )
            A.setflags(write=False)
            b.setflags(write=False)
            checked.append((A, b))
        self._layers = tuple(checked)

    # ----------------------------------------------------------------- structure
    @property
    def layers(self) -> tuple:
        """The tuples ``((A_1, b_1), …, (A_L, b_L))`` as read-only float64 arrays."""
        return self._layers

    @functools.cached_property
    def max_abs_weights(self) -> tuple:
        """The largest magnitude of a weight and of a bias in each layer, as Python floats.

        A tuple ``((max|A_1|, max|b_1|), …, (max|A_L|, max|b_L|))``, computed once (the arrays are
        read-only).

        Float piece counting (Chapter 1, {prf:ref}`alg-knot-propagation`) bounds each layer's values
        and slopes with them, for its margins of uncertainty (:mod:`nnlib.pieces`).

        Examples
        --------
        >>> import numpy as np
        >>> ReLUNetwork([(np.array([[1.0], [-3.0]]), np.array([0.5, 0.0])),
        ...              (np.array([[2.0, 1.0]]), np.zeros(1))]).max_abs_weights
        ((3.0, 0.5), (2.0, 0.0))
        """
        return tuple((float(np.max(np.abs(A))), float(np.max(np.abs(b)))) for A, b in self._layers)

    @property
    def depth(self) -> int:
        """``L``, the number of affine layers (hidden layers plus the output layer)."""
        return len(self._layers)

    @property
    def widths(self) -> tuple:
        """``(N_0, N_1, …, N_L)``: input dimension, hidden widths, output dimension."""
        return (self._layers[0][0].shape[1],) + tuple(A.shape[0] for A, _ in self._layers)

    @property
    def num_parameters(self) -> int:
        """Number of weights and biases, ``Σ_j N_j (N_{j-1} + 1)``."""
        return int(sum(A.size + b.size for A, b in self._layers))

    @property
    def num_neurons(self) -> int:
        """Number of hidden neurons (ReLUs), ``N_1 + … + N_{L-1}``."""
        return int(sum(self.widths[1:-1]))

    def __repr__(self) -> str:
        return f"ReLUNetwork(widths={self.widths}, depth={self.depth}, num_parameters={self.num_parameters})"

    # ----------------------------------------------------------------- evaluation
    def _as_input(self, x) -> tuple[np.ndarray, bool]:
        return as_points(x, self.widths[0], "x")

    def pre_activations(self, x, *, fixed_order: bool = False) -> list:
        """Pre-activations ``z^(j) = A_j x^(j-1) + b_j`` of every layer at the points ``x``.

        Parameters
        ----------
        x : array_like, shape ``(n, N_0)``, or ``(n,)`` when ``N_0 == 1``
            Input points (real, finite).
        fixed_order : bool, default False, keyword-only
            ``True``: the products ``A_j x`` by :func:`nnlib.precision.fixed_order_matmul`, the same bits
            on every CPU (slower); ``False``: numpy's BLAS, whose last bits depend on the CPU.

        Returns
        -------
        list of numpy.ndarray
            ``L`` float64 arrays; entry ``j-1`` has shape ``(n, N_j)``. The last is the output.
        """
        h, _ = self._as_input(x)
        matmul = fixed_order_matmul if check_flag(fixed_order, "fixed_order") else np.matmul
        out = []
        for A, b in self._layers:
            z = matmul(h, A.T) + b
            out.append(z)
            h = np.maximum(z, 0.0)
        return out

    def __call__(self, x, *, fixed_order: bool = False) -> np.ndarray:
        """The realisation ``R(Φ)(x)``.

        Parameters
        ----------
        x : array_like, shape ``(n, N_0)``, or ``(n,)`` / scalar when ``N_0 == 1``
        fixed_order : bool, default False, keyword-only
            As in :meth:`pre_activations`: ``True`` gives the same bits on every CPU.

        Returns
        -------
        numpy.ndarray, float64
            Shape ``(n,)`` if ``N_0 == N_L == 1`` and ``x`` was 1-D or scalar, else ``(n, N_L)``.
        """
        _, flat = self._as_input(x)
        y = self.pre_activations(x, fixed_order=fixed_order)[-1]
        if flat and y.shape[1] == 1:
            return y[:, 0]
        return y

    def activation_pattern(self, x) -> np.ndarray:
        """On/off pattern of all hidden neurons at ``x`` (a neuron is on where its pre-activation is > 0).

        Returns
        -------
        numpy.ndarray of bool, shape ``(n, N_1 + … + N_{L-1})``
        """
        zs = self.pre_activations(x)[:-1]
        n = zs[-1].shape[0] if zs else np.atleast_1d(x).shape[0]
        if not zs:
            return np.zeros((n, 0), dtype=bool)
        return np.concatenate([z > 0 for z in zs], axis=1)

    # ----------------------------------------------------------------- torch
    def to_torch(self, dtype=None):
        """Return an equivalent ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` modules.

        Parameters
        ----------
        dtype : torch.dtype, optional
            Parameter dtype; default ``torch.float64``, which makes the round trip lossless.
        """
        import torch

        dtype = torch.float64 if dtype is None else dtype
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        modules = []
        for j, (A, b) in enumerate(self._layers, start=1):
            lin = torch.nn.Linear(A.shape[1], A.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.array(A)))
                lin.bias.copy_(torch.from_numpy(np.array(b)))
            modules.append(lin)
            if j < self.depth:
                modules.append(torch.nn.ReLU())
        return torch.nn.Sequential(*modules)

    @classmethod
    def from_torch(cls, module) -> "ReLUNetwork":
        """Build a network from a ``torch.nn.Sequential`` alternating ``Linear`` and ``ReLU``.

        The first and last modules must be ``Linear``; parameters are converted to float64
        exactly (every float32/float16/bfloat16 value is a float64 value).
        """
        import torch

        if not isinstance(module, torch.nn.Sequential):
            raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
        mods = list(module)
        if not mods or len(mods) % 2 == 0:
            raise ValueError("module must alternate Linear, ReLU, …, Linear (an odd number of modules)")
        layers = []
        for k, m in enumerate(mods):
            expected = torch.nn.Linear if k % 2 == 0 else torch.nn.ReLU
            if not isinstance(m, expected):
                raise ValueError(f"module[{k}] must be {expected.__name__}, got {type(m).__name__}")
            if k % 2 == 0:
                b = m.bias if m.bias is not None else torch.zeros(m.out_features)
                layers.append((m.weight.detach().to(torch.float64).numpy().copy(),
                               b.detach().to(torch.float64).numpy().copy()))
        return cls(layers)


def compose(outer: ReLUNetwork, inner: ReLUNetwork) -> ReLUNetwork:
    """The network realising ``R(outer) ∘ R(inner)``.

    The last affine layer of ``inner`` and the first of ``outer`` are merged into one affine layer,
    so the depth is ``outer.depth + inner.depth - 1`` and no ReLU is inserted between them.
    Chapter 1, {prf:ref}`lem-telgarsky-composition`.
    """
    check_network(outer, "outer")
    check_network(inner, "inner")
    if inner.widths[-1] != outer.widths[0]:
        raise ValueError(f"inner has {inner.widths[-1]} outputs but outer has {outer.widths[0]} inputs")
    (A1, b1), (AL, bL) = outer.layers[0], inner.layers[-1]
    merged = (A1 @ AL, A1 @ bL + b1)
    return ReLUNetwork(list(inner.layers[:-1]) + [merged] + list(outer.layers[1:]))


def random_network(widths: Sequence[int], seed=None, bias_std=None, *, init=None) -> ReLUNetwork:
    """A random network as at the start of training.

    By default (``init=None``, Chapter 1, section "Random networks at initialisation") ``A_j`` has
    i.i.d. entries ``N(0, 2 / N_{j-1})`` (He) and ``b_j`` i.i.d. ``N(0, bias_std²)``. With ``init``,
    weights and biases follow one of the laws of ``nnlib.initialization.INIT_LAWS`` (Chapter 6),
    e.g. ``init="he"``: all weights and biases i.i.d. ``N(0, 2/N_{j-1})``.

    Parameters
    ----------
    widths : sequence of int
        ``(N_0, N_1, …, N_L)``, at least two entries, each >= 1.
    seed : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same network. ``None`` draws from nnlib's
        default generator (:func:`nnlib.reproducibility.default_generator`), which
        :func:`nnlib.reproducibility.set_seed` seeds.
    bias_std : float, optional
        Standard deviation of the biases (>= 0) of the default law; default 0.1. Not allowed
        together with ``init``, whose law fixes the biases.
    init : str, optional
        A key of ``nnlib.initialization.INIT_LAWS``.

    Returns
    -------
    ReLUNetwork
        Depth ``L = len(widths) - 1``.

    Examples
    --------
    >>> random_network([1, 8, 8, 1], seed=0).widths
    (1, 8, 8, 1)
    >>> random_network([1, 3, 1], seed=0, init="he-zero-bias").layers[0][1].tolist()
    [0.0, 0.0, 0.0]
    """
    if not isinstance(widths, (list, tuple)) or len(widths) < 2:
        raise ValueError(f"widths must be a sequence (N_0, …, N_L) with at least two entries, got {widths!r}")
    widths = [check_int(w, f"widths[{k}]", minimum=1) for k, w in enumerate(widths)]
    rng = as_generator(seed, "seed")
    if init is not None:
        if bias_std is not None:
            raise ValueError(f"bias_std must not be given together with init={init!r}: the law fixes the biases")
        from .initialization import init_layers  # the laws of Chapter 6 live there (a higher floor)

        return ReLUNetwork(init_layers(widths, init, rng))
    bias_std = 0.1 if bias_std is None else check_positive(bias_std, "bias_std", allow_zero=True)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        A = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        b = rng.normal(0.0, bias_std, size=n_out) if bias_std > 0 else np.zeros(n_out)
        layers.append((A, b))
    return ReLUNetwork(layers)
