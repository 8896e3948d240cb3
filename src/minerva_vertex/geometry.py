"""Toy MINERvA geometry: planes, strips, segments, passive targets, fiducial volume.

Every number here comes from the project's reference facts (MINERVA.md, gathered from
MINERvA's public code, papers and talks) unless a comment says otherwise:

- the 100 scintillator planes of the image window: ``data/planes.csv``, a copy of the
  shared ``reference/planes.csv`` that every input file follows;
- the segment definition: MINERvA's ``getSegmentForZPosition`` (NukeCC z definitions);
- target thicknesses, densities, centres, the water target and the fiducial hexagon.

All functions are vectorised over numpy arrays; scalars work too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

GEOMETRY_VERSION = "toy-minerva-1"

# --- strips and views ------------------------------------------------------------------
N_STRIPS = 127  # triangular strips per plane
STRIP_PITCH_MM = 16.7  # interleaved triangles, 3.3 cm base: a plane spans about 2.1 m
STRIP_HEIGHT_MM = 17.0  # triangle height, 1.7 cm
CENTRAL_STRIP = (N_STRIPS - 1) / 2  # strip 63 sits on the beam axis

VIEW_X, VIEW_U, VIEW_V = 1, 2, 3
VIEWS = (VIEW_X, VIEW_U, VIEW_V)
VIEW_NAMES = {VIEW_X: "x", VIEW_U: "u", VIEW_V: "v"}
VIEW_CODES = {name.upper(): code for code, name in VIEW_NAMES.items()}
# X strips measure x; U and V the coordinate rotated by +60 and -60 degrees.
VIEW_ANGLE_DEG = {VIEW_X: 0.0, VIEW_U: 60.0, VIEW_V: -60.0}
N_COLUMNS = {VIEW_X: 50, VIEW_U: 25, VIEW_V: 25}  # image width per view (planes)

SCINTILLATOR_G_PER_CM2 = 1.99  # polystyrene per plane
SCINTILLATOR_DENSITY = 1.05  # g/cm3, polystyrene
PLANE_THICKNESS_MM = 10.0 * SCINTILLATOR_G_PER_CM2 / SCINTILLATOR_DENSITY

FIDUCIAL_APOTHEM_MM = 850.0


# --- planes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaneTable:
    """The scintillator planes of the image window, in z order."""

    module: np.ndarray  # int32, MINERvA module number
    plane: np.ndarray  # int32, 1 upstream, 2 downstream
    view: np.ndarray  # int32, VIEW_X / VIEW_U / VIEW_V
    z: np.ndarray  # float64, mm, plane centre
    column: np.ndarray  # int32, column in its view's image

    def __len__(self) -> int:
        return len(self.z)


def _load_planes() -> PlaneTable:
    text = resources.files("minerva_vertex.data").joinpath("planes.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    return PlaneTable(
        module=np.array([int(r["module"]) for r in rows], dtype=np.int32),
        plane=np.array([int(r["plane"]) for r in rows], dtype=np.int32),
        view=np.array([VIEW_CODES[r["view"]] for r in rows], dtype=np.int32),
        z=np.array([float(r["z_mm"]) for r in rows]),
        column=np.array([int(r["image_column"]) for r in rows], dtype=np.int32),
    )


PLANES = _load_planes()

# Dense (module, plane) -> row lookup; modules span a small integer range.
_MODULE_MIN = int(PLANES.module.min())
_MODULE_MAX = int(PLANES.module.max())
_ROW_OF = np.full((_MODULE_MAX - _MODULE_MIN + 1, 3), -1, dtype=np.int64)
_ROW_OF[PLANES.module - _MODULE_MIN, PLANES.plane] = np.arange(len(PLANES))


def plane_row(module, plane) -> np.ndarray:
    """Row of (module, plane) in ``PLANES``; -1 where the pair is not in the geometry."""
    module, plane = np.broadcast_arrays(np.asarray(module, dtype=np.int64), np.asarray(plane, dtype=np.int64))
    inside = (module >= _MODULE_MIN) & (module <= _MODULE_MAX) & (plane >= 1) & (plane <= 2)
    safe_module = np.where(inside, module - _MODULE_MIN, 0)
    safe_plane = np.where(inside, plane, 0)
    return np.where(inside, _ROW_OF[safe_module, safe_plane], -1)


def plane_info(module, plane):
    """(view, image column, z) of each (module, plane); raises if any pair is unknown."""
    rows = plane_row(module, plane)
    if np.any(rows < 0):
        bad = np.flatnonzero(np.atleast_1d(rows) < 0)[0]
        m, p = np.atleast_1d(module)[bad], np.atleast_1d(plane)[bad]
        raise ValueError(f"module {m} plane {p} is not a plane of geometry {GEOMETRY_VERSION}")
    return PLANES.view[rows], PLANES.column[rows], PLANES.z[rows]


def nearest_plane_row(z) -> np.ndarray:
    """Row of the plane whose centre is nearest to each z."""
    z = np.asarray(z, dtype=np.float64)
    right = np.clip(np.searchsorted(PLANES.z, z), 1, len(PLANES) - 1)
    left = right - 1
    return np.where(np.abs(z - PLANES.z[left]) <= np.abs(PLANES.z[right] - z), left, right)


# --- strips ----------------------------------------------------------------------------
def transverse_coordinate(view, x, y) -> np.ndarray:
    """Coordinate (mm) that a plane of ``view`` measures at transverse point (x, y)."""
    angle = np.deg2rad(np.vectorize(VIEW_ANGLE_DEG.__getitem__, otypes=[float])(view))
    return np.asarray(x) * np.cos(angle) + np.asarray(y) * np.sin(angle)


def strip_position(strip) -> np.ndarray:
    """Transverse coordinate (mm) of a strip's centre."""
    return (np.asarray(strip, dtype=np.float64) - CENTRAL_STRIP) * STRIP_PITCH_MM


def strip_coordinate(coordinate) -> np.ndarray:
    """Continuous strip number of a transverse coordinate (strip centres are integers)."""
    return np.asarray(coordinate, dtype=np.float64) / STRIP_PITCH_MM + CENTRAL_STRIP


# --- segments (MINERvA's getSegmentForZPosition) ---------------------------------------
N_SEGMENTS = 11
# (segment, z_min, z_max) in mm; a z inside a window gets that target's segment.
SEGMENT_WINDOWS = (
    (1, 4437.83, 4543.26),
    (2, 4658.90, 4764.33),
    (3, 4879.98, 5029.62),
    (4, 5601.52, 5706.95),
    (5, 5734.17, 5857.60),
)
# Outside the windows: the first threshold (a target centre) that z lies below.
SEGMENT_THRESHOLDS = (
    (0, 4481.21),
    (6, 4702.29),
    (7, 4923.36),
    (8, 5644.91),
    (9, 5777.55),
)
DOWNSTREAM_SEGMENT = 10
SEGMENT_NAMES = (
    "upstream of target 1",
    "target 1",
    "target 2",
    "target 3",
    "target 4",
    "target 5",
    "between targets 1 and 2",
    "between targets 2 and 3",
    "between targets 3 and 4 (water)",
    "between targets 4 and 5",
    "downstream of target 5",
)
TARGET_SEGMENTS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}  # passive target -> its segment


def segment_of_z(z) -> np.ndarray:
    """Segment 0-10 of each true vertex z (mm); windows are checked first, edges inclusive."""
    z = np.asarray(z, dtype=np.float64)
    segment = np.full(z.shape, DOWNSTREAM_SEGMENT, dtype=np.int64)
    assigned = np.zeros(z.shape, dtype=bool)
    for seg, z_min, z_max in SEGMENT_WINDOWS:
        hit = ~assigned & (z >= z_min) & (z <= z_max)
        segment[hit] = seg
        assigned |= hit
    for seg, z_below in SEGMENT_THRESHOLDS:
        hit = ~assigned & (z < z_below)
        segment[hit] = seg
        assigned |= hit
    return segment


# --- passive targets -------------------------------------------------------------------
DENSITY_G_CM3 = {"Fe": 7.87, "Pb": 11.35, "C": 1.74, "water": 1.0, "scintillator": 1.05}
RADIATION_LENGTH_MM = {"Fe": 17.6, "Pb": 5.6, "scintillator": 410.0, "C": 188.0, "water": 361.0}
INTERACTION_LENGTH_MM = {"Fe": 168.0, "Pb": 176.0, "scintillator": 770.0, "C": 385.0, "water": 832.0}
# C, water and scintillator lengths above are PDG values, not from the reference.
NUCLEUS_Z = {"H": 1, "C": 6, "O": 8, "Fe": 26, "Pb": 82}

TARGET_CENTRES_MM = {1: 4481.21, 2: 4702.29, 3: 4923.36, 4: 5644.91, 5: 5777.55}
WATER_Z_RANGE_MM = (5200.0, 5420.0)
FE_PB_LINE_X_MM = 205.0  # targets 1, 2, 5: Fe for x < 205 mm, Pb beyond (toy orientation)


@dataclass(frozen=True)
class PassiveVolume:
    """One material of one passive target: a slab in z, limited to a transverse region."""

    target: int  # 1-5 for the nuclear targets, 0 for the water target
    material: str  # "Fe", "Pb", "C" or "water"
    z_min: float
    z_max: float
    region: str  # name of the transverse region, see ``in_region``

    @property
    def thickness_mm(self) -> float:
        return self.z_max - self.z_min

    @property
    def areal_density_g_cm2(self) -> float:
        return DENSITY_G_CM3[self.material] * self.thickness_mm / 10.0


def _slab(target: int, material: str, thickness: float, region: str) -> PassiveVolume:
    centre = TARGET_CENTRES_MM[target]
    return PassiveVolume(target, material, centre - thickness / 2, centre + thickness / 2, region)


# Target 3's 76.3 mm of carbon centred on 4923.36 mm would reach into plane (8, 2) at
# 4890.25 mm; it shares the upstream face of the target's iron and lead instead (toy choice).
_T3_UPSTREAM_FACE_MM = TARGET_CENTRES_MM[3] - 25.75 / 2


PASSIVE_VOLUMES = (
    _slab(1, "Fe", 25.75, "fe_side"),
    _slab(1, "Pb", 25.75, "pb_side"),
    _slab(2, "Fe", 25.75, "fe_side"),
    _slab(2, "Pb", 25.75, "pb_side"),
    PassiveVolume(3, "C", _T3_UPSTREAM_FACE_MM, _T3_UPSTREAM_FACE_MM + 76.3, "c_half"),
    _slab(3, "Fe", 25.75, "fe_third"),
    _slab(3, "Pb", 25.75, "pb_sixth"),
    _slab(4, "Pb", 8.0, "all"),
    _slab(5, "Fe", 13.0, "fe_side"),
    _slab(5, "Pb", 13.0, "pb_side"),
    PassiveVolume(0, "water", WATER_Z_RANGE_MM[0], WATER_Z_RANGE_MM[1], "all"),
)


def in_region(region: str, x, y) -> np.ndarray:
    """Whether transverse points lie in a target's region (target 3 is cut in sectors:
    carbon half the area, iron a third, lead a sixth, by azimuth about the axis)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    azimuth = np.mod(np.degrees(np.arctan2(y, x)), 360.0)
    regions = {
        "all": lambda: np.ones(np.broadcast(x, y).shape, dtype=bool),
        "fe_side": lambda: x < FE_PB_LINE_X_MM,
        "pb_side": lambda: x >= FE_PB_LINE_X_MM,
        "c_half": lambda: azimuth < 180.0,
        "fe_third": lambda: (azimuth >= 180.0) & (azimuth < 300.0),
        "pb_sixth": lambda: azimuth >= 300.0,
    }
    return regions[region]()


def in_fiducial(x, y, apothem: float = FIDUCIAL_APOTHEM_MM) -> np.ndarray:
    """Inside the regular hexagon of the given apothem (flat sides at x = +-apothem)."""
    x, y = np.abs(np.asarray(x, dtype=np.float64)), np.abs(np.asarray(y, dtype=np.float64))
    return (x <= apothem) & (0.5 * x + np.sqrt(3.0) / 2.0 * y <= apothem)


HEXAGON_AREA_MM2 = 2.0 * np.sqrt(3.0) * FIDUCIAL_APOTHEM_MM**2


def passive_volume_at(x, y, z) -> np.ndarray:
    """Index into PASSIVE_VOLUMES of the volume containing each point, -1 for none."""
    x, y, z = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (x, y, z)))
    index = np.full(z.shape, -1, dtype=np.int64)
    for i, volume in enumerate(PASSIVE_VOLUMES):
        inside = (z >= volume.z_min) & (z <= volume.z_max) & in_region(volume.region, x, y)
        index[inside & (index < 0)] = i
    return index


def material_at(x, y, z) -> np.ndarray:
    """Material name at each point: a passive material, "scintillator" inside a plane,
    "gap" elsewhere (air, glue and the spaces between planes)."""
    volume = passive_volume_at(x, y, z)
    names = np.array([v.material for v in PASSIVE_VOLUMES] + ["scintillator", "gap"])
    row = nearest_plane_row(z)
    in_plane = np.abs(np.asarray(z) - PLANES.z[row]) <= PLANE_THICKNESS_MM / 2
    code = np.where(volume >= 0, volume, np.where(in_plane, len(PASSIVE_VOLUMES), len(PASSIVE_VOLUMES) + 1))
    return names[code]


# --- plane codes -----------------------------------------------------------------------
# A finer label than segments: every plane of the image window and every passive target
# (targets 1-5 and the water target) in z order; a z gets the code of the nearest layer.
_LAYER_Z = np.sort(np.concatenate([PLANES.z, list(TARGET_CENTRES_MM.values()), [np.mean(WATER_Z_RANGE_MM)]]))
N_PLANECODES = len(_LAYER_Z)


def planecode_of_z(z) -> np.ndarray:
    """Plane code (0 .. N_PLANECODES-1) of each z: the nearest plane or target centre."""
    z = np.asarray(z, dtype=np.float64)
    right = np.clip(np.searchsorted(_LAYER_Z, z), 1, len(_LAYER_Z) - 1)
    left = right - 1
    return np.where(np.abs(z - _LAYER_Z[left]) <= np.abs(_LAYER_Z[right] - z), left, right)


# The segment of each plane code: that of its layer's z. A vertex between a segment window's
# edge and the nearest layer on the other side gets a code of the neighbouring segment, so
# the map agrees with the true segment for about 99 % of vertices, not all.
SEGMENT_OF_PLANECODE = segment_of_z(_LAYER_Z)
