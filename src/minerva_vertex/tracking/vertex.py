"""Steps 4 and 5: the muon candidate, the tracks attached upstream of it, and the vertex."""

from __future__ import annotations

import numpy as np

from minerva_vertex import geometry as geo
from minerva_vertex.tracking.frame import VIEW_COS, VIEW_SIN, Z_REFERENCE_MM
from minerva_vertex.tracking.matching import Tracks3D
from minerva_vertex.tracking.params import TrackingParams
from minerva_vertex.tracking.view_tracks import ViewTracks

# Quality flag of each vertex.
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
