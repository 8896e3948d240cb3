"""Metric definitions against hand-computed numbers."""

import numpy as np
import pytest
from scipy import stats

from minerva_vertex import geometry as geo
from minerva_vertex import metrics


def test_confusion_counts_by_hand():
    true = [0, 0, 1, 1, 1, 4, 4, 10]
    reco = [0, 1, 1, 1, -1, 4, 5, 10]
    matrix, missing = metrics.confusion_counts(true, reco)
    expected = np.zeros((11, 11), dtype=int)
    expected[0, 0] = 1
    expected[0, 1] = 1
    expected[1, 1] = 2
    expected[4, 4] = 1
    expected[4, 5] = 1
    expected[10, 10] = 1
    np.testing.assert_array_equal(matrix, expected)
    assert missing.tolist() == [0, 1] + [0] * 9
    result = metrics.segment_metrics(matrix, missing)
    assert result["accuracy"]["k"] == 5 and result["accuracy"]["n"] == 8
    # segment 1: 2 of 3 true found (one lost without vertex); 2 of 3 reconstructed are right.
    assert result["efficiency"][1]["value"] == pytest.approx(2 / 3)
    assert result["purity"][1]["value"] == pytest.approx(2 / 3)
    assert result["purity"][5]["value"] == 0.0 and result["purity"][5]["n"] == 1
    assert result["efficiency"][3]["value"] is None  # no true event in segment 3
    assert result["efficiency"][3]["interval"] == [0.0, 1.0]


def test_confusion_rejects_bad_segments():
    with pytest.raises(ValueError, match="expected a segment"):
        metrics.confusion_counts([11], [0])
    with pytest.raises(ValueError, match="true segment"):
        metrics.confusion_counts([-1], [0])


@pytest.mark.parametrize("n", [1, 7, 100])
def test_clopper_pearson_edges(n):
    tail = (1 - metrics.CONFIDENCE_LEVEL) / 2
    low, high = metrics.clopper_pearson(0, n)
    assert low == 0.0
    assert high == pytest.approx(1 - tail ** (1 / n))  # closed form at k = 0
    low, high = metrics.clopper_pearson(n, n)
    assert high == 1.0
    assert low == pytest.approx(tail ** (1 / n))


def test_clopper_pearson_inside_and_empty():
    low, high = metrics.clopper_pearson(3, 10)
    assert low == pytest.approx(stats.beta.ppf(0.15865, 3, 8))
    assert high == pytest.approx(stats.beta.ppf(0.84135, 4, 7))
    assert low < 0.3 < high
    assert metrics.clopper_pearson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        metrics.clopper_pearson(4, 3)


def truth_at(points, nucleus):
    x, y, z = np.array(points, dtype=float).T
    return {"mc_vtx_x": x, "mc_vtx_y": y, "mc_vtx_z": z, "mc_targetZ": np.array(nucleus), "segments": geo.segment_of_z(z)}


def test_target_selection_by_hand():
    t4 = geo.TARGET_CENTRES_MM[4]
    t1 = geo.TARGET_CENTRES_MM[1]
    truth = truth_at(
        [
            (0, 0, t4),  # Pb of target 4
            (0, 0, t4 + 3),  # Pb of target 4
            (0, 0, t4 + 30),  # scintillator inside segment 4's window
            (300, 0, t1),  # target 1, lead side (x >= 205 mm)
            (0, 0, t1),  # target 1, iron side
            (0, 0, 6000),  # downstream tracker
        ],
        [82, 82, 6, 82, 26, 1],
    )
    reco = np.array([4, 9, 4, 1, 1, 10])
    result = metrics.target_metrics(reco, truth)  # true transverse position
    sel = result["selections"]
    assert result["transverse_position"] == "true"
    assert sel["target4_Pb"]["efficiency"]["value"] == pytest.approx(0.5)
    assert sel["target4_Pb"]["purity"]["value"] == pytest.approx(0.5)  # scintillator event selected
    assert sel["target1_Pb"]["efficiency"]["value"] == 1.0 and sel["target1_Pb"]["purity"]["n"] == 1
    assert sel["target1_Fe"]["purity"]["value"] == 1.0
    assert sel["Pb"]["efficiency"]["k"] == 2 and sel["Pb"]["efficiency"]["n"] == 3
    assert sel["scintillator"]["efficiency"]["value"] == 1.0  # the z = 6000 event
    # With a reconstructed (x, y) that misses target 1's lead side, the lead event is lost.
    reco_xy = (np.array([0, 0, 0, 0, 0, np.nan]), np.zeros(6))
    sel = metrics.target_metrics(reco, truth, reco_xy)["selections"]
    assert sel["target1_Pb"]["efficiency"]["value"] == 0.0
    assert sel["target1_Fe"]["purity"]["k"] == 1 and sel["target1_Fe"]["purity"]["n"] == 2
    assert sel["target1"]["purity"]["value"] == 1.0  # target as a whole needs no (x, y)


def test_nucleus_must_match_material():
    t4 = geo.TARGET_CENTRES_MM[4]
    truth = truth_at([(0, 0, t4)], [6])  # a carbon nucleus cannot be lead's signal
    assert not metrics.true_signal(metrics.SELECTIONS["target4_Pb"], truth).any()


def test_evaluate_without_truth_gives_label_free_metrics():
    result = metrics.evaluate(np.array([0, 1, 1, -1]), None)
    assert result["has_truth"] is False
    assert result["n_events"] == 4 and result["n_unreconstructed"] == 1
    assert result["predicted_distribution"][1] == pytest.approx(2 / 3)
    assert "segments" not in result and "targets" not in result


def test_purity_ratio():
    network = {"selections": {"a": {"purity": {"value": 0.6}}, "b": {"purity": {"value": 0.5}}}}
    tracking = {"selections": {"a": {"purity": {"value": 0.2}}, "b": {"purity": {"value": None}}}}
    assert metrics.purity_ratios(network, tracking) == {"a": pytest.approx(3.0), "b": None}


def test_purity_at_a_lower_efficiency_keeps_the_most_probable_events():
    # Six events put in segment 1, by falling probability: true, true, false, true, false, true;
    # and one true segment-1 event put in segment 2. Segment 1 has 5 true events, 4 found.
    p1 = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    probabilities = np.zeros((7, geo.N_SEGMENTS))
    probabilities[:, 1] = p1
    reco = np.array([1, 1, 1, 1, 1, 1, 2])
    true = np.array([1, 1, 0, 1, 0, 1, 1])
    shuffled = np.array([3, 6, 0, 5, 2, 4, 1])  # the order of events does not matter
    at = metrics.purity_at_efficiency(probabilities[shuffled], reco[shuffled], true[shuffled], 1, 0.6)
    # 60 % of 5 is 3 true events: the first four ranks hold them, so the purity is 3 / 4.
    assert at["efficiency"]["k"] == 3 and at["efficiency"]["n"] == 5
    assert at["purity"]["value"] == pytest.approx(0.75) and at["purity"]["n"] == 4
    # At its own efficiency (4 / 5) the purity is the argmax purity, 4 / 6.
    assert metrics.purity_at_efficiency(probabilities, reco, true, 1, 0.8)["purity"]["value"] == pytest.approx(4 / 6)
    # An efficiency above the finder's own cannot be reached; an empty segment has none.
    assert metrics.purity_at_efficiency(probabilities, reco, true, 1, 0.81) is None
    assert metrics.purity_at_efficiency(probabilities, reco, true, 7, 0.5) is None


def test_paired_purity_difference_by_hand():
    # Segment 1. Finder A puts events 0-4 in it (0-3 true): purity 4 / 5. Finder B puts
    # events 0-2 and 4-6 in it (0-2 and 5 true): purity 4 / 6.
    true = np.array([1, 1, 1, 1, 0, 1, 2, 2])
    a = np.array([1, 1, 1, 1, 1, 2, 2, 2])
    b = np.array([1, 1, 1, 0, 1, 1, 1, 2])
    result = metrics.paired_purity_difference(a, b, true, 1)
    assert result["value"] == pytest.approx(4 / 5 - 4 / 6)
    low, high = result["interval"]
    assert low <= result["value"] <= high
    # The same seed gives the same interval; a finder against itself differs by exactly 0.
    assert metrics.paired_purity_difference(a, b, true, 1) == result
    assert metrics.paired_purity_difference(a, a, true, 1) == {"value": 0.0, "interval": [0.0, 0.0]}
    # A finder that puts nothing in the segment has no purity to compare.
    assert metrics.paired_purity_difference(a, b, true, 7) == {"value": None, "interval": None}
    with pytest.raises(ValueError, match="one entry per event"):
        metrics.paired_purity_difference(a, b[:-1], true, 1)


def test_the_bootstrap_drawn_in_blocks_equals_the_one_drawn_at_once(monkeypatch):
    rng = np.random.default_rng(5)
    true, a, b = (rng.integers(0, 3, size=500) for _ in range(3))
    at_once = metrics.paired_purity_difference(a, b, true, 1, resamples=300)
    monkeypatch.setattr(metrics, "BOOTSTRAP_BLOCK_WEIGHTS", 2000)  # a handful of resamples per block
    assert metrics.paired_purity_difference(a, b, true, 1, resamples=300) == at_once


def test_pairing_narrows_the_interval_of_two_finders_that_mostly_agree():
    # 4,000 events of segment 1 or 0; finder B is finder A with 2 % of its answers flipped.
    rng = np.random.default_rng(3)
    true = rng.integers(0, 2, size=4000)
    a = np.where(rng.random(4000) < 0.9, true, 1 - true)
    b = np.where(rng.random(4000) < 0.02, 1 - a, a)
    result = metrics.paired_purity_difference(a, b, true, 1)
    width = result["interval"][1] - result["interval"][0]
    # Each purity alone is known to about +-0.7 %: independent intervals would combine to ~2 %.
    alone = [metrics.ratio(((f == 1) & (true == 1)).sum(), (f == 1).sum())["interval"] for f in (a, b)]
    combined = float(np.hypot(*(high - low for low, high in alone)))
    assert width < 0.5 * combined
    # What is left is the spread of the ~80 events the finders disagree on, each of which moves
    # a purity (~2,000 events in the segment) by about 1 / 2,000: a 68 % width of about
    # 2 sqrt(80) / 2,000.
    assert width == pytest.approx(2 * np.sqrt(0.02 * 4000) / 2000, rel=0.5)


def test_rank_auc_by_hand():
    assert metrics.rank_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert metrics.rank_auc([0.1, 0.9, 0.2, 0.8], [0, 0, 1, 1]) == pytest.approx(0.5)
    assert metrics.rank_auc([1, 1, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)  # ties count half
    # positives 0.3, 0.6, 0.9 against negatives 0.5, 0.7: 0 + 1 + 2 of 6 pairs won
    assert metrics.rank_auc([0.3, 0.6, 0.9, 0.5, 0.7], [1, 1, 1, 0, 0]) == pytest.approx(3 / 6)


def test_domain_auc_separates_shifted_features():
    rng = np.random.default_rng(1)
    source = rng.normal(size=(400, 5))
    same = metrics.domain_auc(source, rng.normal(size=(400, 5)), epochs=100)
    shifted = metrics.domain_auc(source, rng.normal(size=(400, 5)) + [1.5, 0, 0, 0, 0], epochs=100)
    assert abs(same["auc"] - 0.5) < 0.1
    assert shifted["auc"] > 0.8


def test_bias_helpers():
    assert metrics.gap_closed(0.5, 0.7, 0.9) == pytest.approx(0.5)
    assert metrics.gap_closed(0.5, 0.7, None) is None
    assert metrics.total_variation([1, 0], [0, 1]) == 1.0
