"""Atomic writes: whole or nothing, temporary files removed on failure, stale ones swept."""

import errno
import os
import subprocess
import sys

import pytest

from minerva_vertex import images, safe_write
from hit_files import make_events, write_hit_file


def dead_pid() -> int:
    """The process id of a process that has ended (as a killed job's)."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)


def test_a_failed_writer_leaves_neither_the_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out" / "result.json"
    with pytest.raises(ZeroDivisionError):
        with safe_write.atomic_output(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_full_disk_names_the_destination_and_its_cause(tmp_path):
    target = tmp_path / "weights.pt"

    def full(tmp):
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(safe_write.WriteError, match=f"could not write {target}: No space left"):
        safe_write.write_with(target, full)
    assert list(tmp_path.iterdir()) == []


def test_success_replaces_the_old_file_whole(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    safe_write.write_json(target, {"x": 1})
    assert target.read_text() == '{\n  "x": 1\n}\n' and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_temporaries_of_killed_jobs_are_swept_and_live_ones_kept(tmp_path):
    target = tmp_path / "part000.h5"
    stale = safe_write.temporary_path(target, dead_pid())
    stale.write_bytes(b"x" * 100)
    live = safe_write.temporary_path(target, os.getppid())  # a running process: another job
    live.write_bytes(b"y")
    other = safe_write.temporary_path(tmp_path / "part001.h5", dead_pid())
    other.write_bytes(b"z")
    safe_write.write_text(target, "done")
    assert not stale.exists() and live.exists() and other.exists()


def test_a_killed_conversion_leaves_nothing_for_the_next_one(tmp_path):
    source = write_hit_file(tmp_path / "f.root", make_events(5, seed=1))
    h5 = tmp_path / "images" / "f.h5"
    h5.parent.mkdir()
    leftover = safe_write.temporary_path(h5, dead_pid())
    leftover.write_bytes(b"half an image file")
    images.convert_file(source, h5)
    assert sorted(p.name for p in h5.parent.iterdir()) == ["f.h5"]
