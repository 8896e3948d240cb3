"""The one way this package writes a file: whole, or not at all.

:func:`atomic_output` yields a temporary path in the destination's directory (so the final
rename never crosses a file system), flushes it to disk and renames it into place only when
the writer returned normally. On any failure the temporary file is removed and the error
names the destination. A temporary file left by a job that was killed (``SIGKILL`` skips
every cleanup) carries the dead job's process id; the next write to the same destination
removes it, so repeated failures cannot fill a disk.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"
# Failures of the writing itself (not of reading an input), reported with the destination.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG, errno.EIO}


class WriteError(OSError):
    """A destination that could not be written; names it and the cause."""


def temporary_path(path: Path, pid: int | None = None) -> Path:
    """``.{name}.{pid}.tmp`` beside ``path``: hidden, and never matched by a rule's output."""
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}{TEMPORARY_SUFFIX}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(path: Path) -> list[Path]:
    """Remove temporary files of ``path`` whose writing process no longer runs."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+){re.escape(TEMPORARY_SUFFIX)}$")
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        match = pattern.match(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_output(path: str | Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; ``path`` appears, complete, only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    tmp = temporary_path(path)
    try:
        yield tmp
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
    except OSError as error:
        if isinstance(error, WriteError) or error.errno not in WRITE_ERRNOS:
            raise
        raise WriteError(error.errno, f"could not write {path}: {error.strerror or error}") from error
    finally:
        tmp.unlink(missing_ok=True)


def write_with(path: str | Path, write: Callable[[Path], None], *, fsync: bool = True) -> None:
    """``write(temporary_path)`` then move into place (see :func:`atomic_output`)."""
    with atomic_output(path, fsync=fsync) as tmp:
        write(tmp)


def write_text(path: str | Path, text: str) -> None:
    write_with(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | Path, data) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def torch_save(obj, path: str | Path) -> None:
    """``torch.save`` through :func:`atomic_output` (checkpoints, weights)."""
    import torch

    write_with(path, lambda tmp: torch.save(obj, tmp))
