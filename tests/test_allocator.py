"""The allocator setting that training and scoring make: freed blocks stay in the heap, so
that allocating the same sizes again faults no pages in. Each case runs in a fresh Python
process, because the setting is process-wide and lasts (this test process may already
have trained with it)."""

import platform
import subprocess
import sys

import pytest
from image_fixtures import write_source_and_target

from minerva_vertex import allocator, scoring, training

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Rounds of four 5 MB blocks allocated, written and freed, as a training step allocates a
# batch and its activations; the minor page faults of the last ten rounds are printed.
# glibc's default gives the heap's free top back to the system once it exceeds twice the
# largest mapped block freed so far (5 MB here), so every round faults its 20 MB in again.
# The blocks come from malloc itself: a tensor's aligned allocation leaves slack that small
# allocations fill, which makes the heap's layout, and the count, vary from run to run.
BLOCK_BYTES, BLOCKS_PER_ROUND = 5 << 20, 4
PAGES_PER_ROUND = BLOCKS_PER_ROUND * BLOCK_BYTES // 4096
ROUNDS = f"""
import ctypes, resource, sys
from minerva_vertex import allocator
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
BLOCK = {BLOCK_BYTES}
if sys.argv[1] == "kept":
    assert allocator.keep_freed_memory()
def one_round():
    blocks = [libc.malloc(BLOCK) for _ in range({BLOCKS_PER_ROUND})]
    for block in blocks:
        ctypes.memset(block, 1, BLOCK)
    for block in blocks:
        libc.free(block)
one_round(); one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    one_round()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    default, kept = page_faults("default"), page_faults("kept")
    # glibc's default gives the blocks back and faults them in again every round.
    assert default >= 9 * PAGES_PER_ROUND
    assert kept <= PAGES_PER_ROUND


def test_setting_is_reported_where_it_applies():
    assert allocator.keep_freed_memory() is GLIBC


def test_other_c_libraries_are_left_alone(monkeypatch):
    allocator._glibc.cache_clear()
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("musl", "1.2"))
    try:
        assert allocator.keep_freed_memory() is False
    finally:
        allocator._glibc.cache_clear()


def test_training_and_scoring_make_the_setting(tmp_path, monkeypatch):
    source, _ = write_source_and_target(tmp_path / "samples")
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append("set") or GLIBC)
    settings = training.TrainSettings.from_dict({"kind": "cnn", "train_sample": "source", "epochs": 1, "batch_size": 8})
    options = training.RunOptions.from_section({"progress": False})
    result = training.train(settings, source, checkpoint_dir=tmp_path / "checkpoints", options=options)
    assert calls == ["set"]
    scoring.score_file(result.model, source[0], tmp_path / "scores.h5", batch_size=8)
    assert calls == ["set", "set"]
