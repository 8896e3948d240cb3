"""Toy MINERvA detector simulation: neutrino events as hit files in the input contract.

Public API: :class:`PhysicsModel` (knobs), :func:`generate` (events as branches),
:func:`write_root` (atomic ROOT output) and :func:`simulate_file` (one file of a sample).
"""

from .generator import BRANCHES, CHUNK_EVENTS, generate, simulate_file
from .models import PhysicsModel
from .writer import write_root

__all__ = ["BRANCHES", "CHUNK_EVENTS", "PhysicsModel", "generate", "simulate_file", "write_root"]
