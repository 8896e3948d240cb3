"""Reading MINERvA-style ROOT hit files: open, validate, remap branches, iterate in chunks.

The input contract (docs/your-files-and-clusters.md, reference MINERVA.md): one TTree per file
(default name ``minerva``), one entry per event; event identity ``run``, ``subrun``,
``gate``, ``slice``; per-hit lists ``hit_module``, ``hit_plane``, ``hit_view``,
``hit_strip``, ``hit_energy``, ``hit_time``; generator truth ``mc_*`` in simulation only.

Hit lists may be ``std::vector<T>`` branches (as ROOT writes them) or C-style arrays with
a counter branch (as uproot writes them); uproot interprets both as jagged arrays, and this
module checks that they are jagged, numeric and of the same length per event. The tree name
and every branch name can be remapped (config section ``input``), so the names used in
the rest of the package are always the contract names.

Every problem raises :class:`InputFileError`, whose message names the file, the branch and
the entry, and says what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import awkward as ak
import numpy as np
import uproot

from minerva_vertex import settings

ID_BRANCHES = ("run", "subrun", "gate", "slice")
HIT_INT_BRANCHES = ("hit_module", "hit_plane", "hit_view", "hit_strip")
HIT_FLOAT_BRANCHES = ("hit_energy", "hit_time")
HIT_BRANCHES = HIT_INT_BRANCHES + HIT_FLOAT_BRANCHES
TRUTH_FLOAT_BRANCHES = ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z", "mc_incomingE", "mc_Q2", "mc_w")
TRUTH_INT_BRANCHES = ("mc_targetZ", "mc_intType")
# The order of the contract table (MINERVA.md) and of the HDF5 group gen_data/.
TRUTH_BRANCHES = ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z", "mc_targetZ", "mc_intType", "mc_incomingE", "mc_Q2", "mc_w")
CONTRACT_BRANCHES = ID_BRANCHES + HIT_BRANCHES + TRUTH_BRANCHES
INTEGER_BRANCHES = frozenset(ID_BRANCHES + HIT_INT_BRANCHES + TRUTH_INT_BRANCHES)


# ROOT 6.34+ and uproot's mkrntuple write event data as an RNTuple, a format the reader does
# not take: named in the error instead of "no TTree".
RNTUPLE_CLASS = "ROOT::RNTuple"


class InputFileError(ValueError):
    """An input ROOT file that cannot be converted; the message names the file."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)


@dataclass(frozen=True)
class InputSpec:
    """Tree name and contract-name -> file-name branch mapping (config section ``input``)."""

    tree: str
    branches: Mapping[str, str]
    allow_empty_tree: bool

    @classmethod
    def from_section(cls, section: Mapping | None) -> InputSpec:
        """The config section ``input``, validated, the schema's defaults for what it leaves out."""
        return cls.from_filled(settings.section("input", section))

    @classmethod
    def from_filled(cls, section: Mapping) -> InputSpec:
        """The ``input`` section of a validated config, every default already filled in."""
        values = settings.filled("input", section, ("tree", "branches", "allow_empty_tree"))
        unknown = set(values["branches"]) - set(CONTRACT_BRANCHES)
        if unknown:
            raise ValueError(f"config key 'input.branches': unknown contract branch(es) {sorted(unknown)}")
        mapping = {name: name for name in CONTRACT_BRANCHES}
        mapping.update(values["branches"])
        return cls(tree=values["tree"], branches=mapping, allow_empty_tree=values["allow_empty_tree"])

    def label(self, name: str) -> str:
        """How a contract branch is called in messages: the file's name, and the contract's if remapped."""
        actual = self.branches[name]
        return f"'{actual}'" if actual == name else f"'{actual}' (contract '{name}')"


@dataclass
class HitChunk:
    """Events ``entry_start .. entry_start + n_events`` of one file, as numpy arrays.

    ``ids`` and ``truth``: one value per event; ``hits``: one value per hit, events one
    after another; ``counts``: hits per event.
    """

    entry_start: int
    ids: dict[str, np.ndarray]
    counts: np.ndarray
    hits: dict[str, np.ndarray]
    truth: dict[str, np.ndarray] | None

    @property
    def n_events(self) -> int:
        return len(self.counts)

    def entry_of_hit(self, hit_index: int) -> int:
        """File entry that holds the chunk's ``hit_index``-th hit (for messages)."""
        offsets = np.cumsum(self.counts)
        return self.entry_start + int(np.searchsorted(offsets, hit_index, side="right"))


def _describe(err: Exception) -> str:
    """An exception on one line, with its type."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def _numeric_kind(interpretation) -> tuple[bool, np.dtype | None]:
    """(is jagged, element dtype) of a branch interpretation; dtype None if not numeric."""
    if isinstance(interpretation, uproot.interpretation.jagged.AsJagged):
        content = interpretation.content
        dtype = getattr(content, "to_dtype", None)
        return True, (dtype if dtype is not None and dtype.shape == () else None)
    if isinstance(interpretation, uproot.interpretation.numerical.AsDtype):
        dtype = interpretation.to_dtype
        return False, (dtype if dtype.shape == () else None)
    return False, None


def jagged_parts(array) -> tuple[np.ndarray, np.ndarray]:
    """(counts per event, flat values) of a jagged array, read off its layout without copies
    where uproot gave the usual offsets + content (the generic awkward calls cost more than
    the reading itself on small chunks)."""
    layout = ak.to_layout(array)
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(layout.content, ak.contents.NumpyArray):
        offsets = np.asarray(layout.offsets.data)
        return np.diff(offsets), np.asarray(layout.content.data)[offsets[0] : offsets[-1]]
    return np.asarray(ak.num(array, axis=1)), np.asarray(ak.flatten(array, axis=1))


class HitFile:
    """An opened, validated hit file. Use as a context manager.

    ``has_truth``: True requires every ``mc_`` branch, False ignores them, None detects:
    all present means truth, none means real data, some is an error.
    """

    def __init__(self, path, spec: InputSpec | None = None, *, has_truth: bool | None = None, need_time=False):
        self.path = str(path)
        self.spec = spec or InputSpec.from_section({})
        self.need_time = need_time
        self._file = self._open()
        try:
            self.tree = self._tree()
            self.has_truth = self._check_branches(has_truth)
        except BaseException:
            self._file.close()
            raise

    # --- opening and validation --------------------------------------------------------
    def _open(self):
        if not os.path.exists(self.path):
            raise InputFileError(self.path, "file does not exist")
        if not os.path.isfile(self.path):
            raise InputFileError(self.path, "is not a regular file")
        if os.path.getsize(self.path) == 0:
            raise InputFileError(self.path, "file is empty (0 bytes); expected a ROOT file")
        with open(self.path, "rb") as handle:
            magic = handle.read(4)
        if magic != b"root":
            raise InputFileError(self.path, f"not a ROOT file (first bytes {magic!r}, expected b'root')")
        size = os.path.getsize(self.path)
        try:
            opened = uproot.open(self.path)
            end = int(opened.file.fEND)
        except Exception as err:  # uproot raises many kinds on damaged headers
            raise InputFileError(self.path, f"cannot open as ROOT ({_describe(err)}); truncated or corrupt?") from err
        if size < end:
            opened.close()
            raise InputFileError(self.path, f"truncated: {size} bytes, but its ROOT header says {end}")
        return opened

    def _tree(self):
        name = self.spec.tree
        try:
            classes = self._file.classnames()
        except Exception as err:
            raise InputFileError(
                self.path, f"cannot read the directory of keys ({_describe(err)}); truncated or corrupt?"
            ) from err
        trees = sorted({key.split(";")[0] for key, cls in classes.items() if cls in ("TTree", "TNtuple")})
        if name not in trees and RNTUPLE_CLASS in {cls for key, cls in classes.items() if key.split(";")[0] == name}:
            raise InputFileError(
                self.path,
                f"'{name}' is an RNTuple (what recent ROOT and uproot write by default), not a TTree: "
                "this pipeline reads TTrees; write the file as a TTree (uproot: mktree; ROOT: TTree)",
            )
        if name not in trees:
            found = ", ".join(trees) or "none"
            others = sorted(
                f"{key.split(';')[0]} ({cls})" for key, cls in classes.items() if cls not in ("TTree", "TNtuple")
            )
            other = f"; other objects: {', '.join(others)}" if others else ""
            raise InputFileError(self.path, f"no TTree '{name}' (TTrees in the file: {found}{other}); set input.tree")
        try:
            return self._file[name]
        except Exception as err:
            raise InputFileError(
                self.path, f"cannot read TTree '{name}' ({_describe(err)}); truncated or corrupt?"
            ) from err

    def _check_branches(self, has_truth: bool | None) -> bool:
        mapping, present = self.spec.branches, set(self.tree.keys())
        required = ID_BRANCHES + HIT_INT_BRANCHES + ("hit_energy",) + (("hit_time",) if self.need_time else ())
        missing = [name for name in required if mapping[name] not in present]
        if missing:
            labels = ", ".join(self.spec.label(n) for n in missing)
            raise InputFileError(
                self.path, f"TTree '{self.spec.tree}' has no branch {labels}; remap it under input.branches"
            )
        truth_present = [n for n in TRUTH_BRANCHES if mapping[n] in present]
        if has_truth is None:
            if truth_present and len(truth_present) < len(TRUTH_BRANCHES):
                lost = ", ".join(self.spec.label(n) for n in TRUTH_BRANCHES if n not in truth_present)
                raise InputFileError(self.path, f"has some mc_ truth branches but not {lost}: all or none expected")
            has_truth = bool(truth_present)
        elif has_truth and len(truth_present) < len(TRUTH_BRANCHES):
            lost = ", ".join(self.spec.label(n) for n in TRUTH_BRANCHES if n not in truth_present)
            raise InputFileError(self.path, f"the sample is configured with has_truth but the file lacks {lost}")
        for name in self.branch_names(has_truth):
            self._check_type(name)
        return has_truth

    def _check_type(self, name: str) -> None:
        branch = self.tree[self.spec.branches[name]]
        try:
            jagged, dtype = _numeric_kind(branch.interpretation)
        except Exception:
            jagged, dtype = False, None
        per_hit = name in HIT_BRANCHES
        want_kind = "integer" if name in INTEGER_BRANCHES else "floating-point"
        want = (
            f"{'a list per event (std::vector<T> or T[n])' if per_hit else 'one value per event'} of {want_kind} type"
        )
        kind_ok = dtype is not None and (dtype.kind in "iu" if name in INTEGER_BRANCHES else dtype.kind == "f")
        if jagged != per_hit or not kind_ok:
            raise InputFileError(
                self.path, f"branch {self.spec.label(name)} has type '{branch.typename}'; expected {want}"
            )

    def branch_names(self, has_truth: bool | None = None) -> tuple[str, ...]:
        """Contract names of the branches that are read."""
        has_truth = self.has_truth if has_truth is None else has_truth
        hits = HIT_BRANCHES if self.need_time else tuple(b for b in HIT_BRANCHES if b != "hit_time")
        return ID_BRANCHES + hits + (TRUTH_BRANCHES if has_truth else ())

    # --- reading -----------------------------------------------------------------------
    @property
    def num_entries(self) -> int:
        return int(self.tree.num_entries)

    def chunks(self, step: int) -> Iterator[HitChunk]:
        """Events in chunks of ``step``, validated for shape; memory stays bounded by ``step``."""
        names = self.branch_names()
        file_names = [self.spec.branches[n] for n in names]
        start = 0
        iterator = self.tree.iterate(file_names, step_size=int(step), library="ak", how=dict)
        while True:
            try:
                arrays = next(iterator)
            except StopIteration:
                return
            except Exception as err:
                stop = min(start + step, self.num_entries)
                raise InputFileError(
                    self.path,
                    f"cannot read entries {start}-{stop - 1} of TTree '{self.spec.tree}' "
                    f"({_describe(err)}); truncated or corrupt?",
                ) from err
            yield self._to_chunk(start, {n: arrays[self.spec.branches[n]] for n in names})
            start += len(arrays[file_names[0]])

    def _to_chunk(self, start: int, arrays: dict) -> HitChunk:
        counts, hits = None, {}
        for name in (n for n in HIT_BRANCHES if n in arrays):
            n, hits[name] = jagged_parts(arrays[name])
            if counts is None:
                counts = n
            elif not np.array_equal(n, counts):
                bad = int(np.flatnonzero(n != counts)[0])
                raise InputFileError(
                    self.path,
                    f"entry {start + bad}: branch {self.spec.label(name)} has {n[bad]} hits but "
                    f"{self.spec.label('hit_module')} has {counts[bad]}; hit lists must have equal lengths",
                )
        ids = {n: np.asarray(arrays[n]) for n in ID_BRANCHES}
        truth = {n: np.asarray(arrays[n]) for n in TRUTH_BRANCHES} if self.has_truth else None
        return HitChunk(start, ids, counts, hits, truth)

    # --- context manager ---------------------------------------------------------------
    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> HitFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
