"""Small HDF5 image files in the image contract's layout, with a learnable signal.

Until the image stage's own files are at hand, the model and training tests write these:
each event deposits energy along a track that starts at the plane column of its labelled
segment, so a network can learn the segment. A ``shift`` changes the energy scale and the
noise, making a second domain that a domain classifier can tell apart.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

WIDTHS = {"x": 50, "u": 25, "v": 25}


def segment_column(segment: np.ndarray) -> np.ndarray:
    """X-view column where a segment's events start (segments spread over the 50 columns)."""
    return 2 + 4 * segment


def write_image_file(
    path: str | Path,
    n_events: int,
    *,
    seed: int,
    channels: int = 1,
    shift: float = 0.0,
    has_truth: bool = True,
    sample: str = "test",
) -> Path:
    """Write one image file of ``n_events``; labels cycle through the 11 segments."""
    rng = np.random.default_rng(seed)
    segments = rng.integers(0, 11, n_events).astype(np.uint8)
    images = {}
    for view, width in WIDTHS.items():
        img = rng.exponential(0.02 * (1 + shift), (n_events, channels, 127, width)).astype(np.float32)
        scale = 1 if view == "x" else 2  # U and V have one plane for two X planes
        start = segment_column(segments.astype(int)) // scale
        strip = rng.integers(40, 87, n_events)
        for i in range(n_events):
            cols = np.arange(start[i], width)
            img[i, 0, strip[i], cols] += (1.0 + shift) * rng.uniform(0.5, 1.5, len(cols))
            img[i, 0, strip[i] - 3 : strip[i] + 4, start[i]] += 2.0 * (1 + shift)  # vertex blob
            if channels == 2:
                img[i, 1, strip[i], cols] = np.linspace(0, 1, len(cols))
        images[view] = img
    eventids = (np.uint64(seed) << np.uint64(32)) + np.arange(n_events, dtype=np.uint64)
    split = np.tile(np.array([0, 0, 0, 1, 2], dtype=np.uint8), n_events // 5 + 1)[:n_events]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        for view, img in images.items():
            h5.create_dataset(f"hits-{view}", data=img)
        h5["eventids"] = eventids
        h5["split"] = split
        if has_truth:
            h5["segments"] = segments
            h5["planecodes"] = segments.astype(np.uint16)
            h5["zs"] = (4400.0 + 150.0 * segments).astype(np.float32)
        h5.attrs.update(
            has_truth=has_truth,
            n_channels=channels,
            energy_normalisation="test",
            energy_scale_mev=1.0,
            geometry_version="toy-minerva-1",
            source_file="none",
            sample=sample,
        )
    return path


def write_sample(directory: str | Path, n_files: int, events_per_file: int, *, seed: int, **kwargs) -> list[str]:
    """A sample of ``n_files`` image files; returns their paths."""
    directory = Path(directory)
    return [
        str(write_image_file(directory / f"part{i:03d}.h5", events_per_file, seed=seed * 100 + i, **kwargs))
        for i in range(n_files)
    ]


def write_source_and_target(root: str | Path) -> tuple[list[str], list[str]]:
    """The tiny trainings' two samples: a labelled source and a shifted target, 2 x 15 events each."""
    root = Path(root)
    source = write_sample(root / "source", 2, 15, seed=1)
    target = write_sample(root / "target", 2, 15, seed=2, shift=0.6)
    return source, target
