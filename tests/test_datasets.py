"""Reading one split of a sample's image files, in memory or in chunks."""

import h5py
import numpy as np
import pytest
import torch

from image_fixtures import write_sample
from minerva_vertex import datasets

def in_memory(batch_size):
    return datasets.ReadOptions(batch_size=batch_size, memory_limit_mb=4096, chunk_events=4096)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("images"), 3, 40, seed=5)


def all_events(batches, generator=None):
    xs, ys = [], []
    for batch in batches.epoch(generator):
        xs.append(batch.x)
        ys.append(batch.labels)
    return torch.cat(xs), torch.cat(ys)


def test_in_memory_and_chunked_give_the_same_events(sample):
    memory = datasets.load_batches(sample, "train", in_memory(7), channels=1, labels=True)
    chunks = datasets.ReadOptions(batch_size=7, memory_limit_mb=0.001, chunk_events=10)
    chunked = datasets.load_batches(sample, "train", chunks, channels=1, labels=True)
    assert isinstance(memory, datasets.InMemoryBatches) and isinstance(chunked, datasets.ChunkedBatches)
    assert memory.n_events == chunked.n_events == 3 * 24 and len(memory) == len(chunked)
    sizes = [len(b) for b in chunked.epoch(torch.Generator().manual_seed(0))]
    assert sizes[:-1] == [7] * (len(sizes) - 1)  # full batches across chunk boundaries
    x_m, y_m = all_events(memory, torch.Generator().manual_seed(1))
    x_c, y_c = all_events(chunked, torch.Generator().manual_seed(2))
    key = lambda x: x.sum(dim=(1, 2, 3))  # noqa: E731
    order_m, order_c = torch.argsort(key(x_m)), torch.argsort(key(x_c))
    assert torch.equal(x_m[order_m], x_c[order_c])
    assert torch.equal(y_m[order_m], y_c[order_c])


def test_labels_match_the_file_and_split(sample):
    batches = datasets.load_batches(sample[:1], "validation", in_memory(100), channels=1, labels=True)
    x, y = all_events(batches)
    with h5py.File(sample[0]) as h5:
        rows = np.flatnonzero(h5["split"][:] == 1)
        order = torch.argsort(x.sum(dim=(1, 2, 3)))
        expected_x = torch.from_numpy(h5["hits-x"][:][rows])
        expected_order = torch.argsort(expected_x.sum(dim=(1, 2, 3)))
        assert torch.equal(y[order], torch.from_numpy(h5["segments"][:][rows].astype(np.int64))[expected_order])


def test_unlabelled_reading_never_needs_segments(tmp_path):
    files = write_sample(tmp_path, 1, 20, seed=3, has_truth=False)
    batches = datasets.load_batches(files, "train", in_memory(4), channels=1, labels=False)
    assert all(b.labels is None for b in batches.epoch())
    with pytest.raises(datasets.ImageFileError, match="part000.h5.*'segments' missing"):
        datasets.load_batches(files, "train", in_memory(4), channels=1, labels=True)


def test_channels_checked_against_file(sample):
    with pytest.raises(datasets.ImageFileError, match="part000.h5.*1 channel"):
        datasets.select_events(sample, "train", channels=2)


def test_max_events_takes_every_file_in_proportion(sample):
    selection = datasets.select_events(sample, "train", max_events=10)
    assert [len(s.rows) for s in selection] == [4, 3, 3]
    assert datasets.n_selected(selection) == 10


def test_epoch_order_depends_on_the_generator_only(sample):
    batches = datasets.load_batches(sample, "train", in_memory(8), channels=1, labels=True)
    first = [b.labels for b in batches.epoch(torch.Generator().manual_seed(4))]
    again = [b.labels for b in batches.epoch(torch.Generator().manual_seed(4))]
    other = [b.labels for b in batches.epoch(torch.Generator().manual_seed(5))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
