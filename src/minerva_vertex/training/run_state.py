"""What a training run carries from epoch to epoch and into its checkpoint, besides the
weights and the optimiser: the epochs done, the epoch under way, the selected epoch and
the metrics; and when the next checkpoint is due."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class EpochProgress:
    """How far an epoch got: steps done and its running sums (plain numbers)."""

    steps: int = 0
    label_loss: float = 0.0
    correct: float = 0.0
    domain_loss: float = 0.0
    domain_correct: float = 0.0
    n_source: int = 0
    n_domain: int = 0
    seconds: float = 0.0


@dataclass
class RunState:
    """Everything of a training run, besides weights and optimiser, that a resume needs."""

    epoch: int = 0  # epochs complete
    partial: EpochProgress | None = None  # the epoch under way, when saved mid-epoch
    best_state: dict | None = None
    best_epoch: int = -1
    # The selected epoch's figure of merit, lower is better: its source validation loss or
    # (selection: dev) its DEV risk (validation.SELECTION_COLUMN).
    best_selection_score: float = math.inf
    metrics: list[dict] = field(default_factory=list)

    def to_checkpoint(self) -> dict:
        return {
            "epoch": self.epoch,
            "partial": None if self.partial is None else dataclasses.asdict(self.partial),
            "best_state": self.best_state,
            "best_epoch": self.best_epoch,
            "best_selection_score": self.best_selection_score,
            "metrics": self.metrics,
        }

    @classmethod
    def from_checkpoint(cls, state: dict) -> "RunState":
        partial = state.get("partial")
        # Older checkpoints call the score best_val_loss, whatever the selection; they resume alike.
        best = state["best_selection_score"] if "best_selection_score" in state else state["best_val_loss"]
        return cls(
            state["epoch"], None if partial is None else EpochProgress(**partial), state["best_state"],
            state["best_epoch"], best, list(state["metrics"]),
        )


class PeriodicSave:
    """Calls ``save`` when ``interval_s`` have passed since the last save (0: every call)."""

    def __init__(self, save: Callable[[RunState], None], interval_s: float):
        self.save, self.interval_s = save, interval_s
        self.last = time.monotonic()

    def saved(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.interval_s

    def save_now(self, run: RunState) -> None:
        self.save(run)
        self.saved()
