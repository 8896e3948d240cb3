"""The accuracy-gap summary: each finder's accuracy on the source and the target sample."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from minerva_vertex.plots import style


def plot_accuracy_gap(bias: Mapping, png, pdf, *, bar_width: float) -> Figure:
    """Bars of accuracy (source, target) per finder; the drop and the domain AUC written
    above. Returns the saved figure."""
    style.use_style()
    finders = list(bias["finders"])
    source, target = bias["source"], bias["target"]
    figure, ax = plt.subplots(figsize=(max(8, 2.2 * len(finders) + 3), 7))
    positions = np.arange(len(finders))
    for shift, sample, c in ((-0.5, source, style.PALETTE[0]), (0.5, target, style.PALETTE[1])):
        values = [bias["finders"][f]["accuracy"].get(sample) for f in finders]
        heights = [np.nan if v is None else v for v in values]
        ax.bar(positions + shift * bar_width, heights, width=bar_width, color=c, label=sample)
    for x, finder in zip(positions, finders):
        entry = bias["finders"][finder]
        notes = []
        if entry.get("accuracy_drop") is not None:
            notes.append(f"drop {100 * entry['accuracy_drop']:.1f} %")
        if entry.get("domain_auc"):
            notes.append(f"AUC {entry['domain_auc']['auc']:.2f}")
        ax.text(x, 1.02, "\n".join(notes), ha="center", va="bottom", fontsize=10)
    closed = [g["gap_closed"] for g in bias.get("adaptation", {}).values() if g.get("gap_closed") is not None]
    if closed:
        ax.set_title(f"DANN closes {100 * closed[0]:.0f} % of the source-only to oracle gap", fontsize=13)
    ax.set_xticks(positions)
    ax.set_xticklabels(finders)
    ax.set_ylabel("Accuracy (fraction of test events)")
    ax.set_ylim(0, 1.2)
    ax.legend(loc="upper right", fontsize=11)
    style.save(figure, png, pdf)
    return figure
