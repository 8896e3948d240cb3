"""Every kind of evaluation plot is drawn, as PNG and PDF, from metric files of both kinds."""

import numpy as np
import pytest

from minerva_vertex import evaluation, metrics
from minerva_vertex.plots import accuracy_gap, confusion, distributions, purity


def fake_metrics(finder, sample, truth=True, seed=0):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 11, 300)
    reco = np.where(rng.random(300) < 0.7, true, rng.integers(-1, 11, 300))
    x, y = rng.uniform(-500, 500, (2, 300))
    z = rng.uniform(4400, 5900, 300)
    truth_arrays = {"segments": true, "mc_vtx_x": x, "mc_vtx_y": y, "mc_vtx_z": z, "mc_targetZ": np.full(300, 82)}
    result = metrics.evaluate(reco, truth_arrays if truth else None, (x, y))
    return {"finder": finder, "sample": sample, "kind": finder, **result}


@pytest.fixture(scope="module")
def files():
    return {
        (finder, sample): fake_metrics(finder, sample, truth=sample == "sim", seed=i)
        for i, (finder, sample) in enumerate((f, s) for f in ("tracking", "cnn") for s in ("sim", "data"))
    }


def assert_written(tmp_path, stem):
    for ext in ("png", "pdf"):
        path = tmp_path / f"{stem}.{ext}"
        assert path.stat().st_size > 1000, path
    assert not list(tmp_path.glob(".*tmp*"))


def test_row_normalised_counts_lost_events_in_the_row():
    matrix = np.zeros((11, 11))
    matrix[1, 1], matrix[1, 2] = 3, 1
    fractions = confusion.row_normalised(matrix, [0, 4] + [0] * 9)
    assert fractions[1, 1] == pytest.approx(3 / 8) and fractions[0].sum() == 0


def test_confusion_plots(tmp_path, files):
    confusion.plot_confusion(files[("cnn", "sim")], tmp_path / "c.png", tmp_path / "c.pdf", cmap="magma", annotate=True)
    assert_written(tmp_path, "c")
    confusion.plot_confusion(files[("cnn", "data")], tmp_path / "d.png", tmp_path / "d.pdf")  # no truth
    assert_written(tmp_path, "d")


def test_purity_plots(tmp_path, files):
    purity.plot_by_target(files, ["tracking", "cnn"], ["sim", "data"], ["target4_Pb", "Fe", "water"], tmp_path / "t.png", tmp_path / "t.pdf")
    purity.plot_by_segment(files, ["tracking", "cnn"], ["sim"], tmp_path / "s.png", tmp_path / "s.pdf")
    assert_written(tmp_path, "t")
    assert_written(tmp_path, "s")


def test_distribution_and_gap_plots(tmp_path, files):
    distributions.plot_distributions("cnn", {"sim": files[("cnn", "sim")], "data": files[("cnn", "data")]}, tmp_path / "p.png", tmp_path / "p.pdf", log_y=True)
    bias = evaluation.bias_evaluation(files, {}, {"cnn": {"kind": "cnn", "train_sample": "sim"}}, "sim", "data")
    accuracy_gap.plot_accuracy_gap(bias, tmp_path / "g.png", tmp_path / "g.pdf")
    assert_written(tmp_path, "p")
    assert_written(tmp_path, "g")
