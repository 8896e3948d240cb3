"""The layer stack particles cross and the energy-range relation of charged particles.

Layers are the 100 scintillator planes of ``geometry.PLANES`` and the passive volumes of
``geometry.PASSIVE_VOLUMES`` (each limited to its transverse region), in z order. Energy
loss uses a Bethe-Bloch range table for polystyrene; other materials scale the range by
their minimum dE/dx (PDG), so a track's residual range is counted in
"scintillator-equivalent" g/cm2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry as geo

MATERIALS = ("scintillator", "Fe", "Pb", "C", "water")
# Minimum ionisation, MeV cm2/g (PDG atomic and nuclear properties tables).
MIN_DEDX_MEV_CM2_G = {"scintillator": 1.936, "Fe": 1.451, "Pb": 1.122, "C": 1.742, "water": 1.992}

MUON, PION, PROTON = 0, 1, 2
MASS_MEV = np.array([105.658, 139.570, 938.272])  # PDG
ELECTRON_MASS_MEV = 0.51100
PI0_MASS_MEV = 134.977
NUCLEON_MASS_MEV = 938.92  # mean of proton and neutron
SPEED_OF_LIGHT_MM_NS = 299.792

# Hits exist only on strips: the inner detector ends where the strips end.
INNER_DETECTOR_APOTHEM_MM = geo.N_STRIPS / 2 * geo.STRIP_PITCH_MM


@dataclass(frozen=True)
class LayerStack:
    z_lo: np.ndarray
    z_hi: np.ndarray
    material: np.ndarray  # index into MATERIALS
    region: np.ndarray  # region name (geometry.in_region); "all" for planes
    plane_row: np.ndarray  # row in geometry.PLANES; -1 for passive layers
    density: np.ndarray  # g/cm3
    radiation_length_mm: np.ndarray
    interaction_length_mm: np.ndarray
    loss_ratio: np.ndarray  # min dE/dx relative to scintillator

    def __len__(self) -> int:
        return len(self.z_lo)


def _build_stack() -> LayerStack:
    half = geo.PLANE_THICKNESS_MM / 2
    rows = [(z - half, z + half, "scintillator", "all", i) for i, z in enumerate(geo.PLANES.z)]
    rows += [(v.z_min, v.z_max, v.material, v.region, -1) for v in geo.PASSIVE_VOLUMES]
    rows.sort(key=lambda r: (r[0], r[1]))
    names = [r[2] for r in rows]
    return LayerStack(
        z_lo=np.array([r[0] for r in rows]),
        z_hi=np.array([r[1] for r in rows]),
        material=np.array([MATERIALS.index(n) for n in names]),
        region=np.array([r[3] for r in rows]),
        plane_row=np.array([r[4] for r in rows]),
        density=np.array([geo.DENSITY_G_CM3[n] for n in names]),
        radiation_length_mm=np.array([geo.RADIATION_LENGTH_MM[n] for n in names]),
        interaction_length_mm=np.array([geo.INTERACTION_LENGTH_MM[n] for n in names]),
        loss_ratio=np.array([MIN_DEDX_MEV_CM2_G[n] / MIN_DEDX_MEV_CM2_G["scintillator"] for n in names]),
    )


STACK = _build_stack()


# --- Bethe-Bloch range table in polystyrene (PDG formula and Sternheimer parameters) ----
_K = 0.307075  # MeV mol-1 cm2
_Z_OVER_A = 0.53768
_I_MEV = 68.7e-6
_STERNHEIMER = dict(x0=0.1647, x1=2.5031, cbar=3.2999, a=0.16454, k=3.2224)


def dedx_scintillator(mass_mev: float, beta_gamma: np.ndarray) -> np.ndarray:
    """Mean dE/dx (MeV cm2/g) in polystyrene of a unit-charge particle."""
    bg2 = beta_gamma**2
    gamma = np.sqrt(1 + bg2)
    beta2 = bg2 / (1 + bg2)
    ratio = ELECTRON_MASS_MEV / mass_mev
    t_max = 2 * ELECTRON_MASS_MEV * bg2 / (1 + 2 * gamma * ratio + ratio**2)
    x = np.log10(beta_gamma)
    s = _STERNHEIMER
    below_x1 = s["a"] * np.clip(s["x1"] - x, 0, None) ** s["k"]
    delta = np.where(x >= s["x0"], 2 * np.log(10) * x - s["cbar"] + below_x1, 0.0)
    log_term = 0.5 * np.log(2 * ELECTRON_MASS_MEV * bg2 * t_max / _I_MEV**2)
    return _K * _Z_OVER_A / beta2 * (log_term - beta2 - delta / 2)


_LOG_T_GRID = np.linspace(np.log(0.05), np.log(2.0e5), 1200)  # kinetic energy, MeV


def _range_table(mass_mev: float) -> np.ndarray:
    kinetic = np.exp(_LOG_T_GRID)
    beta_gamma = np.sqrt(kinetic * (kinetic + 2 * mass_mev)) / mass_mev
    # Bethe fails at very low energy: cap the stopping power (the last ~0.1 mm).
    dedx = np.clip(dedx_scintillator(mass_mev, beta_gamma), 1.0, 400.0)
    integrand = kinetic / dedx  # dR/dlnT
    steps = 0.5 * (integrand[1:] + integrand[:-1]) * np.diff(_LOG_T_GRID)
    return np.log(np.concatenate([[kinetic[0] / dedx[0]], kinetic[0] / dedx[0] + np.cumsum(steps)]))


_LOG_RANGE = np.stack([_range_table(m) for m in MASS_MEV])  # (species, grid) log g/cm2
MIP_DEDX_MEV_CM2_G = float(dedx_scintillator(MASS_MEV[MUON], np.geomspace(1, 100, 400)).min())


# One lookup for all species: species s's table is shifted by s * _SPECIES_OFFSET, far beyond
# any table's span, so a single np.interp serves a mixed batch (queries clipped to their
# species' table, as np.interp clips at the ends).
_SPECIES_OFFSET = 1000.0
_SHIFT = np.arange(len(MASS_MEV)) * _SPECIES_OFFSET
_LOG_T_SHIFTED = (_LOG_T_GRID + _SHIFT[:, None]).ravel()
_LOG_RANGE_SHIFTED = (_LOG_RANGE + _SHIFT[:, None]).ravel()
_LOG_T_ALL = np.tile(_LOG_T_GRID, len(MASS_MEV))
_LOG_RANGE_ALL = _LOG_RANGE.ravel()


def range_of_kinetic(species: np.ndarray, kinetic_mev: np.ndarray) -> np.ndarray:
    """CSDA range (scintillator g/cm2) of each particle; 0 for no kinetic energy."""
    kinetic_mev = np.asarray(kinetic_mev, dtype=float)
    species = np.broadcast_to(species, kinetic_mev.shape)
    log_t = np.clip(np.log(np.maximum(kinetic_mev, 1e-9)), _LOG_T_GRID[0], _LOG_T_GRID[-1])
    out = np.exp(np.interp(log_t + _SHIFT[species], _LOG_T_SHIFTED, _LOG_RANGE_ALL))
    return np.where(kinetic_mev > 0, out, 0.0)


def kinetic_of_range(species: np.ndarray, range_g_cm2: np.ndarray) -> np.ndarray:
    """Kinetic energy (MeV) of particles with the given residual range; 0 where none."""
    range_g_cm2 = np.asarray(range_g_cm2, dtype=float)
    species = np.broadcast_to(species, range_g_cm2.shape)
    log_r = np.clip(np.log(np.maximum(range_g_cm2, 1e-12)), _LOG_RANGE[species, 0], _LOG_RANGE[species, -1])
    out = np.exp(np.interp(log_r + _SHIFT[species], _LOG_RANGE_SHIFTED, _LOG_T_ALL))
    return np.where(range_g_cm2 > 0, out, 0.0)
