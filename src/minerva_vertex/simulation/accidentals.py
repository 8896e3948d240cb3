"""Accidental activity: muons from neutrino interactions in the rock upstream of the
detector that fall in an event's time slice.

A rock muon enters the front face of the inner detector at a uniform transverse point,
within about 0.1 rad of the beam (Rayleigh angle, sigma 0.05 rad), with a few GeV of
kinetic energy (1 GeV plus an exponential of mean 3 GeV: rock muons that reach MINERvA have
crossed metres of rock), at a uniform offset inside the event's time slice. It crosses the
whole image window, so a track-based vertex can take its front end for the vertex.
"""

from __future__ import annotations

import numpy as np

from .. import geometry as geo
from .interactions import Particles, rotate_to
from .materials import INNER_DETECTOR_APOTHEM_MM, MUON
from .response import NOISE_TIME_WINDOW_NS

ANGLE_SIGMA_RAD = 0.05
MIN_KINETIC_MEV, MEAN_EXTRA_KINETIC_MEV = 1000.0, 3000.0
START_BEFORE_FIRST_PLANE_MM = 20.0


def rock_muons(rng, n_events: int, event_time: np.ndarray, model) -> Particles:
    """One rock muon in each event drawn with probability ``model.rock_muon_fraction``."""
    event = np.flatnonzero(rng.random(n_events) < model.rock_muon_fraction)
    n = len(event)
    x, y = _front_face_points(rng, n)
    z = np.full(n, geo.PLANES.z.min() - START_BEFORE_FIRST_PLANE_MM)
    theta = rng.rayleigh(ANGLE_SIGMA_RAD, n)
    direction = rotate_to(np.tile([0.0, 0.0, 1.0], (n, 1)), np.cos(theta), rng.uniform(0, 2 * np.pi, n))
    return Particles(
        event=event, species=np.full(n, MUON), kinetic=MIN_KINETIC_MEV + rng.exponential(MEAN_EXTRA_KINETIC_MEV, n),
        pos=np.column_stack([x, y, z]), dir=direction,
        time=event_time[event] + rng.uniform(*NOISE_TIME_WINDOW_NS, n), generation=np.zeros(n, np.int64),
        light=np.full(n, model.muon_response_scale),
    )


def _front_face_points(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in the inner detector's hexagon (rejection from its bounding box)."""
    x, y = np.empty(0), np.empty(0)
    half_width = INNER_DETECTOR_APOTHEM_MM * 2 / np.sqrt(3)
    while len(x) < n:
        cx = rng.uniform(-INNER_DETECTOR_APOTHEM_MM, INNER_DETECTOR_APOTHEM_MM, 2 * n)
        cy = rng.uniform(-half_width, half_width, 2 * n)
        inside = geo.in_fiducial(cx, cy, INNER_DETECTOR_APOTHEM_MM)
        x, y = np.r_[x, cx[inside]], np.r_[y, cy[inside]]
    return x[:n], y[:n]
