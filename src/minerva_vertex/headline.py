"""What `make run` prints at its end: the rows of results/summary.csv a physicist reads
first (each finder's accuracy on each sample) and where the report and tables are.

`python -m minerva_vertex.headline RESULTS_DIR [REPORT]`
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from minerva_vertex import paths


def accuracy_table(summary: pd.DataFrame) -> str:
    """Finders down, samples across, accuracy with its 68 % interval, as a Markdown table."""
    labelled = summary.dropna(subset=["accuracy"])
    samples = list(dict.fromkeys(labelled["sample"]))
    lines = ["| finder | " + " | ".join(samples) + " |", "|---|" + "---|" * len(samples)]
    for finder, rows in labelled.groupby("finder", sort=False):
        by_sample = {row.sample: f"{100 * row.accuracy:.1f} ± {100 * row.accuracy_err:.1f} %" for row in rows.itertuples()}
        lines.append(f"| {finder} | " + " | ".join(by_sample.get(sample, "-") for sample in samples) + " |")
    return "\n".join(lines)


def headline(results_dir: Path, report: Path | None = None) -> str:
    """The closing text of a run: the accuracy table and where everything is."""
    summary_csv = paths.summary(results_dir, "csv")
    if not Path(summary_csv).exists():
        raise FileNotFoundError(f"{summary_csv}: no summary yet; the run has not finished its metrics")
    text = ["Segment accuracy on each sample's test split (68 % intervals):", "", accuracy_table(pd.read_csv(summary_csv)), ""]
    text.append(f"All headline numbers: {paths.summary(results_dir, 'md')}")
    if report is not None:
        text.append(f"Report: {report} (unzip it and open report.html)")
    return "\n".join(text)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m minerva_vertex.headline RESULTS_DIR [REPORT]", file=sys.stderr)
        return 2
    try:
        print(headline(Path(argv[0]), Path(argv[1]) if len(argv) == 2 else None))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
