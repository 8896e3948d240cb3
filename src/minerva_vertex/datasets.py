"""Events of one split of a sample's HDF5 image files, as batches for training.

The files follow the image contract (:mod:`minerva_vertex.image_contract`). Labels are read only when asked for
(``labels=True`` for segments, ``"planecodes"`` for plane codes): a target domain's labels are
never opened during training.

Two ways to feed batches, chosen by size:

- :class:`InMemoryBatches` when the selected events fit the memory limit: every event read
  once (contiguous blocks, masked by split), held as tensors (on the GPU when it fits),
  batches drawn in a fresh random order each epoch;
- :class:`ChunkedBatches` otherwise: contiguous row ranges of the files read one at a time
  in a shuffled order, the next chunk read in a background thread while the model trains,
  events shuffled within a chunk.

Every random choice comes from a ``torch.Generator`` the caller seeds, so an epoch's order
is a function of (seed, epoch) alone.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import h5py
import hdf5plugin  # noqa: F401  (registers the compression filters the image files may use)
import numpy as np
import torch

from minerva_vertex.devices import data_device
from minerva_vertex.image_contract import (
    N_STRIPS,
    SPLIT_CODES,
    VIEW_DATASETS,
    VIEW_WIDTHS,
    ImageFileError,
    bytes_per_event,
    check_file,
    label_dataset,
)

READ_BLOCK = 2048  # rows read at once when loading into memory


@dataclass(frozen=True)
class Batch:
    """One batch: the three views (B, C, 127, W) and labels (None when unlabelled)."""

    x: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    labels: torch.Tensor | None

    def __len__(self) -> int:
        return self.x.shape[0]

    def views(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.x, self.u, self.v


@dataclass(frozen=True)
class FileSelection:
    """The rows of one image file that belong to a selection, in file order."""

    path: str
    rows: np.ndarray  # int64, ascending


def select_events(
    paths: Sequence[str | Path], split: str, channels: int = 1, labels: bool | str = False, max_events: int | None = None
) -> list[FileSelection]:
    """Rows of ``split`` in each file; with ``max_events``, the first rows of each file in
    proportion to its share, so every file is represented."""
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split '{split}' (known: {', '.join(SPLIT_CODES)})")
    per_file = []
    for path in paths:
        with h5py.File(path, "r") as h5:
            check_file(h5, str(path), channels, labels)
            per_file.append(np.flatnonzero(h5["split"][:] == SPLIT_CODES[split]).astype(np.int64))
    total = sum(len(rows) for rows in per_file)
    if max_events is not None and total > max_events:
        quotas = [len(rows) * max_events // total for rows in per_file]
        for i in range(max_events - sum(quotas)):  # the remainder, one each to the first files
            quotas[i % len(quotas)] += 1
        per_file = [rows[:quota] for rows, quota in zip(per_file, quotas)]
    return [FileSelection(str(path), rows) for path, rows in zip(paths, per_file)]


def n_selected(selection: Sequence[FileSelection]) -> int:
    return sum(len(s.rows) for s in selection)


def _read_rows(h5: h5py.File, start: int, stop: int, keep: np.ndarray, channels: int, labels: bool | str):
    """Views (and labels) of rows start..stop-1 of an open file, keeping the rows in ``keep``
    (positions relative to start). One contiguous read per dataset."""
    views = [np.ascontiguousarray(h5[name][start:stop, :channels][keep]) for name in VIEW_DATASETS]
    name = label_dataset(labels)
    y = h5[name][start:stop][keep].astype(np.int64) if name else None
    return views, y


def read_selection(
    selection: Sequence[FileSelection], channels: int, labels: bool | str, progress: bool = False
) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """All selected events as tensors: ([x, u, v], labels or None)."""
    from tqdm.auto import tqdm

    n = n_selected(selection)
    views = [torch.empty((n, channels, N_STRIPS, w), dtype=torch.float32) for w in VIEW_WIDTHS]
    y = torch.empty(n, dtype=torch.int64) if label_dataset(labels) else None
    filled = 0
    bar = tqdm(total=n, desc="reading images", unit="ev", disable=not progress, leave=False)
    for sel in selection:
        if len(sel.rows) == 0:
            continue
        with h5py.File(sel.path, "r") as h5:
            for start in range(0, int(sel.rows[-1]) + 1, READ_BLOCK):
                stop = min(start + READ_BLOCK, int(sel.rows[-1]) + 1)
                rows = sel.rows[(sel.rows >= start) & (sel.rows < stop)]
                if len(rows) == 0:
                    continue
                block, block_y = _read_rows(h5, start, stop, rows - start, channels, labels)
                k = len(rows)
                for target, values in zip(views, block):
                    target[filled : filled + k] = torch.from_numpy(values)
                if y is not None:
                    y[filled : filled + k] = torch.from_numpy(block_y)
                filled += k
                bar.update(k)
    bar.close()
    return views, y


class InMemoryBatches:
    """Batches of events held in memory, in a new random order each epoch."""

    def __init__(
        self,
        views: Sequence[torch.Tensor],
        labels: torch.Tensor | None,
        batch_size: int,
        device: torch.device | str = "cpu",
    ):
        self.views = [v.to(device) for v in views]
        self.labels = None if labels is None else labels.to(device)
        self.batch_size = batch_size
        self.device = torch.device(device)

    @property
    def n_events(self) -> int:
        return self.views[0].shape[0]

    def __len__(self) -> int:
        return math.ceil(self.n_events / self.batch_size)

    def _batch(self, index: torch.Tensor) -> Batch:
        x, u, v = (view.index_select(0, index) for view in self.views)
        y = None if self.labels is None else self.labels.index_select(0, index)
        return Batch(x, u, v, y)

    def epoch(self, generator: torch.Generator | None = None, shuffle: bool = True) -> Iterator[Batch]:
        """The epoch's batches; ``generator`` (CPU) fixes the order."""
        if shuffle:
            order = torch.randperm(self.n_events, generator=generator)
        else:
            order = torch.arange(self.n_events)
        order = order.to(self.device)
        for start in range(0, self.n_events, self.batch_size):
            yield self._batch(order[start : start + self.batch_size])


@dataclass(frozen=True)
class Chunk:
    path: str
    start: int  # first row read (contiguous range start..stop-1)
    stop: int
    keep: np.ndarray  # selected rows, relative to start


def make_chunks(selection: Sequence[FileSelection], chunk_events: int) -> list[Chunk]:
    """Contiguous row ranges holding about ``chunk_events`` selected events each."""
    chunks = []
    for sel in selection:
        for i in range(0, len(sel.rows), chunk_events):
            rows = sel.rows[i : i + chunk_events]
            start, stop = int(rows[0]), int(rows[-1]) + 1
            chunks.append(Chunk(sel.path, start, stop, rows - start))
    return chunks


class ChunkedBatches:
    """Batches read from disk chunk by chunk, for selections larger than memory allows.

    Chunks come in a shuffled order, events are shuffled within each chunk, and the next
    chunk is read in a background thread while the current one trains.
    """

    def __init__(
        self,
        selection: Sequence[FileSelection],
        channels: int,
        labels: bool | str,
        batch_size: int,
        chunk_events: int,
        device: torch.device | str = "cpu",
    ):
        self.chunks = make_chunks(selection, chunk_events)
        self.channels = channels
        self.labels = labels
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.n_events = n_selected(selection)

    def __len__(self) -> int:
        return math.ceil(self.n_events / self.batch_size)

    def _load(self, chunk: Chunk) -> InMemoryBatches:
        with h5py.File(chunk.path, "r") as h5:
            views, y = _read_rows(h5, chunk.start, chunk.stop, chunk.keep, self.channels, self.labels)
        tensors = [torch.from_numpy(v) for v in views]
        labels = None if y is None else torch.from_numpy(y)
        return InMemoryBatches(tensors, labels, self.batch_size, self.device)

    def epoch(self, generator: torch.Generator | None = None, shuffle: bool = True) -> Iterator[Batch]:
        order = torch.randperm(len(self.chunks), generator=generator).tolist() if shuffle else range(len(self.chunks))
        order = list(order)
        if not order:
            return
        carry: list[Batch] = []  # a chunk's last partial batch, completed by the next chunk
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._load, self.chunks[order[0]])
            for i in range(len(order)):
                data = pending.result()
                if i + 1 < len(order):
                    pending = pool.submit(self._load, self.chunks[order[i + 1]])
                for batch in data.epoch(generator, shuffle):
                    if carry or len(batch) < self.batch_size:
                        carry.append(batch)
                        merged = _concat(carry)
                        if len(merged) >= self.batch_size:
                            yield _take(merged, 0, self.batch_size)
                            rest = len(merged) - self.batch_size
                            carry = [_take(merged, self.batch_size, len(merged))] if rest else []
                        else:
                            carry = [merged]
                    else:
                        yield batch
        if carry:
            yield _concat(carry)


def _concat(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    views = [torch.cat([b.views()[i] for b in batches]) for i in range(3)]
    labels = None if batches[0].labels is None else torch.cat([b.labels for b in batches])
    return Batch(*views, labels)


def _take(batch: Batch, start: int, stop: int) -> Batch:
    labels = None if batch.labels is None else batch.labels[start:stop]
    return Batch(batch.x[start:stop], batch.u[start:stop], batch.v[start:stop], labels)


@dataclass(frozen=True)
class ReadOptions:
    """How a selection's events are read and batched: ``batch_size`` events a batch, held in
    memory when they fit ``memory_limit_mb`` (else read ``chunk_events`` at a time), kept on
    ``device`` (where the batches are used) when they take under half its free memory
    (:func:`devices.data_device`), else on the CPU; ``progress``: a bar while reading."""

    batch_size: int
    memory_limit_mb: float
    chunk_events: int
    device: torch.device | str = "cpu"
    progress: bool = False


def load_batches(
    paths: Sequence[str | Path], split: str, reading: ReadOptions, *, channels: int, labels: bool | str,
    max_events: int | None = None,
) -> InMemoryBatches | ChunkedBatches:
    """Batches of one split of a sample: in memory when they fit ``reading.memory_limit_mb``,
    else read chunk by chunk. Labels are read only when asked for: ``labels`` True or 'segments' reads the
    segments, 'planecodes' the plane codes, False none. Each file is opened and checked once here."""
    selection = select_events(paths, split, channels, labels, max_events)
    n = n_selected(selection)
    if n == 0:
        raise ImageFileError(f"no events of split '{split}' in {', '.join(map(str, paths))}")
    n_bytes = n * bytes_per_event(channels)
    device = data_device(torch.device(reading.device), n_bytes)
    if n_bytes <= reading.memory_limit_mb * 2**20:
        views, y = read_selection(selection, channels, labels, reading.progress)
        return InMemoryBatches(views, y, reading.batch_size, device)
    return ChunkedBatches(selection, channels, labels, reading.batch_size, reading.chunk_events, device)
