"""Predicted segment distributions of one finder on every sample, with the truth where known."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from minerva_vertex.plots import style


def plot_distributions(finder: str, by_sample: Mapping[str, Mapping], png, pdf, *, log_y: bool) -> Figure:
    """Fraction of events per reconstructed segment (markers) and per true segment (steps);
    returns the saved figure."""
    style.use_style()
    figure, ax = plt.subplots(figsize=(10, 7))
    edges = np.arange(12) - 0.5
    centres = np.arange(11)
    for i, (sample, data) in enumerate(by_sample.items()):
        c = style.PALETTE[i % len(style.PALETTE)]
        predicted = np.asarray(data["predicted_distribution"])
        n = max(int(data["n_events"]) - int(data.get("n_unreconstructed", 0)), 1)
        error = np.sqrt(predicted * (1 - predicted) / n)  # binomial, for orientation only
        ax.errorbar(centres, predicted, yerr=error, fmt="o", color=c, label=f"{sample}: reconstructed")
        if data.get("true_distribution") is not None:
            ax.stairs(data["true_distribution"], edges, color=c, linestyle="--", label=f"{sample}: true")
    ax.set_xlabel("z-segment")
    ax.set_ylabel("Fraction of events")
    ax.set_xticks(centres)
    if log_y:
        ax.set_yscale("log")
    ax.set_title(f"Segment distributions: {finder}", fontsize=14)
    ax.legend(fontsize=11)
    style.save(figure, png, pdf)
    return figure
