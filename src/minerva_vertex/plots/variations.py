"""The variations plot: one panel per target, a bar per variation, finders side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from minerva_vertex.plots import style
from minerva_vertex.systematics import HEADLINE_SELECTIONS


def plot_variations(shifts: pd.DataFrame, png, pdf, *, quantity: str, relative: bool,
                    flat_band: float | None) -> Figure:
    """Horizontal bars of each variation's shift of ``quantity`` in targets 1-5 (relative
    to the nominal value with ``relative``), with the bootstrap error of the shift; the
    shaded band is MINERvA's flat uncertainty (``flat_band``, relative; None: no band).
    Returns the saved figure."""
    style.use_style()
    rows = shifts[(shifts["quantity"] == quantity) & shifts["selection"].isin(HEADLINE_SELECTIONS)].copy()
    scale = rows["nominal"].where(rows["nominal"] > 0) if relative else 1.0
    rows["y"], rows["y_err"] = 100 * rows["shift"] / scale, 100 * rows["shift_err"] / scale
    rows["label"] = [f"{k} {s:+g}σ" for k, s in zip(rows["knob"], rows["sigmas"])]
    labels = list(dict.fromkeys(rows["label"]))
    finders = list(dict.fromkeys(rows["finder"]))
    height = 0.8 / max(len(finders), 1)
    figure, axes = plt.subplots(1, len(HEADLINE_SELECTIONS), figsize=(4 * len(HEADLINE_SELECTIONS), 1.5 + 0.32 * len(labels)),
                                sharey=True, squeeze=False)
    positions = np.arange(len(labels))
    for ax, target in zip(axes[0], HEADLINE_SELECTIONS):
        mine = rows[rows["selection"] == target].set_index(["label", "finder"])
        for i, finder in enumerate(finders):
            values = [mine["y"].get((label, finder), np.nan) for label in labels]
            errors = [mine["y_err"].get((label, finder), np.nan) for label in labels]
            offset = (i - (len(finders) - 1) / 2) * height
            ax.barh(positions + offset, values, height=height, xerr=errors, color=style.colour(finder, i),
                    label=finder, error_kw={"elinewidth": 0.8, "capsize": 0})
        if relative and flat_band:
            ax.axvspan(-100 * flat_band, 100 * flat_band, color="#dddddd", zorder=0,
                       label=f"flat {flat_band:.0%} (MINERvA)")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(target.replace("target", "target "), fontsize=14)
        ax.set_xlabel(f"{quantity} shift" + (" (% of nominal)" if relative else " (% points)"), fontsize=12)
        ax.tick_params(axis="x", labelsize=11)
    axes[0][0].set_yticks(positions)
    axes[0][0].set_yticklabels(labels, fontsize=10)
    axes[0][0].invert_yaxis()
    # One legend above the panels, where no bar can hide under it.
    handles, names = axes[0][-1].get_legend_handles_labels()
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.6 / figure.get_figheight()))
    figure.legend(handles, names, loc="upper center", ncol=len(handles), fontsize=12, frameon=False)
    style.save(figure, png, pdf)
    return figure
