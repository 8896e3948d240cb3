"""The workflow stays clean under Snakemake's own linter and formatter."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args):
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True)


def test_snakemake_lint_is_clean():
    result = run(str(BIN / "snakemake"), "--lint", "--cores", "1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean():
    files = ["Snakefile", *sorted(str(p.relative_to(REPO)) for p in (REPO / "workflow/rules").glob("*.smk"))]
    result = run(str(BIN / "snakefmt"), "--check", *files)
    assert result.returncode == 0, result.stdout + result.stderr
