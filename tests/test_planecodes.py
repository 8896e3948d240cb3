"""Plane-code labels: the map to segments, the per-segment probabilities, and a plane-code
network through training, scoring and metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from minerva_vertex import evaluation, geometry, models, score_files, scoring, training
from minerva_vertex.geometry import SEGMENT_OF_PLANECODE

from evaluation_data import write_images, write_model, write_tracking


def test_plane_codes_map_to_the_segment_of_the_vertex():
    z = np.random.default_rng(3).uniform(geometry.PLANES.z[0] - 100, geometry.PLANES.z[-1] + 100, 200_000)
    mapped, true = SEGMENT_OF_PLANECODE[geometry.planecode_of_z(z)], geometry.segment_of_z(z)
    assert (mapped == true).mean() > 0.985  # uniform in z; 99.3 % of simulated (mass-weighted) vertices
    # Disagreements only where the segment changes between the vertex and its nearest layer.
    layer_z = np.sort(np.concatenate([geometry.PLANES.z, list(geometry.TARGET_CENTRES_MM.values()), [np.mean(geometry.WATER_Z_RANGE_MM)]]))
    nearest = layer_z[geometry.planecode_of_z(z)]
    wrong = mapped != true
    between = np.array([np.unique(geometry.segment_of_z(np.linspace(a, b, 50))).size > 1 for a, b in zip(z[wrong], nearest[wrong])])
    assert between.all()
    # Every passive target's own code belongs to the target's segment; every segment has a code.
    for target, centre in geometry.TARGET_CENTRES_MM.items():
        assert SEGMENT_OF_PLANECODE[geometry.planecode_of_z(centre)] == geometry.TARGET_SEGMENTS[target]
    assert set(SEGMENT_OF_PLANECODE) == set(range(geometry.N_SEGMENTS))


def test_segment_probabilities_sum_the_plane_codes_of_each_segment():
    model = models.build_model("cnn", labels="planecodes")
    assert model.classify(torch.zeros(2, model.extractor.n_features)).shape == (2, geometry.N_PLANECODES)
    logits = torch.full((2, geometry.N_PLANECODES), -30.0)
    target3 = int(geometry.planecode_of_z(geometry.TARGET_CENTRES_MM[3]))
    logits[0, target3] = 10.0
    codes_of_8 = np.flatnonzero(SEGMENT_OF_PLANECODE == 8)
    logits[1, codes_of_8] = 5.0  # spread over segment 8's many planes
    probabilities = model.segment_probabilities(logits)
    assert probabilities.shape == (2, geometry.N_SEGMENTS)
    assert torch.allclose(probabilities.sum(1), torch.ones(2))
    assert probabilities[0].argmax() == 3 and probabilities[0, 3] > 0.999
    assert probabilities[1].argmax() == 8 and probabilities[1, 8] > 0.999
    segments = models.build_model("cnn")
    plain = torch.randn(4, geometry.N_SEGMENTS)
    assert torch.allclose(segments.segment_probabilities(plain), torch.softmax(plain, 1))
    with pytest.raises(ValueError, match="unknown labels"):
        models.build_model("cnn", labels="modules")


def test_a_plane_code_network_trains_scores_and_selects_targets_by_code(tmp_path):
    images = tmp_path / "s.h5"
    truth = write_images(images, 90, seed=4)
    settings = training.TrainSettings.from_dict(
        {"kind": "cnn", "train_sample": "s", "labels": "planecodes", "epochs": 1, "batch_size": 8, "max_val_events": 30}
    )
    options = training.RunOptions.from_section({"device": "cpu", "progress": False})
    result = training.train(settings, [images], checkpoint_dir=tmp_path / "ckpt", options=options)
    assert result.model.labels == "planecodes"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    training.save_weights(result.model, settings, model_dir / "weights.pt", result.best_epoch)
    loaded = training.load_model(model_dir / "weights.pt")
    assert loaded.labels == "planecodes" and loaded.predictor.net[-1].out_features == geometry.N_PLANECODES

    scores_path = tmp_path / "scores.h5"
    scoring.score_file(loaded, images, scores_path, batch_size=16, model_name="pc")
    scores = score_files.read_scores([scores_path], planecodes=True)
    assert score_files.has_planecodes([scores_path])
    # The predicted segment is the most probable after summing codes (not always the most
    # probable code's segment).
    assert np.array_equal(scores["predicted"], scores["probabilities"].argmax(1))
    assert scores["predicted_planecode"].max() < geometry.N_PLANECODES
    assert np.allclose(scores["probabilities"].sum(1), 1.0, atol=1e-5)

    tracking_path = tmp_path / "tracking.h5"
    write_tracking(tracking_path, [images])
    result = evaluation.model_evaluation([scores_path], [images], tracking_path, None, "pc", "cnn", "s")
    assert "targets_by_planecode" in result
    json.dumps(result)
    # Selecting target 3 by code picks exactly the events whose predicted code is target 3's.
    code3 = int(geometry.planecode_of_z(geometry.TARGET_CENTRES_MM[3]))
    purity = result["targets_by_planecode"]["selections"]["target3"]["purity"]
    assert purity["n"] == int((scores["predicted_planecode"] == code3).sum())
    assert (truth["split"] == 2).sum() == len(scores["predicted"])
    # By segment, the same network selects every event it puts in segment 3.
    assert result["targets"]["selections"]["target3"]["purity"]["n"] == int((scores["predicted"] == 3).sum())


def test_segment_networks_keep_their_score_files_unchanged(tmp_path):
    images = tmp_path / "s.h5"
    write_images(images, 30, seed=5)
    network = write_model(tmp_path / "model", "cnn")
    scoring.score_file(network, images, tmp_path / "scores.h5", batch_size=8)
    assert not score_files.has_planecodes([tmp_path / "scores.h5"])
