"""A vault repository (gitvault keygen + init) whose identity the real sops can use too."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.compat.sopsenv import AgeKey, run_sops
from tests.conftest import git
from tests.helpers import run_cli


@dataclass(frozen=True)
class FormatVault:
    root: Path
    key: AgeKey  # the gitvault identity, usable as SOPS_AGE_KEY_FILE

    def path(self, name: str) -> Path:
        return self.root / "secrets" / name

    def sops(self, *args: str, check: bool = True, input: bytes | None = None) -> bytes:
        return run_sops(list(args), self.key, cwd=self.root, check=check, input=input).stdout

    def sops_encrypt(self, name: str, plain: bytes) -> Path:
        """Write ``plain`` to secrets/NAME and encrypt it in place with the real sops."""
        path = self.path(name)
        path.write_bytes(plain)
        enc = self.sops("encrypt", "--age", self.key.public, str(path))
        path.write_bytes(enc)
        return path

    def gv_encrypt(self, name: str, plain: bytes) -> Path:
        """Write ``plain`` to secrets/NAME and encrypt it in place with gitvault."""
        path = self.path(name)
        path.write_bytes(plain)
        r = run_cli(["encrypt", str(path), "--in-place"], cwd=self.root)
        assert r.code == 0, r.output
        return path

    def commit(self, message: str = "x") -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message, "--allow-empty")


@pytest.fixture
def fvault(repo: Path, hermetic_env: Path, monkeypatch: pytest.MonkeyPatch) -> FormatVault:
    r = run_cli(["keygen"])
    assert r.code == 0, r.output
    public = r.stdout.strip()
    key_file = hermetic_env / ".config" / "gitvault" / "keys.txt"
    secret = next(
        line for line in key_file.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
    )
    r = run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo)
    assert r.code == 0, r.output
    (repo / "secrets").mkdir()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    monkeypatch.chdir(repo)
    return FormatVault(repo, AgeKey(secret, public, key_file))


def script_editor(directory: Path, body: str, name: str = "editor.py") -> str:
    """An executable $EDITOR (sops and gitvault both run it) that runs ``body`` on ``path``."""
    script = directory / name
    script.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\npath = pathlib.Path(sys.argv[-1])\n{body}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return shlex.quote(str(script))


def changed_lines(before: bytes, after: bytes) -> list[str]:
    """The new text of every line that differs (same line count required: no reflow)."""
    a, b = before.decode().splitlines(), after.decode().splitlines()
    assert len(a) == len(b), f"line count changed: {len(a)} -> {len(b)}"
    return [y for x, y in zip(a, b, strict=True) if x != y]


def no_sops_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}


def gv_bytes(args: list[str], cwd: Path | None = None) -> tuple[int, bytes, str]:
    """Run ``gitvault ARGS`` in-process; (exit code, stdout bytes, stderr text)."""
    from click.testing import CliRunner

    from gitvault.cli import main

    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with runner.isolation() as (out, err, _):
            code = 0
            try:
                main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
            return code, out.getvalue(), err.getvalue().decode("utf-8", "replace")
    finally:
        os.chdir(old)
