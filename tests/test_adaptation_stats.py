"""Statistics of the adaptation study: paired differences over seeds, the gap and the share
of it closed (with "no gap" where the gap may be nothing), and per-target bias shifts."""

import math

import numpy as np
import pytest

from minerva_vertex import adaptation_stats as st
from minerva_vertex import geometry as geo
from minerva_vertex import metrics
from minerva_vertex.simulation import PhysicsModel, generate

CNN = {1: 0.90, 2: 0.91, 3: 0.92}


def test_paired_differences_by_hand():
    adapted = {3: 0.98, 1: 0.91, 2: 0.93}  # differences 0.01, 0.02, 0.06 (order of keys irrelevant)
    result = st.paired_differences(adapted, CNN)
    assert result["seeds"] == [1, 2, 3] and result["n"] == 3
    assert result["differences"] == pytest.approx([0.01, 0.02, 0.06])
    assert result["mean"] == pytest.approx(0.03)
    # deviations -0.02, -0.01, 0.03: variance (4 + 1 + 9) / 2 x 1e-4 = 7e-4; s.e. sqrt(7e-4 / 3)
    assert result["sem"] == pytest.approx(math.sqrt(7e-4 / 3))


def test_pairing_needs_the_same_seeds_and_a_value_for_each():
    with pytest.raises(ValueError, match=r"seeds \[4\]"):
        st.paired_differences({**CNN, 4: 0.9}, CNN)
    with pytest.raises(ValueError, match="seed 2 has no value"):
        st.paired_differences({**CNN, 2: None}, CNN)
    single = st.paired_differences({1: 0.95}, {1: 0.90})
    assert single["mean"] == pytest.approx(0.05) and single["sem"] is None


def test_gap_interval_is_student_t():
    oracle = {1: 0.91, 2: 0.93, 3: 0.98}  # gap 0.01, 0.02, 0.06
    result = st.gap(CNN, oracle)
    # Student t of 2 degrees of freedom at probability p: (2p - 1) / sqrt(2 p (1 - p))
    p = 0.5 + st.CONFIDENCE / 2
    half = (2 * p - 1) / math.sqrt(2 * p * (1 - p)) * math.sqrt(7e-4 / 3)
    assert result["interval"] == pytest.approx([0.03 - half, 0.03 + half], abs=1e-5)
    assert result["open"]


def test_share_is_no_gap_when_the_gaps_interval_includes_zero():
    # Gap 0, 0.01, 0.08: mean 0.03, more than one standard error (0.025) from zero, but
    # the t interval of three seeds (± 0.033) reaches below it.
    oracle = {1: 0.90, 2: 0.92, 3: 1.00}
    method = {1: 0.91, 2: 0.92, 3: 0.94}
    result = st.share_closed(CNN, method, oracle)
    assert result["gap"]["interval"][0] < 0 < result["gap"]["mean"] - result["gap"]["sem"]
    assert result["share"] is None and result["interval"] is None and result["label"] == st.NO_GAP
    assert result["gain"]["mean"] == pytest.approx(0.04 / 3)  # the gain is still reported
    # A gap that is surely there, but negative (the oracle worse), is no gap to close either.
    assert st.share_closed(CNN, method, {s: v - 0.05 for s, v in CNN.items()})["label"] == st.NO_GAP
    assert st.share_closed({1: 0.9}, {1: 0.92}, {1: 0.95})["label"] == st.NO_GAP  # one seed: no interval


def clear_case():
    """Five seeds, a gap of about 5 points, a method closing about half of it."""
    rng = np.random.default_rng(0)
    cnn = {s: 0.90 + 0.01 * rng.standard_normal() for s in range(1, 6)}
    oracle = {s: cnn[s] + 0.05 + 0.003 * rng.standard_normal() for s in cnn}
    method = {s: cnn[s] + 0.025 + 0.003 * rng.standard_normal() for s in cnn}
    return cnn, method, oracle


def test_share_on_a_clear_gap_with_a_reproducible_bootstrap_interval():
    cnn, method, oracle = clear_case()
    result = st.share_closed(cnn, method, oracle)
    gains = [method[s] - cnn[s] for s in cnn]
    gaps = [oracle[s] - cnn[s] for s in cnn]
    assert result["gap"]["open"]
    assert result["share"] == pytest.approx(np.mean(gains) / np.mean(gaps))
    assert 0.35 < result["share"] < 0.65
    low, high = result["interval"]
    assert low < result["share"] < high and high - low < 0.2
    assert result["label"] == f"{100 * result['share']:.0f} % ({100 * low:.0f} to {100 * high:.0f} %)"
    assert st.share_closed(cnn, method, oracle)["interval"] == result["interval"]  # same seed, same interval
    few = {seed: st.share_closed(cnn, method, oracle, n_resamples=200, seed=seed)["interval"] for seed in (0, 1)}
    assert few[0] != few[1]  # the seed is what makes it reproducible
    assert result["per_seed"][1] == pytest.approx(gains[0] / gaps[0])


def test_bootstrap_ratio_of_two_seeds_by_hand():
    # Two seeds: resamples (a, a), (a, b), (b, a), (b, b), a quarter each; ratios 1/2, 1, 1, 3/2.
    # The central 68 % runs from the lowest quarter's value to the highest's.
    assert st.bootstrap_ratio([1.0, 3.0], [2.0, 2.0]) == pytest.approx([0.5, 1.5])
    assert st.bootstrap_ratio([1.0, 3.0], [0.0, 0.0]) is None


def _entry(k_signal_selected, n_signal, n_selected):
    return {"efficiency": metrics.ratio(k_signal_selected, n_signal), "purity": metrics.ratio(k_signal_selected, n_selected)}


def test_target_shift_and_the_cross_section_bias_by_hand():
    source = {"finder": "cnn", "sample": "simulation", "targets": {"selections": {"target1": _entry(90, 100, 120)}}}
    target = {"finder": "cnn", "sample": "no_fsi", "targets": {"selections": {"target1": _entry(80, 100, 100)}}}
    shift = st.target_shifts(source, target)["target1"]
    assert shift["efficiency"]["shift"] == pytest.approx(0.8 - 0.9)
    assert shift["purity"]["shift"] == pytest.approx(0.8 - 0.75)
    # 100 selected on the target sample hold 80 signal of 100; corrected with the
    # simulation's purity and efficiency they give 100 x 0.75 / 0.9 = 83.3: 16.7 % low.
    assert shift["cross_section_bias"] == pytest.approx(100 * 0.75 / 0.9 / 100 - 1)
    half = lambda r: (r["interval"][1] - r["interval"][0]) / 2  # noqa: E731
    expected = math.hypot(half(metrics.ratio(90, 100)), half(metrics.ratio(80, 100)))
    assert shift["efficiency"]["shift_err"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="cnn on data_like: no target metrics"):
        st.target_shifts(source, {"finder": "cnn", "sample": "data_like", "has_truth": False})


@pytest.fixture(scope="module")
def simulated_truth():
    branches = generate(PhysicsModel.nominal(), 3000, seed=12)
    truth = {k: np.asarray(branches[k]) for k in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z", "mc_targetZ")}
    truth["segments"] = geo.segment_of_z(truth["mc_vtx_z"])
    return truth


def test_shifts_of_finders_on_simulated_events(simulated_truth):
    truth = simulated_truth
    exact = metrics.evaluate(truth["segments"], truth)
    # A finder that puts half of target 1's events one segment downstream (into 6).
    worse = truth["segments"].copy()
    in_target1 = np.flatnonzero(worse == 1)
    worse[in_target1[::2]] = 6
    degraded = metrics.evaluate(worse, truth)
    unchanged = st.target_shifts(exact, exact)
    assert set(unchanged) == set(metrics.SELECTIONS)
    assert all(s["efficiency"]["shift"] == 0 and s["cross_section_bias"] in (0, None) for s in unchanged.values())
    shifted = st.target_shifts(exact, degraded, ["target1", "target2"])
    assert shifted["target1"]["efficiency"]["shift"] == pytest.approx(-0.5, abs=0.03)
    purity = shifted["target1"]["purity"]  # what is left in segment 1 is a random half of it
    assert abs(purity["shift"]) < 3 * purity["shift_err"]
    # Half the signal selected, corrected with the simulation's full efficiency: half the cross section.
    assert shifted["target1"]["cross_section_bias"] == pytest.approx(-0.5, abs=0.05)
    assert shifted["target2"]["efficiency"]["shift"] == 0


def test_bias_over_seeds_and_whether_adaptation_shrinks_it():
    def shifts(efficiency_shift):
        return {"target4": {"efficiency": {"shift": efficiency_shift}, "purity": {"shift": 0.0}, "cross_section_bias": 0.0}}

    cnn = {1: shifts(-0.04), 2: shifts(-0.05), 3: shifts(-0.03)}
    adapted = {1: shifts(-0.01), 2: shifts(0.02), 3: shifts(-0.03)}
    over_seeds = st.shifts_over_seeds(cnn)["target4"]["efficiency"]
    assert over_seeds["mean"] == pytest.approx(-0.04) and over_seeds["sem"] == pytest.approx(0.01 / math.sqrt(3))
    shrinkage = st.bias_shrinkage(cnn, adapted)["target4"]["efficiency"]
    assert shrinkage["differences"] == pytest.approx([-0.03, -0.03, 0.0])  # |adapted| - |cnn|
    assert shrinkage["mean"] == pytest.approx(-0.02)
