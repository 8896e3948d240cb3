"""Learning curve of the CNN: test accuracy against training events seen and CPU seconds.

    make learning-curve          # images of config/presets/learning_curve.yaml, then this
    python benchmarks/bench_learning_curve.py --images results/images/simulation \\
        --recipe default --recipe "b32:batch_size=32,lr_schedule=constant"

A recipe is the default config's ``models.cnn`` entry (config/config.yaml) with keys
replaced: ``NAME`` alone is that entry (``default``), ``NAME:key=value,...`` changes keys
(values in YAML: ``dropout=0.1``, ``max_train_events=null``), starting from random weights
(``init_from`` is dropped). Every recipe trains through
the pipeline's own ``training.train`` on the same events of the simulation's train split
(``--events`` replaces ``max_train_events`` where a recipe does not name it), and is scored every
``--every`` events on the same ``--test-events`` events of the test split. CPU seconds are
the training process's user + system time, scoring left out.

Prints a table per recipe and writes ``--csv`` and ``--plot`` (two panels: accuracy vs
events seen, vs CPU seconds; the 68 % Clopper-Pearson interval of each point).
"""

from __future__ import annotations

import argparse
import csv
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from minerva_vertex import datasets, metrics, training
from minerva_vertex.devices import Compute

REPO = Path(__file__).resolve().parents[1]


def parse_recipe(text: str, default_entries: dict[str, dict]) -> tuple[str, dict]:
    """``NAME[:key=value,...]`` to (name, model entry): the default config's entry of the
    recipe's kind (``cnn`` unless it says ``kind=dann``) with the keys changed."""
    name, _, changes = text.partition(":")
    replaced = {}
    for change in filter(None, changes.split(",")):
        key, sep, value = change.partition("=")
        if not sep:
            raise SystemExit(f"recipe '{text}': '{change}' is not key=value")
        replaced[key.strip()] = yaml.safe_load(value)
    entry = {**default_entries[replaced.get("kind", "cnn")], **replaced}
    entry["init_from"] = None  # a learning curve starts from random weights
    return name, entry


class Curve:
    """Scores the model on fixed test events every ``every`` training events."""

    def __init__(self, test_batches, compute: Compute, batch_size: int, every: int):
        self.test, self.compute, self.batch_size, self.every = test_batches, compute, batch_size, every
        self.rows: list[dict] = []
        self.scoring_cpu = self.scoring_wall = 0.0
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        self.next_point = every

    def __call__(self, steps: int, model) -> None:
        seen = steps * self.batch_size
        if seen >= self.next_point:
            self.next_point += self.every
            self.score(seen, model)

    def score(self, seen: int, model) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        logits, labels = training.predict_logits(model, self.test, self.compute)[:2]
        correct, n = int((logits.argmax(1) == labels).sum()), len(labels)
        lo, hi = metrics.clopper_pearson(correct, n)
        self.rows.append({
            "events_seen": seen,
            "cpu_seconds": cpu - self.cpu0 - self.scoring_cpu,
            "wall_seconds": wall - self.wall0 - self.scoring_wall,
            "test_accuracy": correct / n, "low": lo, "high": hi, "test_events": n,
        })
        self.scoring_cpu += time.process_time() - cpu
        self.scoring_wall += time.perf_counter() - wall
        row = self.rows[-1]
        print(f"  {seen:8d} events  {row['cpu_seconds']:8.0f} CPU s  {row['wall_seconds']:7.0f} s  "
              f"accuracy {correct / n:.4f} [{lo:.4f}, {hi:.4f}]", flush=True)


def run_recipe(name: str, entry: dict, files: list[str], target_files: list[str], args, options) -> list[dict]:
    settings = training.TrainSettings.from_dict(entry, name)
    compute = Compute.for_options(options)
    reading = datasets.ReadOptions(batch_size=512, memory_limit_mb=4096, chunk_events=4096)
    test = datasets.load_batches(files, "test", reading, channels=settings.channels, labels=True, max_events=args.test_events)
    print(f"{name}: {entry}", flush=True)
    curve = Curve(test, compute, settings.batch_size, args.every)
    with tempfile.TemporaryDirectory() as checkpoint_dir:
        target = target_files if settings.kind == "dann" else ()
        training.train(settings, files, target, checkpoint_dir=checkpoint_dir, options=options, hooks=training.Hooks(on_step=curve))
    return [{"recipe": name, **row} for row in curve.rows]


def plot(rows: list[dict], path: Path, marks: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minerva_vertex.plots.style import use_style

    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == recipe]
        acc = np.array([r["test_accuracy"] for r in mine])
        err = np.array([[r["test_accuracy"] - r["low"] for r in mine], [r["high"] - r["test_accuracy"] for r in mine]])
        for ax, key in zip(axes, ("events_seen", "cpu_seconds")):
            ax.errorbar([r[key] for r in mine], acc, yerr=err, marker="o", ms=3, capsize=2, label=recipe)
    for label, value in marks.items():
        axes[0].axvline(value, ls="--", color="grey")
        axes[0].annotate(label, (value, axes[0].get_ylim()[0]), rotation=90, va="bottom", ha="right", color="grey")
    axes[0].set_xlabel("training events seen")
    axes[1].set_xlabel("training CPU seconds (user + system)")
    axes[0].set_ylabel("test accuracy (simulation)")
    for ax in axes:
        ax.axhline(0.93, ls=":", color="black", lw=1)
        ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)  # at the shared style's resolution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default="results/images/simulation", help="directory of the sample's image files")
    parser.add_argument("--target-images", default="results/images/data_like", help="target sample of a dann recipe")
    parser.add_argument("--recipe", action="append", help="NAME[:key=value,...] (repeatable; default: default)")
    parser.add_argument("--events", type=int, default=None, help="training events of recipes that do not set max_train_events (default: the config's)")
    parser.add_argument("--every", type=int, default=4000, help="score every this many training events seen")
    parser.add_argument("--test-events", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--csv", default="benchmarks/output/learning_curve.csv")
    parser.add_argument("--plot", default="benchmarks/output/learning_curve.png")
    parser.add_argument("--mark", action="append", default=[], help="LABEL=EVENTS: a vertical line on the events axis")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    files = sorted(glob.glob(f"{args.images}/*.h5"))
    if not files:
        raise SystemExit(f"no image files in {args.images}: run `make learning-curve` or the pipeline first")
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    options = training.RunOptions.from_section({**config["training"], "device": args.device, "progress": False})
    default_entries = {"cnn": config["models"]["cnn"], "dann": config["models"]["dann"]}
    rows: list[dict] = []
    for text in args.recipe or ["default"]:
        name, entry = parse_recipe(text, default_entries)
        if args.events is not None and "max_train_events" not in text:
            entry["max_train_events"] = args.events
        rows += run_recipe(name, entry, files, sorted(glob.glob(f"{args.target_images}/*.h5")), args, options)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    marks = dict(m.split("=") for m in args.mark)
    plot(rows, Path(args.plot), {k: float(v) for k, v in marks.items()})
    print(f"wrote {args.csv} and {args.plot}")


if __name__ == "__main__":
    main()
