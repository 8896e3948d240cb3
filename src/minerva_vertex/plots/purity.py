"""Purity and efficiency with 68 % Clopper-Pearson error bars: by segment and by target.

Finders (tracking and networks) sit side by side at each segment or selection, one marker
colour each; one row of panels per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from minerva_vertex import metrics
from minerva_vertex.comparisons import Comparison
from minerva_vertex.plots import style

QUANTITIES = ("purity", "efficiency")
# Labels longer than this stand upright under their tick: side by side they would run
# into each other, and tilted ones would reach under their neighbours.
UPRIGHT_LABELS_FROM = 4


def _points(entries: Sequence[Mapping]):
    values = np.array([np.nan if e["value"] is None else e["value"] for e in entries], dtype=float)
    low = np.array([e["interval"][0] for e in entries])
    high = np.array([e["interval"][1] for e in entries])
    # An undefined ratio (nothing to divide) is drawn as nothing.
    return values, np.where(np.isnan(values), 0, values - low), np.where(np.isnan(values), 0, high - values)


def _panel(ax, series: Mapping[str, Sequence[Mapping]], labels: Sequence[str], ylabel: str, spread: float) -> None:
    n = len(series)
    positions = np.arange(len(labels))
    for i, (finder, entries) in enumerate(series.items()):
        values, low, high = _points(entries)
        offset = (i - (n - 1) / 2) * spread / max(n, 1)
        ax.errorbar(
            positions + offset,
            values,
            yerr=[low, high],
            fmt="o",
            ms=5,
            capsize=2,
            color=style.colour(finder, i),
            label=finder,
        )
    ax.set_xticks(positions)
    upright = max(len(s) for s in labels) >= UPRIGHT_LABELS_FROM
    ax.set_xticklabels(labels, rotation=90 if upright else 0, ha="center")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)


def _grid(
    comparison: Comparison,
    series_of: Callable[[str, str], Mapping[str, Sequence[Mapping]]],
    labels: Sequence[str],
    xlabel: str,
    width: float,
    spread: float,
) -> Figure:
    """One row per sample, purity and efficiency side by side; ``series_of(sample,
    quantity)`` gives each finder's entries, empty where the sample has no truth."""
    style.use_style()
    samples = comparison.samples
    figure, axes = plt.subplots(
        len(samples), 2, figsize=(width, 5.5 * len(samples)), squeeze=False, layout="constrained"
    )
    for row, sample in enumerate(samples):
        for col, quantity in enumerate(QUANTITIES):
            series = series_of(sample, quantity)
            ax = axes[row, col]
            if series:
                _panel(ax, series, labels, f"{quantity.capitalize()} (fraction)", spread)
                ax.legend(fontsize=10, loc="lower left")
            else:
                ax.text(0.5, 0.5, "no truth", transform=ax.transAxes, ha="center")
                ax.set(xticks=[], yticks=[])  # an empty panel has no scale to read
            ax.set_xlabel(xlabel)
            ax.set_title(f"{sample}: {quantity} ({comparison.title})", fontsize=13)
    return figure


def plot_by_segment(
    metric_files: Mapping[tuple[str, str], Mapping], comparison: Comparison, png, pdf, *, spread: float
) -> Figure:
    """Purity and efficiency per true/reconstructed segment 0-10 of the comparison's
    finders and samples; returns the saved figure."""

    def series_of(sample, quantity):
        return {
            f: metric_files[(f, sample)]["segments"][quantity]
            for f in comparison.finders
            if "segments" in metric_files.get((f, sample), {})
        }

    labels = [str(s) for s in range(metrics.N_SEGMENTS)]
    figure = _grid(comparison, series_of, labels, "z-segment", 16, spread)
    style.save(figure, png, pdf)
    return figure


def plot_by_target(
    metric_files: Mapping[tuple[str, str], Mapping], comparison: Comparison, png, pdf, *, spread: float
) -> Figure:
    """Purity and efficiency of the comparison's target and material selections; returns
    the saved figure."""
    selections = comparison.selections

    def series_of(sample, quantity):
        return {
            f: [metric_files[(f, sample)]["targets"]["selections"][s][quantity] for s in selections]
            for f in comparison.finders
            if "targets" in metric_files.get((f, sample), {})
        }

    labels = [metrics.selection_label(s) for s in selections]
    width = max(10, 1.1 * len(selections) + 6)
    figure = _grid(comparison, series_of, labels, "Target and material", width, spread)
    style.save(figure, png, pdf)
    return figure
