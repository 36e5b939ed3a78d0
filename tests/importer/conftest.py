"""A vault repository (one identity, the default policy) and helpers to import into it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import git
from tests.helpers import Result, run_cli


@dataclass(frozen=True)
class Vault:
    root: Path
    key_file: Path
    public: str
    inputs: Path  # a folder outside the repository for source files

    def run(self, *args: str, input: str | None = None) -> Result:
        return run_cli(list(args), cwd=self.root, input=input)

    def decrypt(self, rel: str) -> object:
        r = self.run("decrypt", rel, "--format", "json")
        assert r.code == 0, r.output
        return json.loads(r.stdout)

    def files(self) -> dict[str, bytes]:
        """Every file of the work tree (not .git): to prove nothing was written."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                p = Path(dirpath, name)
                out[p.relative_to(self.root).as_posix()] = p.read_bytes()
            for d in dirnames:
                out[Path(dirpath, d).relative_to(self.root).as_posix() + "/"] = b""
        return out


@pytest.fixture
def vault(repo: Path, hermetic_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    r = run_cli(["keygen"])
    assert r.code == 0, r.output
    public = r.stdout.strip()
    key_file = hermetic_env / ".config" / "gitvault" / "keys.txt"
    r = run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo)
    assert r.code == 0, r.output
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    monkeypatch.chdir(repo)
    return Vault(repo, key_file, public, inputs)


def one_error_line(r: Result) -> str:
    """The run failed with exactly one ``gitvault: error:`` line (plus maybe a hint)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("gitvault: error: ")]
    assert len(errors) == 1, r.stderr
    assert all(ln.startswith(("gitvault: error: ", "gitvault: hint: ")) for ln in lines), r.stderr
    assert "Traceback" not in r.output
    return errors[0]
