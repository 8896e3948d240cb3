"""Particles through the layer stack, all at once: flat numpy arrays of (particle, layer)
crossings, only the layers each particle can reach (its range, the inner detector).

Charged tracks (muons, charged pions, protons) lose energy by the range table, scatter
(Highland), stop, leave the inner detector, or (hadrons) interact after an exponential
number of nuclear interaction lengths, making secondaries. Photons from neutral pions
convert after 9/7 radiation lengths and shower with a gamma-function longitudinal profile,
so a shower in Pb or Fe is short and mostly invisible. Energy is recorded only in
scintillator layers: passive material never gives a deposit. Heavily ionising steps are
quenched by Birks' law. Neutrons are invisible until they knock out a proton (after an
exponential number of interaction lengths): a detached, delayed stub of heavy ionisation.
Each particle's visible energy is scaled by the response of its species (``light``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import gammainc

from .. import geometry as geo
from .crossings import INTERACTIONS_PER_MM, RADIATION_LENGTHS_PER_MM, RANGE_PER_MM, crossings
from .interactions import NEUTRON, PI0, Particles, rotate_to
from .materials import (
    MASS_MEV,
    MIP_DEDX_MEV_CM2_G,
    MUON,
    PI0_MASS_MEV,
    PION,
    PROTON,
    SPEED_OF_LIGHT_MM_NS,
    STACK,
    dedx_scintillator,
    kinetic_of_range,
    range_of_kinetic,
)

# A minimum-ionising particle leaves about 3.4 MeV visible in a plane at normal incidence
# (MINERVA.md: Landau, most probable 1.7 MeV/cm, width about 0.5 MeV/cm); taken as the
# most probable value for a typical MINERvA muon (3 GeV), the width read as a full width
# at half maximum. VISIBLE_PER_MEV turns mean energy loss into visible energy.
MIP_MPV_PLANE_MEV = 3.4
REFERENCE_MUON_MEV = 3000.0
_REFERENCE_BETA_GAMMA = np.sqrt(REFERENCE_MUON_MEV * (REFERENCE_MUON_MEV + 2 * MASS_MEV[MUON])) / MASS_MEV[MUON]
VISIBLE_PER_MEV = MIP_MPV_PLANE_MEV / (
    float(dedx_scintillator(MASS_MEV[MUON], np.array(_REFERENCE_BETA_GAMMA))) * geo.SCINTILLATOR_G_PER_CM2
)
LANDAU_RELATIVE_SCALE = (0.5 / 3.58) / 1.7  # Moyal FWHM is 3.58 scale units
CRITICAL_ENERGY_MEV = 93.1  # polystyrene (PDG)
SHOWER_B = 0.5  # longitudinal profile parameter (PDG)
SHOWER_SLICES = 2  # transverse sub-deposits per shower layer
MIN_DEPOSIT_MEV = 0.02
MIN_SECONDARY_PARENT_MEV = 20.0  # below this an interaction just absorbs the hadron
MAX_GENERATION = 2  # secondaries of secondaries do not interact again
MIN_NEUTRON_MEV = 5.0  # slower neutrons cannot give a proton above threshold: not followed
# Birks' law is normalised to a minimum-ionising step, so that the muon calibration of
# VISIBLE_PER_MEV stays: dE/dx of a MIP in polystyrene, MeV/mm.
MIP_DEDX_MEV_MM = MIP_DEDX_MEV_CM2_G * geo.DENSITY_G_CM3["scintillator"] / 10.0


@dataclass
class Deposits:
    """Energy deposits in scintillator planes (before the detector response)."""

    event: np.ndarray
    plane_row: np.ndarray
    x: np.ndarray
    y: np.ndarray
    energy: np.ndarray  # visible MeV
    time: np.ndarray  # ns

    @staticmethod
    def concat(parts: list[Deposits]) -> Deposits:
        return Deposits(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Deposits)))


def _segment_exclusive_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Cumulative sum of the earlier entries of the same segment (``first``: index of the
    segment's first entry, per entry)."""
    exclusive = np.cumsum(values) - values
    return exclusive - exclusive[first]


def _moyal(rng, n: int) -> np.ndarray:
    """Standard Moyal variates (Landau approximation, mode 0): -ln(Z^2), Z normal."""
    return -np.log(np.maximum(rng.standard_normal(n) ** 2, 1e-30))


def _nominal():
    from .models import PhysicsModel

    return PhysicsModel.nominal()


def birks_quenching(dedx_mev_mm: np.ndarray, birks_mm_per_mev: float) -> np.ndarray:
    """Visible light per MeV relative to a minimum-ionising particle's: Birks' law
    1 / (1 + kB dE/dx), normalised to dE/dx of a MIP (the muon calibration)."""
    return (1 + birks_mm_per_mev * MIP_DEDX_MEV_MM) / (1 + birks_mm_per_mev * np.asarray(dedx_mev_mm))


@dataclass
class _Steps:
    """The active steps of charged tracks, one per (track, layer) crossing that still has
    range and comes before the track's interaction, in (track, travel) order."""

    track: np.ndarray  # the track of each step
    layer: np.ndarray
    path: np.ndarray  # mm of material in the layer
    distance: np.ndarray  # mm from the track's start to the step's middle
    x: np.ndarray
    y: np.ndarray
    kinetic_in: np.ndarray  # MeV entering the step
    kinetic_out: np.ndarray  # MeV leaving it
    range_in: np.ndarray  # scintillator-equivalent g/cm2 left entering it
    interacts: np.ndarray  # the track's hadronic interaction happens in this step
    first_of_track: np.ndarray  # per step: index of its track's first step


def _active_steps(rng, tracks: Particles) -> _Steps:
    """Range and interaction bookkeeping over each track's crossings (draws the tracks'
    interaction budgets)."""
    range_start = range_of_kinetic(tracks.species, tracks.kinetic)
    c = crossings(tracks.pos, tracks.dir, range_start)
    per_track = np.diff(c.first)
    consumed = c.path * RANGE_PER_MM[c.layer]
    range_before = np.repeat(range_start, per_track) - (c.cumsum(consumed) - consumed)
    lengths_here = c.path * INTERACTIONS_PER_MM[c.layer]
    lengths = c.cumsum(lengths_here)
    lengths_before = lengths - lengths_here
    can_interact = (tracks.species != MUON) & (tracks.generation < MAX_GENERATION)
    budget = np.repeat(np.where(can_interact, rng.exponential(1.0, len(tracks)), np.inf), per_track)
    # Alive: range left and no interaction in an earlier layer (lengths only grow).
    alive = (range_before > 0) & (lengths_before < budget)
    entry = np.flatnonzero(alive & (c.path > 0))  # in (track, travel) order

    i = c.track[entry]
    species = tracks.species[i]
    kinetic_out = kinetic_of_range(species, range_before[entry] - consumed[entry])
    # A track enters a step with what it kept from its previous step (layers between have
    # no material in its way).
    new_track = np.r_[True, i[1:] != i[:-1]]
    first_step = np.flatnonzero(new_track)
    kinetic_in = np.r_[0.0, kinetic_out[:-1]]
    kinetic_in[first_step] = kinetic_of_range(species[first_step], range_before[entry[first_step]])
    distance, x, y = c.at(entry)
    return _Steps(
        track=i, layer=c.layer[entry], path=c.path[entry], distance=distance, x=x, y=y,
        kinetic_in=kinetic_in, kinetic_out=kinetic_out, range_in=range_before[entry],
        interacts=lengths[entry] >= budget[entry], first_of_track=first_step[np.cumsum(new_track) - 1],
    )


def _scattering_offsets(rng, steps: _Steps, mass: np.ndarray) -> list[np.ndarray]:
    """Transverse x and y offsets of each step from multiple scattering (Highland kicks,
    accumulated along the track)."""
    thickness = np.maximum(steps.path / STACK.radiation_length_mm[steps.layer], 1e-9)
    momentum = np.sqrt(steps.kinetic_in * (steps.kinetic_in + 2 * mass))
    beta = momentum / (steps.kinetic_in + mass)
    theta0 = 13.6 / np.maximum(momentum * beta, 1e-3) * np.sqrt(thickness) * (1 + 0.038 * np.log(thickness))
    theta0 = np.clip(theta0, 0, 0.5)
    offsets = []
    for _ in range(2):
        kick = rng.normal(0.0, 1.0, len(steps.track)) * theta0
        before = _segment_exclusive_cumsum(kick, steps.first_of_track)
        moment = _segment_exclusive_cumsum(kick * steps.distance, steps.first_of_track)
        offsets.append(steps.distance * before - moment)
    return offsets


def _visible_energy(rng, steps: _Steps, loss: np.ndarray, birks_mm_per_mev: float) -> np.ndarray:
    """Visible energy of each step before the species response: Landau (Moyal)
    fluctuations about the mean loss, narrower for heavily ionising steps (more
    collisions), quenched by Birks' law."""
    grams = steps.path / 10.0 * STACK.density[steps.layer]
    relative_loss = loss / np.maximum(MIP_DEDX_MEV_CM2_G * grams, 1e-9)
    scale = LANDAU_RELATIVE_SCALE / np.sqrt(np.maximum(relative_loss, 1.0))
    visible = loss * VISIBLE_PER_MEV * np.maximum(1 + scale * np.minimum(_moyal(rng, len(loss)), 40.0), 0.05)
    # Mean dE/dx over the step, over the part it travels: a stopping track ends inside it.
    travelled = np.minimum(steps.path, steps.range_in / RANGE_PER_MM[steps.layer])
    dedx = loss / np.maximum(travelled, 1e-9)
    return visible * birks_quenching(dedx, birks_mm_per_mev)


def step_charged(rng, tracks: Particles, model=None) -> tuple[Deposits, Particles]:
    """Deposits of charged tracks and the secondaries of their hadronic interactions
    (``model``: its Birks constant and species responses; None: the nominal)."""
    model = model or _nominal()
    steps = _active_steps(rng, tracks)
    i, layer = steps.track, steps.layer
    offsets = _scattering_offsets(rng, steps, MASS_MEV[tracks.species[i]])
    loss = steps.kinetic_in - steps.kinetic_out
    visible = _visible_energy(rng, steps, loss, model.birks_mm_per_mev) * tracks.light[i]
    beta0 = _beta(tracks.species, tracks.kinetic)
    time = tracks.time[i] + steps.distance / (beta0[i] * SPEED_OF_LIGHT_MM_NS)
    x, y = steps.x + offsets[0], steps.y + offsets[1]
    keep = (STACK.plane_row[layer] >= 0) & (visible > MIN_DEPOSIT_MEV)
    deposits = Deposits(
        tracks.event[i[keep]], STACK.plane_row[layer[keep]], x[keep], y[keep], visible[keep], time[keep]
    )
    hit = np.flatnonzero(steps.interacts & (steps.kinetic_out > MIN_SECONDARY_PARENT_MEV))
    z = tracks.pos[i[hit], 2] + tracks.dir[i[hit], 2] * steps.distance[hit]
    start = np.stack([x[hit], y[hit], z], axis=1)
    secondaries = _secondaries(rng, tracks.select(i[hit]), steps.kinetic_out[hit], start, time[hit])
    secondaries.light = model.light_by_species()[secondaries.species]
    return deposits, secondaries


def _beta(species: np.ndarray, kinetic: np.ndarray) -> np.ndarray:
    mass = MASS_MEV[species]
    return np.sqrt(kinetic * (kinetic + 2 * mass)) / (kinetic + mass)


def _secondaries(rng, parents: Particles, kinetic: np.ndarray, start: np.ndarray, time: np.ndarray) -> Particles:
    """A hadronic interaction: 1 + Poisson(0.7) charged hadrons and sometimes a pi0 share
    70 % of the kinetic energy (the rest goes to neutrons and binding); a slow nuclear
    fragment (proton, 10-60 MeV) leaves a short heavily ionising stub."""
    n = len(parents)
    n_charged = 1 + rng.poisson(0.7, n)
    n_pi0 = (rng.random(n) < 0.25).astype(np.int64)
    counts = n_charged + n_pi0
    parent = np.repeat(np.arange(n), counts)
    rank = np.arange(len(parent)) - (np.cumsum(counts) - counts)[parent]
    species = np.where(rank >= n_charged[parent], PI0, np.where(rng.random(len(parent)) < 0.5, PION, PROTON))
    share = rng.exponential(1.0, len(parent))
    share /= np.bincount(parent, weights=share, minlength=n)[parent]
    energy = 0.7 * kinetic[parent] * share
    mass = np.where(species == PI0, PI0_MASS_MEV, MASS_MEV[np.minimum(species, 2)])
    momentum = np.sqrt(energy * (energy + 2 * mass))
    sin = rng.exponential(300.0, len(parent)) / np.maximum(momentum, 1e-6)
    cos = np.where(sin < 1, np.sqrt(1 - np.minimum(sin, 1) ** 2), rng.uniform(-1, 1, len(parent)))
    direction = rotate_to(parents.dir[parent], cos, rng.uniform(0, 2 * np.pi, len(parent)))
    fragment_dir = rotate_to(parents.dir, rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n))
    return Particles(
        event=np.concatenate([parents.event[parent], parents.event]),
        species=np.concatenate([species, np.full(n, PROTON)]),
        kinetic=np.concatenate([energy, rng.uniform(10.0, 60.0, n)]),
        pos=np.concatenate([start[parent], start]),
        dir=np.concatenate([direction, fragment_dir]),
        time=np.concatenate([time[parent], time]),
        generation=np.concatenate([parents.generation[parent] + 1, parents.generation + 1]),
    )


def pi0_photons(rng, pi0: Particles) -> Particles:
    """The two decay photons of each neutral pion (isotropic in its rest frame); a photon's
    ``kinetic`` is its energy."""
    n = len(pi0)
    energy = pi0.kinetic + PI0_MASS_MEV
    gamma = energy / PI0_MASS_MEV
    beta = np.sqrt(1 - 1 / gamma**2)
    cos_star = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    photons = []
    for sign in (1, -1):
        c_star = sign * cos_star
        e_photon = 0.5 * energy * (1 + beta * c_star)
        cos_lab = (c_star + beta) / (1 + beta * c_star)
        direction = rotate_to(pi0.dir, np.clip(cos_lab, -1, 1), phi + (0 if sign > 0 else np.pi))
        photons.append(Particles(pi0.event, pi0.species, e_photon, pi0.pos, direction, pi0.time, pi0.generation,
                                 pi0.light))
    return Particles.concat(photons)


def shower_photons(rng, photons: Particles) -> Deposits:
    """Electromagnetic showers of photons (energy in ``kinetic``), scaled by each layer's
    radiation length; visible energy only in scintillator planes."""
    c = crossings(photons.pos, photons.dir)
    depth_after = c.cumsum(c.path * RADIATION_LENGTHS_PER_MM[c.layer])
    conversion = np.repeat(rng.exponential(9.0 / 7.0, len(photons)), np.diff(c.first))
    tau_after = np.maximum(depth_after - conversion, 0)
    entry = np.flatnonzero((c.path > 0) & (tau_after > 0) & (STACK.plane_row[c.layer] >= 0))
    i = c.track[entry]
    energy = photons.kinetic
    a = 1 + SHOWER_B * np.maximum(np.log(energy / CRITICAL_ENERGY_MEV) + 0.5, 0.3)  # PDG, photon-induced t_max
    # The profile integral up to a step's start is the one to the end of the layer before it.
    after = gammainc(a[i], SHOWER_B * tau_after[entry])
    before = np.zeros(len(entry))
    tau_before = np.zeros(len(entry))
    later = np.flatnonzero(entry > c.first[i])  # not the photon's first layer
    previous = entry[later] - 1
    tau_before[later] = tau_after[previous]
    step_of = np.full(len(c.track), -1)
    step_of[entry] = np.arange(len(entry))
    known = step_of[previous] >= 0
    before[later[known]] = after[step_of[previous[known]]]
    other = later[~known & (tau_before[later] > 0)]
    before[other] = gammainc(a[i[other]], SHOWER_B * tau_before[other])
    deposit = energy[i] * (after - before) * VISIBLE_PER_MEV * photons.light[i]
    keep = np.flatnonzero(deposit > MIN_DEPOSIT_MEV * SHOWER_SLICES)
    i, entry, deposit = i[keep], entry[keep], deposit[keep]
    tau_mid = 0.5 * (tau_before[keep] + tau_after[entry])
    # Sampling fluctuations: gamma-distributed with about one quantum per 0.3 MeV.
    deposit = rng.gamma(deposit / 0.3 + 1e-9, 0.3)
    # Transverse spread grows with depth (Moliere radius of polystyrene about 90 mm).
    width = np.repeat(np.minimum(10.0 + 20.0 * tau_mid, 80.0), SHOWER_SLICES)
    distance, x, y = c.at(entry)
    k = np.repeat(np.arange(len(i)), SHOWER_SLICES)
    return Deposits(
        photons.event[i][k],
        STACK.plane_row[c.layer[entry]][k],
        x[k] + rng.normal(0, 1, len(k)) * width,
        y[k] + rng.normal(0, 1, len(k)) * width,
        deposit[k] / SHOWER_SLICES,
        (photons.time[i] + distance / SPEED_OF_LIGHT_MM_NS)[k],
    )


def scatter_neutrons(rng, neutrons: Particles, model=None) -> Particles:
    """The proton each neutron knocks out, where it first interacts (after an exponential
    number of interaction lengths along its straight line in the inner detector; none if it
    leaves first). Elastic n-p kinematics: the proton takes a uniform share u of the kinetic
    energy at cos(angle) = sqrt(u) to the neutron; it starts at the neutron's time of flight
    (a 100 MeV neutron needs 7 ns per metre) and carries the neutron response."""
    model = model or _nominal()
    neutrons = neutrons.select(neutrons.kinetic >= MIN_NEUTRON_MEV)
    c = crossings(neutrons.pos, neutrons.dir)
    lengths = c.cumsum(c.path * INTERACTIONS_PER_MM[c.layer])
    budget = np.repeat(rng.exponential(1.0, len(neutrons)), np.diff(c.first))
    reached = np.flatnonzero((lengths >= budget) & (c.path > 0))
    first = reached[np.r_[True, c.track[reached][1:] != c.track[reached][:-1]]] if len(reached) else reached
    n = neutrons.select(c.track[first])
    distance, x, y = c.at(first)
    share = rng.random(len(n))
    start = np.stack([x, y, n.pos[:, 2] + n.dir[:, 2] * distance], axis=1)
    beta = _beta(np.full(len(n), PROTON), n.kinetic)  # neutron and proton masses: 0.1 % apart
    return Particles(
        event=n.event, species=np.full(len(n), PROTON), kinetic=share * n.kinetic, pos=start,
        dir=rotate_to(n.dir, np.sqrt(share), rng.uniform(0, 2 * np.pi, len(n))),
        time=n.time + distance / (beta * SPEED_OF_LIGHT_MM_NS), generation=np.full(len(n), MAX_GENERATION),
        light=np.full(len(n), model.neutron_response_scale),
    )


def propagate(rng, particles: Particles, model=None) -> Deposits:
    """All deposits of the final-state particles and their descendants (``model``: its
    Birks constant and responses; None: the nominal)."""
    model = model or _nominal()
    deposits = []
    pending = particles
    while len(pending):
        neutral = pending.species == PI0
        if neutral.any():
            deposits.append(shower_photons(rng, pi0_photons(rng, pending.select(neutral))))
        neutron = pending.species == NEUTRON
        charged = pending.select(~neutral & ~neutron & (pending.kinetic > 0))
        if neutron.any():
            charged = Particles.concat([charged, scatter_neutrons(rng, pending.select(neutron), model)])
        if not len(charged):
            break
        step, pending = step_charged(rng, charged, model)
        deposits.append(step)
    return Deposits.concat(deposits) if deposits else _empty_deposits()


def _empty_deposits() -> Deposits:
    f, i = np.zeros(0), np.zeros(0, np.int64)
    return Deposits(i, i, f, f, f, f)
