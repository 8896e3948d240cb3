"""Step 1: clusters of contiguous strips above threshold in every plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerva_vertex.tracking.frame import COLUMN_Z, STRIP_T


@dataclass
class Clusters:
    """Clusters of one view in a chunk, sorted by (event, column, strip)."""

    event: np.ndarray  # int64, event index within the chunk
    column: np.ndarray  # int64, image column (plane of the view, z order)
    z: np.ndarray  # float64, mm
    t: np.ndarray  # float64, mm, energy-weighted transverse coordinate
    t_low: np.ndarray  # float64, mm, centre of the first strip
    t_high: np.ndarray  # float64, mm, centre of the last strip
    n_strips: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.event)


def find_clusters(energy_mev: np.ndarray, view: int, min_energy_mev: float) -> Clusters:
    """Clusters of contiguous strips above threshold; ``energy_mev`` is (N, 127, W)."""
    above = energy_mev > min_energy_mev
    event, column, strip = np.nonzero(above.transpose(0, 2, 1))  # C order: event, column, strip
    energy = energy_mev[event, strip, column].astype(np.float64)
    new = np.ones(len(event), dtype=bool)
    new[1:] = (event[1:] != event[:-1]) | (column[1:] != column[:-1]) | (strip[1:] != strip[:-1] + 1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(event))[: len(starts)] - 1
    energy_sum = np.add.reduceat(energy, starts) if len(starts) else np.zeros(0)
    weighted_t = np.add.reduceat(energy * STRIP_T[strip], starts) if len(starts) else np.zeros(0)
    column = column[starts].astype(np.int64)
    return Clusters(
        event=event[starts].astype(np.int64),
        column=column,
        z=COLUMN_Z[view][column],
        t=weighted_t / np.where(energy_sum > 0, energy_sum, 1.0),
        t_low=STRIP_T[strip[starts]],
        t_high=STRIP_T[strip[ends]],
        n_strips=(ends - starts + 1).astype(np.int64),
    )
