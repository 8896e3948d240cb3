"""Where neutrinos interact and what comes out: vertex placement, CC kinematics, final state.

Vertices are placed by mass over the scintillator planes, the passive targets (per
material: areal density times the share of the fiducial hexagon its region covers) and the
water target, limited to the image window (first to last plane of ``geometry.PLANES``) so
that every segment 0-10 is populated. Interaction types (QE, RES, DIS, COH) follow toy
cross sections per nucleon (DIS rises linearly with energy and dominates in the medium-energy
beam); DIS has W >= 1.7 GeV and a pion multiplicity growing with ln W^2.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from .. import geometry as geo
from .materials import MASS_MEV, MUON, NUCLEON_MASS_MEV, PI0_MASS_MEV, PION, PROTON, STACK

QE, RES, DIS, COH = 1, 2, 3, 4
PI0 = 3  # species code of a neutral pion (decays to two photons)
NEUTRON = 4  # species code of a neutron (invisible; scatters off protons: particles.scatter_neutrons)
M_GEV = NUCLEON_MASS_MEV / 1000
M_MU_GEV = MASS_MEV[MUON] / 1000
M_PI_GEV = MASS_MEV[PION] / 1000
DIS_MIN_W_GEV = 1.7  # GENIE-like boundary between resonances and DIS
BINDING_GEV = 0.025  # nucleon removal energy in QE
FERMI_MOMENTUM_GEV = 0.22
MEAN_PT_GEV = 0.3  # mean transverse momentum of hadrons about the momentum transfer
_HEX_BOX = (geo.FIDUCIAL_APOTHEM_MM, geo.FIDUCIAL_APOTHEM_MM * 2 / np.sqrt(3))


# --- vertex placement ------------------------------------------------------------------
@lru_cache(maxsize=None)
def region_share(region: str) -> float:
    """Share of the fiducial hexagon that a transverse region covers (fine grid)."""
    x, y = np.meshgrid(np.linspace(-_HEX_BOX[0], _HEX_BOX[0], 1201), np.linspace(-_HEX_BOX[1], _HEX_BOX[1], 1201))
    inside = geo.in_fiducial(x, y)
    return float((inside & geo.in_region(region, x, y)).sum() / inside.sum())


@dataclass(frozen=True)
class TargetComponents:
    """Volumes that can hold a vertex, with their relative mass in the fiducial volume."""

    z_lo: np.ndarray
    z_hi: np.ndarray
    region: np.ndarray
    material: np.ndarray  # "scintillator", "Fe", "Pb", "C", "water"
    mass: np.ndarray  # g/cm2 times the share of the hexagon (common area dropped)


@lru_cache(maxsize=1)
def target_components() -> TargetComponents:
    """The vertex volumes (fixed by the geometry: computed once)."""
    areal = STACK.density * (STACK.z_hi - STACK.z_lo) / 10.0
    share = np.array([region_share(r) for r in STACK.region])
    names = np.array(["scintillator", "Fe", "Pb", "C", "water"])[STACK.material]
    return TargetComponents(STACK.z_lo, STACK.z_hi, STACK.region, names, areal * share)


def mass_fractions_by_segment(segment_weights=None) -> np.ndarray:
    """Expected fraction of vertices per segment (0-10) for the given segment weights."""
    comps = target_components()
    weights = np.ones(geo.N_SEGMENTS) if segment_weights is None else np.asarray(segment_weights, float)
    segment = geo.segment_of_z(0.5 * (comps.z_lo + comps.z_hi))
    mass = comps.mass * weights[segment]
    return np.bincount(segment, weights=mass, minlength=geo.N_SEGMENTS) / mass.sum()


# Nuclei by mass share: CH is 12/13 carbon; water 16/18 oxygen.
_NUCLEI = {
    "scintillator": ((geo.NUCLEUS_Z["C"], geo.NUCLEUS_Z["H"]), (12 / 13, 1 / 13)),
    "water": ((geo.NUCLEUS_Z["O"], geo.NUCLEUS_Z["H"]), (16 / 18, 2 / 18)),
    "Fe": ((geo.NUCLEUS_Z["Fe"],), (1.0,)),
    "Pb": ((geo.NUCLEUS_Z["Pb"],), (1.0,)),
    "C": ((geo.NUCLEUS_Z["C"],), (1.0,)),
}


def place_vertices(rng: np.random.Generator, n: int, segment_weights) -> tuple[np.ndarray, ...]:
    """Vertex x, y, z (mm) and struck nucleus Z of ``n`` interactions, placed by mass.
    Segment weights other than all equal thin each segment by rejection on the vertex z."""
    comps = target_components()
    weights = np.asarray(segment_weights, float) / np.max(segment_weights)
    comp, z = _draw_z(rng, comps, n)
    if not np.all(weights == 1.0):
        pending = np.flatnonzero(rng.random(n) >= weights[geo.segment_of_z(z)])
        while len(pending):
            comp[pending], z[pending] = _draw_z(rng, comps, len(pending))
            pending = pending[rng.random(len(pending)) >= weights[geo.segment_of_z(z[pending])]]
    x, y = _transverse_points(rng, comps.region[comp])
    nucleus = np.zeros(n, dtype=np.int32)
    u = rng.random(n)
    for material, (codes, shares) in _NUCLEI.items():
        sel = comps.material[comp] == material
        pick = np.searchsorted(np.cumsum(shares), u[sel] * 0.999999)
        nucleus[sel] = np.asarray(codes)[pick]
    return x, y, z, nucleus


def _draw_z(rng, comps: TargetComponents, n: int):
    """Component (by mass) and a uniform z inside it."""
    comp = rng.choice(len(comps.mass), size=n, p=comps.mass / comps.mass.sum())
    return comp, comps.z_lo[comp] + rng.random(n) * (comps.z_hi - comps.z_lo)[comp]


_CANDIDATES_PER_POINT = 16  # rejection in batches: few rounds even for a region of 1/6


def _transverse_points(rng: np.random.Generator, regions: np.ndarray):
    """Uniform points in the fiducial hexagon, each inside its own region (rejection: each
    point takes the first accepted of a batch of uniform candidates in the bounding box)."""
    n = len(regions)
    x, y = np.empty(n), np.empty(n)
    pending = np.arange(n)
    while len(pending):
        shape = (len(pending), _CANDIDATES_PER_POINT)
        cx = rng.uniform(-_HEX_BOX[0], _HEX_BOX[0], shape)
        cy = rng.uniform(-_HEX_BOX[1], _HEX_BOX[1], shape)
        ok = geo.in_fiducial(cx, cy)
        wanted = regions[pending]
        for region in np.unique(wanted):
            sel = wanted == region
            ok[sel] &= geo.in_region(region, cx[sel], cy[sel])
        found = np.flatnonzero(ok.any(axis=1))
        pick = ok[found].argmax(axis=1)
        x[pending[found]], y[pending[found]] = cx[found, pick], cy[found, pick]
        pending = np.delete(pending, found)
    return x, y


# --- interaction kinematics ------------------------------------------------------------
def cross_sections(energy_gev: np.ndarray) -> np.ndarray:
    """Toy CC cross sections per nucleon (1e-38 cm2), columns QE, RES, DIS, COH."""
    e = np.asarray(energy_gev, float)
    qe = 0.45 * (1 - np.exp(-e / 0.3))
    res = 0.55 * np.clip(1 - np.exp(-(e - 0.3) / 0.6), 0, None)
    dis = 0.68 * e * np.clip(1 - np.exp(-(e - 1.0) / 1.5), 0, None)  # sigma/E about 0.68e-38 cm2/GeV
    coh = 0.02 * np.sqrt(e)
    return np.stack([qe, res, dis, coh], axis=-1)


@dataclass
class Kinematics:
    energy: np.ndarray  # GeV
    int_type: np.ndarray
    nu: np.ndarray  # energy transfer, GeV
    q2: np.ndarray  # GeV^2
    w: np.ndarray  # GeV
    muon_energy: np.ndarray
    muon_dir: np.ndarray  # (n, 3) unit
    q_dir: np.ndarray  # (n, 3) unit direction of the momentum transfer


def draw_kinematics(rng: np.random.Generator, energy: np.ndarray) -> Kinematics:
    n = len(energy)
    xs = cross_sections(energy)
    cum = np.cumsum(xs, axis=1) / xs.sum(axis=1, keepdims=True)
    int_type = (rng.random(n)[:, None] > cum).sum(axis=1).astype(np.int32) + 1
    nu, q2 = np.zeros(n), np.zeros(n)

    sel = int_type == QE
    q2[sel] = rng.exponential(0.35, sel.sum())
    nu[sel] = q2[sel] / (2 * M_GEV)

    sel = int_type == RES
    w_res = np.clip(1.232 + 0.06 * rng.standard_cauchy(sel.sum()), 1.08, DIS_MIN_W_GEV)
    q2[sel] = rng.exponential(0.45, sel.sum())
    nu[sel] = (w_res**2 - M_GEV**2 + q2[sel]) / (2 * M_GEV)

    sel = int_type == DIS
    e = energy[sel]
    y_min = np.minimum((DIS_MIN_W_GEV**2 - M_GEV**2) / (2 * M_GEV * e), 0.99)
    y_max = np.maximum(1 - (M_MU_GEV + 0.05) / e, y_min)
    y = y_min + (y_max - y_min) * rng.random(sel.sum())
    x_max = np.clip(1 - (DIS_MIN_W_GEV**2 - M_GEV**2) / (2 * M_GEV * e * y), 0.0, 1.0)
    x = x_max * rng.beta(0.5, 3.0, sel.sum())
    nu[sel], q2[sel] = y * e, 2 * M_GEV * e * x * y

    sel = int_type == COH
    nu[sel] = energy[sel] * rng.uniform(0.05, 0.6, sel.sum())
    q2[sel] = rng.exponential(0.05, sel.sum())

    nu = np.minimum(nu, energy - M_MU_GEV - 0.01)
    muon_energy = energy - nu
    muon_p = np.sqrt(np.maximum(muon_energy**2 - M_MU_GEV**2, 1e-9))
    for _ in range(40):  # shrink Q2 until the muon angle exists
        cos = (2 * energy * muon_energy - q2 - M_MU_GEV**2) / (2 * energy * muon_p)
        bad = np.abs(cos) > 1
        if not bad.any():
            break
        q2[bad] *= 0.7
    cos = np.clip((2 * energy * muon_energy - q2 - M_MU_GEV**2) / (2 * energy * muon_p), -1, 1)
    w = np.sqrt(np.maximum(M_GEV**2 + 2 * M_GEV * nu - q2, M_GEV**2))
    w[int_type == QE] = M_GEV

    phi = rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    muon_dir = np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1)
    q_vec = np.stack([np.zeros(n), np.zeros(n), energy], axis=1) - muon_p[:, None] * muon_dir
    q_dir = q_vec / np.linalg.norm(q_vec, axis=1, keepdims=True)
    return Kinematics(energy, int_type, nu, q2, w, muon_energy, muon_dir, q_dir)


# --- final-state particles -------------------------------------------------------------
@dataclass
class Particles:
    """Particles leaving the vertex (struct of arrays). Species: materials.MUON/PION/PROTON
    or PI0; kinetic energy in MeV; direction a unit vector; time in ns."""

    event: np.ndarray
    species: np.ndarray
    kinetic: np.ndarray
    pos: np.ndarray  # (n, 3) mm
    dir: np.ndarray  # (n, 3)
    time: np.ndarray
    generation: np.ndarray
    # Multiplier of the visible energy of the particle's deposits: the response of its
    # species (PhysicsModel.light_by_species), or the neutron response for a proton a
    # neutron knocked out. None: 1 for every particle.
    light: np.ndarray | None = None

    def __post_init__(self):
        if self.light is None:
            self.light = np.ones(len(self.event))

    def __len__(self) -> int:
        return len(self.event)

    def select(self, mask) -> Particles:
        return Particles(*(getattr(self, f.name)[mask] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Particles]) -> Particles:
        return Particles(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Particles)))


def final_state(rng, kin: Kinematics, vertex: np.ndarray, event_time: np.ndarray, model,
                nucleus_z: np.ndarray | None = None) -> Particles:
    """The muon and (unless ``muon_only``) the hadrons of every event; pions leaving a
    nucleus of ``nucleus_z`` (none given: free nucleons) may be absorbed or charge-exchanged
    on their way out (``final_state_interactions``)."""
    n = len(kin.energy)
    light = model.light_by_species()
    muon_kinetic = (kin.muon_energy - M_MU_GEV) * 1000
    muon = _particles(np.arange(n), np.full(n, MUON), muon_kinetic, kin.muon_dir, vertex, event_time, light)
    if model.muon_only:
        return muon
    event, species, kinetic = _hadron_list(rng, kin, model.hadron_multiplicity_scale)
    kinetic = kinetic * model.hadron_energy_scale
    mass = np.where(species == PI0, PI0_MASS_MEV / 1000, MASS_MEV[np.minimum(species, 2)] / 1000)
    momentum = np.sqrt(kinetic * (kinetic + 2 * mass))
    transverse = np.where(kin.int_type[event] == QE, np.abs(rng.normal(0, FERMI_MOMENTUM_GEV, len(event))),
                          rng.exponential(MEAN_PT_GEV, len(event)))
    direction = _around(rng, kin.q_dir[event], transverse / np.maximum(momentum, 1e-6))
    hadrons = _particles(event, species, kinetic * 1000, direction, vertex, event_time, light)
    if nucleus_z is not None:
        hadrons = final_state_interactions(rng, hadrons, nucleus_z, model)
    return Particles.concat([muon, hadrons])


# Mass numbers of the struck nuclei (geometry.NUCLEUS_Z): the nuclear radius, and with it
# the chance of a pion to re-interact on its way out, grows as A^(1/3).
MASS_NUMBER = {1: 1, 6: 12, 8: 16, 26: 56, 82: 208}
_MASS_NUMBER_OF_Z = np.zeros(max(MASS_NUMBER) + 1)
_MASS_NUMBER_OF_Z[list(MASS_NUMBER)] = list(MASS_NUMBER.values())
FSI_REFERENCE_A = 12  # the FSI knobs are the probabilities for carbon
ABSORPTION_BINDING_MEV = 25.0  # per nucleon of the absorbing pair


def _mass_number(nucleus_z: np.ndarray) -> np.ndarray:
    return _MASS_NUMBER_OF_Z[np.asarray(nucleus_z, np.int64)]


def _nuclear_size(a: np.ndarray) -> np.ndarray:
    """(A / 12)^(1/3): how an FSI knob for carbon scales to a nucleus; 0 for hydrogen."""
    return np.where(a > 1, (a / FSI_REFERENCE_A) ** (1 / 3), 0.0)


def _isotropic(rng, n: int) -> np.ndarray:
    """``n`` unit vectors uniform on the sphere."""
    return rotate_to(np.tile([0.0, 0.0, 1.0], (n, 1)), rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n))


def final_state_interactions(rng, hadrons: Particles, nucleus_z: np.ndarray, model) -> Particles:
    """Pion fates inside the nucleus (GENIE hA-like): a pion is absorbed with probability
    ``pion_absorption_probability`` x (A / 12)^(1/3) (its energy goes to a proton and a
    neutron emitted isotropically, hits of heavy ionisation near the vertex), else
    charge-exchanged (a charged pion becomes a pi0: a shower instead of a track) with
    ``pion_charge_exchange_probability`` x (A / 12)^(1/3). Hydrogen has no FSI."""
    size = _nuclear_size(_mass_number(nucleus_z[hadrons.event]))
    is_pion = np.isin(hadrons.species, [PION, PI0])
    u = rng.random(len(hadrons))
    p_abs = np.minimum(model.pion_absorption_probability * size, 0.9)
    p_cex = np.minimum(model.pion_charge_exchange_probability * size, 1.0 - p_abs)
    absorbed = is_pion & (u < p_abs)
    exchanged = is_pion & ~absorbed & (hadrons.species == PION) & (u < p_abs + p_cex)
    light = model.light_by_species()
    species = np.where(exchanged, PI0, hadrons.species)
    kept = hadrons.select(~absorbed)
    kept.species = species[~absorbed]
    kept.light = light[kept.species]
    gone = hadrons.select(absorbed)
    pion_mass = np.where(gone.species == PI0, PI0_MASS_MEV, MASS_MEV[PION])
    each = np.maximum((gone.kinetic + pion_mass) / 2 - ABSORPTION_BINDING_MEV, 1.0)
    m = len(gone)
    pair_species = np.concatenate([np.full(m, PROTON), np.full(m, NEUTRON)])
    pair = Particles(np.tile(gone.event, 2), pair_species, np.tile(each, 2), np.tile(gone.pos, (2, 1)), _isotropic(rng, 2 * m),
                     np.tile(gone.time, 2), np.tile(gone.generation, 2), light[pair_species])
    return Particles.concat([kept, pair, cascade_nucleons(rng, hadrons, nucleus_z, model)])


CASCADE_MEAN_KINETIC_MEV = 40.0


def cascade_nucleons(rng, hadrons: Particles, nucleus_z: np.ndarray, model) -> Particles:
    """Nucleons knocked out by the intranuclear cascade (absent in an hA-like model, where
    each hadron has one fate): Poisson(``cascade_nucleons_per_event`` x (A / 12)^(1/3)) per
    event with hadrons, isotropic, exponential kinetic energies of mean
    CASCADE_MEAN_KINETIC_MEV, protons in the share Z / A."""
    events = np.unique(hadrons.event)
    if model.cascade_nucleons_per_event <= 0 or not len(events):
        return hadrons.select(np.zeros(len(hadrons), bool))
    z = nucleus_z[events]
    a = _mass_number(z)
    counts = rng.poisson(model.cascade_nucleons_per_event * _nuclear_size(a))
    event = np.repeat(events, counts)
    m = len(event)
    species = np.where(rng.random(m) < np.repeat(z / a, counts), PROTON, NEUTRON)
    first = np.searchsorted(hadrons.event, event)  # each event's first hadron: its vertex and time
    direction = _isotropic(rng, m)
    return Particles(event, species, rng.exponential(CASCADE_MEAN_KINETIC_MEV, m), hadrons.pos[first], direction,
                     hadrons.time[first], hadrons.generation[first], model.light_by_species()[species])


def _particles(event, species, kinetic_mev, direction, vertex, event_time, light) -> Particles:
    n = len(event)
    species = np.asarray(species, np.int64)
    return Particles(event, species, np.asarray(kinetic_mev, float), vertex[event],
                     direction, event_time[event], np.zeros(n, np.int64), light[species])


def _hadron_list(rng, kin: Kinematics, multiplicity_scale: float):
    """Event index, species and kinetic energy (GeV) of every hadron."""
    n = len(kin.energy)
    hadronic_energy = kin.nu + M_GEV  # energy of the hadronic system on a free nucleon
    n_charged, n_neutral = np.zeros(n, np.int64), np.zeros(n, np.int64)
    leading_proton = np.zeros(n, bool)

    t = kin.int_type
    leading_proton[t == QE] = True
    res = t == RES
    channel = rng.random(n)  # Delta decays: p pi+ , p pi0, n pi+
    leading_proton[res] = channel[res] < 0.89
    n_charged[res & ((channel < 0.67) | (channel >= 0.89))] = 1
    n_neutral[res & (channel >= 0.67) & (channel < 0.89)] = 1
    dis = t == DIS
    mean_pions = multiplicity_scale * np.maximum(1.33 * np.log(kin.w**2) - 0.4, 0.3)
    n_charged[dis] = rng.poisson(mean_pions[dis])
    n_neutral[dis] = rng.poisson(0.45 * mean_pions[dis])
    leading_proton[dis] = rng.random(dis.sum()) < 0.5
    n_charged[t == COH] = 1
    # Energy limits the number of pions (each needs its mass and some kinetic energy).
    max_pions = np.floor(np.maximum(hadronic_energy - M_GEV, 0) / (M_PI_GEV + 0.05)).astype(np.int64)
    n_charged = np.minimum(n_charged, max_pions)
    n_neutral = np.minimum(n_neutral, max_pions - n_charged)
    has_nucleon = t != COH  # the nucleon takes a share

    counts = n_charged + n_neutral + has_nucleon
    event = np.repeat(np.arange(n), counts)
    first = np.cumsum(counts) - counts
    rank = np.arange(len(event)) - first[event]
    nucleon_slot = has_nucleon[event] & (rank == 0)
    neutral_slot = ~nucleon_slot & (rank - has_nucleon[event] >= n_charged[event])
    species = np.where(nucleon_slot, np.where(leading_proton[event], PROTON, NEUTRON),
                       np.where(neutral_slot, PI0, PION))
    mass = np.where(nucleon_slot, M_GEV, np.where(neutral_slot, PI0_MASS_MEV / 1000, M_PI_GEV))
    available = hadronic_energy - np.bincount(event, weights=mass, minlength=n)
    available = np.maximum(available - np.where(t == QE, BINDING_GEV, 0.0), 0.0)
    share = rng.exponential(1.0, len(event))  # flat Dirichlet shares
    share /= np.bincount(event, weights=share, minlength=n)[event]
    return event, species, share * available[event]


def _around(rng, axis: np.ndarray, sin_angle: np.ndarray) -> np.ndarray:
    """Unit vectors at polar angle asin(sin_angle) about ``axis`` (isotropic where >= 1)."""
    n = len(axis)
    cos = np.where(sin_angle < 1, np.sqrt(1 - np.minimum(sin_angle, 1) ** 2), rng.uniform(-1, 1, n))
    return rotate_to(axis, cos, rng.uniform(0, 2 * np.pi, n))


def rotate_to(axis: np.ndarray, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit vectors with polar angle acos(cos_theta), azimuth phi about each ``axis``."""
    ax, ay, az = axis[:, 0], axis[:, 1], axis[:, 2]
    # e1 = axis x reference, the reference x (or y, for axes near x) far from the axis.
    near_x = np.abs(ax) >= 0.9
    e1x, e1y, e1z = np.where(near_x, -az, 0.0), np.where(near_x, 0.0, az), np.where(near_x, ax, -ay)
    norm = np.sqrt(e1x**2 + e1y**2 + e1z**2)
    e1x, e1y, e1z = e1x / norm, e1y / norm, e1z / norm
    sin = np.sqrt(np.clip(1 - cos_theta**2, 0, None))
    u, v = sin * np.cos(phi), sin * np.sin(phi)
    out = np.empty_like(axis, dtype=float)
    # e2 = axis x e1
    out[:, 0] = cos_theta * ax + u * e1x + v * (ay * e1z - az * e1y)
    out[:, 1] = cos_theta * ay + u * e1y + v * (az * e1x - ax * e1z)
    out[:, 2] = cos_theta * az + u * e1z + v * (ax * e1y - ay * e1x)
    return out
