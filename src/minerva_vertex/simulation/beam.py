"""Neutrino energy spectrum of the interactions: NuMI medium-energy beam, mean about 6 GeV.

The event spectrum (flux times cross section) is drawn directly as a gamma distribution
with the model's mean and shape: a broad peak near the mean and a tail to tens of GeV.
Reference: MINERVA.md, "NuMI medium-energy beam: mean neutrino energy about 6 GeV".
"""

from __future__ import annotations

import numpy as np

MIN_ENERGY_GEV = 0.5  # below this the toy has no useful interactions
MAX_ENERGY_GEV = 120.0


def neutrino_energy_gev(rng: np.random.Generator, n: int, mean_gev: float, shape: float) -> np.ndarray:
    """Draw ``n`` neutrino energies (GeV) of the interaction spectrum."""
    return np.clip(rng.gamma(shape, mean_gev / shape, size=n), MIN_ENERGY_GEV, MAX_ENERGY_GEV)
