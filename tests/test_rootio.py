"""Reading hit files: ROOT-6 vectors and uproot C arrays, remapping, and file-level bad input."""

import shutil

import awkward as ak
import numpy as np
import pytest
import uproot
from hit_files import CARRAYS_SIM, VECTORS_DATA, VECTORS_SIM, make_events, write_hit_file
from shared_files import needs_fixtures

from minerva_vertex import rootio
from minerva_vertex.rootio import HitFile, InputFileError, InputSpec


def read_all(path, step=64, **kwargs):
    with HitFile(path, **kwargs) as hit_file:
        return hit_file, list(hit_file.chunks(step))


@needs_fixtures
@pytest.mark.parametrize("path", [VECTORS_SIM, CARRAYS_SIM, VECTORS_DATA])
def test_chunks_match_a_direct_read_of_root6_fixtures(path):
    direct = uproot.open(path)["minerva"].arrays(library="ak")
    hit_file, chunks = read_all(path, step=64, need_time=True)
    assert [c.entry_start for c in chunks] == list(range(0, len(direct), 64))
    counts = np.concatenate([c.counts for c in chunks])
    np.testing.assert_array_equal(counts, ak.num(direct["hit_module"]))
    for name in rootio.HIT_BRANCHES:
        flat = np.concatenate([c.hits[name] for c in chunks])
        np.testing.assert_array_equal(flat, ak.flatten(direct[name]))
    np.testing.assert_array_equal(np.concatenate([c.ids["gate"] for c in chunks]), direct["gate"])
    assert hit_file.has_truth == (path != VECTORS_DATA)
    if hit_file.has_truth:
        z = np.concatenate([c.truth["mc_vtx_z"] for c in chunks])
        np.testing.assert_array_equal(z, direct["mc_vtx_z"])
    else:
        assert all(c.truth is None for c in chunks)


@needs_fixtures
def test_time_is_read_only_when_asked():
    _, chunks = read_all(CARRAYS_SIM)
    assert "hit_time" not in chunks[0].hits


def test_tree_and_branches_can_be_remapped(tmp_path):
    events = make_events(30, seed=1)
    renamed = {("ev_run" if k == "run" else k): v for k, v in events.items()}
    path = write_hit_file(tmp_path / "own.root", renamed, tree="nukecc", hit_prefix="h")
    spec = InputSpec.from_section(
        {
            "tree": "nukecc",
            "branches": {
                "run": "ev_run",
                **{f"hit_{f}": f"h_{f}" for f in ("module", "plane", "view", "strip", "energy", "time")},
            },
        }
    )
    _, chunks = read_all(path, spec=spec)
    np.testing.assert_array_equal(chunks[0].ids["run"], events["run"])
    np.testing.assert_array_equal(chunks[0].hits["hit_strip"], ak.flatten(events["hits"]["strip"]))


def test_unknown_branch_in_mapping_is_a_config_error():
    with pytest.raises(ValueError, match="input.branches.*hit_energie"):
        InputSpec.from_section({"branches": {"hit_energie": "e"}})


# --- file-level bad input ------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nothere\.root: file does not exist"):
        HitFile(tmp_path / "nothere.root")


def test_not_a_root_file(tmp_path):
    path = tmp_path / "notes.root"
    path.write_text("run,subrun\n1,2\n")
    with pytest.raises(InputFileError, match=r"notes\.root: not a ROOT file"):
        HitFile(path)


def test_an_empty_file_is_called_empty(tmp_path):
    path = tmp_path / "empty.root"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.root: file is empty \(0 bytes\)"):
        HitFile(path)


def test_an_rntuple_is_named_as_such_not_as_a_missing_tree(tmp_path):
    path = tmp_path / "rntuple.root"
    with uproot.recreate(path) as out:  # what uproot's and ROOT's newest writers make by default
        out.mkrntuple("minerva", {"run": np.arange(3, dtype=np.int32), "hit_energy": ak.Array([[1.0], [2.0, 3.0], []])})
    with pytest.raises(InputFileError, match=r"rntuple\.root: 'minerva' is an RNTuple .*not a TTree.*reads TTrees"):
        HitFile(path)


@needs_fixtures
@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.9])
def test_truncated_file_names_the_file(tmp_path, fraction):
    data = VECTORS_SIM.read_bytes()
    path = tmp_path / "truncated.root"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InputFileError, match=r"truncated\.root: .*truncated"):
        with HitFile(path) as hit_file:
            list(hit_file.chunks(64))


@needs_fixtures
def test_corrupt_baskets_name_the_file_and_entries(tmp_path):
    data = bytearray(VECTORS_SIM.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20000] = bytes(20000)  # same size, garbage inside
    path = tmp_path / "corrupt.root"
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match=r"corrupt\.root: cannot read entries \d+-\d+ of TTree 'minerva'"):
        with HitFile(path) as hit_file:
            list(hit_file.chunks(64))


def test_missing_tree_lists_the_trees(tmp_path):
    path = write_hit_file(tmp_path / "f.root", make_events(5), tree="events")
    with pytest.raises(InputFileError, match=r"no TTree 'minerva' \(TTrees in the file: events"):
        HitFile(path)


def test_missing_branch_is_named(tmp_path):
    events = make_events(5)
    del events["gate"]
    path = write_hit_file(tmp_path / "f.root", events)
    with pytest.raises(InputFileError, match=r"f\.root: TTree 'minerva' has no branch 'gate'"):
        HitFile(path)


@needs_fixtures
def test_missing_remapped_branch_names_both_names():
    spec = InputSpec.from_section({"branches": {"hit_energy": "pe_energy"}})
    with pytest.raises(InputFileError, match=r"'pe_energy' \(contract 'hit_energy'\)"):
        HitFile(VECTORS_SIM, spec)


def test_time_branch_required_only_for_the_time_channel(tmp_path):
    events = make_events(5)
    del events["hits"]["time"]
    path = write_hit_file(tmp_path / "f.root", events)
    HitFile(path).close()
    with pytest.raises(InputFileError, match="no branch 'hit_time'"):
        HitFile(path, need_time=True)


def test_float_strips_are_a_wrong_type(tmp_path):
    events = make_events(5)
    events["hits"]["strip"] = ak.values_astype(events["hits"]["strip"], np.float64)
    path = write_hit_file(tmp_path / "f.root", events)
    with pytest.raises(InputFileError, match=r"branch 'hit_strip' has type 'double\[\]'; expected .*integer"):
        HitFile(path)


def test_per_event_value_where_a_hit_list_is_expected(tmp_path):
    events = make_events(5)
    hits = events.pop("hits")
    events.update({f"hit_{name}": ak.to_numpy(ak.firsts(values)) for name, values in hits.items()})
    path = write_hit_file(tmp_path / "f.root", events)
    with pytest.raises(InputFileError, match=r"branch 'hit_module' has type 'int32_t'; expected a list per event"):
        HitFile(path)


def test_hit_lists_of_different_lengths(tmp_path):
    events = make_events(5)
    hits = events.pop("hits")
    energy = hits["energy"].to_list()
    energy[3] = energy[3][:-1]
    events.update({f"hit_{name}": values for name, values in hits.items()})
    events["hit_energy"] = ak.Array(energy)  # its own counter
    path = write_hit_file(tmp_path / "f.root", events)
    with HitFile(path) as hit_file:
        with pytest.raises(InputFileError, match=r"entry 3: branch 'hit_energy' has \d+ hits but 'hit_module' has"):
            list(hit_file.chunks(64))


@needs_fixtures
def test_truth_detection_and_configuration(tmp_path):
    with HitFile(VECTORS_SIM, has_truth=False) as hit_file:
        assert not hit_file.has_truth
        assert next(hit_file.chunks(64)).truth is None
    with pytest.raises(InputFileError, match="configured with has_truth but the file lacks 'mc_vtx_x'"):
        HitFile(VECTORS_DATA, has_truth=True)
    events = make_events(5)
    del events["mc_w"]
    path = write_hit_file(tmp_path / "partial.root", events)
    with pytest.raises(InputFileError, match="some mc_ truth branches but not 'mc_w'"):
        HitFile(path)


@needs_fixtures
def test_copy_of_fixture_reads_like_the_original(tmp_path):
    copy = shutil.copy(CARRAYS_SIM, tmp_path / "copy.root")
    _, a = read_all(copy)
    _, b = read_all(CARRAYS_SIM)
    np.testing.assert_array_equal(a[-1].hits["hit_energy"], b[-1].hits["hit_energy"])
