"""Track-based vertex: the classical baseline that the networks are compared with.

It sees what the networks see, the three hit images (energy per strip and plane), never
the truth, and works in five steps, each vectorised over all events of a chunk:

1. **Clusters.** In every plane, contiguous strips above ``min_hit_energy_mev`` form a
   cluster: energy-weighted transverse position, strip extent, z of the plane. A crossing
   track lights one or two adjacent (interleaved triangular) strips, a shower a wide run.
2. **2-D tracks per view** (X, U, V separately), up to ``max_tracks_per_view`` each,
   found one after the other:
   a Hough transform of the free clusters (one vote per cluster, lines within
   ``max_angle_deg`` of the beam axis, ``hough_angle_step_deg`` by ``hough_rho_bin_strips``
   bins, the peak of two adjacent distance bins) gives a line; least-squares fits refine
   it, one per entry of ``fit_tolerance_strips`` (coarse, then fine), each of the narrow
   clusters (at most ``fit_max_cluster_strips`` wide) within that distance of the line,
   in their longest contiguous run (a stray cluster far along the line must not pull it). The track's planes are the
   clusters whose strip extent the line crosses (``cover_tolerance_strips``; a wide shower
   cluster on the muon's path counts), kept as the longest run with at most
   ``max_missing_planes`` missing planes of the view in a row. A track needs
   ``min_planes`` planes of its view; its fitted clusters leave the pool.
3. **3-D matching.** X measures x, U and V the coordinates rotated by +60 and -60 degrees,
   so one straight 3-D track obeys x = (u + v) / (2 cos 60) at every z. Triplets (X, U, V)
   that agree within ``match_tolerance_strips`` at both ends of their common z range are
   matched greedily, best first; the leftover tracks pair up across two views when their
   upstream and downstream ends agree within ``pair_tolerance_mm``; the rest stay 2-D.
   A track's upstream end is the first plane of any of its views, unless more than
   ``view_agreement_planes`` planes lie between it and the next view's first plane (a
   stray hit on the line's extension): then the next view's.
4. **Muon candidate.** The most penetrating track: among those ending within
   ``muon_end_tolerance_mm`` of the furthest downstream end, the one seen in most views,
   then the longest. From its upstream end, up to ``max_attached_tracks`` other tracks
   are attached upstream, each the most upstream of those that either *continue* it (a
   muon that scattered, found as two straight pieces: reaches within ``continue_gap_mm``
   of the current upstream end, meets the line there within ``refine_tolerance_strips``,
   slopes differ by at most ``continue_max_kink``) or *start at the vertex* (upstream end
   at most ``refine_max_dz_mm`` upstream, on the current line within
   ``refine_tolerance_strips``), in every view they share.
5. **Vertex.** z is the upstream end so found, moved ``upstream_offset_mm`` upstream (the
   interaction happened in that plane or in the passive material and gap before it); x
   and y come from the most upstream attached track's lines at that z, solved from the
   views it was seen in; the segment is :func:`minerva_vertex.geometry.segment_of_z` of z,
   as for the labels.

Events without any track have no vertex (z, x, y NaN, segment -1, quality
``QUALITY_NO_TRACK``). Parameters are tuned on the simulation sample only (config section
``tracking``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from minerva_vertex import geometry as geo

# --- quality flag -----------------------------------------------------------------------
QUALITY_NO_TRACK = 0  # no track in any view: no vertex
QUALITY_THREE_VIEWS = 1  # muon candidate matched in X, U and V: z, x and y
QUALITY_TWO_VIEWS = 2  # muon candidate seen in two views: z, x and y (no consistency check)
QUALITY_ONE_VIEW = 3  # muon candidate seen in one view only: z, and x if that view is X
QUALITY_CODES = {
    QUALITY_NO_TRACK: "no track found: no vertex",
    QUALITY_THREE_VIEWS: "muon candidate matched in X, U and V",
    QUALITY_TWO_VIEWS: "muon candidate seen in two views",
    QUALITY_ONE_VIEW: "muon candidate seen in one view only",
}

VIEW_ORDER = (geo.VIEW_X, geo.VIEW_U, geo.VIEW_V)  # index 0, 1, 2 of per-view arrays
IMAGE_KEYS = {geo.VIEW_X: "x", geo.VIEW_U: "u", geo.VIEW_V: "v"}
Z_REFERENCE_MM = 0.5 * (geo.PLANES.z[0] + geo.PLANES.z[-1])  # lines are t = t0 + slope (z - Z_REF)


def _column_z(view: int) -> np.ndarray:
    """z (mm) of each image column of a view: the view's planes sorted by column."""
    rows = np.flatnonzero(geo.PLANES.view == view)
    return geo.PLANES.z[rows[np.argsort(geo.PLANES.column[rows])]]


COLUMN_Z = {view: _column_z(view) for view in VIEW_ORDER}
STRIP_T = geo.strip_position(np.arange(geo.N_STRIPS))  # transverse coordinate of each strip
_ANGLE = np.deg2rad([geo.VIEW_ANGLE_DEG[v] for v in VIEW_ORDER])
VIEW_COS, VIEW_SIN = np.cos(_ANGLE), np.sin(_ANGLE)


@dataclass(frozen=True)
class TrackingParams:
    """Parameters of the track-based vertex (config section ``tracking``); see the module."""

    # Defaults (tuned on the nominal simulation, checked on muon-only events) and their
    # reasons live in the config schema only, workflow/schemas/tracking.schema.yaml.
    min_hit_energy_mev: float
    max_angle_deg: float
    hough_angle_step_deg: float
    hough_rho_bin_strips: float
    fit_tolerance_strips: tuple[float, ...]
    fit_max_cluster_strips: int
    cover_tolerance_strips: float
    max_missing_planes: int
    min_planes: int
    max_tracks_per_view: int
    match_tolerance_strips: float
    pair_tolerance_mm: float
    view_agreement_planes: int
    muon_end_tolerance_mm: float
    muon_needs_two_views: bool
    refine_max_dz_mm: float
    refine_tolerance_strips: float
    continue_gap_mm: float
    continue_max_kink: float
    max_attached_tracks: int
    upstream_offset_mm: float
    chunk_events: int  # a multiple of the image files' 64-event HDF5 chunks

    @classmethod
    def from_config(cls, section: Mapping | None) -> TrackingParams:
        """Parameters from the config section ``tracking``, the schema's defaults for the rest."""
        from minerva_vertex import settings

        values = settings.section("tracking", section)
        values["fit_tolerance_strips"] = tuple(float(v) for v in values["fit_tolerance_strips"])
        return cls(**values)

    def as_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


# --- 1. clusters ------------------------------------------------------------------------
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


# --- 2. 2-D tracks ----------------------------------------------------------------------
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
    """Tracks of one view, one Hough peak at a time (see the module docstring, step 2)."""
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


# --- 3. matching across views -----------------------------------------------------------
def _xy_from_views(measured: np.ndarray, seen: np.ndarray):
    """Least-squares (x, y) from the coordinates ``measured[..., view]`` of the views where
    ``seen``; NaN where the views do not fix it (x alone is fixed by the X view)."""
    w = seen.astype(np.float64)
    m = np.where(seen, measured, 0.0)
    a11 = np.sum(w * VIEW_COS**2, axis=-1)
    a12 = np.sum(w * VIEW_COS * VIEW_SIN, axis=-1)
    a22 = np.sum(w * VIEW_SIN**2, axis=-1)
    b1 = np.sum(m * VIEW_COS, axis=-1)
    b2 = np.sum(m * VIEW_SIN, axis=-1)
    det = a11 * a22 - a12 * a12
    solvable = det > 1e-9
    safe = np.where(solvable, det, 1.0)
    x = np.where(solvable, (a22 * b1 - a12 * b2) / safe, np.nan)
    y = np.where(solvable, (a11 * b2 - a12 * b1) / safe, np.nan)
    x_only = ~solvable & seen[..., 0] & (np.abs(VIEW_SIN[0]) < 1e-12)
    x = np.where(x_only, measured[..., 0], x)
    return x, y


def _consistency_mm(t_x, t_u, t_v):
    """How far the U and V coordinates are from a common 3-D point with the X coordinate:
    the x that U and V imply minus the x that X measures."""
    (cx, cu, cv), (sx, su, sv) = VIEW_COS, VIEW_SIN
    x_from_uv = (t_u * sv - t_v * su) / (cu * sv - cv * su)
    return x_from_uv - t_x  # X measures x (VIEW_ANGLE_DEG[X] = 0)


def _greedy(score: np.ndarray, members: np.ndarray, n_rounds: int):
    """Pick combinations best first per event. ``score`` (N, C) with inf for forbidden,
    ``members`` (C, 3) the track index per view (-1 none). Returns (N, n_rounds) choices
    (-1 none)."""
    score = score.copy()
    chosen = np.full((score.shape[0], n_rounds), -1, dtype=np.int64)
    rows = np.arange(score.shape[0])
    for r in range(n_rounds):
        best = np.argmin(score, axis=1)
        ok = np.isfinite(score[rows, best])
        if not ok.any():
            break
        chosen[ok, r] = best[ok]
        for view in range(3):
            used = members[best, view]  # (N,)
            clash = (members[None, :, view] == used[:, None]) & (used[:, None] >= 0) & ok[:, None]
            score[clash] = np.inf
    return chosen


@dataclass
class Tracks3D:
    """Tracks after matching, padded: ``view_track`` (N, M, 3) index of the track in each
    view (-1 where not seen), and the derived extent."""

    view_track: np.ndarray
    n_views: np.ndarray  # (N, M)
    z_first: np.ndarray
    z_last: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return self.n_views > 0


def match_views(tracks: list[ViewTracks], params: TrackingParams) -> Tracks3D:
    """Triplets by 3-D consistency, then pairs by agreeing ends, then single views."""
    n_events, k = tracks[0].valid.shape
    pitch = geo.STRIP_PITCH_MM
    grid = np.stack(np.meshgrid(np.arange(k), np.arange(k), np.arange(k), indexing="ij"), axis=-1).reshape(-1, 3)
    take = [lambda a, view=view: a[:, grid[:, view]] for view in range(3)]
    valid = [take[v](tracks[v].valid) for v in range(3)]
    first = [take[v](tracks[v].z_first) for v in range(3)]
    last = [take[v](tracks[v].z_last) for v in range(3)]
    z_a, z_b = np.maximum.reduce(first), np.minimum.reduce(last)
    with np.errstate(invalid="ignore"):
        mismatch = np.zeros_like(z_a)
        for z in (z_a, z_b):
            t = [take[v](tracks[v].slope) * (z - Z_REFERENCE_MM) + take[v](tracks[v].t0) for v in range(3)]
            mismatch = np.maximum(mismatch, np.abs(_consistency_mm(*t)))
        ok = valid[0] & valid[1] & valid[2] & (z_b >= z_a) & (mismatch <= params.match_tolerance_strips * pitch)
    triplets = _greedy(np.where(ok, mismatch, np.inf), grid, k)

    view_track = np.full((n_events, 3 * k, 3), -1, dtype=np.int64)
    used = np.zeros((n_events, 3, k), dtype=bool)
    rows = np.arange(n_events)
    for r in range(k):
        has = triplets[:, r] >= 0
        for v in range(3):
            index = grid[triplets[has, r], v]
            view_track[has, r, v] = index
            used[rows[has], v, index] = True

    # Pairs of views among the leftovers: (N, K, K) per view pair, members with -1 for the third view.
    pair_scores, pair_members = [], []
    for va, vb in ((0, 1), (0, 2), (1, 2)):
        ia, ib = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        ia, ib = ia.ravel(), ib.ravel()
        free_a = tracks[va].valid[:, ia] & ~used[:, va, ia]
        free_b = tracks[vb].valid[:, ib] & ~used[:, vb, ib]
        d_first = np.abs(tracks[va].z_first[:, ia] - tracks[vb].z_first[:, ib])
        d_last = np.abs(tracks[va].z_last[:, ia] - tracks[vb].z_last[:, ib])
        with np.errstate(invalid="ignore"):
            ok = free_a & free_b & (d_first <= params.pair_tolerance_mm) & (d_last <= params.pair_tolerance_mm)
        pair_scores.append(np.where(ok, d_first + d_last, np.inf))
        members = np.full((k * k, 3), -1, dtype=np.int64)
        members[:, va], members[:, vb] = ia, ib
        pair_members.append(members)
    members = np.concatenate(pair_members)
    pairs = _greedy(np.concatenate(pair_scores, axis=1), members, k)
    slot = np.sum(triplets >= 0, axis=1)  # the greedy rounds fill slots from the first on
    for r in range(k):
        has = pairs[:, r] >= 0
        for v in range(3):
            index = members[pairs[has, r], v]
            view_track[rows[has], slot[has], v] = index
            mark = index >= 0
            used[rows[has][mark], v, index[mark]] = True
        slot = slot + has

    # Single views: every valid track not used yet gets its own slot.
    for v in range(3):
        for i in range(k):
            single = tracks[v].valid[:, i] & ~used[:, v, i]
            fits = single & (slot < 3 * k)
            view_track[rows[fits], slot[fits], v] = i
            slot = slot + fits

    seen = view_track >= 0
    safe = np.where(seen, view_track, 0)
    z_first = np.stack([np.take_along_axis(tracks[v].z_first, safe[:, :, v], axis=1) for v in range(3)], axis=-1)
    z_last = np.stack([np.take_along_axis(tracks[v].z_last, safe[:, :, v], axis=1) for v in range(3)], axis=-1)
    # The upstream end is the first plane of any view, unless that view starts far ahead of
    # the next one (a stray hit on the line's extension): then the next view's first plane.
    ordered = np.sort(np.where(seen, z_first, np.inf), axis=-1)
    second = np.isfinite(ordered[..., 1])
    planes_between = (
        geo.nearest_plane_row(np.where(second, ordered[..., 1], 0.0))
        - geo.nearest_plane_row(np.where(second, ordered[..., 0], 0.0))
        - 1
    )
    stray = second & (planes_between > params.view_agreement_planes)
    return Tracks3D(
        view_track=view_track,
        n_views=seen.sum(axis=-1),
        z_first=np.where(stray, ordered[..., 1], ordered[..., 0]),
        z_last=np.max(np.where(seen, z_last, -np.inf), axis=-1),
    )


# --- 4, 5. muon candidate and vertex ------------------------------------------------------
def _line_at(tracks: list[ViewTracks], view_track: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Coordinate of each view's line at z: (N, M, 3), NaN where the track is not seen."""
    out = np.full(view_track.shape, np.nan)
    for v in range(3):
        safe = np.where(view_track[..., v] >= 0, view_track[..., v], 0)
        slope = np.take_along_axis(tracks[v].slope, safe, axis=1)
        t0 = np.take_along_axis(tracks[v].t0, safe, axis=1)
        out[..., v] = np.where(view_track[..., v] >= 0, t0 + slope * (z - Z_REFERENCE_MM), np.nan)
    return out


def _attach_upstream(tracks, matched: Tracks3D, muon: np.ndarray, params: TrackingParams):
    """Walk upstream from the muon candidate: each step attaches the other track that
    either continues it upstream (a scattered muon split into two straight pieces: it
    reaches within ``continue_gap_mm`` of the current upstream end and meets the line
    there) or starts at most ``refine_max_dz_mm`` upstream on the current line (a track
    from the vertex). Returns the upstream z and the per-view track lines to extrapolate."""
    n_events, n_slots = matched.n_views.shape
    rows = np.arange(n_events)
    valid = matched.valid
    tolerance = params.refine_tolerance_strips * geo.STRIP_PITCH_MM
    head = matched.view_track[rows, muon].copy()  # (N, 3): the line of each view to extrapolate
    z_first = matched.z_first[rows, muon].copy()
    attached = np.zeros((n_events, n_slots), dtype=bool)
    attached[rows, muon] = True
    other_first = np.where(valid, matched.z_first, np.nan)
    other_last = np.where(valid, matched.z_last, np.nan)
    for _ in range(params.max_attached_tracks):
        head_slots = np.broadcast_to(head[:, None, :], matched.view_track.shape)
        with np.errstate(invalid="ignore"):
            # Continuation: the other track meets the head's line at the head's upstream end.
            at_head = np.broadcast_to(z_first[:, None], other_first.shape)
            gap = np.abs(_line_at(tracks, matched.view_track, at_head) - _line_at(tracks, head_slots, at_head))
            kink = np.abs(_slopes(tracks, matched.view_track) - _slopes(tracks, head_slots))
            continues = (
                _close(gap, tolerance)
                & _close(kink, params.continue_max_kink)
                & (other_last >= z_first[:, None] - params.continue_gap_mm)
            )
            # Vertex track: its upstream end lies on the head's line, a little upstream.
            offset = np.abs(
                _line_at(tracks, matched.view_track, other_first) - _line_at(tracks, head_slots, other_first)
            )
            starts_near = _close(offset, tolerance) & (z_first[:, None] - other_first <= params.refine_max_dz_mm)
            candidate = valid & ~attached & (other_first < z_first[:, None]) & (continues | starts_near)
        if not candidate.any():
            break
        pick = np.argmin(np.where(candidate, other_first, np.inf), axis=1)
        moved = candidate[rows, pick]
        z_first = np.where(moved, other_first[rows, pick], z_first)
        picked = matched.view_track[rows, pick]
        head = np.where(moved[:, None] & (picked >= 0), picked, head)
        attached[rows[moved], pick[moved]] = True
    return z_first, head, attached


def _slopes(tracks: list[ViewTracks], view_track: np.ndarray) -> np.ndarray:
    """Slope dt/dz of each view's line: (N, M, 3), NaN where the track is not seen."""
    out = np.full(view_track.shape, np.nan)
    for v in range(3):
        safe = np.where(view_track[..., v] >= 0, view_track[..., v], 0)
        out[..., v] = np.where(view_track[..., v] >= 0, np.take_along_axis(tracks[v].slope, safe, axis=1), np.nan)
    return out


def _close(distance: np.ndarray, tolerance: float) -> np.ndarray:
    """Within tolerance in every view where both lines exist, and at least one such view."""
    shared = np.isfinite(distance)
    return np.all(~shared | (distance <= tolerance), axis=-1) & shared.any(axis=-1)


def find_vertices(tracks: list[ViewTracks], matched: Tracks3D, params: TrackingParams) -> dict:
    """Muon candidate, its upstream end refined by nearby tracks, and the vertex."""
    n_events = matched.n_views.shape[0]
    rows = np.arange(n_events)
    valid = matched.valid
    # Most penetrating (ends within muon_end_tolerance_mm of the furthest downstream end),
    # then seen in more views, then longest.
    has_vertex = valid.any(axis=1)
    # Tracks seen in one view compete only where no track was matched across views: a
    # couple of stray hits in one view must not outrun the muon.
    multi = matched.n_views >= 2
    eligible = valid & (multi | ~multi.any(axis=1, keepdims=True)) if params.muon_needs_two_views else valid
    z_last = np.where(eligible, matched.z_last, -np.inf)
    furthest = np.max(z_last, axis=1, initial=-np.inf)
    penetrating = eligible & (z_last >= furthest[:, None] - params.muon_end_tolerance_mm)
    length = np.where(penetrating, matched.z_last - matched.z_first, -np.inf)
    views = np.where(penetrating, matched.n_views, -1)
    muon = np.lexsort((length, views), axis=-1)[:, -1] if n_events else np.zeros(0, np.int64)
    z_first, head, _ = _attach_upstream(tracks, matched, muon, params)

    vtx_z = np.where(has_vertex, z_first - params.upstream_offset_mm, np.nan)
    measured = _line_at(tracks, head[:, None, :], vtx_z[:, None])[:, 0, :]
    vtx_x, vtx_y = _xy_from_views(np.nan_to_num(measured), np.isfinite(measured))
    n_views = matched.n_views[rows, muon] if n_events else np.zeros(0, np.int64)
    quality = np.select(
        [~has_vertex, n_views >= 3, n_views == 2],
        [QUALITY_NO_TRACK, QUALITY_THREE_VIEWS, QUALITY_TWO_VIEWS],
        QUALITY_ONE_VIEW,
    )
    segment = np.where(has_vertex, geo.segment_of_z(np.nan_to_num(vtx_z)), -1)
    return {
        "vtx_z": vtx_z.astype(np.float32),
        "vtx_x": np.where(has_vertex, vtx_x, np.nan).astype(np.float32),
        "vtx_y": np.where(has_vertex, vtx_y, np.nan).astype(np.float32),
        "segment": segment.astype(np.int16),
        "n_tracks": valid.sum(axis=1).astype(np.int16),
        "quality": quality.astype(np.uint8),
    }


# --- the whole chain ----------------------------------------------------------------------
OUTPUT_FIELDS = ("vtx_z", "vtx_x", "vtx_y", "segment", "n_tracks", "quality")


def _checked_images(images: Mapping[str, np.ndarray]) -> dict:
    """The three views as arrays, after checking their shapes against the geometry."""
    arrays = {}
    for view in VIEW_ORDER:
        key = IMAGE_KEYS[view]
        image = np.asarray(images[key])
        if image.ndim != 4 or image.shape[2] != geo.N_STRIPS or image.shape[3] != geo.N_COLUMNS[view]:
            raise ValueError(
                f"image '{key}' has shape {image.shape}, expected (N, C, {geo.N_STRIPS}, {geo.N_COLUMNS[view]})"
            )
        if arrays and image.shape[0] != len(arrays["x"]):
            raise ValueError(f"image '{key}' has {image.shape[0]} events, the X image {len(arrays['x'])}")
        arrays[key] = image
    return arrays


def reconstruct_chunk(images: Mapping[str, np.ndarray], energy_scale_mev: float, params: TrackingParams) -> dict:
    """Vertices of one chunk. ``images`` maps 'x', 'u', 'v' to arrays (N, C, 127, W) in the
    image contract (channel 0 is energy / ``energy_scale_mev``)."""
    arrays = _checked_images(images)
    n_events = len(arrays["x"])
    view_tracks = []
    for view in VIEW_ORDER:
        energy = arrays[IMAGE_KEYS[view]][:, 0].astype(np.float32) * np.float32(energy_scale_mev)
        clusters = find_clusters(energy, view, params.min_hit_energy_mev)
        view_tracks.append(find_view_tracks(clusters, n_events, params))
    matched = match_views(view_tracks, params)
    return find_vertices(view_tracks, matched, params)


def reconstruct(
    images: Mapping[str, np.ndarray], energy_scale_mev: float = 1.0, params: TrackingParams | None = None
) -> dict:
    """Track-based vertex of every event, in chunks of ``params.chunk_events``; returns the
    arrays of :data:`OUTPUT_FIELDS`, one entry per event."""
    params = params or TrackingParams.from_config({})
    _checked_images({key: images[key][:1] for key in ("x", "u", "v")})
    n_events = len(images["x"])
    parts = []
    for start in range(0, max(n_events, 1), params.chunk_events):
        stop = min(start + params.chunk_events, n_events)
        chunk = {key: np.asarray(images[key][start:stop]) for key in ("x", "u", "v")}
        parts.append(reconstruct_chunk(chunk, energy_scale_mev, params))
    return {name: np.concatenate([p[name] for p in parts]) for name in OUTPUT_FIELDS}
