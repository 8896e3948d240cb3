"""Training curves of one model: losses, accuracies and, for a DANN, the domain figures."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd
from matplotlib.figure import Figure

from minerva_vertex.plots import style


def _has(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and frame[column].notna().any()


def plot_training_curves(metrics: pd.DataFrame, path: str | Path, *, title: str, width_in: float) -> Figure:
    """Loss (left), accuracy (middle) and the DANN's domain figures with lambda (right),
    per epoch; the selected epoch is marked. Written via a temporary name; returns the
    saved figure."""
    style.use_style()
    is_dann = _has(metrics, "val_domain_auc") or _has(metrics, "train_domain_loss")
    n_panels = 3 if is_dann else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(width_in, width_in * 0.36), constrained_layout=True)
    epoch = metrics["epoch"] + 1

    loss, acc = axes[0], axes[1]
    loss.plot(epoch, metrics["train_label_loss"], "o-", label="train (source)")
    loss.plot(epoch, metrics["val_label_loss"], "s--", label="validation (source)")
    if _has(metrics, "train_domain_loss"):
        loss.plot(epoch, metrics["train_domain_loss"], "^:", label="domain (train)")
        loss.axhline(math.log(2), color="grey", lw=1, ls=":", label="ln 2 (equilibrium)")
    loss.set(xlabel="epoch", ylabel="loss")
    acc.plot(epoch, metrics["train_accuracy"], "o-", label="train (source)")
    acc.plot(epoch, metrics["val_accuracy"], "s--", label="validation (source)")
    acc.set(xlabel="epoch", ylabel="segment accuracy", ylim=(0, 1.02))

    if is_dann:
        dom = axes[2]
        dom.plot(epoch, metrics["val_domain_accuracy"], "o-", label="domain accuracy (val.)")
        dom.plot(epoch, metrics["val_domain_auc"], "s--", label="domain AUC (val.)")
        dom.plot(epoch, metrics["lambda"], "^:", label=r"$\lambda$ (epoch end)")
        dom.axhline(0.5, color="grey", lw=1, ls=":")
        dom.set(xlabel="epoch", ylabel="domain classifier", ylim=(0, 1.02))

    if "selected" in metrics and metrics["selected"].astype(bool).any():
        best = int(metrics.loc[metrics["selected"].astype(bool), "epoch"].iloc[0]) + 1
        for ax in axes:
            ax.axvline(best, color="black", lw=1, alpha=0.4)
    for ax in axes:
        ax.legend(fontsize="x-small")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if title:
        fig.suptitle(title, fontsize="medium")

    style.save(fig, path)
    return fig
