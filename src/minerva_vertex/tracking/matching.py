"""Step 3: 3-D matching of the views' tracks: triplets, then pairs, then single views, and
each matched track's upstream end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerva_vertex import geometry as geo
from minerva_vertex.tracking.frame import VIEW_COS, VIEW_SIN, Z_REFERENCE_MM
from minerva_vertex.tracking.params import TrackingParams
from minerva_vertex.tracking.view_tracks import ViewTracks


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
    """Triplets by 3-D consistency, then pairs by agreeing ends, then single views; each
    fills the next free slots of the event."""
    n_events, k = tracks[0].valid.shape
    view_track = np.full((n_events, 3 * k, 3), -1, dtype=np.int64)
    used = np.zeros((n_events, 3, k), dtype=bool)
    slot = np.zeros(n_events, dtype=np.int64)
    triplets, grid = _match_triplets(tracks, params)
    slot = _place(view_track, used, triplets, grid, slot)
    pairs, members = _match_pairs(tracks, used, params)
    slot = _place(view_track, used, pairs, members, slot)
    _place_singles(tracks, view_track, used, slot)
    seen = view_track >= 0
    safe = np.where(seen, view_track, 0)
    z_first = np.stack([np.take_along_axis(tracks[v].z_first, safe[:, :, v], axis=1) for v in range(3)], axis=-1)
    z_last = np.stack([np.take_along_axis(tracks[v].z_last, safe[:, :, v], axis=1) for v in range(3)], axis=-1)
    return Tracks3D(
        view_track=view_track,
        n_views=seen.sum(axis=-1),
        z_first=_upstream_end(z_first, seen, params.view_agreement_planes),
        z_last=np.max(np.where(seen, z_last, -np.inf), axis=-1),
    )


def _match_triplets(tracks: list[ViewTracks], params: TrackingParams):
    """Triplets (X, U, V) consistent in 3-D within ``match_tolerance_strips`` at both ends of
    their common z range, best first: the greedy choices (N, K) and the combinations (K^3, 3)."""
    k = tracks[0].valid.shape[1]
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
        tolerance = params.match_tolerance_strips * geo.STRIP_PITCH_MM
        ok = valid[0] & valid[1] & valid[2] & (z_b >= z_a) & (mismatch <= tolerance)
    return _greedy(np.where(ok, mismatch, np.inf), grid, k), grid


def _match_pairs(tracks: list[ViewTracks], used: np.ndarray, params: TrackingParams):
    """Pairs of two views among the tracks not ``used`` yet whose upstream and downstream
    ends agree within ``pair_tolerance_mm``, best first: the greedy choices (N, K) and the
    combinations (3 K^2, 3), -1 for the third view."""
    k = tracks[0].valid.shape[1]
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
    return _greedy(np.concatenate(pair_scores, axis=1), members, k), members


def _place(view_track: np.ndarray, used: np.ndarray, chosen: np.ndarray, members: np.ndarray, slot: np.ndarray):
    """Write the greedy ``chosen`` combinations into the slots from ``slot`` on (the rounds
    fill from the first on) and mark their tracks used; returns the next free slot."""
    rows = np.arange(len(slot))
    for r in range(chosen.shape[1]):
        has = chosen[:, r] >= 0
        for v in range(3):
            index = members[chosen[has, r], v]
            view_track[rows[has], slot[has], v] = index
            mark = index >= 0
            used[rows[has][mark], v, index[mark]] = True
        slot = slot + has
    return slot


def _place_singles(tracks: list[ViewTracks], view_track: np.ndarray, used: np.ndarray, slot: np.ndarray) -> None:
    """Every valid track not used yet gets a slot of its own, while slots are left."""
    rows = np.arange(len(slot))
    n_slots = view_track.shape[1]
    for v in range(3):
        for i in range(tracks[v].valid.shape[1]):
            single = tracks[v].valid[:, i] & ~used[:, v, i]
            fits = single & (slot < n_slots)
            view_track[rows[fits], slot[fits], v] = i
            slot = slot + fits


def _upstream_end(z_first: np.ndarray, seen: np.ndarray, view_agreement_planes: int) -> np.ndarray:
    """The first plane of any view, unless more than ``view_agreement_planes`` planes lie
    between it and the next view's first plane (a stray hit on the line's extension): then
    the next view's first plane."""
    ordered = np.sort(np.where(seen, z_first, np.inf), axis=-1)
    second = np.isfinite(ordered[..., 1])
    planes_between = (
        geo.nearest_plane_row(np.where(second, ordered[..., 1], 0.0))
        - geo.nearest_plane_row(np.where(second, ordered[..., 0], 0.0))
        - 1
    )
    stray = second & (planes_between > view_agreement_planes)
    return np.where(stray, ordered[..., 1], ordered[..., 0])
