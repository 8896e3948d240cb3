"""The train / validation / test split: stable, order-free, near the configured fractions."""

import h5py
import numpy as np
import pytest
from hit_files import VECTORS_SIM, make_events, write_hit_file
from shared_files import needs_fixtures

from minerva_vertex import images, splits
from minerva_vertex.images import writer


def test_mix64_is_splitmix64():
    # SplitMix64 from state 0: its first output is the finaliser of 0 + the golden gamma.
    assert int(splits.mix64(0)) == 0xE220A8397B1DCDAF


def test_split_depends_only_on_the_event_id():
    ids = writer.pack_eventids(np.full(5000, 12), np.arange(5000) // 100, np.arange(5000) % 100 + 1, np.ones(5000))
    split = splits.split_of(ids)
    order = np.random.default_rng(1).permutation(len(ids))
    np.testing.assert_array_equal(splits.split_of(ids[order]), split[order])
    pieces = np.concatenate([splits.split_of(part) for part in np.array_split(ids, 7)])
    np.testing.assert_array_equal(pieces, split)


def test_fractions_are_met_within_binomial_error():
    ids = writer.pack_eventids(
        np.full(100_000, 3), np.zeros(100_000), np.arange(100_000) % 10_000, np.arange(100_000) // 10_000
    )
    fractions = {"train": 0.7, "validation": 0.2, "test": 0.1}
    counts = np.bincount(splits.split_of(ids, fractions), minlength=3)
    for code, name in enumerate(splits.SPLIT_NAMES):
        p = fractions[name]
        assert abs(counts[code] - p * len(ids)) < 5 * np.sqrt(len(ids) * p * (1 - p))


def test_degenerate_fractions():
    ids = np.arange(1000, dtype=np.uint64)
    assert (splits.split_of(ids, {"train": 1.0, "validation": 0.0, "test": 0.0}) == 0).all()
    assert (splits.split_of(ids, {"train": 0.0, "validation": 0.0, "test": 1.0}) == 2).all()


@pytest.mark.parametrize(
    "fractions, message",
    [
        ({"train": 0.8, "validation": 0.1, "test": 0.2}, "sum to 1.1"),
        ({"train": 1.5, "validation": 0.0, "test": -0.5}, r"images.splits.train': 1.5 is not a fraction"),
        ({"train": 0.8, "valid": 0.2}, "unknown split"),
    ],
)
def test_bad_fractions_name_the_config_key(fractions, message):
    with pytest.raises(ValueError, match=message):
        splits.check_fractions(fractions)


def test_same_event_same_split_whatever_the_file_and_chunking(tmp_path):
    events = make_events(300, seed=2)
    whole = write_hit_file(tmp_path / "whole.root", events)
    # the same events reversed and cut into two files
    reverse = np.arange(299, -1, -1)
    halves = []
    for i, part in enumerate(np.array_split(reverse, 2)):
        subset = {k: (v[part] if k != "hits" else {f: a[part] for f, a in v.items()}) for k, v in events.items()}
        halves.append(write_hit_file(tmp_path / f"half{i}.root", subset))
    split_of = {}
    for path, chunk in [(whole, 64), (halves[0], 128), (halves[1], 1024)]:
        out = tmp_path / f"{path.stem}.h5"
        images.convert_file(path, out, images.ImagesConfig.from_section({"chunk_events": chunk}))
        with h5py.File(out) as f:
            for eventid, split in zip(f["eventids"][:], f["split"][:]):
                split_of.setdefault(int(eventid), set()).add(int(split))
    assert len(split_of) == 300
    assert all(len(s) == 1 for s in split_of.values())


@needs_fixtures
def test_fixture_splits_are_stable_across_runs(tmp_path):
    runs = []
    for name, chunk in (("a", 64), ("b", 256)):
        images.convert_file(VECTORS_SIM, tmp_path / f"{name}.h5", images.ImagesConfig.from_section({"chunk_events": chunk}))
        with h5py.File(tmp_path / f"{name}.h5") as f:
            runs.append(f["split"][:])
    np.testing.assert_array_equal(*runs)
    assert set(np.unique(runs[0])) == {0, 1, 2}
