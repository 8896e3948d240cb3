"""What one conversion did and what a sample's conversions did, with the warnings a
person should read: a file whose hits mostly miss the image window, true vertices that
lie outside it.

Per file (:func:`empty_totals`, :func:`accumulate` chunk by chunk, then
:func:`file_summary`): events read and written, hits read, drawn and dropped by reason,
events without (drawn) hits, events per split and, with truth, per segment and vertices
outside the window. Per sample (:func:`sample_summary`, :func:`gather_summaries`): the
same totals over its files, with the files listed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from minerva_vertex import geometry, image_contract, safe_write, splits
from minerva_vertex.images.pixels import FIRST_MODULE, WINDOW_LAST_MODULE

# The package's logger: warnings keep the name they are known by in the job logs.
log = logging.getLogger(__package__)

# A true vertex further than this from the image window's first or last plane cannot be
# seen in the images; it is counted (``vertices_outside_window``) and the user warned.
# One module of tolerance (44.2 mm between modules, MINERVA.md).
VERTEX_WINDOW_MARGIN_MM = 44.2
WINDOW_Z_MM = (float(geometry.PLANES.z.min()), float(geometry.PLANES.z.max()))


def no_hits_in_window(summary: Mapping) -> str:
    """Why a file with hits has none in the image window, and the likely cause."""
    return (
        f"all {summary['hits_read']} hits lie outside the image window (modules {FIRST_MODULE}-"
        f"{WINDOW_LAST_MODULE}): is the module numbering MINERvA's?"
    )


def warn_about(summary: Mapping) -> None:
    """Warn, naming the file and the share, when its hits miss the image window or its
    vertices lie outside it (one line each: job_log puts them on the console too)."""
    source = summary["source_file"]
    if summary["hits_read"] and summary["hits_drawn"] == 0:
        log.warning("%s: %s", source, no_hits_in_window(summary))
    elif summary["hits_read"] and summary["hits_drawn"] < 0.5 * summary["hits_read"]:
        share = 1 - summary["hits_drawn"] / summary["hits_read"]
        log.warning(
            "%s: %.0f %% of the hits (%d of %d) lie outside the image window",
            source, 100 * share, summary["hits_read"] - summary["hits_drawn"], summary["hits_read"],
        )
    outside = summary.get("vertices_outside_window", 0)
    if outside:
        log.warning(
            "%s: %d true vertices of %d (%.1f %%) lie more than %.0f mm outside the image window "
            "(z %.0f-%.0f mm); they are labelled segment 0 or 10 but cannot be seen in the images",
            source, outside, summary["events_written"], 100 * outside / max(summary["events_written"], 1),
            VERTEX_WINDOW_MARGIN_MM, *WINDOW_Z_MM,
        )


def vertices_outside_window(vtx_z) -> int:
    """True vertices (z in mm) too far from the image window to be seen in the images."""
    z = np.asarray(vtx_z, dtype=np.float64)
    return int(np.sum((z < WINDOW_Z_MM[0] - VERTEX_WINDOW_MARGIN_MM) | (z > WINDOW_Z_MM[1] + VERTEX_WINDOW_MARGIN_MM)))


def empty_totals(has_truth: bool) -> dict:
    """A file's counters before its first chunk."""
    totals = {
        "hits_read": 0,
        "hits_drawn": 0,
        "hits_dropped": {"outside_window": 0},
        "events_without_hits": 0,
        "events_without_drawn_hits": 0,
        "split": np.zeros(len(splits.SPLIT_NAMES), dtype=np.int64),
    }
    if has_truth:
        totals["segments"] = np.zeros(geometry.N_SEGMENTS, dtype=np.int64)
        totals["vertices_outside_window"] = 0
    return totals


def accumulate(totals: dict, counters: Mapping, columns: Mapping) -> None:
    """Add one chunk: the scatterer's ``counters`` and the chunk's per-event ``columns``."""
    for key, value in counters.items():
        if isinstance(value, dict):
            for reason, n in value.items():
                totals[key][reason] = totals[key].get(reason, 0) + n
        else:
            totals[key] += value
    totals["split"] += np.bincount(columns["split"], minlength=len(splits.SPLIT_NAMES))
    if "segments" in totals:
        totals["segments"] += np.bincount(columns["segments"], minlength=geometry.N_SEGMENTS)
        totals["vertices_outside_window"] += vertices_outside_window(columns["zs"])


def file_summary(hit_file, sample: str, n_events: int, totals: Mapping) -> dict:
    """A converted file's summary (its JSON) from its totals."""
    summary = {
        "sample": sample,
        "source_file": hit_file.path,
        "has_truth": bool(hit_file.has_truth),
        "events_read": n_events,
        "events_written": n_events,
        "events_without_hits": totals["events_without_hits"],
        "events_without_drawn_hits": totals["events_without_drawn_hits"],
        "hits_read": totals["hits_read"],
        "hits_drawn": totals["hits_drawn"],
        "hits_dropped": totals["hits_dropped"],
        "split": dict(zip(splits.SPLIT_NAMES, totals["split"].tolist())),
    }
    if hit_file.has_truth:
        summary["segments"] = totals["segments"].tolist()
        summary["vertices_outside_window"] = totals["vertices_outside_window"]
    return summary


SUMMED_KEYS = (
    "events_read",
    "events_written",
    "events_without_hits",
    "events_without_drawn_hits",
    "hits_read",
    "hits_drawn",
)


def sample_summary(file_summaries: list[dict], sample: str = "") -> dict:
    """Totals of a sample's per-file summaries, with the files listed."""
    total = {"sample": sample, "n_files": len(file_summaries), **{key: 0 for key in SUMMED_KEYS}}
    total["hits_dropped"], total["split"] = {}, {name: 0 for name in splits.SPLIT_NAMES}
    segments = np.zeros(geometry.N_SEGMENTS, dtype=np.int64)
    for summary in file_summaries:
        for key in SUMMED_KEYS:
            total[key] += summary[key]
        for reason, n in summary["hits_dropped"].items():
            total["hits_dropped"][reason] = total["hits_dropped"].get(reason, 0) + n
        for name, n in summary["split"].items():
            total["split"][name] += n
        if "segments" in summary:
            segments += np.asarray(summary["segments"])
    truth = {s["has_truth"] for s in file_summaries}
    total["has_truth"] = truth.pop() if len(truth) == 1 else "mixed"
    if total["has_truth"] is True:
        total["segments"] = segments.tolist()
        total["vertices_outside_window"] = sum(s.get("vertices_outside_window", 0) for s in file_summaries)
    total["files"] = [{"source_file": s["source_file"], "output": s.get("output")} for s in file_summaries]
    return total


def gather_summaries(paths, output, sample: str = "", image_files=()) -> dict:
    """Read per-file summary JSONs and write the sample's summary. The sample's
    ``image_files``, complete now, are checked for shared event ids
    (:func:`image_contract.check_sample_ids`) before anything else reads them together."""
    image_contract.check_sample_ids(image_files)
    summary = sample_summary([json.loads(Path(p).read_text()) for p in paths], sample)
    safe_write.write_json(output, summary)
    return summary
