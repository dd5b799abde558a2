"""Seeding, so that every stored notebook output is reproducible byte for byte.

Every chapter calls :func:`set_seed` in its first code cell. It seeds Python's ``random``, numpy,
torch and nnlib's own default generator (:func:`default_generator`), which every nnlib function
uses when it is called with ``seed=None`` or ``generator=None`` — so after ``set_seed(0)`` those
calls give the same results in every process.
"""
from __future__ import annotations

import os
import random

import numpy as np

from ._validate import check_int

__all__ = ["set_seed", "default_generator"]

# nnlib's default generator: fresh OS entropy until set_seed() seeds it.
_DEFAULT_GENERATOR = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """nnlib's own numpy generator, used wherever ``seed=None`` or ``generator=None`` is passed.

    Every chapter, via :func:`set_seed` in its first cell. Unseeded (OS entropy) until
    :func:`set_seed` is called; after ``set_seed(s)`` it restarts from ``s``, so the sequence of
    draws in a process is reproducible.

    Returns
    -------
    numpy.random.Generator
        The generator itself (not a copy): drawing from it advances nnlib's default stream.

    Examples
    --------
    >>> _ = set_seed(0)
    >>> float(default_generator().random()) == float(np.random.default_rng(0).random())
    True
    """
    return _DEFAULT_GENERATOR


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed ``random``, numpy, torch and nnlib's default generator; one torch thread; deterministic torch.

    Every chapter, first code cell.

    Parameters
    ----------
    seed : int
        Non-negative seed, at most ``2**32 - 1``.

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``, for code that prefers an explicit generator.

    Notes
    -----
    nnlib's :func:`default_generator` restarts from ``seed``: nnlib functions called with
    ``seed=None`` / ``generator=None`` (``random_network``, numpy stochastic ``round_to``, …) are then
    reproducible. Also seeds numpy's legacy global state (``np.random.seed``) for third-party code that uses it.
    torch is imported only if it is installed. One thread removes the run-to-run variation that
    multithreaded reductions can introduce; printed floats are still rounded in the chapters.
    """
    global _DEFAULT_GENERATOR
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    _DEFAULT_GENERATOR = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only; chapters sort sets anyway
    try:
        import torch
    except ImportError:  # nnlib works without torch; only the torch parts need it
        pass
    else:
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)
