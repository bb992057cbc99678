"""The docs site builds with ``mkdocs build --strict``: no broken link, no page left out.

The pages' own code still runs in tests/test_docs.py; here the site is built
(offline: no web fonts, no plugin that fetches) into a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"


def nav_pages(entries: Any) -> list[str]:
    """Every page file named in the nav, at any depth."""
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in nav_pages(value)]
    return []


def config() -> dict[str, Any]:
    # mkdocs.yml has no python tags, so the safe loader reads it
    return dict(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8")))


def test_every_page_is_in_the_nav() -> None:
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    listed = nav_pages(config()["nav"])
    missing = sorted(pages - set(listed))
    assert not missing, f"add these pages to the nav in mkdocs.yml: {missing}"
    assert sorted(set(listed) - pages) == [], "the nav names pages that do not exist"
    assert len(listed) == len(set(listed)), "a page is listed twice"


def public_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "judgecal").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            continue
        if "cli" in parts or any(part.startswith("_") for part in parts):
            continue
        modules.add(".".join(parts))
    return modules


def test_every_public_module_has_a_reference_entry() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in REFERENCE.glob("*.md"))
    documented = set(re.findall(r"^::: (judgecal[\w.]*)", text, re.M))
    missing = sorted(public_modules() - documented)
    assert not missing, f"add '::: module' lines to a page in docs/reference/: {missing}"


def test_site_builds_strict_and_offline(tmp_path: Path) -> None:
    settings = config()
    assert settings["theme"]["font"] is False  # no web fonts fetched at build or view time
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    site = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    reference = (site / "reference" / "report" / "index.html").read_text(encoding="utf-8")
    assert "build_report" in reference and "Parameters" in reference
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in home and "report-screenshot.png" in home


def test_strict_build_fails_on_a_broken_link(tmp_path: Path) -> None:
    """The check above can fail: a page linking to a missing page aborts the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](missing.md).\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\ntheme:\n  name: material\n  font: false\nnav:\n  - Home: index.md\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode != 0
    assert "missing.md" in done.stdout + done.stderr
