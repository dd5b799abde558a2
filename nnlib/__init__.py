"""nnlib — companion package of the book *Trainability limits of deep ReLU networks*.

``import nnlib`` is cheap: it imports no submodule (and never torch). Every module is loaded on
first use (PEP 562), so after ``import nnlib`` the whole API is reachable, e.g.
``nnlib.precision.round_to`` or ``nnlib.constructions.sawtooth``. The names a chapter uses most are
also available directly: ``nnlib.ReLUNetwork``, ``nnlib.breakpoints``, ``nnlib.count_pieces``,
``nnlib.count_activation_regions`` and ``nnlib.set_seed``. The API reference page of the book lists
every public name, module by module.

Examples
--------
>>> import numpy as np
>>> import nnlib
>>> nnlib.precision.round_to(np.array([1 + 2**-11]), "float16").tolist()
[1.0]
"""
import importlib as _importlib
import importlib.util as _importlib_util

__version__ = "0.3.0"

#: Submodules, loaded on first attribute access. Modules still being written elsewhere are listed
#: only when their file exists.
_MODULES = ["networks", "pieces", "theory", "crossings", "constructions", "approximation", "precision",
            "gradients", "training", "updates", "experiments", "checks", "plotting", "widgets", "reproducibility",
            "stats"]
_MODULES += [m for m in ("stable", "firenet", "initialization") if _importlib_util.find_spec(f"{__name__}.{m}")]

#: Re-exported names and the module each comes from.
_REEXPORTS = {"ReLUNetwork": "networks", "breakpoints": "pieces", "count_pieces": "pieces",
              "count_activation_regions": "pieces", "set_seed": "reproducibility"}

__all__ = ["ReLUNetwork", "breakpoints", "count_pieces", "count_activation_regions", "set_seed", "__version__",
           *_MODULES]


def __getattr__(name: str):
    if name in _MODULES:
        return _importlib.import_module(f"{__name__}.{name}")   # also sets the attribute on the package
    if name in _REEXPORTS:
        value = getattr(_importlib.import_module(f"{__name__}.{_REEXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({"__version__", *_MODULES, *_REEXPORTS})
