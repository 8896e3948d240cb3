"""The seed study: which networks it adds, how it reads their metrics, and that the
workflow trains them only when the study is asked for."""

import json

import numpy as np
import pytest
import yaml

from minerva_vertex import metrics, seed_study
from minerva_vertex.config_error import ConfigError
from minerva_vertex.geometry import N_SEGMENTS
from workflow_run import REPO, copy_checkout, snakemake

CONFIG = {
    "models": {
        "cnn": {"kind": "cnn", "train_sample": "sim", "seed": 1},
        "oracle": {"kind": "cnn", "train_sample": "data", "seed": 7},
        "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data", "init_from": "cnn", "seed": 1},
    },
    "seed_study": {"models": ["cnn", "oracle", "dann"], "seeds": [1, 2]},
}


def test_each_seed_adds_a_network_that_differs_only_in_its_seed():
    members = seed_study.members(CONFIG)
    assert [(m.base, m.seed, m.model) for m in members] == [
        ("cnn", 1, "cnn"), ("cnn", 2, "cnn_seed2"),
        ("oracle", 1, "oracle_seed1"), ("oracle", 2, "oracle_seed2"),
        ("dann", 1, "dann"), ("dann", 2, "dann_seed2"),
    ]
    added = seed_study.study_models(CONFIG)
    assert set(added) == {"cnn_seed2", "oracle_seed1", "oracle_seed2", "dann_seed2"}
    assert added["cnn_seed2"] == {**CONFIG["models"]["cnn"], "seed": 2}
    # A DANN fine-tuned from a studied CNN starts from the same seed's CNN.
    assert added["dann_seed2"]["init_from"] == "cnn_seed2"
    assert seed_study.model_entries(CONFIG).keys() == {*CONFIG["models"], *added}


def test_a_network_started_from_an_unstudied_model_keeps_its_start():
    config = {**CONFIG, "seed_study": {"models": ["dann"], "seeds": [3]}}
    assert seed_study.study_models(config)["dann_seed3"]["init_from"] == "cnn"


def test_the_study_names_configured_models_and_takes_no_configured_name():
    with pytest.raises(ConfigError, match=r"seed_study.models.*unknown model 'cnnn'"):
        seed_study.check({**CONFIG, "seed_study": {"models": ["cnnn"], "seeds": [2]}})
    taken = {**CONFIG, "models": {**CONFIG["models"], "cnn_seed2": CONFIG["models"]["cnn"]}}
    with pytest.raises(ConfigError, match=r"models.cnn_seed2.*seed study's for 'cnn'"):
        seed_study.check(taken)
    seed_study.check(CONFIG)


def segment_file(finder, sample, correct_per_100, matched_purity=None):
    """Metrics of a finder that puts ``correct_per_100`` of every 100 events of each segment
    in it and the rest in the next segment; a network's purity at tracking's efficiency is
    ``matched_purity`` in every target."""
    matrix = np.zeros((N_SEGMENTS, N_SEGMENTS), dtype=np.int64)
    for s in range(N_SEGMENTS):
        matrix[s, s] = correct_per_100
        matrix[s, (s + 1) % N_SEGMENTS] = 100 - correct_per_100
    out = {"finder": finder, "sample": sample, "segments": metrics.segment_metrics(matrix)}
    if matched_purity is not None:
        entry = {"tracking_efficiency": 0.8, "purity": {"value": matched_purity}}
        out["purity_at_tracking_efficiency"] = {f"target{t}": entry for t in range(1, 6)}
    return out


def study_metrics():
    files = [segment_file("tracking", "sim", 80), segment_file("tracking", "data", 80)]
    for model, correct, matched in (("cnn", 95, 0.97), ("cnn_seed2", 88, 0.79)):
        files += [segment_file(model, "sim", correct, matched), segment_file(model, "data", correct - 1)]
    return {(f["finder"], f["sample"]): f for f in files}


def test_the_table_gives_each_seed_its_accuracies_targets_and_the_spread():
    members = [seed_study.Member("cnn", 1, "cnn"), seed_study.Member("cnn", 2, "cnn_seed2")]
    document = seed_study.study_table(study_metrics(), members, {"cnn": "sim"}, max_miss_ratio=0.5)
    first, second = document["seeds"]
    assert first["seed"] == 1 and first["cnn_sim"] == pytest.approx(0.95) and first["cnn_data"] == pytest.approx(0.94)
    target = first["cnn"]["targets"]["target3"]
    # Misses 5 % against tracking's 20 %; purity 95 / (95 + 5) against 80 / (80 + 20).
    assert target["miss_ratio"] == pytest.approx(0.25) and target["purity"] == pytest.approx(0.95)
    assert target["tracking_purity"] == pytest.approx(0.8) and target["meets_goal"]
    assert first["cnn"]["meets_target_goal"] and not second["cnn"]["meets_target_goal"]  # 12 % / 20 % = 0.6
    assert second["cnn"]["segment_efficiency"] == {"0": pytest.approx(0.88), "9": pytest.approx(0.88)}
    summary = document["summary"]["cnn_sim"]
    assert summary["mean"] == pytest.approx(0.915) and summary["spread"] == pytest.approx(0.07)
    assert summary["sem"] == pytest.approx(np.std([0.95, 0.88], ddof=1) / np.sqrt(2))
    assert document["summary"]["cnn_meets_target_goal"] == 1
    # At tracking's efficiency: 0.97 against tracking's 0.80 (seed 1), 0.79 (seed 2).
    assert target["matched_purity"] == pytest.approx(0.97)
    assert document["summary"]["cnn_matched_purity_above_tracking"] == 1


def test_the_markdown_lists_every_seed_with_its_interval_and_the_goal():
    members = [seed_study.Member("cnn", 1, "cnn"), seed_study.Member("cnn", 2, "cnn_seed2")]
    document = seed_study.study_table(study_metrics(), members, {"cnn": "sim"})
    text = seed_study.markdown(document)
    lines = text.splitlines()
    assert "| seed | cnn_data | cnn_sim |" in lines
    assert any(line.startswith("| 2 | 87.0 ± ") for line in lines)
    assert "| mean ± s.e. | 90.50 ± 3.50 | 91.50 ± 3.50 |" in lines
    assert "| spread (max - min) | 7.00 | 7.00 |" in lines
    assert "Goal met in all five targets: 1 of 2 seeds." in text
    assert any(line.startswith("| 2 | sim 88.0 | 88.0 | 88.0 | 0.60 |") and line.endswith("| no |") for line in lines)
    assert "at least tracking's in all five targets in 1 of 2 seeds." in text
    assert "| 1 | +0.170 | +0.170 | +0.170 | +0.170 | +0.170 |" in lines
    assert "| 2 | -0.010 | -0.010 | -0.010 | -0.010 | -0.010 |" in lines


def test_the_purity_is_read_with_its_paired_interval():
    files = study_metrics()
    # Both seeds meet the misses goal here (misses 5 % against tracking's 20 %); seed 1's
    # purities fall short of tracking's. Target 1: by 0.006 with an interval reaching zero;
    # target 2: by 0.021 with an interval wholly below it.
    for model in ("cnn", "cnn_seed2"):
        files[(model, "sim")] = segment_file(model, "sim", 95, 0.97)
    first = files[("cnn", "sim")]
    intervals = {"target1": [-0.013, 0.001], "target2": [-0.030, -0.012]}
    for target in intervals:
        first["segments"]["purity"][int(target[-1])] = metrics.ratio(79, 100)  # tracking's: 0.80
    first["purity_difference_to_tracking"] = {f"target{t}": {"value": 0.01, "interval": [0.0, 0.02]} for t in range(1, 6)}
    first["purity_difference_to_tracking"].update({t: {"value": -0.01, "interval": i} for t, i in intervals.items()})
    files[("cnn_seed2", "sim")]["purity_difference_to_tracking"] = first["purity_difference_to_tracking"] | {"target1": None}
    members = [seed_study.Member("cnn", 1, "cnn"), seed_study.Member("cnn", 2, "cnn_seed2")]
    document = seed_study.study_table(files, members, {"cnn": "sim"})
    targets = document["seeds"][0]["cnn"]["targets"]
    assert targets["target1"]["purity_below_tracking"] is False and targets["target2"]["purity_below_tracking"] is True
    assert targets["target3"]["purity_difference_interval"] == [0.0, 0.02]
    assert not document["seeds"][0]["cnn"]["meets_target_goal"]
    assert document["seeds"][0]["cnn"]["meets_target_goal_within_intervals"] is False  # target 2
    # Seed 2's metrics lack an interval in target 1: no statistical reading of it.
    assert document["seeds"][1]["cnn"]["meets_target_goal_within_intervals"] is None
    assert document["summary"]["cnn_meets_target_goal_within_intervals"] is None
    text = seed_study.markdown(document)
    assert "| -0.010 (-0.013, +0.001) | -0.010 (-0.030, -0.012) | +0.150 (+0.000, +0.020) |" in text
    assert "more than its 68 % interval" not in text  # not every seed has the intervals
    # Without target 2's shortfall, seed 1 meets the goal within the intervals and not strictly.
    first["purity_difference_to_tracking"]["target2"]["interval"] = [-0.030, 0.004]
    files[("cnn_seed2", "sim")]["purity_difference_to_tracking"] = first["purity_difference_to_tracking"]
    document = seed_study.study_table(files, members, {"cnn": "sim"})
    assert document["seeds"][0]["cnn"]["meets_target_goal_within_intervals"] is True
    assert not document["seeds"][0]["cnn"]["meets_target_goal"]
    assert document["summary"]["cnn_meets_target_goal_within_intervals"] == 2
    assert "by more than its 68 % interval (and the misses as above): 2 of 2 seeds." in seed_study.markdown(document)


def test_a_model_whose_name_begins_with_another_keeps_its_own_columns():
    files = study_metrics()
    files.update({("cnn_ema", k[1]): {**v, "finder": "cnn_ema"} for k, v in files.items() if k[0] == "cnn_seed2"})
    members = [seed_study.Member("cnn", 1, "cnn"), seed_study.Member("cnn_ema", 1, "cnn_ema")]
    document = seed_study.study_table(files, members, {"cnn": "sim", "cnn_ema": "sim"})
    assert list(document["summary"])[:4] == ["cnn_data", "cnn_sim", "cnn_ema_data", "cnn_ema_sim"]
    lines = seed_study.markdown(document).splitlines()
    assert "| seed | cnn_data | cnn_sim | cnn_ema_data | cnn_ema_sim |" in lines
    row = next(line for line in lines if line.startswith("| 1 |"))
    assert row.count("±") == 4 and "± -" not in row


def test_the_files_are_written_from_metric_files(tmp_path):
    paths = []
    for (finder, sample), data in study_metrics().items():
        path = tmp_path / f"{finder}_{sample}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
    members = [seed_study.Member("cnn", 1, "cnn"), seed_study.Member("cnn", 2, "cnn_seed2")]
    seed_study.write_files(paths, members, {"cnn": "sim"}, 0.5, json_out=tmp_path / "s.json", markdown_out=tmp_path / "s.md")
    written = json.loads((tmp_path / "s.json").read_text())
    assert [entry["seed"] for entry in written["seeds"]] == [1, 2]
    assert (tmp_path / "s.md").read_text().startswith("# Seed study")


def train_jobs(work, *targets):
    done = snakemake("-n", *targets, "--configfile", "config/tiny.yaml", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    return [block for block in done.stdout.split("\n\n") if "rule train:" in block]


def test_the_study_trains_its_networks_only_when_asked(tmp_path):
    work = copy_checkout(tmp_path / "work")
    default = " ".join(train_jobs(work))
    assert "models/cnn/weights.pt" in default and "_seed" not in default
    study = " ".join(train_jobs(work, "seed_study"))
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["seed_study"]
    for model in config["models"]:
        for seed in config["seeds"][1:]:
            assert f"models/{model}_seed{seed}/weights.pt" in study
    assert "models/dann" not in study  # only what the study lists
