"""ONNX export of a trained network, checked against PyTorch before the file appears.

The ONNX file is what a C++ reconstruction runs. Its contract:

- inputs ``x`` (batch, channels, 127, 50), ``u`` and ``v`` (batch, channels, 127, 25),
  float32, the views of the image contract; the batch axis is dynamic;
- output ``segment_logits`` (batch, n_classes), float32: the label predictor's logits
  (softmax gives the probabilities). For a DANN only the segment path (``forward``) is
  exported: the domain classifier is a training device and scoring never uses it;
- metadata_props: ``kind``, ``channels``, ``n_classes``, ``input_transform`` (applied
  inside the graph), ``labels`` (what the classes
  are), ``class_names`` (JSON, segment networks) or ``segment_of_class`` (JSON, plane-code
  networks: the segment of each class, for summing probabilities per segment), and the
  input and output names.

Every export is run with onnxruntime on a batch of events and compared with PyTorch; the
file is written under a temporary name and moved into place only when that check passes,
so a failed export or check leaves neither the file nor a temporary behind.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from minerva_vertex import geometry, models, safe_write

INPUT_NAMES = models.VIEWS  # ("x", "u", "v")
OUTPUT_NAME = "segment_logits"
BATCH_AXIS = "batch"
# Opset 17 covers every operator of the network (Conv, Relu, MaxPool, Flatten, Gemm,
# Concat) and is read by every onnxruntime release of recent years, C++ builds included.
DEFAULT_OPSET = 17
DEFAULT_ATOL = 1e-4
CHECK_EVENTS = 64  # events of the batch an export is checked on
TRACE_BATCH = 2  # the example batch traced; any size > 1 keeps the batch axis general


class OnnxExportError(RuntimeError):
    """An export that produced no valid ONNX model, naming the destination and the cause."""


class OnnxCheckError(ValueError):
    """An ONNX file whose outputs differ from PyTorch's, naming the file and the difference."""


def example_events(channels: int, n_events: int = CHECK_EVENTS, *, seed: int = 0, occupancy: float = 0.05) -> tuple[torch.Tensor, ...]:
    """Random non-negative sparse images shaped like the image contract (x, u, v): a few
    per cent of the pixels hold energy, like real events, for checks with no images at hand."""
    generator = torch.Generator().manual_seed(seed)
    views = []
    for view in models.VIEWS:
        shape = (n_events, channels, models.N_STRIPS, models.VIEW_WIDTHS[view])
        hit = torch.rand(shape, generator=generator) < occupancy
        views.append(torch.rand(shape, generator=generator) * 3.0 * hit)
    return tuple(views)


def model_metadata(model: models.VertexCNN) -> dict[str, str]:
    """What a reader of the ONNX file needs to know about the network, as strings."""
    n_classes = models.N_CLASSES[model.labels]
    metadata = {
        "kind": model.kind,
        "channels": str(model.channels),
        "n_classes": str(n_classes),
        "inputs": ",".join(INPUT_NAMES),
        "input_shapes": json.dumps(
            {view: [BATCH_AXIS, model.channels, models.N_STRIPS, models.VIEW_WIDTHS[view]] for view in INPUT_NAMES}
        ),
        "output": OUTPUT_NAME,
        "output_meaning": "logits; softmax over axis 1 gives the class probabilities",
        # Applied inside the graph: the inputs are the image files' pixels as they are.
        "input_transform": model.extractor.input_transform,
        "producer": f"minerva_vertex (torch {torch.__version__})",
    }
    metadata["labels"] = model.labels
    if model.labels == "segments":
        metadata["class_names"] = json.dumps(list(geometry.SEGMENT_NAMES))
    else:  # plane codes: the segment of each class, to sum probabilities per segment
        metadata["segment_of_class"] = json.dumps(model.segment_of_class.tolist())
    return metadata


def _onnx_bytes(model: models.VertexCNN, opset: int) -> bytes:
    """The model's segment path as an ONNX model, in memory.

    The TorchScript-based exporter (``dynamo=False``) is used: this network is a fixed
    feed-forward graph without control flow, which tracing captures exactly, and that
    exporter needs only torch and onnx, while the torch.export-based one also needs
    onnxscript and onnx-ir and takes several times longer. Every export is checked against
    PyTorch, so a change of exporter behaviour cannot pass unnoticed.
    """
    device = next(model.parameters()).device
    args = tuple(view.to(device) for view in models.example_inputs(model.channels, TRACE_BATCH))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The exporter warns that it is the legacy one; the choice is deliberate (above).
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message="The feature will be removed")
        torch.onnx.export(
            model,
            args,
            buffer,
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: {0: BATCH_AXIS} for name in (*INPUT_NAMES, OUTPUT_NAME)},
            opset_version=opset,
        )
    return buffer.getvalue()


def export_onnx(
    model: models.VertexCNN,
    path: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    inputs: Sequence | None = None,
    atol: float = DEFAULT_ATOL,
) -> float:
    """Write ``model``'s segment path to ``path`` as ONNX, with its metadata; returns the
    largest difference from PyTorch on ``inputs`` (x, u, v; default: random sparse events).

    The model is exported in eval mode (dropout off) and left in the mode it came in. The
    file appears only once it loads, passes ONNX's checker and matches PyTorch to ``atol``;
    otherwise the error names ``path`` and nothing is left there.
    """
    import onnx

    path = Path(path)
    was_training = model.training
    model.eval()
    try:
        with safe_write.atomic_output(path) as tmp:
            try:
                proto = onnx.load_from_string(_onnx_bytes(model, opset))
                onnx.helper.set_model_props(proto, model_metadata(model))
                onnx.checker.check_model(proto)
            except Exception as error:  # the exporter's and protobuf's errors name no file
                raise OnnxExportError(f"{path}: ONNX export failed: {type(error).__name__}: {error}") from error
            onnx.save(proto, tmp)
            return check_onnx(model, tmp, inputs, atol=atol, name=path)
    finally:
        model.train(was_training)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata_props of an ONNX file, as a dict."""
    import onnx

    return {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}


def _as_numpy(view) -> np.ndarray:
    if isinstance(view, torch.Tensor):
        view = view.detach().cpu().numpy()
    return np.ascontiguousarray(view, dtype=np.float32)


def check_onnx(
    model: models.VertexCNN,
    path: str | Path,
    inputs: Sequence | None = None,
    *,
    atol: float = DEFAULT_ATOL,
    threads: int | None = None,
    name: str | Path | None = None,
) -> float:
    """Largest absolute difference between ``path`` run by onnxruntime (CPU) and ``model``
    in eval mode on ``inputs`` (x, u, v tensors or arrays; default: random sparse events
    of the model's channels). Raises :class:`OnnxCheckError` naming the file (``name``
    when the file is still a temporary one) above ``atol`` or when the outputs disagree in
    shape."""
    import onnxruntime

    name = path if name is None else name
    views = example_events(model.channels) if inputs is None else tuple(inputs)
    if len(views) != len(INPUT_NAMES):
        raise ValueError(f"{name}: check inputs must be the {len(INPUT_NAMES)} views {', '.join(INPUT_NAMES)}, got {len(views)}")
    arrays = [_as_numpy(view) for view in views]
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT_NAME], dict(zip(INPUT_NAMES, arrays)))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = model(*(torch.from_numpy(a).to(device) for a in arrays)).float().cpu().numpy()
    finally:
        model.train(was_training)
    if got.shape != expected.shape:
        raise OnnxCheckError(f"{name}: onnxruntime gives {OUTPUT_NAME} of shape {got.shape}, PyTorch {expected.shape}")
    difference = float(np.max(np.abs(got.astype(np.float64) - expected))) if got.size else 0.0
    if not difference <= atol:  # also catches NaN
        raise OnnxCheckError(
            f"{name}: onnxruntime and PyTorch differ by up to {difference:.3g} on {len(arrays[0])} events "
            f"(allowed {atol:g})"
        )
    return difference


def validation_events(image_files: Sequence[str | Path], channels: int, n_events: int) -> tuple[torch.Tensor, ...]:
    """The first ``n_events`` validation events of image files (spread over the files in
    proportion to their share), as (x, u, v); raises naming the files when there are none."""
    from minerva_vertex import datasets
    from minerva_vertex.image_contract import bytes_per_event

    # A check batch is small (about 50 kB an event): always read in one go.
    reading = datasets.ReadOptions(
        batch_size=n_events, memory_limit_mb=1 + n_events * bytes_per_event(channels) / 2**20, chunk_events=n_events
    )
    batches = datasets.load_batches(list(image_files), "validation", reading, channels=channels, labels=False, max_events=n_events)
    return next(iter(batches.epoch(shuffle=False))).views()


def export_weights(
    weights: str | Path,
    path: str | Path,
    *,
    image_files: Sequence[str | Path] = (),
    check_events: int = CHECK_EVENTS,
    opset: int = DEFAULT_OPSET,
    atol: float = DEFAULT_ATOL,
) -> Mapping[str, object]:
    """What rule ``export_onnx`` does: the network of a weights file of rule train to
    ``path``, checked on the first validation events of ``image_files`` (random sparse
    events without them). Returns what was done, for the log."""
    from minerva_vertex import training

    model = training.load_model(weights)
    if isinstance(image_files, (str, Path)):  # one image file named alone
        image_files = [image_files]
    if image_files:
        inputs, source = validation_events(image_files, model.channels, check_events), "validation events"
    else:
        inputs, source = example_events(model.channels, check_events), "random sparse events"
    difference = export_onnx(model, path, opset=opset, inputs=inputs, atol=atol)
    return {"kind": model.kind, "events": len(inputs[0]), "source": source, "max_abs_difference": difference, "opset": opset}
