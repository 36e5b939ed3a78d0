"""Module boundaries: only gitvault/git imports pygit2, only gitvault/yamlio imports PyYAML,
only gitvault/cli imports click; the decrypt path does not import pygit2, jsonschema or click's
heavier neighbours beyond what it needs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gitvault

PACKAGE = Path(gitvault.__file__).parent
RULES = {"pygit2": "git", "yaml": "yamlio", "click": "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_owners_import_restricted_libraries() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        for lib, owner in RULES.items():
            if lib in _imports(path) and rel.parts[0] != owner:
                offenders.append(f"{rel} imports {lib}")
    assert offenders == []


# Not loaded by a plain decrypt (issue 15: start-up is most of a small decrypt):
# the CLI framework, the YAML library, the policy and its schema check, JSON,
# the key-command runner, the post-quantum code and cryptography's cipher catalogue.
LEAN_DECRYPT_ABSENT = (
    "pygit2",
    "jsonschema",
    "hyperscan",
    "yaml",
    "click",
    "json",
    "subprocess",
    "gitvault.policy",
    "gitvault.crypto.pq",
    "cryptography.hazmat.primitives.ciphers",
)


def test_textconv_imports_stay_lean(tmp_path: Path) -> None:
    """git runs textconv once per file in every diff: no click, PyYAML, policy or git library."""
    import pyrage

    from gitvault.sops.file import encrypt_new
    from gitvault.yamlio import load_documents

    ident = pyrage.x25519.Identity.generate()
    f = tmp_path / "s.yaml"
    f.write_bytes(encrypt_new(load_documents("a: 1\n"), [str(ident.to_public())]))
    absent = ("click", "yaml", "jsonschema", "pygit2", "gitvault.policy", "gitvault.export.github")
    code = (
        "import sys\n"
        "from gitvault.cli import main\n"
        f"try:\n    main(['textconv', {str(f)!r}])\nexcept SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"bad = [m for m in {absent!r} if m in sys.modules]\n"
        "sys.stderr.write('LOADED:' + ','.join(bad))\n"
    )
    env = {
        "GITVAULT_AGE_KEY": str(ident),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(PACKAGE.parent),
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.stdout.startswith("a: 1\n# gitvault: encrypted to")
    assert out.stderr.endswith("LOADED:")


def test_decrypt_imports_stay_lean(tmp_path: Path) -> None:
    """A real decrypt must not load pygit2, jsonschema or the scanner."""
    import pyrage

    from gitvault.sops.file import encrypt_new
    from gitvault.yamlio import load_documents

    ident = pyrage.x25519.Identity.generate()
    f = tmp_path / "s.yaml"
    f.write_bytes(encrypt_new(load_documents("a: 1\n"), [str(ident.to_public())]))
    # A policy next to the file must not pull jsonschema in on the decrypt path.
    (tmp_path / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  me: {ident.to_public()}\nrules:\n  - path: '**'\n    recipients: [me]\n"
    )
    code = (
        "import sys\n"
        "from gitvault.cli import main\n"
        f"try:\n    main(['decrypt', {str(f)!r}])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"bad = [m for m in {LEAN_DECRYPT_ABSENT!r} if m in sys.modules]\n"
        "sys.stderr.write('LOADED:' + ','.join(bad))\n"
    )
    env = {
        "GITVAULT_AGE_KEY": str(ident),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        # the same gitvault this test imported, not whichever one is installed
        "PYTHONPATH": str(PACKAGE.parent),
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,  # not inside this checkout's git directory (journal probe)
    )
    assert out.stdout == "a: 1\n"
    assert out.stderr.endswith("LOADED:")
