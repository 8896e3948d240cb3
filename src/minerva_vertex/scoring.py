"""Score an image file with a trained network: segment probabilities, prediction, features.

The test split (``split`` == 2, the image contract) of one image file is streamed through
the network in batches of ``batch_size`` test events, each read as one contiguous range of
rows, so memory stays bounded whatever the file's size; output datasets grow as batches
arrive. The score file's layout, and its reader, are in :mod:`minerva_vertex.score_files`.

The file is written under a temporary name and moved into place when complete. Freed
buffers stay in the process for the next batch (:mod:`minerva_vertex.allocator`).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the filters the image files are written with)
import numpy as np
import torch
from tqdm import tqdm

from minerva_vertex import allocator, image_contract, models, safe_write, score_files
from minerva_vertex.devices import Compute, resolve_precision
from minerva_vertex.image_contract import TEST_SPLIT, VIEW_DATASETS


def _append(dataset: h5py.Dataset, values: np.ndarray) -> None:
    n = dataset.shape[0]
    dataset.resize(n + len(values), axis=0)
    dataset[n:] = values


def score_file(model: models.VertexCNN, image_path, output_path, *, batch_size: int, model_name: str = "", progress: bool = False,
               precision: str = "fp32") -> int:
    """Score the test split of ``image_path`` into ``output_path``; returns the events scored.
    ``precision``: fp32, bf16 (autocast) or auto (bf16 where the device has it natively, as
    in training). On a CPU the network runs channels-last, about twice as fast."""
    image_path = Path(image_path)
    allocator.keep_freed_memory()  # each batch reuses the last one's freed buffers
    with h5py.File(image_path, "r") as images, safe_write.atomic_output(output_path) as tmp:
        image_contract.check_file(images, image_path)
        channels = image_contract.channels_of(images)
        if channels != model.channels:
            raise ValueError(f"{image_path}: images have {channels} channel(s), model '{model_name}' expects {model.channels}")
        with h5py.File(tmp, "w") as out:
            n_scored = _score_into(model, images, out, image_path, batch_size, progress, precision)
            out.attrs.update(
                model=model_name,
                model_kind=model.kind,
                labels=model.labels,
                sample=str(images.attrs.get("sample", "")),
                source_file=image_path.name,
                n_features=model.extractor.n_features,
                split=TEST_SPLIT,
            )
    return n_scored


def scoring_compute(model: models.VertexCNN, precision: str) -> tuple[models.VertexCNN, Compute]:
    """The model laid out as scoring runs it (channels-last on a CPU, which changes the
    module in place) and how it computes: on the model's device, ``precision`` resolved
    (bf16 where native for ``auto``)."""
    device = next(model.parameters()).device
    compute = Compute(device, channels_last=device.type == "cpu", precision=resolve_precision(precision, device))
    return compute.layout(model), compute


def forward(model: models.VertexCNN, views, compute: Compute) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and float32 logits of a batch of views, as rule score computes them."""
    views = compute.inputs(views)
    with torch.no_grad(), compute.autocast():
        features = model.features(*views)
        return features, model.classify(features).float()


def _score_into(model, images: h5py.File, out: h5py.File, image_path: Path, batch_size: int, progress: bool, precision: str) -> int:
    model, compute = scoring_compute(model, precision)
    columns = score_files.columns(model.extractor.n_features, planecodes=model.labels == "planecodes")
    for name, (shape, dtype) in columns.items():
        out.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(max(1, min(batch_size, 4096)), *shape))
    split = images["split"][:]
    n_scored = 0
    with tqdm(total=int((split == TEST_SPLIT).sum()), disable=not progress, desc=f"score {image_path.name}", unit="ev") as bar:
        for start, stop, keep in image_contract.blocks_of_test_rows(split, batch_size):
            views = [torch.from_numpy(images[name][start:stop][keep]) for name in VIEW_DATASETS]
            features, logits = forward(model, views, compute)
            probabilities = model.segment_probabilities(logits).cpu().numpy()
            _append(out["eventids"], images["eventids"][start:stop][keep])
            _append(out["probabilities"], probabilities)
            _append(out["predicted"], probabilities.argmax(axis=1).astype(np.uint8))
            _append(out["features"], features.float().cpu().numpy().astype(np.float16))
            if "predicted_planecode" in out:
                _append(out["predicted_planecode"], logits.argmax(1).cpu().numpy().astype(np.uint16))
            n_scored += len(keep)
            bar.update(len(keep))
    return n_scored
