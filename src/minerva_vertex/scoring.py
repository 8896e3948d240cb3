"""Score an image file with a trained network: segment probabilities, prediction, features.

The test split (``split`` == 2, the image contract) of one image file is streamed through
the network in batches of ``batch_size`` events, so memory stays bounded whatever the
file's size; output datasets grow as batches arrive. The score file holds, for the N test
events in file order:

- ``eventids`` uint64 (N,), ``probabilities`` float32 (N, 11) (softmax of the logits),
  ``predicted`` uint8 (N,) (the most probable segment);
- ``features`` float16 (N, F): the concatenated tower outputs (the features the DANN's
  domain classifier sees), kept for the domain-separability measure of the bias metrics;
- with truth only: ``segments``, ``zs`` and ``gen_data/*`` copied from the image file;
- attributes ``model``, ``sample``, ``has_truth``, ``source_file``, ``n_features``.

The file is written under a temporary name and moved into place when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the filters the image files are written with)
import numpy as np
import torch
from tqdm import tqdm

from minerva_vertex import models

TEST_SPLIT = 2  # split code of the test events (image contract)
VIEW_DATASETS = ("hits-x", "hits-u", "hits-v")
TRUTH_DATASETS = ("segments", "zs")


def pick_device(device: str = "auto") -> torch.device:
    """'auto' = CUDA when PyTorch sees a GPU, else CPU; or a device name as torch takes it."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(model_dir, device: torch.device | str = "cpu") -> models.VertexCNN:
    """The trained network of a model directory (rule train's ``weights.pt``), in eval mode.

    ``weights.pt`` carries the kind, channels and dropout beside the state dict and is read
    with ``weights_only=True`` (:func:`minerva_vertex.training.load_model`).
    """
    from minerva_vertex import training

    weights_path = Path(model_dir) / "weights.pt"
    try:
        return training.load_model(weights_path, device)
    except (KeyError, RuntimeError) as error:
        raise ValueError(f"{weights_path}: not a weights file of rule train ({error})") from None


def _test_blocks(split: np.ndarray, block: int):
    """(start, stop, test indices within the block) over the file in order."""
    for start in range(0, len(split), block):
        stop = min(start + block, len(split))
        keep = np.flatnonzero(split[start:stop] == TEST_SPLIT)
        if len(keep):
            yield start, stop, keep


def _append(dataset: h5py.Dataset, values: np.ndarray) -> None:
    n = dataset.shape[0]
    dataset.resize(n + len(values), axis=0)
    dataset[n:] = values


def score_file(model: models.VertexCNN, image_path, output_path, *, batch_size: int = 512, model_name: str = "", progress: bool = False) -> int:
    """Score the test split of ``image_path`` into ``output_path``; returns the events scored."""
    image_path, output_path = Path(image_path), Path(output_path)
    device = next(model.parameters()).device
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")
    n_scored = 0
    try:
        with h5py.File(image_path, "r") as images, h5py.File(tmp, "w") as out:
            for name in VIEW_DATASETS + ("eventids", "split"):
                if name not in images:
                    raise ValueError(f"{image_path}: no dataset '{name}' (expected the image file contract)")
            channels = images["hits-x"].shape[1]
            if channels != model.channels:
                raise ValueError(f"{image_path}: images have {channels} channel(s), model '{model_name}' expects {model.channels}")
            has_truth = bool(images.attrs.get("has_truth", "segments" in images))
            truth_names = [n for n in TRUTH_DATASETS if n in images] + [f"gen_data/{n}" for n in images.get("gen_data", {})]
            n_features = model.extractor.n_features
            columns = {
                "eventids": ((), np.uint64),
                "probabilities": ((models.N_SEGMENTS,), np.float32),
                "predicted": ((), np.uint8),
                "features": ((n_features,), np.float16),
            }
            if has_truth:
                columns.update({n: ((), images[n].dtype) for n in truth_names})
            for name, (shape, dtype) in columns.items():
                out.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(max(1, min(batch_size, 4096)), *shape))
            split = images["split"][:]
            bar = tqdm(total=int((split == TEST_SPLIT).sum()), disable=not progress, desc=f"score {image_path.name}", unit="ev")
            for start, stop, keep in _test_blocks(split, batch_size):
                views = [torch.from_numpy(images[name][start:stop][keep]).to(device) for name in VIEW_DATASETS]
                with torch.no_grad():
                    features = model.features(*views)
                    probabilities = torch.softmax(model.classify(features), dim=1)
                probabilities = probabilities.float().cpu().numpy()
                _append(out["eventids"], images["eventids"][start:stop][keep])
                _append(out["probabilities"], probabilities)
                _append(out["predicted"], probabilities.argmax(axis=1).astype(np.uint8))
                _append(out["features"], features.float().cpu().numpy().astype(np.float16))
                if has_truth:
                    for name in truth_names:
                        _append(out[name], images[name][start:stop][keep])
                n_scored += len(keep)
                bar.update(len(keep))
            bar.close()
            out.attrs.update(
                model=model_name,
                model_kind=model.kind,
                sample=str(images.attrs.get("sample", "")),
                has_truth=has_truth,
                source_file=image_path.name,
                n_features=n_features,
                split=TEST_SPLIT,
            )
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    return n_scored


def read_scores(paths, *, features: bool = False) -> dict[str, np.ndarray]:
    """Concatenate score files (parts of a sample); truth keys only when every part has them."""
    pieces: dict[str, list] = {}
    has_truth = True
    for path in paths:
        with h5py.File(path, "r") as h5:
            has_truth &= bool(h5.attrs.get("has_truth", False))
            names = ["eventids", "probabilities", "predicted"] + (["features"] if features else [])
            names += [n for n in TRUTH_DATASETS if n in h5] + [f"gen_data/{n}" for n in h5.get("gen_data", {})]
            for name in names:
                pieces.setdefault(name, []).append(h5[name][:])
    result = {name: np.concatenate(parts) for name, parts in pieces.items() if len(parts) == len(paths)}
    result["has_truth"] = has_truth and "segments" in result
    return result
