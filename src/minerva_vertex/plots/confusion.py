"""Confusion matrices as on the talk's slide 10: row-normalised and log10 row-normalised.

"Row" is a true segment: each true segment's events sum to 1 over the reconstructed
segments (no-vertex events of the tracking included in the sum, so a row can fall short of 1).
The x axis is the true z-segment, the y axis the reconstructed z-segment, as in the talk.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from minerva_vertex.plots import style


def row_normalised(matrix, unreconstructed=None) -> np.ndarray:
    """Fraction of each true segment's events per reconstructed segment (rows of zeros stay 0)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1) + (0 if unreconstructed is None else np.asarray(unreconstructed, np.float64))
    return np.divide(matrix, totals[:, None], out=np.zeros_like(matrix), where=totals[:, None] > 0)


def plot_confusion(metrics_json: dict, png, pdf, *, cmap: str, log_min: float, annotate: bool, title: str) -> Figure:
    """Two panels: row-normalised and log10 row-normalised confusion matrix; returns the
    saved figure."""
    style.use_style()
    if "segments" not in metrics_json:  # a sample without truth has no confusion matrix
        figure, ax = plt.subplots(figsize=(8, 3))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: sample without truth, no confusion matrix", ha="center", va="center")
        style.save(figure, png, pdf)
        return figure
    segments = metrics_json["segments"]
    fractions = row_normalised(segments["confusion"], segments.get("unreconstructed"))
    figure, axes = plt.subplots(1, 2, figsize=(16, 7))
    with np.errstate(divide="ignore"):
        logs = np.where(fractions > 0, np.log10(np.maximum(fractions, 1e-300)), np.nan)
    panels = ((fractions, 0.0, 1.0, "Row normalised"), (logs, log_min, 0.0, "Log$_{10}$ row normalised"))
    edges = np.arange(12) - 0.5
    for ax, (values, vmin, vmax, label) in zip(axes, panels):
        # x: true segment, y: reconstructed segment -> transpose of C[true, reco].
        mesh = ax.pcolormesh(edges, edges, values.T, cmap=cmap, vmin=vmin, vmax=vmax)
        figure.colorbar(mesh, ax=ax, label=label + " fraction" if values is fractions else "log$_{10}$(fraction)")
        ax.set_xlabel("True z-segment")
        ax.set_ylabel("Reconstructed z-segment")
        ax.set_xticks(style.SEGMENT_TICKS)
        ax.set_yticks(style.SEGMENT_TICKS)
        ax.set_title(f"{label} {title}".strip(), fontsize=14)
        if annotate:
            for t in range(11):
                for r in range(11):
                    if fractions[t, r] >= 0.005:
                        ax.text(t, r, f"{fractions[t, r]:.2f}", ha="center", va="center", fontsize=7, color="w")
    style.save(figure, png, pdf)
    return figure
