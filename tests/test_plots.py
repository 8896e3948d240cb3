"""Every kind of evaluation plot is drawn, as PNG and PDF, from metric files of both kinds,
and shows what its data say: cells, points, bars and limits are read back from the figure."""

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from matplotlib.patches import Rectangle, StepPatch

from minerva_vertex import evaluation, metrics
from minerva_vertex.comparisons import Comparison
from minerva_vertex.plots import accuracy_gap, confusion, distributions, purity, style

N_EVENTS = 300
FINDERS = ("tracking", "cnn")


def fake_events(seed):
    """True and reconstructed segments (-1: no vertex) and true vertices of a few events."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 11, N_EVENTS)
    reco = np.where(rng.random(N_EVENTS) < 0.7, true, rng.integers(-1, 11, N_EVENTS))
    x, y = rng.uniform(-500, 500, (2, N_EVENTS))
    z = rng.uniform(4400, 5900, N_EVENTS)
    return true, reco, x, y, z


def fake_metrics(finder, sample, truth=True, seed=0):
    true, reco, x, y, z = fake_events(seed)
    truth_arrays = {"segments": true, "mc_vtx_x": x, "mc_vtx_y": y, "mc_vtx_z": z, "mc_targetZ": np.full(N_EVENTS, 82)}
    result = metrics.evaluate(reco, truth_arrays if truth else None, (x, y))
    return {"finder": finder, "sample": sample, "kind": finder, **result}


SEEDS = {key: i for i, key in enumerate(itertools.product(FINDERS, ("sim", "data")))}


@pytest.fixture(scope="module")
def files():
    return {(f, s): fake_metrics(f, s, truth=s == "sim", seed=seed) for (f, s), seed in SEEDS.items()}


def assert_written(tmp_path, stem):
    for ext in ("png", "pdf"):
        path = tmp_path / f"{stem}.{ext}"
        assert path.stat().st_size > 1000, path
    assert not list(tmp_path.glob(".*tmp*"))


def drawn_texts(figure):
    """Every non-empty text the saved figure shows: titles, axis labels, the tick labels
    inside the axis limits, texts placed in the axes, legend entries."""
    texts = [figure._suptitle] if figure._suptitle else []
    for ax in figure.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            texts += [t.label1 for t in axis.get_major_ticks() if low <= t.get_loc() <= high]
        if ax.get_legend():
            texts += ax.get_legend().get_texts()
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def overlapping_texts(figure) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes intersect, at the figure's own size and resolution."""
    assert figure.dpi == style.DPI
    canvas = FigureCanvasAgg(figure)  # saving closed the figure: draw it again as it was saved
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn_texts(figure)]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.x0 < box_b.x1 and box_b.x0 < box_a.x1 and box_a.y0 < box_b.y1 and box_b.y0 < box_a.y1
    ]


def test_row_normalised_counts_lost_events_in_the_row():
    matrix = np.zeros((11, 11))
    matrix[1, 1], matrix[1, 2] = 3, 1
    fractions = confusion.row_normalised(matrix, [0, 4] + [0] * 9)
    assert fractions[1, 1] == pytest.approx(3 / 8) and fractions[0].sum() == 0


def test_confusion_cells_are_the_row_normalised_counts(tmp_path, files):
    figure = confusion.plot_confusion(
        files[("cnn", "sim")], tmp_path / "c.png", tmp_path / "c.pdf", cmap="magma", log_min=-2.5, annotate=True, title="t"
    )
    assert_written(tmp_path, "c")
    # By hand: each true segment's events, those without a vertex included, share 1.
    true, reco, *_ = fake_events(SEEDS[("cnn", "sim")])
    counts = np.zeros((11, 11))
    np.add.at(counts, (true[reco >= 0], reco[reco >= 0]), 1)
    expected = counts / np.bincount(true, minlength=11)[:, None]
    linear, log = (ax.collections[0] for ax in figure.axes[:2])
    assert isinstance(linear, QuadMesh) and linear.get_cmap().name == "magma"
    # x is the true segment, y the reconstructed one: the mesh holds the transpose.
    np.testing.assert_allclose(np.asarray(linear.get_array()).reshape(11, 11).T, expected)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(
            np.ma.filled(log.get_array(), np.nan).reshape(11, 11).T, np.where(expected > 0, np.log10(expected), np.nan)
        )
    assert linear.get_clim() == (0.0, 1.0) and log.get_clim() == (-2.5, 0.0)
    annotated = {text.get_position(): text.get_text() for text in figure.axes[0].texts}
    assert annotated == {(t, r): f"{expected[t, r]:.2f}" for t, r in zip(*np.nonzero(expected >= 0.005))}
    assert [ax.get_xlabel() for ax in figure.axes[:2]] == ["True z-segment"] * 2


def test_confusion_without_truth_says_so(tmp_path, files):
    figure = confusion.plot_confusion(
        files[("cnn", "data")], tmp_path / "d.png", tmp_path / "d.pdf", cmap="viridis", log_min=-2.5, annotate=False,
        title="cnn, data",
    )
    assert_written(tmp_path, "d")
    assert [t.get_text() for t in figure.axes[0].texts] == ["cnn, data: sample without truth, no confusion matrix"]
    assert not figure.axes[0].collections


def finder_points(ax) -> dict[str, tuple[np.ndarray, str]]:
    """Each finder's error-bar points of a panel: (y values, colour)."""
    containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    return {c.get_label(): (c.lines[0].get_ydata(), to_hex(c.lines[0].get_color())) for c in containers}


def test_purity_by_target_shows_each_finder_in_its_colour(tmp_path, files):
    selections = ("target4_Pb", "Fe", "water")
    comparison = Comparison("t", "lead", FINDERS, ("sim", "data"), selections)
    figure = purity.plot_by_target(files, comparison, tmp_path / "t.png", tmp_path / "t.pdf", spread=0.6)
    assert_written(tmp_path, "t")
    (sim_purity, sim_efficiency), (data_purity, data_efficiency) = np.reshape(figure.axes, (2, 2))
    for ax, quantity in ((sim_purity, "purity"), (sim_efficiency, "efficiency")):
        points = finder_points(ax)
        assert list(points) == list(FINDERS)
        for finder, (values, _) in points.items():
            entries = files[(finder, "sim")]["targets"]["selections"]
            expected = [np.nan if entries[s][quantity]["value"] is None else entries[s][quantity]["value"] for s in selections]
            np.testing.assert_array_equal(values, expected)
        assert points["tracking"][1] == style.FINDER_COLOURS["tracking"]
        assert points["cnn"][1] != style.FINDER_COLOURS["tracking"]
        assert ax.get_ylim() == (0, 1.05)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["target 4 Pb", "Fe", "water"]
        assert ax.get_title() == f"sim: {quantity} (lead)"
    for ax in (data_purity, data_efficiency):
        assert not finder_points(ax) and [t.get_text() for t in ax.texts] == ["no truth"]


def test_purity_by_segment_has_a_point_per_segment(tmp_path, files):
    comparison = Comparison("s", "all", FINDERS, ("sim",), ("target1",))
    figure = purity.plot_by_segment(files, comparison, tmp_path / "s.png", tmp_path / "s.pdf", spread=0.6)
    assert_written(tmp_path, "s")
    points = finder_points(figure.axes[0])
    expected = [np.nan if e["value"] is None else e["value"] for e in files[("cnn", "sim")]["segments"]["purity"]]
    np.testing.assert_array_equal(points["cnn"][0], expected)
    assert len(points) == 2 and points["tracking"][1] == style.FINDER_COLOURS["tracking"]
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == [str(s) for s in range(11)]


def test_target_figure_texts_do_not_overlap_at_the_saved_size(tmp_path, files):
    # The default run's overview: every selection, a sample with truth above one without.
    comparison = Comparison("overview", "tracking, CNN and DANN", FINDERS, ("sim", "data"), tuple(metrics.SELECTIONS))
    figure = purity.plot_by_target(files, comparison, tmp_path / "t.png", tmp_path / "t.pdf", spread=0.6)
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert "target 3 Pb" in labels and "scintillator" in labels
    assert overlapping_texts(figure) == []


def test_segment_figure_texts_do_not_overlap_at_the_saved_size(tmp_path, files):
    comparison = Comparison("overview", "tracking, CNN and DANN", FINDERS, ("sim", "data"), ("target1",))
    figure = purity.plot_by_segment(files, comparison, tmp_path / "s.png", tmp_path / "s.pdf", spread=0.6)
    assert overlapping_texts(figure) == []


def test_distributions_show_each_sample_and_the_truth_where_known(tmp_path, files):
    by_sample = {"sim": files[("cnn", "sim")], "data": files[("cnn", "data")]}
    figure = distributions.plot_distributions("cnn", by_sample, tmp_path / "p.png", tmp_path / "p.pdf", log_y=True)
    assert_written(tmp_path, "p")
    ax = figure.axes[0]
    points = finder_points(ax)
    assert list(points) == ["sim: reconstructed", "data: reconstructed"]
    _, reco, *_ = fake_events(SEEDS[("cnn", "data")])
    np.testing.assert_allclose(points["data: reconstructed"][0], np.bincount(reco[reco >= 0], minlength=11) / np.sum(reco >= 0))
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert [p.get_label() for p in steps] == ["sim: true"]  # data has no truth
    true, *_ = fake_events(SEEDS[("cnn", "sim")])
    np.testing.assert_allclose(steps[0].get_data().values, np.bincount(true, minlength=11) / N_EVENTS)
    assert ax.get_yscale() == "log"


def gap_files(oracle_on_target):
    """CNN, DANN and oracle on two samples with truth; accuracies and 68 % intervals by hand."""
    def doc(value, half=0.002):
        return {"segments": {"accuracy": {"value": value, "interval": [value - half, value + half]}}}
    accuracies = {("cnn", "sim"): 0.94, ("cnn", "data"): 0.90, ("dann", "sim"): 0.939, ("dann", "data"): 0.92,
                  ("oracle", "data"): oracle_on_target}
    return {key: doc(value) for key, value in accuracies.items()}


def gap_bias(files):
    models = {"cnn": {"kind": "cnn", "train_sample": "sim"}, "oracle": {"kind": "cnn", "train_sample": "data"},
              "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data"}}
    bias = {"source": "sim", "target": "data", "finders": {}, "adaptation": {}}
    for finder in ("cnn", "dann", "oracle"):
        accuracy = {s: files[(f, s)]["segments"]["accuracy"]["value"] for f, s in files if f == finder}
        bias["finders"][finder] = {"accuracy": accuracy, "accuracy_drop": None}
    bias["adaptation"]["dann vs cnn (oracle oracle)"] = {"adapted": "dann", "source_only": "cnn", "oracle": "oracle"}
    assert set(models) == set(bias["finders"])
    return bias


def test_accuracy_gap_points_carry_the_intervals_on_a_zoomed_axis(tmp_path):
    files = gap_files(oracle_on_target=0.94)  # gap 4 points, DANN gains 2: half of it
    figure = accuracy_gap.plot_accuracy_gap(gap_bias(files), files, tmp_path / "g.png", tmp_path / "g.pdf", offset=0.1)
    assert_written(tmp_path, "g")
    ax = figure.axes[0]
    finders = [t.get_text() for t in ax.get_xticklabels()]
    assert finders == ["cnn", "dann", "oracle"]
    points = {c.get_label(): c for c in ax.containers}
    sim_x, sim_y = np.asarray(points["sim"].lines[0].get_data(), float)
    data_x, data_y = np.asarray(points["data"].lines[0].get_data(), float)
    np.testing.assert_allclose(sim_y, [94.0, 93.9])  # the oracle has no simulation accuracy here
    np.testing.assert_allclose(sim_x, [-0.1, 0.9])
    np.testing.assert_allclose(data_y, [90.0, 92.0, 94.0])
    np.testing.assert_allclose(data_x, [0.1, 1.1, 2.1])
    segments = points["data"].lines[2][0].get_segments()  # the error bars: ± 0.2 point
    np.testing.assert_allclose([float(s[1][1] - s[0][1]) for s in segments], [0.4, 0.4, 0.4])
    low, high = ax.get_ylim()
    assert 85 < low < 90 and 94 < high < 100  # zoomed to the points, not drawn from 0
    text = " ".join(t.get_text() for t in ax.texts)
    assert "dann: closes 50 %" in text and "no gap" not in text


def test_accuracy_gap_gives_the_track_based_vertex_an_axis_of_its_own(tmp_path):
    files = gap_files(oracle_on_target=0.94)
    files[("tracking", "sim")] = {"segments": {"accuracy": {"value": 0.85, "interval": [0.847, 0.853]}}}
    files[("tracking", "data")] = {"segments": {"accuracy": {"value": 0.83, "interval": [0.827, 0.833]}}}
    bias = gap_bias(files)
    bias["finders"]["tracking"] = {"accuracy": {"sim": 0.85, "data": 0.83}, "accuracy_drop": 0.02}
    figure = accuracy_gap.plot_accuracy_gap(bias, files, tmp_path / "g.png", tmp_path / "g.pdf", offset=0.1)
    networks, tracking = figure.axes[:2]
    assert [t.get_text() for t in networks.get_xticklabels()] == ["cnn", "dann", "oracle"]
    assert [t.get_text() for t in tracking.get_xticklabels()] == ["tracking"]
    assert networks.get_ylim()[0] > 85  # the networks' axis stays zoomed on their points
    assert tracking.get_ylim()[0] < 83 < 85 < tracking.get_ylim()[1]
    assert "drop 2.00 points" in " ".join(t.get_text() for t in tracking.texts)


def test_accuracy_gap_says_no_gap_when_the_gaps_interval_includes_zero(tmp_path):
    files = gap_files(oracle_on_target=0.902)  # 0.2 point, inside the intervals (± 0.28)
    figure = accuracy_gap.plot_accuracy_gap(gap_bias(files), files, tmp_path / "g.png", tmp_path / "g.pdf", offset=0.1)
    text = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "dann: no gap" in text and "%" not in text.split("dann:")[1].split("(")[0]
