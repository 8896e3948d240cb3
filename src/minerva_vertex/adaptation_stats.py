"""Statistics of the domain-adaptation study over training seeds.

Every network of the study is trained once per seed, and the networks of one seed share
their start and their events, so methods are compared **paired by seed**: the difference of
two methods in each seed, then the mean of those differences with its standard error
(sample standard deviation over sqrt(n)).

- **Gap**: the oracle's accuracy on the target sample minus the source-only CNN's, paired by
  seed. Its interval is mean ± t x standard error, t the Student quantile of n - 1 degrees
  of freedom at the confidence level (68.27 % by default, one Gaussian sigma): with three
  seeds, t = 1.32, wider than one standard error, as a mean of three draws deserves.
- **Share of the gap closed** by a method: its mean gain over the CNN divided by the mean
  gap, ``(method - CNN) / (oracle - CNN)``. Its interval is a bootstrap over seeds: seeds
  are resampled with replacement (``n_resamples`` times, from a fixed ``seed``, so the
  interval is reproducible), the ratio of the resampled means taken each time, and the
  central ``confidence`` share of those ratios kept. With few seeds the resamples are few
  distinct sets: the interval is a rough one. No share is given ("no gap") unless the
  gap's interval lies above zero: a share of a gap that may be nothing is noise.
- **Bias as an analysis inherits it**: per nuclear target, the shift of a finder's
  efficiency and purity from the simulation to the target sample, the bias a cross
  section corrected with the simulation's numbers would carry (``cross_section_bias``),
  and whether adaptation shrinks them: |adapted's shift| - |CNN's|, paired by seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from minerva_vertex import metrics

CONFIDENCE = metrics.CONFIDENCE_LEVEL  # 68 %, one Gaussian sigma, as every interval of the project
N_RESAMPLES = 10_000
NO_GAP = "no gap"
QUANTITIES = ("efficiency", "purity")
BIAS_QUANTITIES = (*QUANTITIES, "cross_section_bias")  # what target_shifts gives per selection


# --- means over seeds ----------------------------------------------------------------------
def mean_and_error(values: Sequence[float]) -> dict:
    """Mean, standard error of the mean (None for a single value) and n."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values to average")
    sem = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None
    return {"mean": float(values.mean()), "sem": sem, "n": int(values.size)}


def _checked(values: Mapping, what: str) -> dict:
    out = {}
    for seed, value in values.items():
        if value is None or not math.isfinite(value):
            raise ValueError(f"{what}: seed {seed} has no value ({value!r})")
        out[seed] = float(value)
    return out


def paired_differences(minuend: Mapping, subtrahend: Mapping, what: str = "paired difference") -> dict:
    """``minuend - subtrahend`` per seed (both keyed by seed, the same seeds), and the mean
    of those differences with its standard error: ``mean``, ``sem``, ``n``, ``seeds``,
    ``differences``."""
    minuend, subtrahend = _checked(minuend, what), _checked(subtrahend, what)
    if set(minuend) != set(subtrahend):
        unpaired = sorted(set(minuend) ^ set(subtrahend))
        raise ValueError(f"{what}: seeds {unpaired} are not in both sets of results")
    seeds = sorted(minuend)
    differences = [minuend[s] - subtrahend[s] for s in seeds]
    return {**mean_and_error(differences), "seeds": seeds, "differences": differences}


def t_interval(estimate: Mapping, confidence: float = CONFIDENCE) -> list[float] | None:
    """mean ± t x sem (Student t, n - 1 degrees of freedom); None for a single seed."""
    if estimate["sem"] is None:
        return None
    half = float(stats.t.ppf(0.5 + confidence / 2, estimate["n"] - 1)) * estimate["sem"]
    return [estimate["mean"] - half, estimate["mean"] + half]


# --- the gap and the share closed ------------------------------------------------------------
def gap(cnn: Mapping, oracle: Mapping, confidence: float = CONFIDENCE) -> dict:
    """Oracle minus CNN on the target sample, paired by seed, with its interval; ``open``:
    whether the interval lies above zero (a gap there is to close)."""
    estimate = paired_differences(oracle, cnn, "gap (oracle - CNN)")
    interval = t_interval(estimate, confidence)
    return {**estimate, "interval": interval, "open": interval is not None and interval[0] > 0}


def bootstrap_ratio(numerators, denominators, *, confidence: float = CONFIDENCE,
                    n_resamples: int = N_RESAMPLES, seed: int = 0) -> list[float] | None:
    """Central ``confidence`` interval of mean(numerators) / mean(denominators) with the
    pairs resampled with replacement; resamples whose denominator mean is 0 are left out
    (None if all are)."""
    numerators, denominators = np.asarray(numerators, float), np.asarray(denominators, float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(numerators), size=(n_resamples, len(numerators)))
    tops, bottoms = numerators[picks].mean(axis=1), denominators[picks].mean(axis=1)
    defined = bottoms != 0
    if not defined.any():
        return None
    ratios = tops[defined] / bottoms[defined]
    low, high = np.quantile(ratios, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return [float(low), float(high)]


def share_closed(cnn: Mapping, method: Mapping, oracle: Mapping, *, confidence: float = CONFIDENCE,
                 n_resamples: int = N_RESAMPLES, seed: int = 0) -> dict:
    """Share of the gap a method closes, all three keyed by seed (target-sample accuracies).

    ``gap`` and ``gain`` (method - CNN) are paired estimates; ``share`` is the ratio of their
    means with its bootstrap ``interval``, both None and ``label`` "no gap" unless the gap's
    interval lies above zero; ``per_seed`` gives each seed's own share (None where its gap
    is 0)."""
    the_gap = gap(cnn, oracle, confidence)
    gain = paired_differences(method, cnn, "gain (method - CNN)")
    per_seed = {s: (g / d if d else None) for s, g, d in zip(gain["seeds"], gain["differences"], the_gap["differences"])}
    out = {"gap": the_gap, "gain": gain, "per_seed": per_seed, "confidence": confidence,
           "n_resamples": n_resamples, "share": None, "interval": None, "label": NO_GAP}
    if the_gap["open"]:
        out["share"] = gain["mean"] / the_gap["mean"]
        out["interval"] = bootstrap_ratio(gain["differences"], the_gap["differences"], confidence=confidence,
                                          n_resamples=n_resamples, seed=seed)
        out["label"] = share_label(out["share"], out["interval"])
    return out


def share_label(share: float | None, interval: Sequence[float] | None) -> str:
    """'41 % (30 to 52 %)', or "no gap" where there is no share."""
    if share is None:
        return NO_GAP
    if interval is None:
        return f"{100 * share:.0f} %"
    return f"{100 * share:.0f} % ({100 * interval[0]:.0f} to {100 * interval[1]:.0f} %)"


def single_run_share(cnn: Sequence[float], method: Sequence[float], oracle: Sequence[float], *,
                     n_draws: int = N_RESAMPLES, seed: int = 0) -> dict:
    """The gap and the share closed in one run, from each network's target accuracy and the
    half-width of its 68 % test-split interval, each a ``(value, half_width)`` pair.

    The errors are taken as independent (conservative: the networks score the same test
    events, so their differences vary less). The gap's interval is gap ± the half-widths in
    quadrature; "no gap" unless it lies above zero; the share's interval is the central
    68 % of the ratio over ``n_draws`` Gaussian draws of the three accuracies."""
    gap_value = oracle[0] - cnn[0]
    gap_error = math.hypot(oracle[1], cnn[1])
    interval = [gap_value - gap_error, gap_value + gap_error]
    out = {"gap": gap_value, "gap_interval": interval, "open": interval[0] > 0, "gain": method[0] - cnn[0],
           "share": None, "interval": None, "label": NO_GAP}
    if out["open"]:
        rng = np.random.default_rng(seed)
        draws = {name: rng.normal(v, hw, n_draws) for name, (v, hw) in (("c", cnn), ("m", method), ("o", oracle))}
        ratios = (draws["m"] - draws["c"]) / (draws["o"] - draws["c"])
        low, high = np.quantile(ratios, [0.5 - CONFIDENCE / 2, 0.5 + CONFIDENCE / 2])
        out["share"] = out["gain"] / gap_value
        out["interval"] = [float(low), float(high)]
        out["label"] = share_label(out["share"], out["interval"])
    return out


# --- bias as an analysis inherits it -------------------------------------------------------
def _selections(document: Mapping, what: str) -> Mapping:
    if "targets" not in document:
        raise ValueError(f"{what}: no target metrics (a sample without truth?)")
    return document["targets"]["selections"]


def _half_width(entry: Mapping) -> float:
    low, high = entry["interval"]
    return 0.5 * (high - low)


def _quantity_shift(source: Mapping, target: Mapping) -> dict:
    """One ratio (efficiency or purity) on both samples: target minus source, with the
    error of independent samples (68 % half-widths in quadrature)."""
    s, t = source["value"], target["value"]
    shift = None if s is None or t is None else t - s
    error = math.hypot(_half_width(source), _half_width(target))
    return {"source": s, "target": t, "shift": shift, "shift_err": error}


def cross_section_bias(source: Mapping, target: Mapping) -> float | None:
    """The fractional error of a cross section measured on the target sample but corrected
    with the simulation's purity and efficiency: signal = selected x purity / efficiency,
    so the estimate over the truth is (p_sim / e_sim) / (p_target / e_target); minus 1."""
    p_s, e_s = source["purity"]["value"], source["efficiency"]["value"]
    p_t, e_t = target["purity"]["value"], target["efficiency"]["value"]
    if None in (p_s, e_s, p_t, e_t) or 0 in (e_s, p_t):
        return None
    return (p_s * e_t) / (e_s * p_t) - 1


def target_shifts(source_metrics: Mapping, target_metrics: Mapping, selections: Sequence[str] | None = None) -> dict:
    """Per selection (metrics.SELECTIONS names; default: every one both metrics files have,
    in the source's order): the shift of efficiency and purity from the simulation
    (``source_metrics``, a finder's metrics JSON) to the target sample, and the
    ``cross_section_bias`` an analysis corrected with the simulation's numbers inherits."""
    source = _selections(source_metrics, f"{source_metrics.get('finder')} on {source_metrics.get('sample')}")
    target = _selections(target_metrics, f"{target_metrics.get('finder')} on {target_metrics.get('sample')}")
    names = [n for n in source if n in target] if selections is None else list(selections)
    out = {}
    for name in names:
        if name not in source or name not in target:
            raise ValueError(f"selection '{name}' is not in both metrics files")
        out[name] = {q: _quantity_shift(source[name][q], target[name][q]) for q in QUANTITIES}
        out[name]["cross_section_bias"] = cross_section_bias(source[name], target[name])
    return out


def _bias_values(shifts: Mapping, selection: str, quantity: str) -> float | None:
    entry = shifts[selection]
    return entry["cross_section_bias"] if quantity == "cross_section_bias" else entry[quantity]["shift"]


def shifts_over_seeds(shifts_by_seed: Mapping[int, Mapping]) -> dict:
    """Per selection: the mean and standard error over seeds of the efficiency shift, the
    purity shift and the cross-section bias (``target_shifts`` of each seed); None where a
    seed has no value (a ratio without events, as in a small sample)."""
    first = _first(shifts_by_seed)
    out = {}
    for selection in first:
        out[selection] = {}
        for quantity in BIAS_QUANTITIES:
            values = [_bias_values(shifts, selection, quantity) for shifts in shifts_by_seed.values()]
            out[selection][quantity] = None if None in values else mean_and_error(values)
    return out


def bias_shrinkage(source_only: Mapping[int, Mapping], adapted: Mapping[int, Mapping]) -> dict:
    """Whether adaptation shrinks the bias: per selection and quantity, |adapted's shift|
    minus |source-only's shift|, paired by seed (negative: the adapted finder's analysis
    inherits less bias; None where a seed has no value). Each argument maps seed ->
    ``target_shifts``."""
    first = _first(source_only)
    out = {}
    for selection in first:
        out[selection] = {}
        for quantity in BIAS_QUANTITIES:
            what = f"{selection} {quantity}"
            mine = {s: _magnitude(_bias_values(v, selection, quantity)) for s, v in adapted.items()}
            theirs = {s: _magnitude(_bias_values(v, selection, quantity)) for s, v in source_only.items()}
            missing = None in mine.values() or None in theirs.values()
            out[selection][quantity] = None if missing else paired_differences(mine, theirs, what)
    return out


def _first(by_seed: Mapping) -> Mapping:
    if not by_seed:
        raise ValueError("no seeds given")
    return next(iter(by_seed.values()))


def _magnitude(value: float | None) -> float | None:
    return None if value is None else abs(value)
