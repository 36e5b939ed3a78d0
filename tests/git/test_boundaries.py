"""Only gitvault/git/ may import pygit2 (DESIGN: git behind one narrow module)."""

from __future__ import annotations

import ast
from pathlib import Path

import gitvault

PACKAGE = Path(gitvault.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_git_package_imports_pygit2() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "pygit2" in _imports(path) and path.relative_to(PACKAGE).parts[0] != "git"
    ]
    assert offenders == []


def test_trailers_and_package_init_do_not_import_pygit2() -> None:
    # Pure text functions stay importable without paying for libgit2.
    assert "pygit2" not in _imports(PACKAGE / "git" / "trailers.py")
    assert "pygit2" not in _imports(PACKAGE / "git" / "__init__.py")
    assert "pygit2" not in _imports(PACKAGE / "git" / "log.py")
