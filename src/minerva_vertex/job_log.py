"""One logging set-up for every rule's script.

``with job_log(snakemake.log[0]):`` sends log records, warnings and standard error
(progress bars) to the rule's log. Warnings of this package's loggers also reach the
console, one line each (``Warning: <message>``): a run that converts, trains or scores
something doubtful says so where the user looks, not only in a log. If the body raises,
the full traceback goes to the log and the console gets one line, the error's own message
(which names the file, branch or entry at fault) and where the traceback is; the job then
exits with status 1, so Snakemake marks it failed. Standard error is restored before the
log is closed, so nothing is lost.

Snakemake deletes a job's log before each attempt; ``attempts_path`` (a file Snakemake does
not know of) receives every attempt's log, one after another, each under a header line.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PACKAGE_LOGGER = "minerva_vertex"


def one_line(error: BaseException) -> str:
    message = " ".join(str(error).split()) or repr(error)
    return f"{type(error).__name__}: {message}"


class OneLineFormatter(logging.Formatter):
    """``Warning: <message>`` with the message's line breaks and runs of spaces collapsed."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.capitalize()}: {' '.join(record.getMessage().split())}"


@contextmanager
def console_warnings(stream=None) -> Iterator[None]:
    """Warnings and errors of this package's loggers on ``stream`` (standard error), one line each."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(OneLineFormatter())
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class _Tee:
    """A text stream that writes to several (the log and the log of every attempt)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False


def _open_log(stack: ExitStack, path: Path, attempts_path: str | Path | None):
    path.parent.mkdir(parents=True, exist_ok=True)
    log = stack.enter_context(open(path, "w", buffering=1))
    if attempts_path is None:
        return log
    attempts = stack.enter_context(open(attempts_path, "a", buffering=1))
    attempts.write(f"--- attempt started {time.strftime('%Y-%m-%d %H:%M:%S')} (its own log: {path}) ---\n")
    return _Tee(log, attempts)


@contextmanager
def job_log(path: str | Path, *, attempts_path: str | Path | None = None) -> Iterator[None]:
    """Route logging and stderr to ``path`` for the body (see the module docstring)."""
    path = Path(path)
    console = sys.stderr
    with ExitStack() as stack:
        log = _open_log(stack, path, attempts_path)
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter(FORMAT))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        stack.enter_context(console_warnings(console))
        sys.stderr = log
        try:
            yield
        except Exception as error:  # noqa: BLE001 (every error: traceback to the log, a line to the user)
            traceback.print_exc(file=log)
            sys.stderr = console
            print(f"Error: {one_line(error)}\n(full traceback in {path})", file=console)
            raise SystemExit(1) from None
        finally:
            sys.stderr = console
            logging.captureWarnings(False)
            root.removeHandler(handler)
