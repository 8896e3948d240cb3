"""A sample given as ROOT files written by ROOT itself goes through the workflow like a
simulated one: images, their summary and the track-based vertex, without labels."""

import json

import h5py
import hdf5plugin  # noqa: F401  (the images' LZ4 filter)
import numpy as np
import pytest
import yaml

from minerva_vertex import image_contract
from shared_files import FIXTURES, needs_fixtures
from workflow_run import REPO, snakemake_ok


@pytest.mark.slow
@needs_fixtures
def test_user_file_sample_converts_and_tracks(tmp_path):
    results = tmp_path / "results"
    config = {
        "results": str(results),
        "samples": {"root6_data": {"files": [str(FIXTURES / "root6_vectors_*data.root")]}},
    }
    configfile = tmp_path / "user.yaml"
    configfile.write_text(yaml.safe_dump(config))
    targets = [str(results / "images/root6_data/summary.json"), str(results / "tracking/root6_data.h5")]
    snakemake_ok(REPO, *targets, "--configfile", str(configfile))

    summary = json.loads((results / "images/root6_data/summary.json").read_text())
    assert summary["events_written"] == 100  # the fixture holds 100 data events
    with h5py.File(results / "images/root6_data/root6_vectors_data.h5") as images:
        assert not images.attrs["has_truth"] and "segments" not in images
        assert images["hits-x"].shape == (100, 1, 127, 50)
        test_ids = images["eventids"][:][images["split"][:] == image_contract.TEST_SPLIT]
    with h5py.File(results / "tracking/root6_data.h5") as vertices:
        np.testing.assert_array_equal(vertices["eventids"][:], test_ids)  # the test split, as scored
        found = vertices["segment"][:] >= 0
        assert found.mean() > 0.5  # most events have a track
