"""ROOT output in the input-file contract: one TTree, flat C-style hit arrays.

Written with uproot's ``mktree`` (a TTree, not RNTuple), ZSTD-compressed. The hit branches
share one counter, ``n_hits``. The file appears only when complete: it is written under a
temporary name in the same directory and renamed.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from minerva_vertex import safe_write

HIT_PREFIX = "hit_"
HIT_COUNTER = "n_hits"


def write_root(path, branches: dict, tree: str = "minerva", compression=None) -> Path:
    """Write ``branches`` (flat numpy arrays and jagged ``hit_*`` awkward arrays, one entry
    per event) as TTree ``tree`` at ``path``, atomically."""
    path = Path(path)
    hits = {k[len(HIT_PREFIX):]: v for k, v in branches.items() if k.startswith(HIT_PREFIX)}
    flat = {k: np.asarray(v) for k, v in branches.items() if not k.startswith(HIT_PREFIX)}
    data = dict(flat)
    if hits:
        data["hit"] = ak.zip(hits)
    with safe_write.atomic_output(path) as tmp:
        with uproot.recreate(tmp, compression=compression or uproot.ZSTD(3)) as out:
            out.mktree(
                tree,
                {k: v.dtype if isinstance(v, np.ndarray) else v.type for k, v in data.items()},
                counter_name=lambda counted: HIT_COUNTER,
            )
            out[tree].extend(data)
    return path
