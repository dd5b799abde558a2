"""Pieces, regions, slopes and dead neurons of many networks at once: what training records.

Chapter 5, "The numerical study" (and Chapter 2's input derivatives). A thin face: both functions
are the knot-propagation engine of :mod:`nnlib.pieces` (one engine; float mode exact or refuses),
re-exported here under the names the chapters and :mod:`nnlib.training` use.
"""
from __future__ import annotations

from .pieces import batched_states, network_state

__all__ = ["network_state", "batched_states"]
