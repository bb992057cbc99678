"""The public API is explicit, sorted, importable, and documented."""

from __future__ import annotations

import subprocess
import sys

import judgecal


def test_all_is_sorted_and_importable() -> None:
    assert judgecal.__all__ == sorted(judgecal.__all__)
    for name in judgecal.__all__:
        obj = getattr(judgecal, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__, f"{name} has no docstring"
    assert set(dir(judgecal)) >= set(judgecal.__all__)


def test_import_is_light() -> None:
    code = (
        "import sys, judgecal; heavy = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'hypothesis', 'pandas')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""
