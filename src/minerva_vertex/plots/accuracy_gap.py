"""The accuracy-gap summary: each finder's accuracy on the source and the target sample,
as points with their test-split intervals on an axis zoomed to the differences, and the
share of the oracle's gap each adapted network closes, or "no gap"."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from minerva_vertex import adaptation_stats
from minerva_vertex.comparisons import TRACKING
from minerva_vertex.plots import style


def _accuracy(metric_files: Mapping, finder: str, sample: str) -> tuple[float, float, float] | None:
    """(value, low, high) of a finder's accuracy on a sample; None without truth or file."""
    document = metric_files.get((finder, sample))
    if document is None or "segments" not in document:
        return None
    entry = document["segments"]["accuracy"]
    return entry["value"], entry["interval"][0], entry["interval"][1]


def share_lines(bias: Mapping, metric_files: Mapping) -> list[str]:
    """One line per adapted network with an oracle: the share of the gap it closes with its
    interval, or "no gap" where the gap's interval includes zero (single-run intervals)."""
    target, lines = bias["target"], []
    for comparison in bias.get("adaptation", {}).values():
        if comparison.get("oracle") is None:
            continue
        points = [_accuracy(metric_files, comparison[r], target) for r in ("source_only", "adapted", "oracle")]
        if None in points:
            continue
        cnn, method, oracle = ((v, 0.5 * (high - low)) for v, low, high in points)
        result = adaptation_stats.single_run_share(cnn, method, oracle)
        low, high = result["gap_interval"]
        gap = f"{comparison['oracle']} - {comparison['source_only']} = {100 * result['gap']:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}] points"
        closes = "no gap" if result["share"] is None else f"closes {result['label']}"
        lines.append(f"{comparison['adapted']}: {closes} ({gap})")
    return lines


def plot_accuracy_gap(bias: Mapping, metric_files: Mapping, png, pdf, *, offset: float) -> Figure:
    """Accuracy (source, target) per finder with 68 % intervals, the drop and the domain AUC
    above each finder, the share closed below the axes. The networks get an axis of their
    own, zoomed to their differences; the track-based vertex, ten points lower, a second
    one beside it. ``metric_files``: (finder, sample) -> metrics JSON, whose intervals the
    points carry. Returns the saved figure."""
    style.use_style()
    finders = list(bias["finders"])
    panels = [[f for f in finders if f != TRACKING], [f for f in finders if f == TRACKING]]
    panels = [panel for panel in panels if panel]
    figure, axes = plt.subplots(
        1, len(panels), figsize=(max(8, 2.2 * len(finders) + 3), 7), squeeze=False,
        gridspec_kw={"width_ratios": [len(panel) for panel in panels]},
    )
    for ax, panel in zip(axes[0], panels):
        _draw_panel(ax, bias, metric_files, panel, offset)
    network_axis = axes[0][0]
    network_axis.set_ylabel("Accuracy (%), 68 % intervals")
    network_axis.legend(loc="best", fontsize=11)
    lines = share_lines(bias, metric_files)
    if lines:
        network_axis.text(0.01, -0.12, "\n".join(lines), ha="left", va="top", fontsize=10, transform=network_axis.transAxes)
    style.save(figure, png, pdf)
    return figure


def _draw_panel(ax, bias: Mapping, metric_files: Mapping, finders: list[str], offset: float) -> None:
    """Source and target points of ``finders``, with the drop and AUC above each."""
    positions = np.arange(len(finders))
    for shift, sample, colour in ((-offset, bias["source"], style.PALETTE[0]), (offset, bias["target"], style.PALETTE[1])):
        points = [(x + shift, p) for x, f in zip(positions, finders) if (p := _accuracy(metric_files, f, sample)) is not None]
        if not points:
            continue
        xs = [x for x, _ in points]
        values = np.array([100 * p[0] for _, p in points])
        errors = np.array([[100 * (p[0] - p[1]), 100 * (p[2] - p[0])] for _, p in points]).T
        ax.errorbar(xs, values, yerr=errors, fmt="o", color=colour, capsize=4, markersize=8, label=sample)
    above = blended_transform_factory(ax.transData, ax.transAxes)
    for x, finder in zip(positions, finders):
        entry = bias["finders"][finder]
        notes = []
        if entry.get("accuracy_drop") is not None:
            notes.append(f"drop {100 * entry['accuracy_drop']:.2f} points")
        if entry.get("domain_auc"):
            notes.append(f"AUC {entry['domain_auc']['auc']:.2f}")
        ax.text(x, 1.01, "\n".join(notes), ha="center", va="bottom", fontsize=10, transform=above)
    ax.set_xticks(positions)
    ax.set_xticklabels(finders)
    ax.set_xlim(-0.6, len(finders) - 0.4)
