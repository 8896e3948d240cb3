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

One module per step: :mod:`.clusters` (1), :mod:`.view_tracks` (2), :mod:`.matching` (3),
:mod:`.vertex` (4, 5); :mod:`.chain` runs them chunk by chunk, :mod:`.params` holds the
parameters and :mod:`.frame` the coordinates they share.
"""

from minerva_vertex.tracking.chain import OUTPUT_FIELDS, reconstruct, reconstruct_chunk
from minerva_vertex.tracking.clusters import Clusters, find_clusters
from minerva_vertex.tracking.frame import IMAGE_KEYS, VIEW_ORDER, Z_REFERENCE_MM
from minerva_vertex.tracking.matching import Tracks3D, match_views
from minerva_vertex.tracking.params import TrackingParams
from minerva_vertex.tracking.vertex import (
    QUALITY_CODES,
    QUALITY_NO_TRACK,
    QUALITY_ONE_VIEW,
    QUALITY_THREE_VIEWS,
    QUALITY_TWO_VIEWS,
    find_vertices,
)
from minerva_vertex.tracking.view_tracks import ViewTracks, find_view_tracks

__all__ = [
    "IMAGE_KEYS",
    "OUTPUT_FIELDS",
    "QUALITY_CODES",
    "QUALITY_NO_TRACK",
    "QUALITY_ONE_VIEW",
    "QUALITY_THREE_VIEWS",
    "QUALITY_TWO_VIEWS",
    "VIEW_ORDER",
    "Z_REFERENCE_MM",
    "Clusters",
    "TrackingParams",
    "Tracks3D",
    "ViewTracks",
    "find_clusters",
    "find_vertices",
    "find_view_tracks",
    "match_views",
    "reconstruct",
    "reconstruct_chunk",
]
