"""Files of ../shared beside the checkout (the ROOT-6-written fixtures, the reference
tables), and the marks that skip a test naming what is missing when they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures"
REFERENCE = SHARED / "reference"

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"needs the ROOT-6-written fixtures in {FIXTURES} (../shared/fixtures)"
)
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"needs the reference tables in {REFERENCE} (../shared/reference)"
)
