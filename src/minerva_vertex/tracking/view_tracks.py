"""Step 2: 2-D tracks of each view, a Hough peak at a time, refined by least-squares fits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerva_vertex import geometry as geo
from minerva_vertex.tracking.clusters import Clusters
from minerva_vertex.tracking.frame import STRIP_T, Z_REFERENCE_MM
from minerva_vertex.tracking.params import TrackingParams


@dataclass
class ViewTracks:
    """Up to K tracks per event of one view, padded: arrays (N, K)."""

    valid: np.ndarray  # bool
    slope: np.ndarray  # dt/dz
    t0: np.ndarray  # mm at Z_REFERENCE_MM
    z_first: np.ndarray  # mm, upstream plane
    z_last: np.ndarray  # mm, downstream plane
    n_planes: np.ndarray  # int64

    def at(self, z) -> np.ndarray:
        """Transverse coordinate of every track at z (broadcast with (N, K))."""
        return self.t0 + self.slope * (z - Z_REFERENCE_MM)

    @classmethod
    def empty(cls, n_events: int, k: int) -> ViewTracks:
        nan = np.full((n_events, k), np.nan)
        return cls(
            np.zeros((n_events, k), bool),
            nan.copy(),
            nan.copy(),
            nan.copy(),
            nan.copy(),
            np.zeros((n_events, k), np.int64),
        )


class _Hough:
    """Hough accumulator (event, angle, distance) of one view's free clusters."""

    def __init__(self, clusters: Clusters, n_events: int, params: TrackingParams):
        half = np.deg2rad(params.max_angle_deg)
        step = np.deg2rad(params.hough_angle_step_deg)
        self.angles = np.arange(-half, half + 0.5 * step, step)
        self.bin = params.hough_rho_bin_strips * geo.STRIP_PITCH_MM
        dz_max = np.max(np.abs(geo.PLANES.z - Z_REFERENCE_MM))
        self.rho_max = np.hypot(np.max(np.abs(STRIP_T)), dz_max) + self.bin
        self.n_rho = int(np.ceil(2 * self.rho_max / self.bin)) + 1
        self.n_angles = len(self.angles)
        self.n_events = n_events
        self.clusters = clusters
        self._cos = np.cos(self.angles).astype(np.float32)
        self._sin = np.sin(self.angles).astype(np.float32)
        self._size = n_events * self.n_angles * self.n_rho
        counts = np.bincount(self._cells(np.arange(len(clusters))), minlength=self._size)
        self.counts = counts.astype(np.int16).reshape(n_events, self.n_angles, self.n_rho)

    def _cells(self, index: np.ndarray) -> np.ndarray:
        c = self.clusters
        t = c.t[index].astype(np.float32)[:, None]
        dz = (c.z[index] - Z_REFERENCE_MM).astype(np.float32)[:, None]
        rho_bin = ((t * self._cos - dz * self._sin + np.float32(self.rho_max)) / np.float32(self.bin)).astype(np.int64)
        return ((c.event[index, None] * self.n_angles + np.arange(self.n_angles)) * self.n_rho + rho_bin).ravel()

    def remove(self, index: np.ndarray) -> None:
        if len(index):
            removed = np.bincount(self._cells(index), minlength=self._size)
            self.counts -= removed.astype(np.int16).reshape(self.counts.shape)

    def peaks(self):
        """Best line of each event: (votes, slope, t0). Two adjacent distance bins are
        summed, so that a track on a bin edge is not split."""
        pair = self.counts[:, :, :-1] + self.counts[:, :, 1:]
        flat = pair.reshape(self.n_events, -1)
        best = np.argmax(flat, axis=1)
        votes = flat[np.arange(self.n_events), best].astype(np.int64)
        angle = self.angles[best // (self.n_rho - 1)]
        rho = (best % (self.n_rho - 1) + 1) * self.bin - self.rho_max  # edge between the two bins
        return votes, np.tan(angle), rho / np.cos(angle)


def _fit_lines(clusters: Clusters, selected: np.ndarray, n_events: int, slope, t0):
    """Least-squares t = t0 + slope (z - Z_REF) per event over selected clusters; events
    with fewer than two selected planes keep the given line."""
    weight = selected.astype(np.float64)
    dz = clusters.z - Z_REFERENCE_MM
    sums = [
        np.bincount(clusters.event, weight * term, minlength=n_events)
        for term in (1.0, dz, clusters.t, dz * dz, dz * clusters.t)
    ]
    s0, sz, st, szz, szt = sums
    det = s0 * szz - sz * sz
    ok = (s0 >= 2) & (det > 1e-6 * np.maximum(s0 * szz, 1.0))
    safe_det = np.where(ok, det, 1.0)
    new_slope = np.where(ok, (s0 * szt - sz * st) / safe_det, slope)
    new_t0 = np.where(ok, (st - new_slope * sz) / np.where(s0 > 0, s0, 1.0), t0)
    return new_slope, new_t0


def _longest_runs(clusters: Clusters, member: np.ndarray, n_events: int, max_missing: int):
    """Per event, the longest run of member clusters with at most ``max_missing`` missing
    planes in a row. Returns (run id of each member cluster or -1, best run per event or -1,
    first z, last z, planes of the best run)."""
    index = np.flatnonzero(member)
    if len(index) == 0:
        return (
            np.full(len(clusters), -1, dtype=np.int64),
            np.full(n_events, -1, dtype=np.int64),
            np.full(n_events, np.nan),
            np.full(n_events, np.nan),
            np.zeros(n_events, dtype=np.int64),
        )
    event, column = clusters.event[index], clusters.column[index]
    breaks = np.ones(len(index), dtype=bool)
    breaks[1:] = (event[1:] != event[:-1]) | (column[1:] - column[:-1] > max_missing + 1)
    new_plane = breaks.copy()
    new_plane[1:] |= column[1:] != column[:-1]
    run = np.cumsum(breaks) - 1
    run_planes = np.bincount(run, new_plane, minlength=run[-1] + 1 if len(run) else 0)
    run_event = event[breaks]
    run_start = np.flatnonzero(breaks)
    run_end = np.append(run_start[1:], len(index)) - 1
    # The best run of an event is the last of its runs ordered by planes (ties: upstream).
    order = np.lexsort((-np.arange(len(run_planes)), run_planes, run_event))
    last_of_event = np.append(run_event[order][1:] != run_event[order][:-1], True)
    best = np.full(n_events, -1, dtype=np.int64)
    best[run_event[order][last_of_event]] = order[last_of_event]
    has = best >= 0
    first_z = np.full(n_events, np.nan)
    last_z = np.full(n_events, np.nan)
    planes = np.zeros(n_events, dtype=np.int64)
    first_z[has] = clusters.z[index[run_start[best[has]]]]
    last_z[has] = clusters.z[index[run_end[best[has]]]]
    planes[has] = run_planes[best[has]].astype(np.int64)
    run_of_cluster = np.full(len(clusters), -1, dtype=np.int64)
    run_of_cluster[index] = run
    return run_of_cluster, best, first_z, last_z, planes


def find_view_tracks(clusters: Clusters, n_events: int, params: TrackingParams) -> ViewTracks:
    """Tracks of one view, one Hough peak at a time (see the package docstring, step 2)."""
    k_max = params.max_tracks_per_view
    tracks = ViewTracks.empty(n_events, k_max)
    if n_events == 0:
        return tracks
    hough = _Hough(clusters, n_events, params)
    free = np.ones(len(clusters), dtype=bool)
    narrow = clusters.n_strips <= params.fit_max_cluster_strips
    pitch = geo.STRIP_PITCH_MM
    for k in range(k_max):
        votes, slope, t0 = hough.peaks()
        searching = votes >= params.min_planes
        if not searching.any():
            break
        for tolerance in params.fit_tolerance_strips:
            # Fit the longest contiguous run near the line: a stray cluster far along the
            # line's extension must not pull it.
            residual = clusters.t - (t0[clusters.event] + slope[clusters.event] * (clusters.z - Z_REFERENCE_MM))
            near = free & narrow & (np.abs(residual) <= tolerance * pitch) & searching[clusters.event]
            run_of_cluster, best = _longest_runs(clusters, near, n_events, params.max_missing_planes)[:2]
            fitted = near & (run_of_cluster == best[clusters.event])
            slope, t0 = _fit_lines(clusters, fitted, n_events, slope, t0)
        line_t = t0[clusters.event] + slope[clusters.event] * (clusters.z - Z_REFERENCE_MM)
        cover = params.cover_tolerance_strips * pitch
        member = searching[clusters.event] & (line_t >= clusters.t_low - cover) & (line_t <= clusters.t_high + cover)
        residual = clusters.t - line_t
        fitted = free & narrow & (np.abs(residual) <= params.fit_tolerance_strips[-1] * pitch) & member
        run_of_cluster, best, first_z, last_z, planes = _longest_runs(
            clusters, member, n_events, params.max_missing_planes
        )
        in_best = (run_of_cluster >= 0) & (run_of_cluster == best[clusters.event])
        taken = fitted & in_best
        n_fitted = np.bincount(clusters.event, taken, minlength=n_events)
        found = searching & (planes >= params.min_planes) & (n_fitted >= 2)
        taken &= found[clusters.event]
        tracks.valid[:, k] = found
        tracks.slope[found, k] = slope[found]
        tracks.t0[found, k] = t0[found]
        tracks.z_first[found, k] = first_z[found]
        tracks.z_last[found, k] = last_z[found]
        tracks.n_planes[found, k] = planes[found]
        # A peak that made no track must not come back: its free clusters leave the pool.
        failed = searching & ~found
        dropped = free & (
            taken | (failed[clusters.event] & (np.abs(residual) <= params.fit_tolerance_strips[0] * pitch))
        )
        free &= ~dropped
        if k + 1 < k_max:
            hough.remove(np.flatnonzero(dropped))
    return tracks
