"""Systematic variations: the config section, the shifted samples and the shift arithmetic."""

import re

import h5py
import numpy as np
import pandas as pd
import pytest

from minerva_vertex import images, scoring, systematics, tracking_files, training, variations
from minerva_vertex import workflow_config as wc
from minerva_vertex.simulation import PhysicsModel, generate, simulate_file
from minerva_vertex.workflow_config import ConfigError
from evaluation_data import workflow_with_upstream, write_model
from shared_files import needs_fixtures
from workflow_run import planned_rules, snakemake_ok


def config_with(knobs, **section):
    return {
        "samples": {"simulation": {"simulate": {"model": "nominal", "events": 100, "files": 1, "seed": 11}}},
        "simulation": {"models": {"nominal": {"energy_scale": 1.0, "rock_muon_fraction": 0.02}}},
        "models": {"cnn": {"kind": "cnn", "train_sample": "simulation"}},
        "images": {"splits": {"train": 0.8, "validation": 0.1, "test": 0.1}},
        "variations": {"knobs": knobs, **section},
    }


ENERGY = {"energy_scale": {"sigma": 0.02, "source": "test"}}


# --- the config section ----------------------------------------------------------------------
def test_each_shift_is_a_sample_with_only_its_knob_moved():
    config = config_with({**ENERGY, "rock_muon_fraction": {"sigma": 0.01, "source": "t", "sigmas": [2]}})
    varied = variations.varied_samples(config)
    assert list(varied) == ["vary_nominal", "vary_energy_scale_up1", "vary_energy_scale_down1", "vary_rock_muon_fraction_up2"]
    nominal = varied["vary_nominal"].knobs
    assert nominal == PhysicsModel.from_config(config["simulation"]["models"]["nominal"]).to_dict()
    up = varied["vary_energy_scale_up1"]
    assert (up.knob, up.shift, up.value) == ("energy_scale", 1.0, pytest.approx(1.02))
    assert {k for k in nominal if nominal[k] != up.knobs[k]} == {"energy_scale"}
    assert varied["vary_rock_muon_fraction_up2"].value == pytest.approx(0.04)
    assert variations.sample_name("x", -0.5) == "vary_x_down0p5" and variations.sample_name("x", 0) == "vary_x_zero"


def test_a_varied_sample_is_simulated_like_a_configured_one_and_is_all_test_events():
    config = config_with(ENERGY, events=50, files=2, seed=33)
    wc.check_config(config)
    assert wc.sample_parts(config, "vary_energy_scale_down1") == ["part000", "part001"]
    job = wc.simulation_job(config, "vary_energy_scale_down1", "part001")
    assert job["model"]["energy_scale"] == pytest.approx(0.98) and job["events"] == 25 and job["seed"] == 33
    assert wc.images_settings(config, "vary_nominal")["splits"] == {"train": 0.0, "validation": 0.0, "test": 1.0}
    assert wc.images_settings(config, "simulation")["splits"]["train"] == 0.8


@pytest.mark.parametrize(
    "knobs, section, key, message",
    [
        ({"no_such_knob": {"sigma": 1, "source": "t"}}, {}, "variations.knobs.no_such_knob", "unknown knob 'no_such_knob'"),
        ({"energy_scale": {"sigma": 20, "source": "t"}}, {}, "variations.knobs.energy_scale", "outside its range"),
        ({"muon_only": {"sigma": 1, "source": "t"}}, {}, "variations.knobs.muon_only", "not a knob with a size"),
        (ENERGY, {"model": "other"}, "variations.model", "unknown model 'other'"),
        (ENERGY, {"seed": 11}, "variations.seed", "trains model 'cnn'"),
        (ENERGY, {"files": 500, "events": 100}, "variations.files", "more files than events"),
    ],
)
def test_the_config_rejects_a_bad_variation_naming_the_key(knobs, section, key, message):
    with pytest.raises(ConfigError, match=message) as error:
        wc.check_config(config_with(knobs, **section))
    assert error.value.key == key


def test_no_knobs_no_varied_samples():
    assert variations.varied_samples(config_with({})) == {}


# --- shifted samples through the stages ----------------------------------------------------------
def run_sample(tmp_path, name, knobs, model, n_events=160, seed=33):
    """A varied sample through simulation, images (every event a test event), tracking and scoring."""
    root = simulate_file(PhysicsModel.from_config(knobs), n_events, seed, 0, tmp_path / f"{name}.root")
    image = tmp_path / f"{name}.h5"
    images.convert_file(root, image, images.ImagesConfig.from_section({"splits": dict(variations.EVALUATION_SPLITS)}))
    vertices = tmp_path / f"{name}.vertices.h5"
    tracking_files.track_vertex_file(image, vertices)
    scores = tmp_path / f"{name}.scores.h5"
    scoring.score_file(model, image, scores, batch_size=64)
    return systematics.SampleInputs([str(image)], str(vertices), {"cnn": [str(scores)]})


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    directory = tmp_path_factory.mktemp("models") / "cnn"
    write_model(directory, "cnn")
    return training.load_model(directory / "weights.pt")


def test_a_zero_size_variation_gives_zero_shift_exactly(tmp_path, cnn):
    nominal = PhysicsModel.nominal().to_dict()
    inputs = {"nom": run_sample(tmp_path, "nom", nominal, cnn), "zero": run_sample(tmp_path, "zero", {**nominal, "energy_scale": 1.0 + 0 * 0.02}, cnn)}
    varied = {"nom": {"knob": None, "sigmas": 0.0, "value": None}, "zero": {"knob": "energy_scale", "sigmas": 0.0, "value": 1.0}}
    with h5py.File(inputs["nom"].images[0]) as a, h5py.File(inputs["zero"].images[0]) as b:
        assert np.array_equal(a["hits-x"][:], b["hits-x"][:]) and (a["split"][:] == 2).all()
    table = systematics.measure(varied, inputs, replicas=20)
    assert set(table["finder"]) == {"tracking", "cnn"} and (table["events"] == 160).all()
    assert (table["shift"].fillna(0) == 0).all() and (table["shift_err"].fillna(0) == 0).all()


def test_an_energy_scale_shift_scales_every_pixel_the_finders_see(tmp_path):
    nominal = PhysicsModel.nominal().to_dict()
    kwargs = dict(n_events=200, seed=5, first_event=0, stream=0)
    base = generate(PhysicsModel.from_config(nominal), **kwargs)
    up = generate(PhysicsModel.from_config({**nominal, "energy_scale": 1.05}), **kwargs)
    for name in ("mc_vtx_x", "mc_vtx_z", "mc_incomingE"):  # the same events
        np.testing.assert_array_equal(base[name], up[name])
    pixels = [images.hits_to_images({k: v for k, v in branches.items() if k.startswith("hit_")}) for branches in (base, up)]
    for view in ("x", "u", "v"):
        view_base, view_up = pixels[0][view], pixels[1][view]
        both = (view_base > 0) & (view_up > 0)
        ratio = view_up[both] / view_base[both]
        # Photostatistics and noise are drawn alike, so every strip's energy scales exactly ...
        np.testing.assert_allclose(ratio, 1.05, rtol=1e-5)
        # ... and strips just under threshold cross it: more pixels, none lost.
        assert (view_up > 0).sum() >= (view_base > 0).sum() and not ((view_base > 0) & (view_up == 0)).any()


# --- the arithmetic ------------------------------------------------------------------------------
def test_shifts_and_their_bootstrap_error_on_known_events():
    n = 400
    truth_segment = np.zeros(n, int)
    ids = np.arange(n, dtype=np.uint64)
    names = (("all", "accuracy"),)
    nominal = systematics.Figures(ids, (truth_segment == 0)[:, None], np.ones((n, 1), bool), names)
    flipped = np.ones(n + 1, bool)
    flipped[:40] = False  # 40 of 400 events change their answer: accuracy 1.0 -> 0.9
    # One more event than the nominal: only the events both hold count.
    shifted = systematics.Figures(np.arange(n + 1, dtype=np.uint64), flipped[:, None], np.ones((n + 1, 1), bool), names)
    row = systematics.shifts(nominal, shifted, systematics.bootstrap_weights(n, 400, seed=1)).iloc[0]
    assert row["events"] == n and row["nominal"] == 1.0 and row["shifted"] == pytest.approx(0.9) and row["shift"] == pytest.approx(-0.1)
    # Paired: the error is that of the 40 changed events, sqrt(p (1 - p) / n) = 0.015.
    assert row["shift_err"] == pytest.approx(0.015, rel=0.2)


def test_knob_systematics_and_the_quadrature_total_by_hand():
    rows = [
        # finder, knob, sigmas, nominal, shift, shift_err
        ("cnn", "a", 1.0, 0.8, 0.03, 0.01),
        ("cnn", "a", -1.0, 0.8, -0.01, 0.01),
        ("cnn", "b", 2.0, 0.8, 0.08, 0.02),  # two sigmas: 0.04 per sigma
        ("cnn", "b", -2.0, 0.8, -0.02, 0.02),
        ("tracking", "a", 1.0, 0.5, -0.005, 0.001),
        ("tracking", "a", -1.0, 0.5, 0.0, 0.001),
    ]
    table = pd.DataFrame(rows, columns=["finder", "knob", "sigmas", "nominal", "shift", "shift_err"])
    table["selection"], table["quantity"], table["nominal_denominator"] = "target1", "purity", 100
    per_knob = systematics.knob_systematics(table)
    cnn = per_knob[per_knob["finder"] == "cnn"].set_index("knob")
    assert cnn.loc["a", "systematic"] == pytest.approx(0.03) and cnn.loc["b", "systematic"] == pytest.approx(0.04)
    assert cnn.loc["b", "systematic_err"] == pytest.approx(0.01) and cnn.loc["a", "relative"] == pytest.approx(0.0375)
    total = systematics.totals(per_knob).set_index("finder")
    assert total.loc["cnn", "total"] == pytest.approx(0.05)  # sqrt(0.03^2 + 0.04^2)
    assert total.loc["cnn", "largest_knob"] == "b" and total.loc["cnn", "total_relative"] == pytest.approx(0.0625)
    assert total.loc["tracking", "total"] == pytest.approx(0.005)
    # sqrt((0.03 x 0.01)^2 + (0.04 x 0.01)^2) / 0.05: the knobs' statistical errors propagated.
    assert total.loc["cnn", "total_err"] == pytest.approx(0.01)
    # 80 of 100: the Clopper-Pearson 68 % half-width.
    assert total.loc["cnn", "statistical"] == pytest.approx(systematics.statistical_error(80, 100))
    # Less the noise: sqrt((0.03^2 - 0.01^2) + (0.04^2 - 0.01^2)); both knobs beyond 2 errors.
    assert total.loc["cnn", "total_excess"] == pytest.approx(np.sqrt(0.0023))
    assert total.loc["cnn", "resolved_knobs"] == 2
    # tracking: a shift of 5 errors; a knob within its noise alone would give an excess of 0.
    assert total.loc["tracking", "total_excess"] == pytest.approx(np.sqrt(0.005**2 - 0.001**2))
    head = systematics.summary(systematics.totals(per_knob)).set_index("finder")
    assert head.loc["cnn", "total_over_flat_1pc"] == pytest.approx(6.25)
    assert head.loc["cnn", "resolved_knobs"] == "2 of 2"


def test_a_total_of_pure_noise_has_no_excess():
    # Every knob within its error: the plain quadrature sum is not zero, the excess is.
    table = pd.DataFrame({"finder": "cnn", "knob": ["a", "b", "c"], "sigmas": 1.0, "nominal": 0.8,
                          "shift": [0.01, -0.012, 0.008], "shift_err": 0.012, "selection": "target1",
                          "quantity": "purity", "nominal_denominator": 100})
    total = systematics.totals(systematics.knob_systematics(table)).iloc[0]
    assert total["total"] == pytest.approx(np.sqrt(0.01**2 + 0.012**2 + 0.008**2))
    assert total["total_excess"] == 0.0 and total["resolved_knobs"] == 0


def test_the_variations_plot_shows_each_shift_relative_to_nominal(tmp_path):
    from matplotlib.colors import to_hex

    from minerva_vertex.plots import style
    from minerva_vertex.plots.variations import plot_variations

    rows = []
    for t, target in enumerate(systematics.HEADLINE_SELECTIONS):
        for finder, scale in (("tracking", 1.0), ("cnn", -2.0)):
            for sigmas in (1.0, -1.0):
                rows.append((finder, "energy_scale", sigmas, target, "purity", 0.8, scale * sigmas * 0.004 * (t + 1), 0.002))
                rows.append((finder, "energy_scale", sigmas, target, "efficiency", 0.5, 0.3, 0.01))  # not shown
    columns = ["finder", "knob", "sigmas", "selection", "quantity", "nominal", "shift", "shift_err"]
    figure = plot_variations(pd.DataFrame(rows, columns=columns), tmp_path / "v.png", tmp_path / "v.pdf",
                             quantity="purity", relative=True, flat_band=0.01)
    assert (tmp_path / "v.png").stat().st_size > 1000 and (tmp_path / "v.pdf").stat().st_size > 1000
    assert [ax.get_title() for ax in figure.axes] == [f"target {t}" for t in range(1, 6)]
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["energy_scale +1σ", "energy_scale -1σ"]
    for t, ax in enumerate(figure.axes):
        bars = {container.get_label(): container for container in ax.containers if hasattr(container, "patches")}
        assert list(bars) == ["tracking", "cnn"]
        for finder, scale in (("tracking", 1.0), ("cnn", -2.0)):
            # Per cent of the nominal purity: 100 x shift / 0.8, +1 sigma first.
            expected = [100 * scale * sigmas * 0.004 * (t + 1) / 0.8 for sigmas in (1.0, -1.0)]
            np.testing.assert_allclose([bar.get_width() for bar in bars[finder].patches], expected)
        assert {to_hex(bar.get_facecolor()) for bar in bars["tracking"].patches} == {style.FINDER_COLOURS["tracking"]}
        band = [patch for patch in ax.patches if patch.get_label() == "flat 1% (MINERvA)"]
        assert len(band) == 1 and band[0].get_x() == pytest.approx(-1.0) and band[0].get_width() == pytest.approx(2.0)
        assert ax.get_xlabel() == "purity shift (% of nominal)"


# --- through the workflow -------------------------------------------------------------------------
@pytest.mark.slow
@needs_fixtures
def test_snakemake_variations_builds_the_tables_and_reruns_only_what_changed(tmp_path):
    import yaml

    work = workflow_with_upstream(tmp_path)
    config_file = work / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["simulation"] = {"models": {"nominal": {}}}
    config["variations"] = {"events": 60, "knobs": {"energy_scale": {"sigma": 0.05, "source": "test"}}}
    config_file.write_text(yaml.safe_dump(config))
    snakemake_ok(work, "variations")
    results = work / "results"
    shifts = pd.read_csv(results / "variations" / "shifts.csv")
    assert set(shifts["finder"]) == {"tracking", "cnn", "dann"} and set(shifts["sigmas"]) == {1.0, -1.0}
    assert (shifts["events"] == 60).all()
    totals = pd.read_csv(results / "variations" / "totals.csv")
    assert set(totals["quantity"]) == {"efficiency", "purity", "accuracy"}
    assert "| finder | target | purity |" in (results / "variations" / "summary.md").read_text()
    assert (results / "plots" / "variations" / "purity.png").stat().st_size > 0
    assert not (results / "images" / "vary_nominal" / "summary.json").exists()  # only what the tables need

    # Adding a knob runs that knob's samples and the tables, nothing of the others.
    config["variations"]["knobs"]["rock_muon_fraction"] = {"sigma": 0.01, "source": "test"}
    config_file.write_text(yaml.safe_dump(config))
    dry = snakemake_ok(work, "-n", "variations")
    assert planned_rules(dry) == {"simulate", "images", "track_vertex", "gather_track_vertices", "score",
                                 "variation_shifts", "plot_variations", "variations"}
    assert set(re.findall(r"simulated/(vary_\w+)/part000.root", dry)) == {"vary_rock_muon_fraction_up1", "vary_rock_muon_fraction_down1"}
    snakemake_ok(work, "variations")

    # A plot's style reruns that plot alone.
    rules = work / "workflow" / "rules" / "variations.smk"
    rules.write_text(rules.read_text().replace("flat_band=0.01", "flat_band=0.02", 1))
    assert planned_rules(snakemake_ok(work, "-n", "variations")) == {"plot_variations", "variations"}
