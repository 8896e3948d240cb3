"""The frame every step works in: view order, z of each image column, strip positions,
the lines' reference z and the views' angles."""

from __future__ import annotations

import numpy as np

from minerva_vertex import geometry as geo

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
