"""ROOT output in the input-file contract: one TTree, flat C-style hit arrays.

Written with uproot's ``mktree`` (a TTree, not RNTuple), ZSTD-compressed. The hit branches
share one counter, ``n_hits``. The file appears only when complete: it is written under a
temporary name in the same directory and renamed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

HIT_PREFIX = "hit_"
HIT_COUNTER = "n_hits"


def write_root(path, branches: dict, tree: str = "minerva", compression=None) -> Path:
    """Write ``branches`` (flat numpy arrays and jagged ``hit_*`` awkward arrays, one entry
    per event) as TTree ``tree`` at ``path``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hits = {k[len(HIT_PREFIX):]: v for k, v in branches.items() if k.startswith(HIT_PREFIX)}
    flat = {k: np.asarray(v) for k, v in branches.items() if not k.startswith(HIT_PREFIX)}
    data = dict(flat)
    if hits:
        data["hit"] = ak.zip(hits)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with uproot.recreate(tmp, compression=compression or uproot.ZSTD(3)) as out:
            out.mktree(
                tree,
                {k: v.dtype if isinstance(v, np.ndarray) else v.type for k, v in data.items()},
                counter_name=lambda counted: HIT_COUNTER,
            )
            out[tree].extend(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
