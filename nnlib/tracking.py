"""Exact pieces, regions and slopes of many networks at once: what training records.

Chapter 5, "The numerical study" (and Chapter 2's input derivatives). A thin face: the
propagation is the one engine of :mod:`nnlib.pieces` (:func:`nnlib.pieces.network_state`,
:func:`nnlib.pieces.batched_states`), kept importable from here for :mod:`nnlib.training`.
"""
from __future__ import annotations

from .pieces import batched_states, network_state

__all__ = ["network_state", "batched_states"]
