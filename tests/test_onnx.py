"""ONNX export: onnxruntime reproduces PyTorch, the file carries its metadata, and a failed
export or check leaves nothing behind."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from minerva_vertex import geometry, models, onnx_export
from evaluation_data import write_images, write_model


def fresh_model(kind: str, channels: int = 1, seed: int = 0, **kwargs) -> models.VertexCNN:
    torch.manual_seed(seed)
    return models.build_model(kind, channels, **kwargs).eval()


def run_onnx(path, views) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: view.numpy() for name, view in zip("xuv", views)})[0]


@pytest.fixture(scope="module", params=["cnn", "dann"])
def exported(request, tmp_path_factory):
    model = fresh_model(request.param)
    path = tmp_path_factory.mktemp(request.param) / "model.onnx"
    difference = onnx_export.export_onnx(model, path, inputs=onnx_export.example_events(1, 8))
    return model, path, difference


def test_onnxruntime_matches_pytorch_for_any_batch_size(exported):
    model, path, difference = exported
    assert 0 <= difference <= 1e-4
    for batch in (1, 33):  # neither is the traced batch: the batch axis is dynamic
        views = onnx_export.example_events(1, batch, seed=batch)
        with torch.no_grad():
            expected = model(*views).numpy()
        got = run_onnx(path, views)
        assert got.shape == (batch, models.N_SEGMENTS)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
        assert np.abs(expected).max() > 1e-3  # a real comparison, not of zeros


def test_inputs_and_output_follow_the_contract(exported):
    model, path, _ = exported
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert inputs == {"x": ["batch", 1, 127, 50], "u": ["batch", 1, 127, 25], "v": ["batch", 1, 127, 25]}
    # A DANN exports its segment path only: no domain output.
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("segment_logits", ["batch", models.N_SEGMENTS])]


def test_metadata_describes_the_network(exported):
    model, path, _ = exported
    metadata = onnx_export.read_metadata(path)
    assert metadata["kind"] == model.kind
    assert (metadata["channels"], metadata["n_classes"], metadata["labels"]) == ("1", "11", "segments")
    assert json.loads(metadata["class_names"]) == list(geometry.SEGMENT_NAMES)
    assert json.loads(metadata["input_shapes"])["x"] == ["batch", 1, 127, 50]
    assert metadata["output"] == "segment_logits"


def test_two_channel_model(tmp_path):
    model = fresh_model("dann", channels=2, seed=3)
    model.train()  # dropout on: the export must still be of the eval network
    path = tmp_path / "two.onnx"
    assert onnx_export.export_onnx(model, path, inputs=onnx_export.example_events(2, 8)) <= 1e-4
    assert model.training  # left as it came
    views = onnx_export.example_events(2, 5, seed=9)
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(run_onnx(path, views), model(*views).numpy(), atol=1e-4, rtol=0)
    assert onnx_export.read_metadata(path)["channels"] == "2"


def test_plane_code_network_records_the_segment_of_each_class(tmp_path):
    model = fresh_model("cnn", labels="planecodes")
    path = tmp_path / "planecodes.onnx"
    onnx_export.export_onnx(model, path, inputs=onnx_export.example_events(1, 4))
    metadata = onnx_export.read_metadata(path)
    assert metadata["labels"] == "planecodes" and metadata["n_classes"] == str(geometry.N_PLANECODES)
    assert json.loads(metadata["segment_of_class"]) == geometry.SEGMENT_OF_PLANECODE.tolist()
    assert "class_names" not in metadata


def test_a_model_that_differs_is_reported_with_the_file(exported):
    model, path, _ = exported
    other = fresh_model(model.kind, seed=1)
    with pytest.raises(onnx_export.OnnxCheckError, match=rf"{path.name}: onnxruntime and PyTorch differ by up to"):
        onnx_export.check_onnx(other, path, onnx_export.example_events(1, 4))


def test_a_failed_check_leaves_no_file(tmp_path):
    path = tmp_path / "model.onnx"
    with pytest.raises(onnx_export.OnnxCheckError, match=r"model.onnx: onnxruntime and PyTorch differ by up to .*\(allowed -1\)"):
        onnx_export.export_onnx(fresh_model("cnn"), path, inputs=onnx_export.example_events(1, 2), atol=-1)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_export_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous file")
    intact = onnx_export._onnx_bytes
    monkeypatch.setattr(onnx_export, "_onnx_bytes", lambda model, opset: intact(model, opset)[:1000])
    with pytest.raises(onnx_export.OnnxExportError, match="model.onnx: ONNX export failed"):
        onnx_export.export_onnx(fresh_model("cnn"), path)
    assert path.read_bytes() == b"the previous file"  # untouched, and no temporary beside it
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.parametrize("kind", ["cnn", "mcc", "finetune"])
def test_export_of_a_weights_file_checks_its_validation_events(tmp_path, kind):
    write_model(tmp_path / kind, kind)
    images = [tmp_path / "images" / f"part{i}.h5" for i in range(2)]
    for i, image in enumerate(images):
        write_images(image, 9, seed=i)  # 3 validation events each
    out = tmp_path / kind / "model.onnx"
    done = onnx_export.export_weights(tmp_path / kind / "weights.pt", out, image_files=images, check_events=5)
    assert done["source"] == "validation events" and done["events"] == 5
    assert done["max_abs_difference"] <= 1e-4 and onnx_export.read_metadata(out)["kind"] == kind


def test_the_input_transform_is_inside_the_exported_graph(tmp_path):
    model = fresh_model("cnn", input_transform="log1p")
    path = tmp_path / "model.onnx"
    assert onnx_export.export_onnx(model, path, inputs=onnx_export.example_events(1, 8)) <= 1e-4
    views = onnx_export.example_events(1, 16, seed=3)
    with torch.no_grad():
        expected = model(*views).numpy()
    np.testing.assert_allclose(run_onnx(path, views), expected, atol=1e-4, rtol=0)
    assert onnx_export.read_metadata(path)["input_transform"] == "log1p"
