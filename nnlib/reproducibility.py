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

__all__ = ["set_seed", "default_generator", "environment", "data_file", "DATA_URL"]

#: Where the committed study tables live online (used only without a source checkout, e.g. on Colab).
DATA_URL = "https://raw.githubusercontent.com/nnlib-book/relu-trainability/main/chapters/data/"

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


def environment(**extra) -> dict:
    """The software and machine a study ran on, for the JSON written beside its committed table.

    Serves the study commands of Chapters 5–8 (``python -m nnlib.experiments --chapter5``,
    ``python -m nnlib.initialization``, ``python -m nnlib.stable``, ``python -m nnlib.firenet``).

    Parameters
    ----------
    **extra
        Further entries (e.g. ``n_jobs=2``).

    Returns
    -------
    dict
        nnlib, Python, numpy and torch versions, platform, machine, CPU count, torch threads, the
        ``MKL_CBWR`` setting (MKL's code path: see :func:`nnlib.stable.main`) and the UTC date, plus ``extra``.
    """
    import platform
    import sys
    import time

    import torch

    return {"nnlib": sys.modules[__package__].__version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "platform": platform.platform(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "mkl_cbwr": os.environ.get("MKL_CBWR"),
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **extra}


def data_file(name: str):
    """Path of the committed data file ``chapters/data/<name>`` of the book.

    Serves Chapters 5–8, which read their study tables through it. The file of the source checkout
    nnlib is installed from (a clone, Binder, an editable install) is used; without a checkout
    (Colab) the file is downloaded once from :data:`DATA_URL` into a temporary folder. This is the
    only place where nnlib touches the network, and only when the file is not on disk.

    Parameters
    ----------
    name : str
        A file name such as ``"ch5_study.csv"`` (no folders).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the file is neither in the checkout nor downloadable (the message says how to make it).
    """
    import tempfile
    from pathlib import Path

    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"name must be a plain file name such as 'ch5_study.csv', got {name!r}")
    local = Path(__file__).resolve().parents[1] / "chapters" / "data" / name
    if local.exists():
        return local
    cached = Path(tempfile.gettempdir()) / "nnlib-data" / name
    if not cached.exists():
        import urllib.request

        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(DATA_URL + name, timeout=30) as response:
                data = response.read()
        except OSError as exc:
            raise FileNotFoundError(f"{name}: not in a source checkout ({local} is missing) and {DATA_URL + name} "
                                    f"could not be read ({exc}); clone the book's repository and run its study "
                                    f"command (see the chapter)") from exc
        cached.write_bytes(data)
    return cached

