"""Seeding, so that every stored notebook output is reproducible byte for byte.

Every chapter calls :func:`set_seed` in its first code cell.
"""
from __future__ import annotations

import os
import random

import numpy as np

from ._validate import check_int


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed ``random``, numpy and torch; one torch thread; deterministic torch algorithms.

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
    Also seeds numpy's legacy global state (``np.random.seed``) for third-party code that uses it.
    torch is imported only if it is installed. One thread removes the run-to-run variation that
    multithreaded reductions can introduce; printed floats are still rounded in the chapters.
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
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
