"""Where every artefact of the workflow lives: one function per artefact.

Each function takes the results directory and the artefact's names. Called with its
defaults it returns the Snakemake pattern (``{sample}``, ``{part}``, ... left as
wildcards), which is what the rules use; called with names it returns one file, which is
what the package and the tests use. Nothing else in the project spells a results path, and
no code recovers a name by parsing one.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE, PART, MODEL, FINDER, COMPARISON = "{sample}", "{part}", "{model}", "{finder}", "{comparison}"


def results_dir(config: dict) -> Path:
    return Path(config["results"])


# --- simulation and images ---------------------------------------------------------------
def simulated_root(results, sample=SAMPLE, part=PART) -> str:
    return f"{results}/simulated/{sample}/{part}.root"


def event_display(results, sample=SAMPLE) -> str:
    return f"{results}/event_displays/{sample}.png"


def images(results, sample=SAMPLE, part=PART) -> str:
    return f"{results}/images/{sample}/{part}.h5"


def images_file_summary(results, sample=SAMPLE, part=PART) -> str:
    return f"{results}/images/{sample}/{part}.summary.json"


def images_summary(results, sample=SAMPLE) -> str:
    return f"{results}/images/{sample}/summary.json"


# --- tracking --------------------------------------------------------------------------
def track_vertices_part(results, sample=SAMPLE, part=PART) -> str:
    return f"{results}/tracking/{sample}/{part}.h5"


def track_vertices(results, sample=SAMPLE) -> str:
    return f"{results}/tracking/{sample}.h5"


def track_vertices_summary(results, sample=SAMPLE) -> str:
    return f"{results}/tracking/{sample}.summary.json"


# --- training and scoring ----------------------------------------------------------------
def model_file(results, name: str, model=MODEL) -> str:
    """One of a trained model's files: weights.pt, config.yaml, metrics.csv, training_curve.png,
    model.onnx."""
    return f"{results}/models/{model}/{name}"


MODEL_FILES = ("weights.pt", "config.yaml", "metrics.csv", "training_curve.png", "model.onnx")


def checkpoints(results, model=MODEL) -> str:
    """Resumable training state: outside every declared output, so a killed job keeps it."""
    return f"{results}/checkpoints/{model}"


def scores(results, model=MODEL, sample=SAMPLE, part=PART) -> str:
    return f"{results}/scores/{model}/{sample}/{part}.h5"


# --- metrics, tables and plots -----------------------------------------------------------
def metrics(results, finder=FINDER, sample=SAMPLE) -> str:
    return f"{results}/metrics/{finder}/{sample}.json"


def bias(results) -> str:
    return f"{results}/metrics/bias.json"


def summary(results, ext: str) -> str:
    return f"{results}/summary.{ext}"


def comparison_table(results, ext: str, comparison=COMPARISON) -> str:
    return f"{results}/comparisons/{comparison}.{ext}"


def plot_confusion(results, ext: str, finder=FINDER, sample=SAMPLE) -> str:
    return f"{results}/plots/confusion/{finder}/{sample}.{ext}"


def plot_comparison(results, kind: str, ext: str, comparison=COMPARISON) -> str:
    """``kind``: targets or segments."""
    return f"{results}/plots/comparisons/{comparison}/{kind}.{ext}"


def plot_distributions(results, ext: str, finder=FINDER) -> str:
    return f"{results}/plots/distributions/{finder}.{ext}"


def plot_accuracy_gap(results, ext: str) -> str:
    return f"{results}/plots/accuracy_gap.{ext}"


# --- systematic variations ---------------------------------------------------------------
QUANTITY = "{quantity}"
VARIATION_TABLES = {"shifts": "csv", "knobs": "csv", "totals": "csv", "summary": "md"}


def variations_table(results, name: str) -> str:
    """``shifts`` (every shift), ``knobs`` (each knob's systematic), ``totals`` (CSV) or
    ``summary`` (Markdown) of the variations."""
    return f"{results}/variations/{name}.{VARIATION_TABLES[name]}"


def seed_study(results, ext: str) -> str:
    return f"{results}/seed_study/seed_study.{ext}"


def domain_study(results, ext: str) -> str:
    """The domain study's table: ``json`` or ``md``."""
    return f"{results}/domain_study/domain_study.{ext}"


def plot_domain_scan(results, ext: str) -> str:
    return f"{results}/domain_study/scan.{ext}"


def plot_variations(results, ext: str, quantity=QUANTITY) -> str:
    """``quantity``: purity or efficiency."""
    return f"{results}/plots/variations/{quantity}.{ext}"


# --- records of each job -------------------------------------------------------------------
def log(results, rule: str, *names: str) -> str:
    """A job's log: logs/{rule}/{names...}.log (a rule without wildcards: logs/{rule}.log)."""
    return f"{results}/logs/{'/'.join((rule, *names))}.log"


def attempts_log(log_path: str) -> str:
    """Every attempt's log of a job that may run more than once (training resumes): Snakemake
    deletes the job's own log before each attempt, so the attempts are kept beside it."""
    return str(log_path).removesuffix(".log") + ".attempts.log"


def benchmark(results, rule: str, *names: str) -> str:
    """Snakemake's time and memory record of a job, beside the logs."""
    return f"{results}/benchmarks/{'/'.join((rule, *names))}.tsv"
