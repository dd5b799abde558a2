"""nnlib — companion package of the book *Trainability limits of deep ReLU networks*.

The names a chapter uses most are re-exported here; everything else is imported from its
module, so a reader sees where it lives (``nnlib.pieces``, ``nnlib.theory``, …).
"""
from .networks import ReLUNetwork
from .pieces import breakpoints, count_activation_regions, count_pieces
from .reproducibility import set_seed

__version__ = "0.1.0"

__all__ = ["ReLUNetwork", "breakpoints", "count_pieces", "count_activation_regions", "set_seed", "__version__"]
