"""Event displays: the X, U and V views of a few events, true vertex marked.

Each view is drawn as the network sees it (strip vs plane column, built by
``images.hits_to_images``), with energy in MeV on a log colour scale, the passive targets
as grey lines at their z, and the true vertex (simulation only) as a red cross.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from minerva_vertex import geometry as geo
from minerva_vertex.images import hits_to_images
from minerva_vertex.plots import style
from minerva_vertex.rootio import HitFile, HitChunk

INTERACTION_NAMES = {1: "QE", 2: "RES", 3: "DIS", 4: "COH"}
NUCLEUS_NAMES = {z: name for name, z in geo.NUCLEUS_Z.items()}
ENERGY_RANGE_MEV = (0.3, 30.0)  # of the colour scale: a third of a MIP's plane to a shower's strip


def read_events(path, n_events: int) -> HitChunk:
    """The first ``n_events`` events of a hit file (fewer if the file has fewer)."""
    with HitFile(path) as hit_file:
        return next(hit_file.chunks(step=max(1, n_events)))


def column_of_z(view: int, z) -> np.ndarray:
    """Continuous image column of a z (mm) in a view (planes' columns interpolated)."""
    rows = geo.PLANES.view == view
    return np.interp(z, geo.PLANES.z[rows], geo.PLANES.column[rows].astype(float))


def draw_event_display(events: HitChunk, *, cmap: str, title: str) -> Figure:
    """Figure with one row per event and one column per view."""
    style.use_style()
    images = hits_to_images(events.hits, counts=events.counts, energy_scale_mev=1.0)
    n = events.n_events
    widths = [geo.N_COLUMNS[v] for v in geo.VIEWS]
    figure, axes = plt.subplots(
        n, 3, figsize=(16, 3.3 * n + 0.6), squeeze=False, gridspec_kw={"width_ratios": widths}, layout="constrained"
    )
    norm = LogNorm(*ENERGY_RANGE_MEV)
    for i in range(n):
        for ax, view in zip(axes[i], geo.VIEWS):
            image = images[geo.VIEW_NAMES[view]][i, 0]
            mesh = ax.imshow(np.where(image > 0, image, np.nan), origin="lower", aspect="auto", cmap=cmap, norm=norm,
                             interpolation="nearest")
            _mark_targets(ax, view)
            if events.truth is not None:
                _mark_vertex(ax, view, events.truth, i)
            if i == n - 1:
                ax.set_xlabel(f"{geo.VIEW_NAMES[view].upper()} view: plane column (z)", fontsize=11)
            ax.tick_params(labelsize=9)
        axes[i, 0].set_ylabel("Strip", fontsize=11)
        axes[i, 0].set_title(_event_label(events, i), fontsize=11, loc="left")
    figure.colorbar(mesh, ax=axes, label="Energy (MeV)", fraction=0.015, pad=0.01)
    if title:
        figure.suptitle(title, fontsize=14)
    return figure


def _mark_targets(ax, view: int) -> None:
    for volume in geo.PASSIVE_VOLUMES:
        centre = column_of_z(view, 0.5 * (volume.z_min + volume.z_max))
        ax.axvline(centre, color="0.6", lw=0.8, ls="--" if volume.material == "water" else "-", zorder=0)


def _mark_vertex(ax, view: int, truth: dict, i: int) -> None:
    x, y, z = (float(truth[k][i]) for k in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z"))
    strip = geo.strip_coordinate(geo.transverse_coordinate(view, x, y))
    ax.plot([column_of_z(view, z)], [strip], marker="x", color="red", ms=10, mew=2, ls="none")


def _event_label(events: HitChunk, i: int) -> str:
    ids = "/".join(str(int(events.ids[k][i])) for k in ("run", "subrun", "gate", "slice"))
    label = f"event {ids}, {int(events.counts[i])} hits"
    if events.truth is not None:
        t = events.truth
        segment = int(geo.segment_of_z(t["mc_vtx_z"][i]))
        label += (
            f" | segment {segment}, {INTERACTION_NAMES.get(int(t['mc_intType'][i]), '?')} on "
            f"{NUCLEUS_NAMES.get(int(t['mc_targetZ'][i]), '?')}, E = {t['mc_incomingE'][i] / 1000:.1f} GeV, "
            f"W = {t['mc_w'][i] / 1000:.2f} GeV"
        )
    return label


def event_display(root_path, png, pdf=None, *, n_events: int, cmap: str, title: str) -> Figure:
    """Read the first events of a hit file and save their display (PNG, optional PDF);
    returns the saved figure."""
    figure = draw_event_display(read_events(root_path, n_events), cmap=cmap, title=title)
    style.save(figure, *(p for p in (png, pdf) if p))
    return figure
