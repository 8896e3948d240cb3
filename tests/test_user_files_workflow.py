"""A sample given as ROOT files written by ROOT itself goes through the workflow like a
simulated one: images, their summary and the track-based vertex, without labels."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (the images' LZ4 filter)
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.mark.slow
@pytest.mark.skipif(not FIXTURES.is_dir(), reason="needs ../shared/fixtures")
def test_user_file_sample_converts_and_tracks(tmp_path):
    results = tmp_path / "results"
    config = {
        "results": str(results),
        "samples": {"root6_data": {"files": [str(FIXTURES / "root6_vectors_*data.root")]}},
    }
    configfile = tmp_path / "user.yaml"
    configfile.write_text(yaml.safe_dump(config))
    targets = [str(results / "images/root6_data/summary.json"), str(results / "tracking/root6_data.h5")]
    run = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), *targets, "--cores", "2", "--configfile", str(configfile)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    summary = json.loads((results / "images/root6_data/summary.json").read_text())
    assert summary["events_written"] == 100  # the fixture holds 100 data events
    with h5py.File(results / "images/root6_data/root6_vectors_data.h5") as images:
        assert not images.attrs["has_truth"] and "segments" not in images
        assert images["hits-x"].shape == (100, 1, 127, 50)
    with h5py.File(results / "tracking/root6_data.h5") as vertices:
        assert len(vertices["eventids"]) == 100
        found = vertices["segment"][:] >= 0
        assert found.mean() > 0.5  # most events have a track
