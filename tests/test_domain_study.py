"""The domain study: its generated scan samples, the networks it trains, its table from
hand-made metrics, its scan plot, and (end to end, small) the workflow that builds it."""

import copy
import json

import numpy as np
import pytest
import yaml

from minerva_vertex import config_validation, domain_table
from minerva_vertex import domain_study as ds
from minerva_vertex.config_error import ConfigError
from minerva_vertex.plots import domain_scan
from workflow_run import REPO, copy_checkout, planned_rules, snakemake, snakemake_ok


@pytest.fixture(scope="module")
def config():
    """The default config, validated (every default filled, as the Snakefile does)."""
    loaded = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config_validation.validate_config(loaded)
    return loaded


def test_scan_samples_scale_every_knob_of_the_data_like_direction(config):
    models = config["simulation"]["models"]
    samples = ds.study_samples(config)
    assert list(samples) == ["no_fsi", "low_energy_beam", "scan_data_like_k2", "scan_data_like_k4", "scan_fsi_0p5"]
    for k in (2, 4):
        knobs = samples[f"scan_data_like_k{k}"]["knobs"]
        assert knobs["pion_absorption_probability"] == pytest.approx(0.20 + k * 0.04)
        assert knobs["neutron_response_scale"] == pytest.approx(1 - k * 0.2)
        assert knobs["time_resolution_ns"] == pytest.approx(3.0 + k * 0.4)
        assert knobs["birks_mm_per_mev"] == pytest.approx(0.0905 + k * 0.015)
        assert knobs["light_yield_pe_per_mev"] == models["nominal"]["light_yield_pe_per_mev"]  # same in both models
        nominal, data_like = ds._knobs(config, "nominal", "n"), ds._knobs(config, "data_like", "d")
        for knob, value in nominal.items():
            if isinstance(value, float):
                assert knobs[knob] == pytest.approx(value + k * (data_like[knob] - value)), knob
        entry = samples[f"scan_data_like_k{k}"]["entry"]["simulate"]
        assert entry == {"model": f"nominal + {k} x (data_like - nominal)", "events": 50000, "files": 1, "seed": 66}


def test_fsi_points_scale_nominals_final_state_interactions(config):
    knobs = ds.study_samples(config)["scan_fsi_0p5"]["knobs"]
    nominal = ds._knobs(config, "nominal", "n")
    assert knobs == {**nominal, "pion_absorption_probability": 0.10, "pion_charge_exchange_probability": 0.05,
                     "cascade_nucleons_per_event": 0.0}


def test_points_equal_to_a_sourced_domain_are_that_domain_and_beyond_is_marked(config):
    by_name = {d.name: d for d in ds.domains(config)}
    assert list(by_name) == ["data_like", "no_fsi", "low_energy_beam", "scan_data_like_k2", "scan_data_like_k4", "scan_fsi_0p5"]
    assert (by_name["data_like"].direction, by_name["data_like"].size) == ("data_like", 1.0)  # k = 1
    assert (by_name["no_fsi"].direction, by_name["no_fsi"].size) == ("fsi", 1.0)  # fraction 0
    assert by_name["low_energy_beam"].direction is None
    beyond = {name for name, d in by_name.items() if d.beyond_minerva_uncertainties}
    assert beyond == {"scan_data_like_k2", "scan_data_like_k4"}
    assert {d.training_fraction for d in by_name.values() if d.origin == "scan"} == {config["domain_study"]["scan"]["training_fraction"]}
    assert {d.training_fraction for d in by_name.values() if d.origin == "sourced"} == {1.0}


def test_a_knob_that_cannot_be_scaled_or_leaves_its_range_is_refused(config):
    far = copy.deepcopy(config)
    far["domain_study"]["scan"]["sizes"] = [6]  # neutron response 1 - 6 x 0.2 < 0
    with pytest.raises(ConfigError, match="neutron_response_scale"):
        ds.scan_points(far)
    switched = copy.deepcopy(config)
    switched["simulation"]["models"]["data_like"]["muon_only"] = True
    with pytest.raises(ConfigError, match="muon_only"):
        ds.scan_points(switched)


def test_networks_start_from_the_seeds_cnn_with_the_dann_recipe(config):
    rows = {(r["domain"], r["seed"], r["method"]): r for r in ds.networks(config)}
    dann = config["models"]["dann"]
    assert rows[("data_like", 1, "cnn")]["model"] == "cnn" and rows[("data_like", 1, "dann")]["model"] == "dann"
    assert rows[("no_fsi", 2, "cnn")]["model"] == "cnn_seed2"  # the seed study's name and entry
    control = rows[("no_fsi", 2, "control")]
    assert control["model"] == rows[("low_energy_beam", 2, "control")]["model"] == "control_seed2"  # shared
    expected = {k: v for k, v in dann.items() if k != "target_sample"}
    assert control["entry"] == {**expected, "kind": "finetune", "init_from": "cnn_seed2", "seed": 2}
    mcc = rows[("no_fsi", 3, "mcc")]["entry"]
    assert mcc == {**dann, "kind": "mcc", "target_sample": "no_fsi", "init_from": "cnn_seed3", "seed": 3}
    oracle = rows[("no_fsi", 3, "oracle")]["entry"]
    assert oracle["kind"] == "finetune" and oracle["train_sample"] == "no_fsi" and "target_sample" not in oracle
    scan = rows[("scan_fsi_0p5", 1, "dann")]
    fraction = config["domain_study"]["scan"]["training_fraction"]
    assert fraction < 1 and scan["entry"]["max_train_events"] == round(fraction * dann["max_train_events"])
    assert rows[("scan_fsi_0p5", 1, "control")]["model"] == "control_scan_seed1"
    assert rows[("scan_fsi_0p5", 1, "cnn")]["model"] == "cnn"  # one CNN for every domain


def test_scratch_oracles_are_the_cnn_trained_on_the_target(config):
    scratch = copy.deepcopy(config)
    scratch["domain_study"]["oracle"] = "scratch"
    rows = {(r["domain"], r["seed"], r["method"]): r for r in ds.networks(scratch)}
    assert rows[("no_fsi", 2, "oracle")]["entry"] == {**config["models"]["cnn"], "train_sample": "no_fsi", "seed": 2}


def test_the_default_study_fits_two_hours_on_two_cores_and_names_are_its_own(config):
    estimate = ds.estimate(config)
    assert estimate["total"] < 2 * 3600
    assert estimate["networks"] == 61  # 63 less the default run's CNN and DANN
    taken = copy.deepcopy(config)
    taken["models"]["control_seed1"] = {**config["models"]["cnn"]}
    with pytest.raises(ConfigError, match="models.control_seed1"):
        ds.check(taken)
    none = copy.deepcopy(config)
    none["domain_study"]["targets"] = []
    assert ds.networks(none) == [] and ds.study_samples(none) == {}


# --- the table, from hand-made metrics --------------------------------------------------------
SEEDS = (1, 2, 3)
DESIGN = {
    "source": "sim",
    "seeds": list(SEEDS),
    "domains": [
        {"name": "far", "sample": "far", "origin": "scan", "direction": "data_like", "size": 4.0,
         "beyond_minerva_uncertainties": True, "training_fraction": 0.5},
        {"name": "near", "sample": "near", "origin": "sourced", "direction": "data_like", "size": 1.0,
         "beyond_minerva_uncertainties": False, "training_fraction": 1.0},
    ],
    "networks": [
        {"domain": d, "seed": s, "method": m, "model": f"cnn_{s}" if m == "cnn" else f"{m}_{d}_{s}"}
        for d in ("far", "near") for s in SEEDS for m in ("cnn", "control", "oracle", "dann", "mcc")
    ],
}
# Target accuracies per seed: on "far" a clear 5-point gap that the DANN half closes; on
# "near" the oracle is within noise of the CNN (no gap).
TARGET = {
    "far": {"cnn": (0.85, 0.86, 0.87), "oracle": (0.90, 0.91, 0.92), "dann": (0.875, 0.885, 0.895),
            "mcc": (0.86, 0.87, 0.88), "control": (0.85, 0.86, 0.87)},
    "near": {"cnn": (0.90, 0.91, 0.92), "oracle": (0.90, 0.92, 0.92), "dann": (0.905, 0.915, 0.925),
             "mcc": (0.90, 0.91, 0.92), "control": (0.90, 0.91, 0.92)},
}


def metrics_file(accuracy, efficiency=0.9, purity=0.8):
    ratio = lambda v: {"value": v, "interval": [v - 0.01, v + 0.01]}  # noqa: E731
    selections = {t: {"efficiency": ratio(efficiency), "purity": ratio(purity)} for t in domain_table.NUCLEAR_TARGETS}
    return {"segments": {"accuracy": ratio(accuracy)}, "targets": {"selections": selections}}


def hand_made_metrics():
    files = {}
    for domain, methods in TARGET.items():
        for method, values in methods.items():
            for seed, value in zip(SEEDS, values):
                model = f"cnn_{seed}" if method == "cnn" else f"{method}_{domain}_{seed}"
                # The DANN's efficiency moves less than the CNN's from the source to the target.
                files[(model, domain)] = metrics_file(value, efficiency={"cnn": 0.85, "dann": 0.88}.get(method, 0.86))
                files[(model, "sim")] = metrics_file(0.95 - (0.002 if method == "dann" else 0))
    return files


def test_the_table_gives_drop_gap_share_and_no_gap(tmp_path):
    files = hand_made_metrics()
    document = domain_table.study_table(files, DESIGN, n_resamples=2000)
    far, near = document["domains"]
    assert far["drop"]["mean"] == pytest.approx(0.95 - 0.86) and far["drop"]["sem"] == pytest.approx(0.01 / 3**0.5)
    assert far["gap"]["mean"] == pytest.approx(0.05) and far["gap"]["open"]
    assert far["share"]["dann"]["share"] == pytest.approx(0.5) and far["share"]["dann"]["label"].startswith("50 %")
    assert far["share"]["control"]["share"] == pytest.approx(0.0)
    assert far["versus_control"]["dann"]["mean"] == pytest.approx(0.025)
    assert far["versus_cnn"]["mcc"]["mean"] == pytest.approx(0.01)
    assert near["gap"]["mean"] == pytest.approx(0.01 / 3) and not near["gap"]["open"]
    assert [near["share"][m]["label"] for m in domain_table.CLOSERS] == ["no gap"] * 3
    assert near["source_change"]["dann"]["mean"] == pytest.approx(-0.002)
    assert far["source_change"]["dann"]["mean"] == pytest.approx(-0.002)
    shift = near["target_shifts"]["dann"]["target4"]["efficiency"]["mean"]
    assert shift == pytest.approx(0.88 - 0.90)  # every network 0.90 on the source
    # |DANN's shift| 0.02 against |CNN's| 0.05: adaptation shrinks it by 3 points.
    assert near["shrinkage"]["dann"]["target4"]["efficiency"]["mean"] == pytest.approx(-0.03)
    text = domain_table.markdown(document, {"total": 6600, "networks": 61})
    assert "| far | scan | k = 4 | yes | scaled down: 50 % of the events |" in text
    assert "| near | sourced | k = 1 | no | full recipe |" in text and "no gap | no gap | no gap |" in text
    assert "Scaled-down trainings" in text and "110 min" in text


def test_the_scan_plot_has_the_gap_and_share_points(tmp_path):
    document = domain_table.study_table(hand_made_metrics(), DESIGN, n_resamples=2000)
    figure = domain_scan.plot_scan(document, tmp_path / "s.png", tmp_path / "s.pdf")
    assert (tmp_path / "s.png").stat().st_size > 1000 and (tmp_path / "s.pdf").exists()
    top, bottom = figure.axes[:2]
    gaps = [c for c in top.containers if c.get_label() == "oracle - CNN on the target"]
    xy = sorted(tuple(np.asarray(c.lines[0].get_data(), float).ravel()) for c in gaps)
    np.testing.assert_allclose(xy, [(1.0, 1 / 3), (4.0, 5.0)])  # points
    shares = {c.get_label(): np.asarray(c.lines[0].get_data(), float).ravel() for c in bottom.containers}
    assert shares["DANN"] == pytest.approx([4.0 - domain_scan.OFFSET, 50.0])  # only the point with a gap has one
    assert any(t.get_text() == "no gap" for t in bottom.texts)
    assert top.containers[0].lines[0].get_fillstyle() in ("none", "full")
    far_marker = [c for c in gaps if np.asarray(c.lines[0].get_data(), float)[0][0] == 4.0][0].lines[0]
    assert far_marker.get_fillstyle() == "none" and far_marker.get_marker() == "s"  # beyond, scaled down
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert "open: beyond MINERvA's uncertainties" in labels and any(l.startswith("square: scaled-down") for l in labels)


# --- the workflow ----------------------------------------------------------------------------
SMALL = {"domain_study": {"seeds": [1, 2], "targets": ["data_like"], "scan": {"sizes": [1, 2], "fsi_fractions": []}},
         "samples": {"simulation": {"simulate": {"files": 1}}, "data_like": {"simulate": {"files": 1}}}}


def test_the_study_is_its_own_target(tmp_path):
    work = copy_checkout(tmp_path / "work")
    default = snakemake("-n", "--configfile", "config/tiny.yaml", cwd=work)
    assert default.returncode == 0, default.stderr[-2000:]
    assert "_seed2" not in default.stdout and "scan_" not in default.stdout and "domain_study" not in default.stdout
    study = snakemake("-n", "domain_study", "--configfile", "config/tiny.yaml", cwd=work)
    assert study.returncode == 0, study.stderr[-2000:]
    assert "results/models/mcc_no_fsi_seed3/weights.pt" in study.stdout
    assert "results/simulated/scan_data_like_k4/part000.root" in study.stdout
    assert "rule untracked_metrics" in study.stdout and "track_vertices/scan_" not in study.stdout


@pytest.mark.slow
def test_a_small_study_runs_end_to_end(tmp_path):
    work = copy_checkout(tmp_path / "work")
    (work / "small.yaml").write_text(yaml.safe_dump(SMALL))
    args = ("domain_study", "--configfile", "config/tiny.yaml", "small.yaml")
    snakemake_ok(work, *args)
    document = json.loads((work / "results" / "domain_study" / "domain_study.json").read_text())
    assert [d["name"] for d in document["domains"]] == ["data_like", "scan_data_like_k2"]
    for row in document["domains"]:
        assert set(row["share"]) == {"dann", "mcc", "control"} and row["gap"]["n"] == 2
    assert (work / "results" / "domain_study" / "scan.png").stat().st_size > 1000
    assert "# Domain-adaptation study" in (work / "results" / "domain_study" / "domain_study.md").read_text()
    assert planned_rules(snakemake_ok(work, "-n", *args)) == set()
