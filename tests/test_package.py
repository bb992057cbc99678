"""The distribution: named ``judgecal-llm`` (import name ``judgecal``), with its data and licences.

The fast tests read the packaging configuration. ``.ci/run`` builds the sdist
and wheel and then runs this file again with ``JUDGECAL_WHEEL`` pointing at the
wheel, so the wheel's own file list is checked too.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "judgecal"
DATA = sorted(p.name for p in (PACKAGE / "data").iterdir() if p.is_file())
WHEEL = os.environ.get("JUDGECAL_WHEEL")


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_distribution_name_is_free_and_import_name_stays() -> None:
    project = pyproject()["project"]
    assert project["name"] == "judgecal-llm"  # "judgecal" on PyPI is an unrelated project
    assert project["scripts"]["judgecal"] == "judgecal.cli:main"
    assert pyproject()["tool"]["setuptools"]["packages"]["find"]["include"] == ["judgecal*"]


def test_package_data_covers_the_bundled_data() -> None:
    patterns = pyproject()["tool"]["setuptools"]["package-data"]["judgecal"]
    assert {"HANNA_LICENSE", "PANDALM_LICENSE", "hanna_long.csv"} <= set(DATA)
    for name in DATA:
        assert any(fnmatch.fnmatch(f"data/{name}", p) for p in patterns), name
    assert "py.typed" in patterns


def test_licence_files_cover_the_package_and_the_datasets() -> None:
    patterns = pyproject()["project"]["license-files"]
    licences = ["LICENSE"] + [f"judgecal/data/{n}" for n in DATA if n.endswith("_LICENSE")]
    assert (ROOT / "LICENSE").is_file()
    for path in licences:
        assert any(fnmatch.fnmatch(path, p) for p in patterns), path


def test_every_subpackage_has_an_init() -> None:
    """setuptools finds only folders with ``__init__.py``; a folder without one is left out."""
    for folder in PACKAGE.rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").is_file(), folder


@pytest.mark.skipif(not WHEEL, reason="set JUDGECAL_WHEEL to a built wheel (.ci/run does)")
def test_built_wheel_holds_code_data_and_licences() -> None:
    with zipfile.ZipFile(str(WHEEL)) as wheel:
        names = set(wheel.namelist())
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode("utf-8")
    assert "Name: judgecal-llm" in text
    for name in DATA:
        assert f"judgecal/data/{name}" in names
    assert "judgecal/py.typed" in names
    sources = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(sources - names) == []
    licences = {n.split("/licenses/", 1)[1] for n in names if "/licenses/" in n}
    assert {"LICENSE", "judgecal/data/HANNA_LICENSE", "judgecal/data/PANDALM_LICENSE"} <= licences
