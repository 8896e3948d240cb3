"""The HEP look shared by every plot, and atomic saving (PNG for the report, PDF for papers).

The one place of the font size and resolution of every plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402

from minerva_vertex import safe_write  # noqa: E402

FINDER_COLOURS = {"tracking": "#7a7a7a"}
PALETTE = ("#3f90da", "#e42536", "#ffa90e", "#964a8b", "#92dadd", "#bd1f01", "#94a4a2", "#832db6")
SEGMENT_TICKS = list(range(11))
FONT_SIZE = 14  # points
DPI = 100  # pixels per inch of the saved PNG


def use_style() -> None:
    plt.style.use(mplhep.style.ROOT)
    plt.rcParams.update({"figure.dpi": DPI, "savefig.bbox": "tight", "font.size": FONT_SIZE})


def colour(finder: str, index: int) -> str:
    return FINDER_COLOURS.get(finder, PALETTE[index % len(PALETTE)])


def save(figure, *paths) -> None:
    """Write the figure to each path (format from the suffix) via a temporary name."""
    for path in paths:
        path = Path(path)
        safe_write.write_with(path, lambda tmp: figure.savefig(tmp, format=path.suffix.lstrip(".")))
    plt.close(figure)
