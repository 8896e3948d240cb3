"""Systematic uncertainty of each vertex finder from the shifted samples of the variations.

For every finder (the track-based vertex and each network) and every varied sample
(:mod:`minerva_vertex.variations`), each figure of merit is measured on the nominal and on
the shifted sample, event by event:

- per selection of :data:`metrics.SELECTIONS` (targets, target materials, materials):
  efficiency and purity, with the definitions of :mod:`minerva_vertex.metrics` (the
  networks' transverse position is the tracked one of the same event and sample);
- per segment 0-10: efficiency and purity; and the accuracy.

A figure is a ratio of weighted sums, sum(w a) / sum(w b), over the events both samples
share (joined by event id). Its *shift* is shifted minus nominal; the statistical error of a
shift comes from a Poisson bootstrap that draws the same weights w for an event in both
samples, so the shared part of the two samples cancels as it should.

A knob's systematic is the largest |shift| / |sigmas| over its shifts (one sigma's worth);
the total of a finder and figure is the quadrature sum over knobs. Figures are also given
relative to their nominal value, the form of MINERvA's flat 1 % (NuVertexMLUnc).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from minerva_vertex import comparisons, evaluation, geometry, image_contract, metrics, score_files, tracking_files

MINERVA_FLAT_UNCERTAINTY = 0.01  # MAT-MINERvA NuVertexMLUnc: the ML vertex's flat 1 %
HEADLINE_SELECTIONS = tuple(f"target{t}" for t in range(1, 6))
RESOLVED_AT = 2.0  # a shift beyond twice its statistical error counts as measured
SEGMENT_SELECTIONS = tuple(f"segment{s}" for s in range(geometry.N_SEGMENTS))


@dataclass(frozen=True)
class Figures:
    """Numerators (events, figures) and denominators of every figure of one finder on one
    sample, rows in event-id order; ``names`` are (selection, quantity) per column."""

    eventids: np.ndarray
    numerators: np.ndarray  # bool (events, figures)
    denominators: np.ndarray
    names: tuple[tuple[str, str], ...]

    def subset(self, ids: np.ndarray) -> "Figures":
        index = np.searchsorted(self.eventids, ids)
        return Figures(ids, self.numerators[index], self.denominators[index], self.names)


def figures_of(truth: Mapping[str, np.ndarray], eventids, reco_segment, reco_xy) -> Figures:
    """Every figure's per-event numerator and denominator for one finder's answers."""
    reco_segment = np.asarray(reco_segment, np.int64)
    true_segment = np.asarray(truth["segments"], np.int64)
    columns: list[tuple[tuple[str, str], np.ndarray, np.ndarray]] = []
    for name, selection in metrics.SELECTIONS.items():
        signal = metrics.true_signal(selection, truth)
        chosen = metrics.selected(selection, reco_segment, *reco_xy)
        columns += [((name, "efficiency"), signal & chosen, signal), ((name, "purity"), signal & chosen, chosen)]
    for s, name in enumerate(SEGMENT_SELECTIONS):
        right = (true_segment == s) & (reco_segment == s)
        columns += [((name, "efficiency"), right, true_segment == s), ((name, "purity"), right, reco_segment == s)]
    columns.append((("all", "accuracy"), true_segment == reco_segment, np.ones(len(true_segment), bool)))
    order = np.argsort(eventids, kind="stable")
    return Figures(
        np.asarray(eventids)[order],
        np.stack([c[1] for c in columns], axis=1)[order],
        np.stack([c[2] for c in columns], axis=1)[order],
        tuple(c[0] for c in columns),
    )


def sample_figures(image_paths: Sequence, tracking_path, score_paths: Mapping[str, Sequence]) -> dict[str, Figures]:
    """Figures of every finder on one sample, each joined to the test events' truth by
    event id: ``tracking`` (the track-based vertex) and each network of ``score_paths``
    (model -> its score files on the sample)."""
    events = image_contract.read_test_events(image_paths)
    truth = image_contract.truth_of(events)
    if truth is None:
        raise ValueError(f"{image_paths[0]}: a varied sample needs truth")
    reference = events["eventids"]
    vertices = tracking_files.read_vertices(tracking_path)
    index = evaluation.align(reference, vertices["eventids"], str(tracking_path))
    reco_xy = (vertices["vtx_x"][index], vertices["vtx_y"][index])
    out = {comparisons.TRACKING: figures_of(truth, reference, vertices["segment"][index], reco_xy)}
    for model, paths in score_paths.items():
        scores = score_files.read_scores(paths)
        predicted = scores["predicted"][evaluation.align(reference, scores["eventids"], f"scores of {model} ({paths[0]})")]
        out[model] = figures_of(truth, reference, predicted, reco_xy)
    return out


def bootstrap_weights(n_events: int, replicas: int, seed: int = 0) -> np.ndarray:
    """(replicas, events) Poisson(1) weights: one bootstrap replica per row."""
    return np.random.default_rng(seed).poisson(1.0, (replicas, n_events)).astype(np.float64)


def _ratios(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1e-300), np.nan)


def _spread(replicas: np.ndarray) -> np.ndarray:
    """Standard deviation of each column over its finite replicas (NaN with fewer than two:
    a figure with no events to divide by in most replicas)."""
    finite = np.isfinite(replicas)
    count = finite.sum(axis=0)
    values = np.where(finite, replicas, 0.0)
    mean = values.sum(axis=0) / np.maximum(count, 1)
    variance = (np.where(finite, replicas - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count - 1, 1)
    return np.where(count >= 2, np.sqrt(variance), np.nan)


def shifts(nominal: Figures, shifted: Figures, weights: np.ndarray) -> pd.DataFrame:
    """Nominal and shifted value of every figure on the events both samples hold, the shift
    and its bootstrap error (``weights``: rows of per-event weights, at least as many
    columns as common events; the first columns are used)."""
    common = np.intersect1d(nominal.eventids, shifted.eventids)
    if len(common) == 0:
        raise ValueError("the nominal and the shifted sample share no event id")
    a, b = nominal.subset(common), shifted.subset(common)
    w = weights[:, : len(common)]
    values = {}
    for label, f in (("nominal", a), ("shifted", b)):
        num, den = f.numerators.astype(np.float64), f.denominators.astype(np.float64)
        values[label] = _ratios(num.sum(0), den.sum(0))
        values[f"{label}_n"] = den.sum(0)
        values[f"{label}_replicas"] = _ratios(w @ num, w @ den)
    error = _spread(values["shifted_replicas"] - values["nominal_replicas"])
    return pd.DataFrame({
        "selection": [n[0] for n in a.names],
        "quantity": [n[1] for n in a.names],
        "events": len(common),
        "nominal": values["nominal"],
        "nominal_denominator": values["nominal_n"],
        "shifted": values["shifted"],
        "shift": values["shifted"] - values["nominal"],
        "shift_err": error,
    })


def knob_systematics(table: pd.DataFrame) -> pd.DataFrame:
    """One sigma's worth of each knob: the largest |shift| / |sigmas| over its shifts (its
    statistical error beside it), per finder, selection and quantity, and relative to the
    nominal value. ``table``: rows of :func:`shifts` with finder, knob and sigmas columns."""
    rows = table[table["sigmas"] != 0].copy()
    rows["systematic"] = rows["shift"].abs() / rows["sigmas"].abs()
    rows["systematic_err"] = rows["shift_err"] / rows["sigmas"].abs()
    keys = ["finder", "selection", "quantity", "knob"]
    rows = rows.dropna(subset=["systematic"]).sort_values("systematic", ascending=False, kind="stable")
    out = rows.groupby(keys, sort=False, as_index=False).first()
    out = out[keys + ["nominal", "nominal_denominator", "systematic", "systematic_err"]]
    out["relative"] = out["systematic"] / out["nominal"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def totals(per_knob: pd.DataFrame) -> pd.DataFrame:
    """Quadrature sum over knobs per finder, selection and quantity with its statistical
    error (propagated from the knobs'), the largest knob, and the nominal value's
    statistical error (68 % Clopper-Pearson half-width).

    A knob that changes nothing still shows a shift of about its statistical error, so the
    plain sum grows with the number of knobs even when none matters. ``total_excess`` takes
    that noise out: the quadrature sum of (systematic² - error²), zero where the noise
    accounts for it all; ``resolved_knobs`` counts the knobs shifted by more than
    ``RESOLVED_AT`` times their error."""
    rows = []
    for (finder, selection, quantity), group in per_knob.groupby(["finder", "selection", "quantity"], sort=False):
        top = group.loc[group["systematic"].idxmax()]
        syst, err = group["systematic"], group["systematic_err"]
        total = float(np.sqrt((syst**2).sum()))
        total_err = float(np.sqrt(((syst * err) ** 2).sum()) / total) if total else np.nan
        excess = float(np.sqrt(max(0.0, (syst**2 - err**2).sum())))
        nominal, n = float(top["nominal"]), float(top["nominal_denominator"])
        rows.append({
            "finder": finder, "selection": selection, "quantity": quantity, "nominal": nominal,
            "statistical": statistical_error(nominal * n, n), "total": total, "total_err": total_err,
            "total_relative": total / nominal if nominal else np.nan,
            "total_excess": excess, "total_excess_relative": excess / nominal if nominal else np.nan,
            "resolved_knobs": int((syst > RESOLVED_AT * err).sum()), "knobs": len(group),
            "largest_knob": top["knob"], "largest": float(top["systematic"]),
            "largest_relative": float(top["relative"]),
        })
    return pd.DataFrame(rows)


def statistical_error(k: float, n: float) -> float:
    """Half the 68 % Clopper-Pearson interval of k of n (NaN for n = 0)."""
    if n <= 0:
        return float("nan")
    low, high = metrics.clopper_pearson(int(round(k)), int(round(n)))
    return 0.5 * (high - low)


def summary(total: pd.DataFrame) -> pd.DataFrame:
    """Per finder and target: purity and its statistical error, the largest knob and the
    quadrature total relative to the purity, that total over MINERvA's flat 1 %, the total
    less the shifts' noise and how many knobs are resolved (:func:`totals`)."""
    rows = total[(total["quantity"] == "purity") & total["selection"].isin(HEADLINE_SELECTIONS)]
    columns = ["finder", "selection", "nominal", "statistical", "largest_knob", "largest_relative", "total_relative"]
    out = rows[columns].copy().rename(columns={"selection": "target", "nominal": "purity"})
    out.insert(4, "statistical_relative", out["statistical"] / out["purity"])
    out["total_relative_err"] = rows["total_err"] / rows["nominal"]
    out["total_over_flat_1pc"] = out["total_relative"] / MINERVA_FLAT_UNCERTAINTY
    out["excess_relative"] = rows["total_excess_relative"]
    out["resolved_knobs"] = rows["resolved_knobs"].astype(str) + " of " + rows["knobs"].astype(str)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class SampleInputs:
    """A varied sample's files: images (test truth), track vertices, network scores."""

    images: Sequence
    tracking: str
    scores: Mapping[str, Sequence]  # model -> score files


def measure(varied: Mapping[str, Mapping], inputs: Mapping[str, SampleInputs], *, replicas: int, seed: int = 0) -> pd.DataFrame:
    """Every shift of every finder: one block of :func:`shifts` per finder and shifted
    sample. ``varied``: sample name -> ``VariedSample.describe()`` (knob None: the nominal)."""
    from tqdm.auto import tqdm

    def figures(name):
        return sample_figures(inputs[name].images, inputs[name].tracking, inputs[name].scores)

    (nominal_name,) = [name for name, sample in varied.items() if sample["knob"] is None]
    nominal = figures(nominal_name)
    weights = bootstrap_weights(max(len(f.eventids) for f in nominal.values()), replicas, seed)
    frames = []
    for name, sample in tqdm([(n, s) for n, s in varied.items() if s["knob"] is not None], desc="variations", unit="sample"):
        for finder, shifted in figures(name).items():
            frame = shifts(nominal[finder], shifted, weights)
            for position, key in enumerate(("knob", "sigmas", "value")):
                frame.insert(position, key, sample[key])
            frame.insert(0, "finder", finder)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def markdown_summary(table: pd.DataFrame, per_knob: pd.DataFrame, total: pd.DataFrame, sources: Mapping[str, str]) -> str:
    """The headline tables: per finder and target the purity's systematic against its
    statistical error and MINERvA's flat 1 %; then each knob's share, and the knobs' sources."""
    head = summary(total)
    target_purity = per_knob[(per_knob["quantity"] == "purity") & per_knob["selection"].isin(HEADLINE_SELECTIONS)]
    by_knob = target_purity.pivot_table(index=["knob"], columns=["finder", "selection"], values="relative", sort=False)
    by_knob.columns = [f"{finder} {target}" for finder, target in by_knob.columns]
    knobs = pd.DataFrame({"knob": list(sources), "source": list(sources.values())})
    events = int(table["events"].max()) if len(table) else 0
    return "\n".join([
        "# Systematic uncertainty of the vertex finders",
        "",
        f"Shifted samples of {events} events each against the nominal, the same events; every figure",
        "is the purity of the target selection. `statistical`: the nominal purity's 68 % interval",
        "half-width; `largest_knob`: the knob of the largest one-sigma shift; `total`: the",
        "quadrature sum over knobs (`total_relative_err`: its statistical error, from the shifts');",
        "relative figures are fractions of the purity;",
        f"`total_over_flat_1pc`: the total over MINERvA's flat {MINERVA_FLAT_UNCERTAINTY:.0%} (NuVertexMLUnc);",
        "`excess_relative`: the total less what the shifts' statistical noise alone would give",
        f"(quadrature sum of systematic² - error²); `resolved_knobs`: knobs shifted by more than {RESOLVED_AT:g}",
        "times their error. Where few knobs are resolved the total is mostly noise: an upper",
        "bound, which more events per shifted sample tighten.",
        "",
        evaluation.markdown(head),
        "",
        "## One-sigma shift of target purity by knob (relative)",
        "",
        evaluation.markdown(by_knob.reset_index()),
        "",
        "## Knobs and the sources of their sizes",
        "",
        evaluation.markdown(knobs),
        "",
    ])


def write_outputs(table: pd.DataFrame, sources: Mapping[str, str], *, shifts_csv, knobs_csv, totals_csv, summary_md) -> None:
    """Every shift, each knob's systematic, the totals (CSV) and the summary (Markdown)."""
    from minerva_vertex import safe_write

    per_knob = knob_systematics(table)
    total = totals(per_knob)
    for frame, path in ((table, shifts_csv), (per_knob, knobs_csv), (total, totals_csv)):
        safe_write.write_text(path, frame.to_csv(index=False))
    safe_write.write_text(summary_md, markdown_summary(table, per_knob, total, sources))


def inputs_from_named(named: Mapping, samples: Sequence[str], models: Sequence[str]) -> dict[str, SampleInputs]:
    """Each sample's :class:`SampleInputs` from a rule's named inputs ``<sample>__images``,
    ``<sample>__tracking`` and ``<sample>__scores__<model>``."""
    return {
        sample: SampleInputs(
            list(named[f"{sample}__images"]),
            str(named[f"{sample}__tracking"]),
            {model: list(named[f"{sample}__scores__{model}"]) for model in models},
        )
        for sample in samples
    }
