from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# fixture files and the script that made them on 0.1.0 are data, not tests
collect_ignore = ["fixtures"]


@pytest.fixture(autouse=True)
def _run_in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty directory: nothing a test writes lands in the repository."""
    monkeypatch.chdir(tmp_path)
