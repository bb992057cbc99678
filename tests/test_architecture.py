"""The rules of the house: import contracts, no cycles, no private names across packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "judgecal"


def test_import_contracts_hold() -> None:
    """The contracts in pyproject.toml: records never import calibration, no cycles, ..."""
    exe = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run(
        [str(exe), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private_imports(path: Path) -> list[str]:
    """``from judgecal.x import _name`` where x is outside the importer's own package."""
    importer = _module_name(path)
    own_package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if not node.module.startswith("judgecal"):
            continue
        for alias in node.names:
            private = alias.name.startswith("_") and not alias.name.startswith("__")
            inside = node.module == own_package or node.module.startswith(own_package + ".")
            if private and not inside:
                found.append(f"{importer}:{node.lineno} imports {alias.name} from {node.module}")
    return found


def test_no_private_name_is_used_across_packages() -> None:
    problems = [p for f in sorted(PACKAGE.rglob("*.py")) for p in _private_imports(f)]
    assert problems == []
