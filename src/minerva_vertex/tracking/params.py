"""Parameters of the track-based vertex (config section ``tracking``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from minerva_vertex import settings


@dataclass(frozen=True)
class TrackingParams:
    """Parameters of the track-based vertex (config section ``tracking``); see the package docstring."""

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
    def from_section(cls, section: Mapping | None) -> TrackingParams:
        """Parameters from the config section ``tracking``, validated, the schema's defaults
        for what it leaves out (callers outside the workflow)."""
        return cls.from_filled(settings.section("tracking", section))

    @classmethod
    def from_filled(cls, section: Mapping) -> TrackingParams:
        """Parameters from the ``tracking`` section of a validated config, every default
        already filled in (the rule's)."""
        values = settings.filled("tracking", section, [f.name for f in fields(cls)])
        values["fit_tolerance_strips"] = tuple(float(v) for v in values["fit_tolerance_strips"])
        return cls(**values)

    def as_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}
