"""Train / validation / test split by a stable hash of the event id.

The same event always lands in the same split, whatever the file it is in, the order of
the files or the chunk it is read in: the split depends only on the 64-bit event id and on
the fractions. The hash is the SplitMix64 finaliser (Steele, Lea and Flood 2014), a fixed
bijective 64-bit mix whose output bits are close to uniform even for consecutive ids.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from minerva_vertex import settings

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_CODES = {name: code for code, name in enumerate(SPLIT_NAMES)}  # 0 train, 1 validation, 2 test
DEFAULT_FRACTIONS = settings.section("images", {})["splits"]  # the schema's defaults
_TOLERANCE = 1e-6


def check_fractions(fractions: Mapping[str, float], key: str = "images.splits") -> dict[str, float]:
    """The three fractions, each in [0, 1] and summing to 1; ValueError naming ``key`` otherwise."""
    fractions = {**DEFAULT_FRACTIONS, **dict(fractions)} if fractions is not None else dict(DEFAULT_FRACTIONS)
    unknown = set(fractions) - set(SPLIT_NAMES)
    if unknown:
        raise ValueError(f"config key '{key}': unknown split(s) {sorted(unknown)}; expected {list(SPLIT_NAMES)}")
    for name, value in fractions.items():
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"config key '{key}.{name}': {value} is not a fraction in [0, 1]")
    total = sum(float(v) for v in fractions.values())
    if abs(total - 1.0) > _TOLERANCE:
        raise ValueError(f"config key '{key}': fractions {fractions} sum to {total:g}, expected 1")
    return {name: float(fractions[name]) for name in SPLIT_NAMES}


def mix64(values) -> np.ndarray:
    """SplitMix64 finaliser of unsigned 64-bit integers (wrapping arithmetic)."""
    z = np.asarray(values, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def uniform_of(eventids) -> np.ndarray:
    """A number in [0, 1) per event id: the top 53 bits of its hash (exact in float64)."""
    return (mix64(eventids) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def split_of(eventids, fractions: Mapping[str, float] = DEFAULT_FRACTIONS) -> np.ndarray:
    """Split code (uint8: 0 train, 1 validation, 2 test) of each event id."""
    fractions = check_fractions(fractions)
    u = uniform_of(eventids)
    edges = np.cumsum([fractions["train"], fractions["validation"]])
    return np.searchsorted(edges, u, side="right").astype(np.uint8)
