"""Reference gradients of a ReLU network: float64, or exact in rational arithmetic.

Chapter 3, "Floating point and backpropagation" ({prf:ref}`alg-backpropagation`). The gradients computed in
simulated low precision (:func:`nnlib.precision.simulated`) are compared with these references:
float64 is within ~1e-16 of the truth for the book's networks; ``exact=True`` removes even that doubt
for small networks, since every float is a rational number and backpropagation only adds and multiplies.
:func:`float_backprop` computes the gradient in real float32 or float64 arithmetic with every sum in a
fixed order: the rounding error it shows is the same on every CPU.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._validate import as_points, as_real_array, check_choice, check_flag, check_format, check_network
from .precision import FLOAT32, FLOAT64, fixed_order_matmul

__all__ = ["reference_gradient", "float_backprop", "loss_sharpness"]

_LOSSES = ("mse", "sse")


def _data(net, x, y):
    """Inputs ``(n, N_0)`` and targets ``(n, N_L)`` as float64, checked against ``net`` (n >= 1)."""
    x, _ = as_points(x, net.widths[0], "x")
    n, n_out = x.shape[0], net.widths[-1]
    if n == 0:
        raise ValueError("x must contain at least one point")
    y = as_real_array(y, "y")
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.shape != (n, n_out):
        alt = f" or ({n},)" if n_out == 1 else ""
        raise ValueError(f"y must have shape ({n}, {n_out}){alt}, got {y.shape}")
    return x, y


def _backprop_numpy(layers, x, y, scale, zero, matmul=np.matmul):
    """Backpropagation with numpy arrays of any element type (float64, float32, Fraction, mpmath ``mpf``).

    Shapes: ``x`` (n, N_0), ``y`` (n, N_L), ``A_j`` (N_j, N_{j-1}), ``b_j`` (N_j,). ``scale`` is the
    factor of ``dL/dz_L = scale · (z_L - y)``; ``zero`` the zero of the element type. ``matmul`` forms
    every product, and the sums over the batch too (as a product with a row of ones) unless it is
    ``np.matmul``. Returns the output ``z_L`` and the ``(grad_A, grad_b)`` pairs.
    """
    hs, zs = [x], []
    for j, (A, b) in enumerate(layers):
        z = matmul(hs[-1], A.T) + b
        zs.append(z)
        if j < len(layers) - 1:
            hs.append(np.where(z > 0, z, zero))
    g = (zs[-1] - y) * scale                      # dL/dz_L, shape (n, N_L)
    ones = None if matmul is np.matmul else np.ones((1, x.shape[0]), dtype=x.dtype)
    grads = []
    for j in range(len(layers) - 1, -1, -1):
        grads.append((matmul(g.T, hs[j]), g.sum(axis=0) if ones is None else matmul(ones, g)[0]))
        if j > 0:
            # ϱ'(z) = [z > 0]: the derivative at 0 is taken as 0, as torch's ReLU backward does
            g = np.where(zs[j - 1] > 0, matmul(g, layers[j][0]), zero)
    return zs[-1], grads[::-1]


def _backprop_flint(layers, x, y, scale):
    """The same recursion, exactly, with ``flint.fmpz_mat`` integer matrices.

    Every float is a dyadic rational ``p / 2^k``, and backpropagation only adds and multiplies, so every
    intermediate matrix is ``Z · 2^-e`` with an *integer* matrix ``Z`` and one exponent ``e``. Integer
    matrices need no gcds and their entrywise ReLU masking is ~10× cheaper than with ``fmpq_mat`` (the
    whole gradient ~2× faster); only the final gradients become Fractions (``scale``, e.g. ``2/n`` for
    mse, is applied there).
    """
    import flint

    zero = flint.fmpz(0)

    def dyadic(a):                       # float64 array -> (Z, e) with a = Z / 2^e exactly
        a = np.asarray(a, dtype=np.float64).reshape(a.shape[0], -1)
        pairs = [v.as_integer_ratio() for v in a.ravel().tolist()]   # q is a power of two
        e = max(q.bit_length() for _, q in pairs) - 1
        return flint.fmpz_mat(a.shape[0], a.shape[1], [p << (e + 1 - q.bit_length()) for p, q in pairs]), e

    def mul(X, Y):
        return X[0] * Y[0], X[1] + Y[1]

    def add(X, Y, sign=1):               # bring both to the larger exponent, then add integers
        e = max(X[1], Y[1])
        return X[0] * (1 << (e - X[1])) + Y[0] * (sign << (e - Y[1])), e

    def masked(X, mask):                 # entrywise X where mask, else 0 (ReLU and its derivative)
        Z = X[0]
        return flint.fmpz_mat(Z.nrows(), Z.ncols(), [v if m else zero for v, m in zip(Z.entries(), mask)]), X[1]

    def T(X):
        return X[0].transpose(), X[1]

    n = x.shape[0]
    ones = (flint.fmpz_mat(n, 1, [1] * n), 0)
    As = [dyadic(A) for A, _ in layers]
    bs = [dyadic(b.reshape(1, -1)) for _, b in layers]      # row vectors (1, N_j)
    hs, masks = [dyadic(x)], []
    z = None
    for j in range(len(layers)):
        z = add(mul(hs[-1], T(As[j])), mul(ones, bs[j]))
        if j < len(layers) - 1:
            masks.append([v > zero for v in z[0].entries()])
            hs.append(masked(z, masks[-1]))
    g = add(z, dyadic(y), sign=-1)                             # z_L - y; dL/dz_L = scale * g
    grads = []
    for j in range(len(layers) - 1, -1, -1):
        grads.append((mul(T(g), hs[j]), mul(T(g), ones)))
        if j > 0:
            g = masked(mul(g, As[j]), masks[j - 1])

    def to_fractions(X, shape):
        num, den = scale.numerator, scale.denominator << X[1]
        out = np.empty(X[0].nrows() * X[0].ncols(), dtype=object)
        out[:] = [Fraction(int(v) * num, den) for v in X[0].entries()]
        return out.reshape(shape)

    return [(to_fractions(gA, A.shape), to_fractions(gb, b.shape)) for (gA, gb), (A, b) in zip(grads[::-1], layers)]


def _as_fractions(a):
    out = np.empty(a.size, dtype=object)
    out[:] = [Fraction(v) for v in a.ravel().tolist()]   # Fraction(float) is exact
    return out.reshape(a.shape)


def _flint_available() -> bool:
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


def reference_gradient(net, x, y, *, loss: str = "mse", exact: bool = False, backend: str = "auto"):
    """Gradient of the training loss with respect to every weight and bias of ``net``.

    Chapter 3, {prf:ref}`alg-backpropagation` (the reference for {prf:ref}`def-simulated-precision`).
    The loss is ``mse``: ``L = (1/(n N_L)) Σ_i ||R(Φ)(x_i) - y_i||²`` (``torch.nn.functional.mse_loss``),
    or ``sse``: ``L = ½ Σ_i ||R(Φ)(x_i) - y_i||²``. ReLU's derivative at 0 is taken as 0 (as in torch).

    Parameters
    ----------
    net : ReLUNetwork
        Network with ``L`` layers ``(A_j, b_j)``, ``A_j`` of shape ``(N_j, N_{j-1})``.
    x : array_like, shape ``(n, N_0)``, or ``(n,)`` when ``N_0 == 1``
        Inputs, ``n >= 1`` (finite reals; float64 values are taken exactly when ``exact=True``).
    y : array_like, shape ``(n, N_L)``, or ``(n,)`` when ``N_L == 1``
        Targets.
    loss : {"mse", "sse"}, keyword-only
    exact : bool, default False, keyword-only
        ``False``: float64 arithmetic. ``True``: exact rational arithmetic on the float64 values of the
        parameters and data (cost grows with the bit length of the rationals: for small networks/batches).
    backend : {"auto", "flint", "fraction"}, keyword-only
        For ``exact=True``: ``python-flint`` integer matrices (``fmpz_mat`` on the dyadic numerators; much
        faster; used by ``"auto"`` when installed) or the stdlib ``fractions.Fraction`` in numpy object
        arrays. Both give identical results.

    Returns
    -------
    tuple of (grad_A, grad_b) pairs
        Same structure as ``net.layers``: ``grad_A`` of shape ``(N_j, N_{j-1})``, ``grad_b`` of shape
        ``(N_j,)``; dtype float64, or object arrays of :class:`fractions.Fraction` when ``exact=True``
        (convert with ``.astype(float)``, which rounds correctly).

    Raises
    ------
    TypeError
        ``net`` is not a ReLUNetwork, ``exact`` not a bool, ``x``/``y`` not real arrays.
    ValueError
        Wrong shapes, ``n == 0``, non-finite data, unknown ``loss`` or ``backend``.
    ImportError
        ``backend="flint"`` without python-flint installed.

    Examples
    --------
    >>> import numpy as np
    >>> from nnlib import ReLUNetwork
    >>> net = ReLUNetwork([(np.array([[2.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))])
    >>> (gA1, gb1), (gA2, gb2) = reference_gradient(net, [1.0], [0.0], loss="sse")
    >>> float(gA1[0, 0]), float(gA2[0, 0])   # L = ½ (A2 A1 x)², dL/dA1 = A2² A1 x², dL/dA2 = A2 A1² x²
    (2.0, 4.0)
    """
    check_network(net)
    loss = check_choice(loss, "loss", _LOSSES)
    exact = check_flag(exact, "exact")
    backend = check_choice(backend, "backend", ("auto", "flint", "fraction"))
    x, y = _data(net, x, y)
    n, n_out = x.shape[0], net.widths[-1]

    scale = Fraction(2, n * n_out) if loss == "mse" else Fraction(1)
    layers = net.layers
    if not exact:
        return tuple(_backprop_numpy(layers, x, y, float(scale), 0.0)[1])
    if backend == "flint" or backend == "auto" and _flint_available():
        return tuple(_backprop_flint(layers, x, y, scale))   # ImportError if flint is missing
    frac_layers = [(_as_fractions(A), _as_fractions(b)) for A, b in layers]
    return tuple(_backprop_numpy(frac_layers, _as_fractions(x), _as_fractions(y), scale, Fraction(0))[1])


def float_backprop(net, x, y, fmt="float32", *, loss: str = "mse"):
    """Output and loss gradient of ``net`` computed in IEEE float32 or float64, in a fixed order.

    Chapter 3, "Floating point and backpropagation": {prf:ref}`alg-backpropagation` run in floating
    point, with the standard model {prf:ref}`def-standard-model` applied to every single operation.
    Parameters and data are rounded to ``fmt`` first; every matrix product is
    :func:`nnlib.precision.fixed_order_matmul` and every sum over the batch is taken left to right.
    So the result is the same on every CPU, unlike a torch or numpy computation, whose BLAS picks the
    summation order (and hence the last bits) by the machine. Compare with
    :func:`reference_gradient` (``exact=True``) to measure the rounding error.

    Parameters
    ----------
    net : ReLUNetwork
    x, y : array_like
        Inputs and targets, as in :func:`reference_gradient`.
    fmt : Format or str, default "float32"
        ``FLOAT32`` or ``FLOAT64`` (for other formats, see :func:`nnlib.precision.simulated`).
    loss : {"mse", "sse"}, keyword-only
        As in :func:`reference_gradient`.

    Returns
    -------
    output : numpy.ndarray, shape ``(n, N_L)``
        ``R(Φ)(x)`` as computed, in ``fmt``'s dtype.
    grads : tuple of (grad_A, grad_b) pairs
        Same structure as ``net.layers``, in ``fmt``'s dtype.

    Raises
    ------
    TypeError
        ``net`` is not a ReLUNetwork, ``fmt`` not a Format or name, ``x``/``y`` not real arrays.
    ValueError
        ``fmt`` neither float32 nor float64; wrong shapes, ``n == 0``, non-finite data, unknown ``loss``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnlib import ReLUNetwork
    >>> net = ReLUNetwork([(np.array([[2.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))])
    >>> out, ((gA1, gb1), (gA2, gb2)) = float_backprop(net, [1.0], [0.0], "float32", loss="sse")
    >>> out.dtype, float(gA1[0, 0]), float(gA2[0, 0])      # as in reference_gradient's example
    (dtype('float32'), 2.0, 4.0)
    """
    check_network(net)
    fmt = check_format(fmt)
    if fmt not in (FLOAT32, FLOAT64):
        raise ValueError(f"fmt must be float32 or float64, got {fmt.name}; for other formats use nnlib.precision.simulated")
    loss = check_choice(loss, "loss", _LOSSES)
    x, y = _data(net, x, y)
    dtype = np.float32 if fmt == FLOAT32 else np.float64
    scale = dtype(2 / (x.shape[0] * net.widths[-1]) if loss == "mse" else 1.0)   # rounded once into fmt
    layers = [(A.astype(dtype), b.astype(dtype)) for A, b in net.layers]
    out, grads = _backprop_numpy(layers, x.astype(dtype), y.astype(dtype), scale, dtype(0), fixed_order_matmul)
    return out, tuple(grads)


def loss_sharpness(net, x, y) -> float:
    """Largest eigenvalue of the Hessian of the mean squared loss with respect to all parameters.

    Serves Chapter 5, {numref}`sec-keep` ("Keep: starting at the constructions"): plain gradient
    descent with step size ``η`` is linearly unstable at a stationary point where
    ``η · loss_sharpness > 2`` (the error along the top eigenvector is multiplied by ``1 − ηλ`` per
    step), so a perturbation of the size of one rounding error grows there.

    Parameters
    ----------
    net : ReLUNetwork
        The network; its parameters are ordered layer by layer, ``A_j`` (row-major) then ``b_j``.
    x : array_like, shape ``(n, N_0)`` or ``(n,)`` when ``N_0 == 1``
        Input points.
    y : array_like, shape ``(n, N_L)`` or ``(n,)`` when ``N_L == 1``
        Targets.

    Returns
    -------
    float
        ``λ_max`` of the Hessian of ``(1/(n N_L)) Σ ‖Φ(x_i) − y_i‖²``, computed in float64 by torch
        autograd (second derivatives of the ReLU are taken as 0, as almost everywhere).

    Examples
    --------
    >>> import numpy as np
    >>> from nnlib import ReLUNetwork
    >>> net = ReLUNetwork([(np.array([[1.0]]), np.array([0.0]))])   # affine: H = 2 [[Σx², Σx], [Σx, n]] / n
    >>> round(loss_sharpness(net, [0.0, 1.0], [0.0, 1.0]), 6)        # eigenvalues of [[1, 1], [1, 2]]
    2.618034
    """
    import torch

    check_network(net)
    x, y = _data(net, x, y)
    shapes = [(A.shape, b.shape[0]) for A, b in net.layers]
    theta = torch.tensor(np.concatenate([np.concatenate([A.ravel(), b]) for A, b in net.layers]))
    X, Y = torch.from_numpy(x), torch.from_numpy(y)

    def loss(p):
        h, i = X, 0
        for j, ((rows, cols), nb) in enumerate(shapes):
            A = p[i:i + rows * cols].reshape(rows, cols)
            b = p[i + rows * cols:i + rows * cols + nb]
            i += rows * cols + nb
            h = h @ A.T + b
            if j < len(shapes) - 1:
                h = torch.relu(h)
        return ((h - Y) ** 2).mean()

    H = torch.autograd.functional.hessian(loss, theta)
    return float(torch.linalg.eigvalsh(H).max())

