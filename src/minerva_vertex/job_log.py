"""One logging set-up for every rule's script.

``with job_log(snakemake.log[0]):`` sends log records, warnings and standard error
(progress bars) to the rule's log. If the body raises, the full traceback goes to the log
and the console gets one line, the error's own message (which names the file, branch or
entry at fault) and where the traceback is; the job then exits with status 1, so Snakemake
marks it failed. Standard error is restored before the log is closed, so nothing is lost.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def one_line(error: BaseException) -> str:
    message = " ".join(str(error).split()) or repr(error)
    return f"{type(error).__name__}: {message}"


@contextmanager
def job_log(path: str | Path, *, append: bool = False) -> Iterator[None]:
    """Route logging and stderr to ``path`` for the body (see the module docstring)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    console = sys.stderr
    with open(path, "a" if append else "w", buffering=1) as log:
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter(FORMAT))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
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
