"""The whole chain: checked images, chunk by chunk, through the steps to the vertices."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from minerva_vertex import geometry as geo
from minerva_vertex.tracking.clusters import find_clusters
from minerva_vertex.tracking.frame import IMAGE_KEYS, VIEW_ORDER
from minerva_vertex.tracking.matching import match_views
from minerva_vertex.tracking.params import TrackingParams
from minerva_vertex.tracking.vertex import find_vertices
from minerva_vertex.tracking.view_tracks import find_view_tracks

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
    params = params or TrackingParams.from_section({})
    _checked_images({key: images[key][:1] for key in ("x", "u", "v")})
    n_events = len(images["x"])
    parts = []
    for start in range(0, max(n_events, 1), params.chunk_events):
        stop = min(start + params.chunk_events, n_events)
        chunk = {key: np.asarray(images[key][start:stop]) for key in ("x", "u", "v")}
        parts.append(reconstruct_chunk(chunk, energy_scale_mev, params))
    return {name: np.concatenate([p[name] for p in parts]) for name in OUTPUT_FIELDS}
