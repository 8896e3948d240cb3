"""Event displays of simulated files and of ROOT-6 files without truth."""


import numpy as np
import pytest
from matplotlib.image import imread

from minerva_vertex import geometry as geo
from minerva_vertex.plots.event_display import column_of_z, event_display, read_events
from minerva_vertex.simulation import PhysicsModel, simulate_file
from shared_files import FIXTURES, needs_fixtures

DATA_FIXTURE = FIXTURES / "root6_vectors_data.root"


def test_column_of_z_hits_each_plane_column():
    for view in geo.VIEWS:
        rows = geo.PLANES.view == view
        np.testing.assert_allclose(column_of_z(view, geo.PLANES.z[rows]), geo.PLANES.column[rows])


@pytest.mark.parametrize("truth", [True, pytest.param(False, marks=needs_fixtures)])
def test_event_display_png(tmp_path, truth):
    if truth:
        source = tmp_path / "part000.root"
        simulate_file(PhysicsModel.nominal(), 3, seed=1, part_index=0, path=source)
    else:
        source = DATA_FIXTURE
    events = read_events(source, 2)
    assert events.n_events == 2 and (events.truth is not None) == truth
    png = tmp_path / "display.png"
    event_display(source, png, n_events=1, cmap="magma", title="")  # one event: rendering is the slow part
    image = imread(png)
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
