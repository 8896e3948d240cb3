"""Small files in the image, tracking and model contracts, made for the evaluation tests,
and a copy of the workflow whose upstream outputs are such files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import torch
import yaml

from minerva_vertex import geometry, model_kinds, models, training
from shared_files import FIXTURES
from workflow_run import copy_checkout

SHAPES = {"hits-x": 50, "hits-u": 25, "hits-v": 25}


def write_images(path, n_events: int, *, seed: int = 0, has_truth: bool = True, channels: int = 1, sample: str = "s", id_offset: int = 0) -> dict:
    """An image file with random images; every third event in the test split."""
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    z = rng.uniform(geometry.PLANES.z[0], geometry.PLANES.z[-1], n_events)
    x, y = rng.uniform(-600, 600, n_events), rng.uniform(-600, 600, n_events)
    arrays = {
        "eventids": (np.arange(n_events) + 1000 + id_offset).astype(np.uint64),
        "split": np.array([2, 0, 1] * n_events, dtype=np.uint8)[:n_events],
    }
    with h5py.File(path, "w") as h5:
        for name, width in SHAPES.items():
            h5[name] = rng.random((n_events, channels, 127, width), dtype=np.float32)
        for name, values in arrays.items():
            h5[name] = values
        if has_truth:
            h5["segments"] = geometry.segment_of_z(z).astype(np.uint8)
            h5["planecodes"] = geometry.planecode_of_z(z).astype(np.uint16)
            h5["zs"] = z.astype(np.float32)
            h5["gen_data/mc_vtx_x"] = x.astype(np.float32)
            h5["gen_data/mc_vtx_y"] = y.astype(np.float32)
            h5["gen_data/mc_vtx_z"] = z.astype(np.float32)
            h5["gen_data/mc_targetZ"] = np.full(n_events, 6, dtype=np.int32)
        h5.attrs.update(has_truth=has_truth, n_channels=channels, sample=sample, energy_scale_mev=3.4)
    return {**arrays, "segments": geometry.segment_of_z(z), "z": z}


def write_tracking(path, image_paths, *, seed: int = 0) -> None:
    """A track-vertex file for every event of the image files (random vertices, some missing)."""
    rng = np.random.default_rng(seed)
    ids = []
    for image in image_paths:
        with h5py.File(image, "r") as h5:
            ids.append(h5["eventids"][:])
    ids = np.concatenate(ids)
    z = rng.uniform(geometry.PLANES.z[0], geometry.PLANES.z[-1], len(ids))
    segment = geometry.segment_of_z(z)
    missing = rng.random(len(ids)) < 0.2
    segment[missing] = -1
    z[missing] = np.nan
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5["eventids"] = ids
        h5["vtx_z"] = z.astype(np.float32)
        h5["vtx_x"] = np.where(missing, np.nan, rng.uniform(-600, 600, len(ids))).astype(np.float32)
        h5["vtx_y"] = np.where(missing, np.nan, rng.uniform(-600, 600, len(ids))).astype(np.float32)
        h5["segment"] = segment.astype(np.int16)
        h5["n_tracks"] = np.where(missing, 0, 1).astype(np.int16)
        h5["quality"] = np.where(missing, 0, 1).astype(np.uint8)


def write_model(model_dir, kind: str = "cnn", *, seed: int = 0, train_sample: str = "s", labels: str = "segments") -> models.VertexCNN:
    """An untrained network saved as rule train saves it."""
    torch.manual_seed(seed)
    network = models.build_model(kind, labels=labels)
    entry = {"kind": kind, "train_sample": train_sample, "labels": labels, **({"target_sample": "t"} if model_kinds.takes_target(kind) else {})}
    settings = training.TrainSettings.from_dict(entry)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    training.save_weights(network, settings, model_dir / "weights.pt", best_epoch=0)
    training.write_settings_yaml(settings, model_dir.name, model_dir / "config.yaml")
    return network.eval()


WORKFLOW_SAMPLES = {"sim": "root6_vectors_sim", "data": "root6_vectors_data"}  # sample -> fixture file


def workflow_with_upstream(tmp_path: Path) -> Path:
    """A copy of the workflow whose upstream outputs (images, models, tracking) exist; its
    samples name the ROOT-6 fixtures."""
    work = copy_checkout(tmp_path / "wf", names=("Snakefile", "workflow", "scripts", "envs", "src"))
    results = work / "results"
    config = {
        "results": "results",
        "samples": {sample: {"files": [str(FIXTURES / f"{part}.root")]} for sample, part in WORKFLOW_SAMPLES.items()},
        "models": {
            "cnn": {"kind": "cnn", "train_sample": "sim"},
            "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data"},
        },
        "comparisons": {
            "bias": {"source": "sim", "target": "data"},
            "sets": {"lead": {"finders": ["cnn", "dann"], "selections": ["target4_Pb"]}},
        },
    }
    (work / "config").mkdir()
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for i, (sample, part) in enumerate(WORKFLOW_SAMPLES.items()):
        image = results / "images" / sample / f"{part}.h5"
        write_images(image, 12, seed=i, has_truth=sample == "sim", sample=sample, id_offset=100 * i)
        (results / "images" / sample / f"{part}.summary.json").write_text("{}")
        (results / "images" / sample / "summary.json").write_text("{}")
        write_tracking(results / "tracking" / sample / f"{part}.h5", [image])
        write_tracking(results / "tracking" / f"{sample}.h5", [image])
        (results / "tracking" / f"{sample}.summary.json").write_text("{}")
    for model in ("cnn", "dann"):
        write_model(results / "models" / model, model, train_sample="sim")
        for name in ("metrics.csv", "training_curve.png"):
            (results / "models" / model / name).write_text("")
    return work
