"""Scoring image files with a network, and the metric files built from the scores."""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from minerva_vertex import evaluation, image_contract, models, score_files, scoring, training
from evaluation_data import write_images, write_model, write_tracking

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models") / "cnn"
    write_model(model_dir, "cnn")
    return model_dir / "weights.pt"


def test_scores_match_the_network_in_small_batches(tmp_path, cnn):
    images = tmp_path / "images" / "part000.h5"
    arrays = write_images(images, 23)
    model = training.load_model(cnn)
    out = tmp_path / "scores" / "part000.h5"
    n = scoring.score_file(model, images, out, batch_size=4, model_name="cnn")
    test = arrays["split"] == 2
    assert n == test.sum() == 8
    with h5py.File(images, "r") as h5:
        views = [torch.from_numpy(h5[name][:][test]) for name in scoring.VIEW_DATASETS]
    with torch.no_grad():
        expected = torch.softmax(model(*views), dim=1).numpy()
    with h5py.File(out, "r") as h5:
        np.testing.assert_array_equal(h5["eventids"][:], arrays["eventids"][test])
        np.testing.assert_allclose(h5["probabilities"][:], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(h5["predicted"][:], expected.argmax(axis=1))
        assert h5["features"].shape == (8, 588) and h5["features"].dtype == np.float16
        assert "segments" not in h5  # truth stays in the image file, joined by event id
    assert not list(out.parent.glob(".*tmp"))


@pytest.mark.parametrize("kind", ["mcc", "finetune"])
def test_an_mcc_or_finetune_network_is_scored_as_the_cnn_network_it_is(tmp_path, kind):
    write_model(tmp_path / kind, kind)
    model = training.load_model(tmp_path / kind / "weights.pt")
    assert model.kind == kind and isinstance(model, models.VertexCNN) and not isinstance(model, models.VertexDANN)
    images = tmp_path / "images.h5"
    arrays = write_images(images, 10)
    out = tmp_path / "scores.h5"
    test = arrays["split"] == 2
    assert scoring.score_file(model, images, out, batch_size=3, model_name=kind) == test.sum() > 3  # two batches
    with h5py.File(images, "r") as h5:
        views = [torch.from_numpy(h5[name][:][test]) for name in scoring.VIEW_DATASETS]
    with torch.no_grad():
        expected = torch.softmax(model(*views), dim=1).numpy()
    with h5py.File(out, "r") as h5:
        assert h5.attrs["model_kind"] == kind
        np.testing.assert_allclose(h5["probabilities"][:], expected, rtol=1e-5, atol=1e-6)


def test_sample_without_truth_is_scored(tmp_path, cnn):
    images = tmp_path / "data.h5"
    write_images(images, 9, has_truth=False)
    out = tmp_path / "scores.h5"
    scoring.score_file(training.load_model(cnn), images, out, batch_size=5)
    scores = score_files.read_scores([out])
    assert len(scores["predicted"]) == 3 and set(scores) == {"eventids", "probabilities", "predicted"}


def test_score_files_are_read_without_torch_and_a_wrong_file_is_named(tmp_path, cnn):
    images = tmp_path / "data.h5"
    write_images(images, 9, has_truth=False)
    scoring.score_file(training.load_model(cnn), images, tmp_path / "scores.h5", batch_size=5)
    # The metrics and the variations read score files with h5py and numpy alone.
    reader = (
        "import sys; from minerva_vertex import evaluation, score_files, systematics; "
        f"scores = score_files.read_scores([{str(tmp_path / 'scores.h5')!r}], features=True); "
        "assert scores['features'].shape == (3, 588), scores['features'].shape; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", reader], check=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    with pytest.raises(score_files.ScoreFileError, match=r"data.h5: no dataset 'probabilities' \(expected a score file"):
        score_files.read_scores([images])


def test_channel_mismatch_names_the_file_and_leaves_nothing(tmp_path, cnn):
    images = tmp_path / "two.h5"
    write_images(images, 6, channels=2)
    out = tmp_path / "scores.h5"
    with pytest.raises(ValueError, match="two.h5: images have 2 channel"):
        scoring.score_file(training.load_model(cnn), images, out, batch_size=4)
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))


def test_metric_files_with_and_without_truth(tmp_path, cnn):
    model = training.load_model(cnn)
    files = {}
    for sample, truth, offset in (("sim", True, 0), ("data", False, 500)):
        images = [tmp_path / "images" / sample / f"part{i}.h5" for i in range(2)]
        for i, path in enumerate(images):
            write_images(path, 30, seed=i, has_truth=truth, id_offset=offset + 100 * i)
        tracking = tmp_path / "tracking" / f"{sample}.h5"
        write_tracking(tracking, images)
        scores = [tmp_path / "scores" / "cnn" / sample / f"part{i}.h5" for i in range(2)]
        for image, score in zip(images, scores):
            scoring.score_file(model, image, score, batch_size=7)
        track = evaluation.tracking_evaluation(tracking, images, sample)
        net = evaluation.model_evaluation(scores, images, tracking, track, "cnn", "cnn", sample)
        files[("tracking", sample)], files[("cnn", sample)] = track, net
        assert net["n_events"] == track["n_events"] == 20
    assert files[("cnn", "sim")]["segments"]["accuracy"]["n"] == 20
    assert "purity_ratio_to_tracking" in files[("cnn", "sim")]
    matched = files[("cnn", "sim")]["purity_at_tracking_efficiency"]
    assert set(matched) == {f"target{t}" for t in range(1, 6)}
    for name, entry in matched.items():
        segment = int(name.removeprefix("target"))
        tracking_efficiency = files[("tracking", "sim")]["segments"]["efficiency"][segment]["value"]
        own_efficiency = files[("cnn", "sim")]["segments"]["efficiency"][segment]["value"]
        if entry is None:  # out of reach, or tracking finds nothing there
            assert tracking_efficiency in (None, 0.0) or own_efficiency is None or own_efficiency < tracking_efficiency
        else:
            assert entry["tracking_efficiency"] == tracking_efficiency
            assert entry["efficiency"]["value"] >= tracking_efficiency
    against = files[("cnn", "sim")]["purity_difference_to_tracking"]
    for name, entry in against.items():
        segment = int(name.removeprefix("target"))
        mine = files[("cnn", "sim")]["segments"]["purity"][segment]["value"]
        theirs = files[("tracking", "sim")]["segments"]["purity"][segment]["value"]
        if mine is None or theirs is None:  # a finder with no event in the segment
            assert entry == {"value": None, "interval": None}
        else:
            assert entry["value"] == pytest.approx(mine - theirs)
            assert entry["interval"][0] <= entry["value"] <= entry["interval"][1]
    assert files[("cnn", "sim")]["targets"]["transverse_position"] == "reconstructed"
    assert files[("cnn", "data")]["has_truth"] is False and "segments" not in files[("cnn", "data")]
    # Tracking without a vertex (segment -1) lowers its efficiency, never its purity.
    assert sum(files[("tracking", "sim")]["segments"]["unreconstructed"]) > 0

    features = (
        score_files.read_scores(sorted((tmp_path / "scores/cnn/sim").glob("*.h5")), features=True)["features"],
        score_files.read_scores(sorted((tmp_path / "scores/cnn/data").glob("*.h5")), features=True)["features"],
    )
    models_config = {"cnn": {"kind": "cnn", "train_sample": "sim"}}
    bias = evaluation.bias_evaluation(files, {"cnn": features}, models_config, "sim", "data")
    assert bias["finders"]["cnn"]["accuracy"]["data"] is None  # no truth: no accuracy, no error
    assert bias["finders"]["cnn"]["accuracy_drop"] is None
    assert 0.0 <= bias["finders"]["cnn"]["domain_auc"]["auc"] <= 1.0
    assert bias["finders"]["cnn"]["predicted_shift"] is not None
    table = evaluation.summary_rows(files, bias)
    assert set(table["finder"]) == {"cnn", "tracking"} and len(table) == 4
    text = evaluation.markdown(table)
    assert text.splitlines()[0].startswith("| finder | kind | sample")


def test_missing_event_in_tracking_is_named(tmp_path):
    with pytest.raises(ValueError, match="event id 7 of the test split is missing"):
        evaluation.align(np.array([5, 7], dtype=np.uint64), np.array([5, 6], dtype=np.uint64), "tracking.h5")


def test_bias_roles_and_gap_closed():
    models_config = {
        "cnn": {"kind": "cnn", "train_sample": "sim"},
        "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data"},
        "oracle": {"kind": "cnn", "train_sample": "data"},
    }
    accuracy = {"cnn": (0.9, 0.6), "dann": (0.88, 0.75), "oracle": (0.7, 0.9)}
    files = {}
    for finder, (on_sim, on_data) in accuracy.items():
        for sample, value in (("sim", on_sim), ("data", on_data)):
            files[(finder, sample)] = {
                "predicted_distribution": [1 / 11] * 11,
                "true_distribution": [1 / 11] * 11,
                "segments": {"accuracy": {"value": value}},
            }
    bias = evaluation.bias_evaluation(files, {}, models_config, "sim", "data")
    assert bias["roles"] == {"source_only": ["cnn"], "adapted": ["dann"], "oracle": ["oracle"]}
    (gap,) = bias["adaptation"].values()
    assert gap["gap_closed"] == pytest.approx((0.75 - 0.6) / (0.9 - 0.6))
    assert gap["drop_reduction"] == pytest.approx(0.3 - 0.13)
    assert bias["finders"]["cnn"]["accuracy_drop"] == pytest.approx(0.3)


def test_every_sample_beside_the_bias_target_gets_its_drop_in_the_summary():
    """A second comparison (data-like beside the bias target) reads its drop from the summary."""
    models_config = {"cnn": {"kind": "cnn", "train_sample": "sim"}}
    files = {}
    for sample, value in (("sim", 0.93), ("target", 0.90), ("second", 0.92)):
        files[("cnn", sample)] = {
            "n_events": 100,
            "predicted_distribution": [1 / 11] * 11,
            "true_distribution": [1 / 11] * 11,
            "segments": {"accuracy": {"value": value, "interval": [value - 0.01, value + 0.01]}},
            "targets": {"selections": {f"target{t}": {"purity": {"value": 0.6}, "efficiency": {"value": 0.9}} for t in range(1, 6)}},
        }
    bias = evaluation.bias_evaluation(files, {}, models_config, "sim", "target")
    assert bias["finders"]["cnn"]["accuracy_drops"] == pytest.approx({"target": 0.03, "second": 0.01})
    table = evaluation.summary_rows(files, bias).set_index("sample")
    assert table.loc["second", "accuracy_drop"] == pytest.approx(0.01)
    assert table.loc["target", "accuracy_drop"] == pytest.approx(0.03)
    assert table["accuracy_drop"].isna()["sim"]


def test_an_mcc_network_is_adapted_and_its_finetune_control_takes_no_role():
    models_config = {
        "cnn": {"kind": "cnn", "train_sample": "sim"},
        "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data"},
        "mcc": {"kind": "mcc", "train_sample": "sim", "target_sample": "data"},
        "mcc_other": {"kind": "mcc", "train_sample": "sim", "target_sample": "other"},
        "control": {"kind": "finetune", "train_sample": "sim", "init_from": "cnn"},
        "oracle": {"kind": "cnn", "train_sample": "data"},
    }
    roles = evaluation.model_roles(models_config, "sim", "data")
    assert roles == {"source_only": ["cnn"], "adapted": ["dann", "mcc"], "oracle": ["oracle"]}


def test_shared_event_ids_stop_the_metrics_naming_both_files(tmp_path):
    first, second = tmp_path / "a" / "part0.h5", tmp_path / "b" / "part0.h5"
    write_images(first, 30, seed=1)
    write_images(second, 30, seed=2, id_offset=20)  # ids 1020-1029 in both files
    tracking = tmp_path / "tracking.h5"
    write_tracking(tracking, [first])
    with pytest.raises(image_contract.DuplicateEventError, match=rf"event id 1020 \(run 0, subrun 0, gate 10, slice 20\) appears in files {first} and {second}"):
        evaluation.tracking_evaluation(tracking, [first, second], "s")
    with pytest.raises(image_contract.DuplicateEventError, match=rf"file {first} \(twice\).*30 id"):
        image_contract.read_test_events([first, first])  # a file listed twice
    assert len(image_contract.read_test_events([first])["eventids"]) == 10


def test_every_finder_is_joined_to_the_truth_by_event_id(tmp_path, cnn):
    """Score and vertex files in another order than the images give the same metrics."""
    images = [tmp_path / "images" / f"part{i}.h5" for i in range(2)]
    for i, path in enumerate(images):
        write_images(path, 30, seed=i, id_offset=100 * i)
    tracking = tmp_path / "tracking.h5"
    write_tracking(tracking, images)
    scores = [tmp_path / "scores" / f"part{i}.h5" for i in range(2)]
    for image, score in zip(images, scores):
        scoring.score_file(training.load_model(cnn), image, score, batch_size=7)
    reversed_tracking = tmp_path / "tracking_reversed.h5"
    with h5py.File(tracking, "r") as src, h5py.File(reversed_tracking, "w") as dst:
        for name in src:
            dst[name] = src[name][:][::-1]
    straight = evaluation.tracking_evaluation(tracking, images, "s")
    backwards = evaluation.tracking_evaluation(reversed_tracking, images, "s")
    assert straight["segments"] == backwards["segments"]
    net = evaluation.model_evaluation(scores, images, tracking, straight, "cnn", "cnn", "s")
    swapped = evaluation.model_evaluation(scores[::-1], images, tracking, straight, "cnn", "cnn", "s")
    assert net["segments"] == swapped["segments"] and net["segments"]["accuracy"]["n"] == 20
    # The paired comparison with tracking joins both finders to the same events by id.
    against_backwards = evaluation.model_evaluation(scores, images, reversed_tracking, backwards, "cnn", "cnn", "s")
    assert against_backwards["purity_difference_to_tracking"] == net["purity_difference_to_tracking"]


def test_a_track_vertex_file_missing_an_event_is_named(tmp_path, cnn):
    images = [tmp_path / "part0.h5"]
    write_images(images[0], 12)
    short = tmp_path / "short" / "part0.h5"
    write_images(short, 6)  # vertices for the first 6 events only
    tracking = tmp_path / "tracking.h5"
    write_tracking(tracking, [short])
    score = tmp_path / "scores.h5"
    scoring.score_file(training.load_model(cnn), images[0], score, batch_size=4)
    with pytest.raises(ValueError, match=f"{tracking}: event id 1006 of the test split is missing"):
        evaluation.model_evaluation([score], images, tracking, None, "cnn", "cnn", "s")


def test_bf16_scores_agree_with_fp32(tmp_path, cnn):
    images = tmp_path / "images.h5"
    write_images(images, 90)
    model = training.load_model(cnn)
    exact, fast = tmp_path / "fp32.h5", tmp_path / "bf16.h5"
    scoring.score_file(model, images, exact, batch_size=16, precision="fp32")
    scoring.score_file(model, images, fast, batch_size=16, precision="bf16")
    a, b = score_files.read_scores([exact]), score_files.read_scores([fast])
    np.testing.assert_array_equal(a["eventids"], b["eventids"])
    # bf16 keeps 8 bits of mantissa: probabilities within a few per mille, the same answers.
    np.testing.assert_allclose(b["probabilities"], a["probabilities"], atol=0.01)
    assert not np.array_equal(a["probabilities"], b["probabilities"])
    assert (a["predicted"] == b["predicted"]).mean() >= 0.9
