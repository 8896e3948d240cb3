"""The manual: the configuration reference follows the schemas, the README is a front page
whose every link resolves, and the closing headline of a run reads the summary."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from minerva_vertex import config_reference, headline, paths

REPO = Path(__file__).resolve().parents[1]
# Keys under these paths are names the user chooses; the reference writes them as <name>.
NAMED_ENTRIES = ("samples", "models", "simulation.models", "comparisons.sets", "variations.knobs", "domain_study.target_samples")


def leaf_keys(tree, prefix=""):
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if prefix in NAMED_ENTRIES:
            path = f"{prefix}.<name>"
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, path)
        else:
            yield path


def test_configuration_reference_is_current():
    written = (REPO / "docs" / "configuration.md").read_text()
    assert written == config_reference.reference_markdown(), "run `make docs` to rewrite docs/configuration.md"


def test_reference_documents_every_key_of_the_default_config():
    reference = config_reference.reference_markdown()
    documented = set(re.findall(r"^\| `([^`]+)` \|", reference, flags=re.M))
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    missing = sorted(set(leaf_keys(config)) - documented)
    assert not missing
    assert "models.<name>.learning_rate" in documented


def test_reference_follows_refs_and_reports_required_enum_range_and_default(tmp_path):
    (tmp_path / "config.schema.yaml").write_text(
        yaml.safe_dump(
            {
                "type": "object",
                "required": ["stage"],
                "properties": {"stage": {"$ref": "stage.schema.yaml#/$defs/section"}},
            }
        )
    )
    (tmp_path / "stage.schema.yaml").write_text(
        yaml.safe_dump(
            {
                "$defs": {
                    "section": {
                        "type": "object",
                        "description": "One stage.",
                        "required": ["mode"],
                        "properties": {
                            "mode": {"enum": ["fast", "exact"], "description": "How | it runs."},
                            "steps": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
                            "parts": {"type": "object", "additionalProperties": {"$ref": "#/$defs/part"}},
                        },
                    },
                    "part": {"type": "object", "properties": {"size": {"type": "number", "default": 1.5}}},
                }
            }
        )
    )
    text = config_reference.reference_markdown(tmp_path)
    assert "## `stage`\n\n**Required.** One stage." in text
    assert "| `stage.mode` | `fast` \\| `exact` |  | **Required.** How \\| it runs. |" in text
    assert "| `stage.steps` | integer (≥ 1, ≤ 9) | `3` |  |" in text
    assert "| `stage.parts.<name>.size` | number | `1.5` |  |" in text


def readme_links():
    readme = (REPO / "README.md").read_text()
    return [target for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme) if not target.startswith("http")]


def test_readme_is_a_front_page_linking_every_manual_page():
    assert (REPO / "README.md").stat().st_size < 12 * 1024
    links = readme_links()
    assert all((REPO / link).exists() for link in links), links
    pages = {f"docs/{page.name}" for page in (REPO / "docs").glob("*.md")}
    assert pages <= set(links)


def test_manual_links_resolve():
    for page in (REPO / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name}: {target}"


def summary_frame():
    return pd.DataFrame(
        {
            "finder": ["cnn", "cnn", "tracking", "tracking"],
            "sample": ["simulation", "data_like", "simulation", "data_like"],
            "accuracy": [0.9377, 0.928, 0.848, None],
            "accuracy_err": [0.002, 0.0021, 0.003, None],
        }
    )


def test_headline_table_lists_each_finder_by_sample_with_its_interval():
    table = headline.accuracy_table(summary_frame()).splitlines()
    assert table[0] == "| finder | simulation | data_like |"
    assert table[2] == "| cnn | 93.8 ± 0.2 % | 92.8 ± 0.2 % |"
    assert table[3] == "| tracking | 84.8 ± 0.3 % | - |"


def test_headline_reads_the_run_summary_and_names_the_report(tmp_path):
    summary_frame().to_csv(paths.summary(tmp_path, "csv"), index=False)
    done = subprocess.run(
        [sys.executable, "-m", "minerva_vertex.headline", str(tmp_path), "results/report.zip"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "| cnn | 93.8 ± 0.2 % | 92.8 ± 0.2 % |" in done.stdout
    assert "Report: results/report.zip" in done.stdout


def test_headline_without_a_summary_says_the_run_has_not_finished(tmp_path):
    with pytest.raises(FileNotFoundError, match="summary.csv: no summary yet"):
        headline.headline(tmp_path)
