"""Evaluation metrics of a vertex finder: pure functions of predicted and true labels.

Definitions (every interval is central, 68.27 % = one Gaussian sigma, and Clopper-Pearson but
for the paired bootstrap's of a purity difference):

- **Confusion matrix** ``C[t, r]``: events of true segment ``t`` reconstructed in segment
  ``r``, both 0-10. A vertex finder that finds no vertex (tracking, segment -1) counts in
  ``unreconstructed[t]`` instead: such events lower the efficiency and the accuracy but
  belong to no reconstructed segment, so they never lower a purity.
- **Accuracy**: trace of C over all events (unreconstructed included).
- **Segment efficiency** of ``s``: C[s, s] / events of true segment s (unreconstructed
  included); **segment purity**: C[s, s] / events reconstructed in s.
- **Selections by nuclear target and material** (:data:`SELECTIONS`). The *signal* of a
  passive material is defined by the true vertex: it lies inside that passive volume
  (``geometry.PASSIVE_VOLUMES``: target, material, z slab and transverse region) **and** the
  struck nucleus ``mc_targetZ`` is one of the material's nuclei (Fe 26, Pb 82, C 6, water
  O 8 or H 1). The *selection* uses what is reconstructed: the reconstructed segment is the
  target's segment (segment 8 for the water target) **and**, for a target split between
  materials, the reconstructed transverse position lies in that material's region. The
  networks reconstruct z only, so their transverse position is the track-based vertex's
  (x, y) of the same event, as MINERvA's analyses pair the network's segment with the
  tracked position; an event without a tracked (x, y) is not selected in a split target.
  Where no transverse position is given at all, the true one is used and the result says
  so (``transverse_position: "true"``); the workflow always passes the tracked one.
  ``target N`` (all materials) selects on the segment alone and its signal is the vertex
  in any passive material of target N. **Scintillator** is the tracker-like region: signal
  = a vertex of a C or H nucleus outside every passive volume with true segment 0, 6, 7, 9
  or 10 (the segments that hold only scintillator); selected = reconstructed in one of them.
- **Purity at a matched efficiency** (networks): a finder that puts more events in a
  segment pays for its efficiency in purity, so two finders' purities compare fairly only
  at the same efficiency. The network keeps, of the events it puts in the segment, only its
  most probable ones (by the segment's probability), just enough to reach the other
  finder's efficiency, and its purity there is reported (``purity_at_tracking_efficiency``:
  the track-based vertex's efficiency in each target segment).
- **Purity against the track-based vertex's** (networks): each target segment's purity less
  the track-based vertex's on the same events, with a 68 % interval from a paired bootstrap
  (``purity_difference_to_tracking``, :func:`paired_purity_difference`): events right or
  wrong for both finders alike cancel in the difference.
- A sample without truth gets only what needs no labels: the number of events and the
  predicted segment distribution.

Numbers go to JSON: a ratio with nothing to divide is ``None`` (JSON null), never NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from minerva_vertex import geometry as geo

N_SEGMENTS = geo.N_SEGMENTS
CONFIDENCE_LEVEL = 0.6827  # one Gaussian sigma, central
SCINTILLATOR_SEGMENTS = (0, 6, 7, 9, 10)  # segments holding only scintillator planes
MATERIAL_NUCLEI = {
    "Fe": (geo.NUCLEUS_Z["Fe"],),
    "Pb": (geo.NUCLEUS_Z["Pb"],),
    "C": (geo.NUCLEUS_Z["C"],),
    "water": (geo.NUCLEUS_Z["O"], geo.NUCLEUS_Z["H"]),
    "scintillator": (geo.NUCLEUS_Z["C"], geo.NUCLEUS_Z["H"]),
}
MATERIALS = ("Fe", "Pb", "C", "water", "scintillator")


# --- binomial ratios -----------------------------------------------------------------------
def clopper_pearson(k: int, n: int, cl: float = CONFIDENCE_LEVEL) -> tuple[float, float]:
    """Central Clopper-Pearson interval of k successes in n trials.

    At k = 0 the lower edge is 0 and at k = n the upper edge is 1 (the one-sided edge keeps
    its central tail, (1 - cl) / 2, as ROOT's TEfficiency does). n = 0 gives (0, 1).
    """
    k, n = int(k), int(n)
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    tail = (1.0 - cl) / 2.0
    low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - tail, k + 1, n - k))
    return low, high


def ratio(k: int, n: int) -> dict:
    """k / n with its 68 % Clopper-Pearson interval; value None when n = 0."""
    low, high = clopper_pearson(k, n)
    return {"value": (int(k) / int(n)) if n else None, "k": int(k), "n": int(n), "interval": [low, high]}


# --- segments ------------------------------------------------------------------------------
def _as_segments(values, name: str, allow_missing: bool) -> np.ndarray:
    values = np.asarray(values).astype(np.int64)
    low = -1 if allow_missing else 0
    bad = (values < low) | (values >= N_SEGMENTS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {values[i]}: expected a segment 0-{N_SEGMENTS - 1}" + (" or -1" if allow_missing else ""))
    return values


def confusion_counts(true, reco) -> tuple[np.ndarray, np.ndarray]:
    """(C, unreconstructed): C[t, r] counts true t reconstructed r; reco -1 = no vertex."""
    true = _as_segments(true, "true segment", allow_missing=False)
    reco = _as_segments(reco, "reconstructed segment", allow_missing=True)
    if true.shape != reco.shape:
        raise ValueError(f"{len(true)} true segments but {len(reco)} reconstructed")
    found = reco >= 0
    matrix = np.zeros((N_SEGMENTS, N_SEGMENTS), dtype=np.int64)
    np.add.at(matrix, (true[found], reco[found]), 1)
    unreconstructed = np.bincount(true[~found], minlength=N_SEGMENTS).astype(np.int64)
    return matrix, unreconstructed


def segment_metrics(matrix: np.ndarray, unreconstructed: np.ndarray | None = None) -> dict:
    """Accuracy, per-segment efficiency and purity from confusion counts."""
    matrix = np.asarray(matrix, dtype=np.int64)
    missing = np.zeros(N_SEGMENTS, np.int64) if unreconstructed is None else np.asarray(unreconstructed, np.int64)
    true_totals = matrix.sum(axis=1) + missing
    reco_totals = matrix.sum(axis=0)
    diagonal = np.diag(matrix)
    return {
        "n_events": int(true_totals.sum()),
        "accuracy": ratio(diagonal.sum(), true_totals.sum()),
        "efficiency": [ratio(diagonal[s], true_totals[s]) for s in range(N_SEGMENTS)],
        "purity": [ratio(diagonal[s], reco_totals[s]) for s in range(N_SEGMENTS)],
        "confusion": matrix.tolist(),
        "unreconstructed": missing.tolist(),
    }


def purity_at_efficiency(probabilities, reco_segment, true_segment, segment: int, efficiency: float) -> dict | None:
    """Purity of ``segment`` at a lower working point: of the events put in the segment, the
    most probable (``probabilities[:, segment]``) just enough to find ``efficiency`` of its
    true events. ``efficiency`` and ``purity`` as :func:`ratio`; None where the finder's own
    efficiency is lower, or the segment has no true event or ``efficiency`` is not positive."""
    true_in = np.asarray(true_segment) == segment
    needed = int(np.ceil(efficiency * true_in.sum() - 1e-9))
    chosen = np.flatnonzero(np.asarray(reco_segment) == segment)
    ranked = chosen[np.argsort(-np.asarray(probabilities)[chosen, segment], kind="stable")]
    found = np.cumsum(true_in[ranked])
    if needed <= 0 or found.size == 0 or found[-1] < needed:
        return None
    kept = int(np.searchsorted(found, needed)) + 1  # the first rank that reaches the count
    return {"efficiency": ratio(needed, int(true_in.sum())), "purity": ratio(needed, kept)}


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_BLOCK_WEIGHTS = 4_000_000  # Poisson weights drawn at a time (32 MB)


def paired_purity_difference(reco_segment, other_segment, true_segment, segment: int, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> dict:
    """Purity of ``segment`` of one finder less another's on the same events, with its 68 %
    central interval from a paired bootstrap.

    Both finders' purities come from one resampling of the events, so what the two share
    (events right, or wrong, for both) cancels, and the interval is that of the difference,
    narrower than the two purities' own intervals combined. The resampling is
    Poisson's (each event weighted by a Poisson(1) count), over the events either finder puts
    in the segment, the only ones a purity reads. ``value`` None (and no interval) where a
    finder puts no event in the segment.
    """
    reco, other, true = (np.asarray(a) for a in (reco_segment, other_segment, true_segment))
    if not reco.shape == other.shape == true.shape:
        raise ValueError(f"need one entry per event: {len(reco)}, {len(other)} and {len(true)} segments")
    mine, theirs = reco == segment, other == segment
    if not mine.any() or not theirs.any():
        return {"value": None, "interval": None}
    read = mine | theirs
    right = true[read] == segment
    counts = np.stack([mine[read] & right, mine[read], theirs[read] & right, theirs[read]], axis=1).astype(np.float64)
    right_mine, all_mine, right_theirs, all_theirs = counts.sum(axis=0)
    value = float(right_mine / all_mine - right_theirs / all_theirs)
    rng = np.random.default_rng(seed)
    block = max(1, BOOTSTRAP_BLOCK_WEIGHTS // len(counts))  # resamples at a time: memory stays bounded
    sums = np.concatenate([
        rng.poisson(1.0, size=(min(block, resamples - start), len(counts))) @ counts for start in range(0, resamples, block)
    ])
    with np.errstate(invalid="ignore", divide="ignore"):
        differences = sums[:, 0] / sums[:, 1] - sums[:, 2] / sums[:, 3]
    differences = differences[np.isfinite(differences)]
    tail = 100 * (1.0 - CONFIDENCE_LEVEL) / 2.0
    low, high = np.percentile(differences, [tail, 100 - tail])
    return {"value": value, "interval": [float(low), float(high)]}


def segment_distribution(segments) -> list[float]:
    """Fraction of events in each segment 0-10 (no-vertex events, -1, left out)."""
    segments = np.asarray(segments, dtype=np.int64)
    counts = np.bincount(segments[segments >= 0], minlength=N_SEGMENTS)[:N_SEGMENTS]
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * N_SEGMENTS


# --- targets and materials -----------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """A target/material selection: which passive volumes are signal, how it is selected."""

    name: str
    volumes: tuple[int, ...]  # indices into geometry.PASSIVE_VOLUMES; () for scintillator
    by_region: bool  # whether the reconstructed (x, y) must lie in the volume's region

    @property
    def material(self) -> str:
        materials = {geo.PASSIVE_VOLUMES[i].material for i in self.volumes} or {"scintillator"}
        return materials.pop() if len(materials) == 1 else "all"


def _volume_segment(index: int) -> int:
    volume = geo.PASSIVE_VOLUMES[index]
    return int(geo.segment_of_z(0.5 * (volume.z_min + volume.z_max)))


def _volume_planecode(index: int) -> int:
    volume = geo.PASSIVE_VOLUMES[index]
    return int(geo.planecode_of_z(0.5 * (volume.z_min + volume.z_max)))


# How a finder's answer places an event in a passive volume: by segment (every finder), or
# by plane code (plane-code networks: the target's own code, not the planes around it).
VOLUME_LABEL = {"segment": _volume_segment, "planecode": _volume_planecode}


def _build_selections() -> dict[str, Selection]:
    selections: dict[str, Selection] = {}
    volumes = list(enumerate(geo.PASSIVE_VOLUMES))
    for target in sorted(geo.TARGET_SEGMENTS):
        own = [(i, v) for i, v in volumes if v.target == target]
        selections[f"target{target}"] = Selection(f"target{target}", tuple(i for i, _ in own), False)
        for i, v in own:
            selections[f"target{target}_{v.material}"] = Selection(f"target{target}_{v.material}", (i,), True)
    for material in MATERIALS:
        own = tuple(i for i, v in volumes if v.material == material)
        selections[material] = Selection(material, own, True)
    return selections


SELECTIONS = _build_selections()
TARGET_SELECTIONS = tuple(name for name in SELECTIONS if name.startswith("target"))
MATERIAL_SELECTIONS = MATERIALS


def selection_label(name: str) -> str:
    """Human label of a selection name: 'target4_Pb' -> 'target 4 Pb'."""
    return name.replace("target", "target ").replace("_", " ")


def true_signal(selection: Selection, truth: Mapping[str, np.ndarray]) -> np.ndarray:
    """Events whose true vertex is in the selection's material (position and nucleus)."""
    x, y, z = (np.asarray(truth[k], dtype=np.float64) for k in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z"))
    nucleus = np.asarray(truth["mc_targetZ"])
    volume = geo.passive_volume_at(x, y, z)
    if not selection.volumes:
        true_segment = geo.segment_of_z(z)
        return (volume < 0) & np.isin(true_segment, SCINTILLATOR_SEGMENTS) & np.isin(nucleus, MATERIAL_NUCLEI["scintillator"])
    signal = np.zeros(len(z), dtype=bool)
    for i in selection.volumes:
        signal |= (volume == i) & np.isin(nucleus, MATERIAL_NUCLEI[geo.PASSIVE_VOLUMES[i].material])
    return signal


def selected(selection: Selection, reco_segment, reco_x=None, reco_y=None, by: str = "segment") -> np.ndarray:
    """Events the vertex finder puts in the selection (segment or plane code ``by``, and
    region where split). Scintillator selections go by segment: ``reco_segment`` is then a
    segment whatever ``by``."""
    reco_segment = np.asarray(reco_segment, dtype=np.int64)
    if not selection.volumes:
        return np.isin(reco_segment, SCINTILLATOR_SEGMENTS)
    chosen = np.zeros(len(reco_segment), dtype=bool)
    for i in selection.volumes:
        in_segment = reco_segment == VOLUME_LABEL[by](i)
        if selection.by_region and geo.PASSIVE_VOLUMES[i].region != "all":
            # NaN positions compare False: no tracked (x, y), not selected in a split target.
            in_segment &= geo.in_region(geo.PASSIVE_VOLUMES[i].region, reco_x, reco_y)
        chosen |= in_segment
    return chosen


def selection_metrics(signal, chosen) -> dict:
    signal, chosen = np.asarray(signal, bool), np.asarray(chosen, bool)
    both = int((signal & chosen).sum())
    return {"efficiency": ratio(both, int(signal.sum())), "purity": ratio(both, int(chosen.sum()))}


def target_metrics(reco_segment, truth: Mapping[str, np.ndarray], reco_xy=None, reco_planecode=None) -> dict:
    """Efficiency and purity of every selection in :data:`SELECTIONS`.

    ``reco_xy``: reconstructed (x, y) in mm per event (NaN where unknown); None uses the
    true (x, y) and marks the result ``transverse_position: "true"``. ``reco_planecode``:
    passive volumes are selected by plane code instead of segment (scintillator still by
    segment).
    """
    if reco_xy is None:
        reco_x, reco_y, source = truth["mc_vtx_x"], truth["mc_vtx_y"], "true"
    else:
        reco_x, reco_y = reco_xy
        source = "reconstructed"
    out = {"transverse_position": source, "selections": {}}
    for name, selection in SELECTIONS.items():
        if reco_planecode is not None and selection.volumes:
            chosen = selected(selection, reco_planecode, reco_x, reco_y, by="planecode")
        else:
            chosen = selected(selection, reco_segment, reco_x, reco_y)
        result = selection_metrics(true_signal(selection, truth), chosen)
        out["selections"][name] = {"label": selection_label(name), "material": selection.material, **result}
    return out


def purity_ratios(network: Mapping, tracking: Mapping) -> dict:
    """Purity of the network over that of the tracking, per selection (None if undefined)."""
    ratios = {}
    for name, entry in network["selections"].items():
        mine = entry["purity"]["value"]
        theirs = tracking["selections"].get(name, {}).get("purity", {}).get("value")
        ratios[name] = (mine / theirs) if mine is not None and theirs else None
    return ratios


# --- whole evaluations -----------------------------------------------------------------------
def evaluate(reco_segment, truth: Mapping[str, np.ndarray] | None, reco_xy=None) -> dict:
    """Every metric of one vertex finder on one sample; ``truth`` None = a sample without truth."""
    reco_segment = _as_segments(reco_segment, "reconstructed segment", allow_missing=True)
    result = {
        "has_truth": truth is not None,
        "n_events": int(len(reco_segment)),
        "n_unreconstructed": int((reco_segment < 0).sum()),
        "predicted_distribution": segment_distribution(reco_segment),
    }
    if truth is None:
        return result
    true_segment = truth["segments"]
    matrix, missing = confusion_counts(true_segment, reco_segment)
    result["true_distribution"] = segment_distribution(true_segment)
    result["segments"] = segment_metrics(matrix, missing)
    result["targets"] = target_metrics(reco_segment, truth, reco_xy)
    return result


# --- domain bias -----------------------------------------------------------------------------
def rank_auc(scores, labels) -> float:
    """Area under the ROC curve from ranks (Mann-Whitney U), ties counted half."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs events of both classes")
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def domain_auc(source_features, target_features, *, seed: int = 0, epochs: int = 200, max_events: int = 20000) -> dict:
    """How well a logistic regression tells target from source events by their features.

    Each domain is shuffled and cut to ``max_events``; half of each trains the classifier
    (``fit_domain_classifier``), the other half gives the rank AUC.
    0.5 = indistinguishable features; 1 = fully separable.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for features in (source_features, target_features):
        features = np.asarray(features, dtype=np.float32)
        parts.append(features[rng.permutation(len(features))[:max_events]])
    if min(len(p) for p in parts) < 4:
        raise ValueError(f"domain AUC needs at least 4 events per domain, got {len(parts[0])} and {len(parts[1])}")
    halves = [(p[: len(p) // 2], p[len(p) // 2 :]) for p in parts]
    classifier = fit_domain_classifier(halves[0][0], halves[1][0], seed=seed, epochs=epochs)
    test_x = np.concatenate([h[1] for h in halves])
    test_y = np.concatenate([np.zeros(len(halves[0][1])), np.ones(len(halves[1][1]))])
    n_train = len(halves[0][0]) + len(halves[1][0])
    return {"auc": rank_auc(classifier(test_x), test_y), "n_train": int(n_train), "n_test": int(len(test_y))}


def fit_domain_classifier(source_features, target_features, *, seed: int = 0, epochs: int = 200):
    """A logistic regression of target (1) against source (0) on standardised features
    (Adam, full batch, L2 1e-3); returns a function of features giving the logit."""
    import torch

    train_x = np.concatenate([source_features, target_features]).astype(np.float32)
    train_y = np.r_[np.zeros(len(source_features)), np.ones(len(target_features))].astype(np.float32)
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    generator = torch.Generator().manual_seed(seed)
    features_in = torch.from_numpy((train_x - mean) / std)
    target = torch.from_numpy(train_y)
    linear = torch.nn.Linear(train_x.shape[1], 1)
    with torch.no_grad():
        linear.weight.normal_(0.0, 0.01, generator=generator)
        linear.bias.zero_()
    optimiser = torch.optim.Adam(linear.parameters(), lr=0.01, weight_decay=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_fn(linear(features_in).squeeze(1), target)
        loss.backward()
        optimiser.step()

    def logit(features) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(((np.asarray(features, np.float32) - mean) / std).astype(np.float32))
            return linear(x).squeeze(1).numpy().astype(np.float64)

    return logit


def total_variation(p, q) -> float:
    """Half the L1 distance of two distributions: 0 same, 1 disjoint."""
    return 0.5 * float(np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def gap_closed(source_only: float | None, adapted: float | None, oracle: float | None) -> float | None:
    """Share of the gap between the source-only and the oracle accuracy that adaptation closes."""
    if source_only is None or adapted is None or oracle is None or oracle == source_only:
        return None
    return (adapted - source_only) / (oracle - source_only)
