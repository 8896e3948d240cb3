"""The domain study's shift scan: the oracle's gap and the share of it closed against the
size of the shift, one column per direction (the data-like direction, k; the final-state
interactions, the fraction of nominal's removed)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from minerva_vertex.plots import style

DIRECTIONS = {
    "data_like": "data-like shift k (MINERvA sigmas)",
    "fsi": "final-state interactions removed (1 - fraction of nominal)",
}
CLOSERS = {"dann": "DANN", "mcc": "MCC", "control": "control"}
OFFSET = 0.04  # of the x range: methods side by side at one point
BEYOND_ALPHA = 0.12


def _errors(mean: float, interval) -> list[list[float]]:
    if interval is None:
        return [[0.0], [0.0]]
    return [[mean - interval[0]], [interval[1] - mean]]


def _marker(domain: Mapping) -> dict:
    """Squares for scaled-down trainings, circles for the full recipe; open beyond
    MINERvA's uncertainties."""
    return {"marker": "s" if domain["training_fraction"] < 1 else "o",
            "fillstyle": "none" if domain["beyond_minerva_uncertainties"] else "full"}


def _point(ax, x: float, mean: float, interval, colour: str, label: str, domain: Mapping) -> None:
    ax.errorbar([x], [mean], yerr=_errors(mean, interval), color=colour, label=label, linestyle="none",
                markersize=8, capsize=3, **_marker(domain))


def _gap_panel(ax, domains: list[Mapping]) -> None:
    for domain in domains:
        gap, drop = domain["gap"], domain["drop"]
        _point(ax, domain["size"], 100 * gap["mean"], None if gap["interval"] is None else [100 * v for v in gap["interval"]],
               style.PALETTE[0], "oracle - CNN on the target", domain)
        sem = drop["sem"] or 0.0
        _point(ax, domain["size"] + OFFSET, 100 * drop["mean"], [100 * (drop["mean"] - sem), 100 * (drop["mean"] + sem)],
               style.PALETTE[6], "CNN: source - target", domain)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("accuracy difference (points)")


def _share_panel(ax, domains: list[Mapping]) -> None:
    for domain in domains:
        for index, (method, label) in enumerate(CLOSERS.items()):
            share = domain["share"][method]
            x = domain["size"] + (index - 1) * OFFSET
            if share["share"] is None:
                continue
            interval = None if share["interval"] is None else [100 * v for v in share["interval"]]
            _point(ax, x, 100 * share["share"], interval, style.PALETTE[index + 1], label, domain)
        if domain["share"]["dann"]["share"] is None:
            ax.annotate("no gap", (domain["size"], 0.05), xycoords=("data", "axes fraction"), ha="center", fontsize=11)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("share of the gap closed (%)")


def _deduplicated_legend(ax, extra: list) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    for handle in extra:
        unique[handle.get_label()] = handle
    ax.legend(unique.values(), unique.keys(), fontsize=9, loc="best")


def _notes(domains: list[Mapping]) -> list:
    """Legend entries saying which points are beyond MINERvA's uncertainties and which
    come from scaled-down trainings (only where there are such points)."""
    extra = []
    if any(d["beyond_minerva_uncertainties"] for d in domains):
        extra.append(Line2D([], [], color="grey", marker="o", fillstyle="none", linestyle="none",
                            label="open: beyond MINERvA's uncertainties"))
    scaled = sorted({d["training_fraction"] for d in domains if d["training_fraction"] < 1})
    if scaled:
        shares = ", ".join(f"{100 * f:g} %" for f in scaled)
        extra.append(Line2D([], [], color="grey", marker="s", linestyle="none",
                            label=f"square: scaled-down trainings ({shares} of the events)"))
    return extra


def plot_scan(document: Mapping, png, pdf) -> Figure:
    """Gap (top) and share closed (bottom) per direction of the scan; points with their
    intervals on axes zoomed to the differences; "no gap" where the gap's interval includes
    zero. Returns the saved figure."""
    style.use_style()
    directions = [d for d in DIRECTIONS if any(row["direction"] == d for row in document["domains"])]
    if not directions:
        raise ValueError("the domain study has no point on the scan (no domain with a direction)")
    figure, axes = plt.subplots(2, len(directions), figsize=(7.5 * len(directions), 10), sharex="col", squeeze=False)
    for column, direction in enumerate(directions):
        domains = sorted((d for d in document["domains"] if d["direction"] == direction), key=lambda d: d["size"])
        top, bottom = axes[0][column], axes[1][column]
        _gap_panel(top, domains)
        _share_panel(bottom, domains)
        if direction == "data_like" and any(d["beyond_minerva_uncertainties"] for d in domains):
            for ax in (top, bottom):
                ax.axvspan(1.0 + 2 * OFFSET, max(d["size"] for d in domains) + 4 * OFFSET, color="grey", alpha=BEYOND_ALPHA)
            top.annotate("beyond MINERvA's uncertainties", (0.98, 0.95), xycoords="axes fraction", ha="right", va="top", fontsize=10)
        bottom.set_xlabel(DIRECTIONS[direction])
        _deduplicated_legend(top, _notes(domains))
        if bottom.get_legend_handles_labels()[0]:
            _deduplicated_legend(bottom, [])
    seeds = ", ".join(str(s) for s in document["seeds"])
    figure.suptitle(f"Shift scan: mean over seeds {seeds}, {100 * document['confidence']:.0f} % intervals", fontsize=13)
    style.save(figure, png, pdf)
    return figure
