"""A team vault: three people with their own identities, a policy, a real repository.

``alice`` runs the commands (she can read everything); ``bob`` and ``carol``
are the people whose access changes. Each person's identity is an age key file
outside the work tree, passed through ``GITVAULT_AGE_KEY_FILE``. git runs the
drivers as ``gitvault …``: a wrapper on PATH runs *this* checkout with this
interpreter, so the drivers under test are the ones in the tree.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest

from tests.conftest import git
from tests.helpers import Result, run_cli

POLICY = """\
# team policy (comments must survive recipients add/remove)
version: 1
recipients:
  alice: {alice}   # the lead
  bob: {bob}
  carol: {carol}
groups:
  ops: [alice, bob]   # on call
rules:
  - path: "secrets/prod/**"
    recipients: [ops]
    keys:
      db.password: {{generate: "password:24"}}
  - path: "secrets/dev/**"
    recipients: [ops, carol]
    keys:
      api.token: {{generate: "token:dev_:20"}}
"""


@dataclass(frozen=True)
class Person:
    name: str
    public: str
    key_file: Path

    @property
    def env(self) -> dict[str, str]:
        return {"GITVAULT_AGE_KEY_FILE": str(self.key_file)}


@dataclass
class Team:
    root: Path
    alice: Person
    bob: Person
    carol: Person
    outsider: Person

    def cli(self, args: list[str], who: Person | None = None, **kw: object) -> Result:
        env: dict[str, str | None] = dict((who or self.alice).env)
        return run_cli(args, env=env, cwd=self.root, **kw)  # type: ignore[arg-type]

    def write(self, rel: str, text: str, who: Person | None = None) -> None:
        """Encrypt plaintext ``text`` into ``rel`` (never leaves plaintext behind)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        r = self.cli(["encrypt", str(path), "--in-place"], who)
        assert r.code == 0, r.output

    def decrypt(self, rel: str, who: Person | None = None, rev: str | None = None) -> Result:
        args = ["decrypt", str(self.root / rel), "--format", "json"]
        if rev:
            args += ["--rev", rev]
        return self.cli(args, who)

    def values(self, rel: str, who: Person | None = None) -> dict[str, object]:
        import json

        r = self.decrypt(rel, who)
        assert r.code == 0, r.output
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    def commit(self, message: str) -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message)
        return git(self.root, "rev-parse", "HEAD").stdout.strip()

    def git(
        self, *args: str, who: Person | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update((who or self.alice).env)
        return subprocess.run(
            ["git", *args], cwd=self.root, env=env, text=True, capture_output=True, check=check
        )


def make_person(directory: Path, name: str) -> Person:
    ident = pyrage.x25519.Identity.generate()
    path = directory / f"{name}.txt"
    path.write_text(f"# public key: {ident.to_public()}\n{ident}\n")
    path.chmod(0o600)
    return Person(name, str(ident.to_public()), path)


@pytest.fixture
def gitvault_on_path(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A ``gitvault`` executable on PATH that runs this checkout."""
    bin_dir = tmp_path_factory.mktemp("bin")
    script = bin_dir / "gitvault"
    root = Path(__file__).resolve().parents[2]
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH="{root}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m gitvault "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return script


@pytest.fixture
def team(repo: Path, tmp_path: Path, gitvault_on_path: Path) -> Team:
    keys = tmp_path / "keys"
    keys.mkdir()
    people = {n: make_person(keys, n) for n in ("alice", "bob", "carol", "outsider")}
    (repo / ".gitvault.yaml").write_text(POLICY.format(**{n: p.public for n, p in people.items()}))
    t = Team(repo, people["alice"], people["bob"], people["carol"], people["outsider"])
    r = t.cli(["init", "--no-hooks"])
    assert r.code == 0, r.output
    return t


def covered(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in (root / "secrets").rglob("*") if p.is_file()
    )


def all_work_tree_bytes(root: Path) -> Mapping[str, bytes]:
    """Every file in the work tree (outside .git), for plaintext searches."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def recipient_checks(team: Team) -> dict[str, tuple[str, str]]:
    """``verify``'s recipients and MAC verdict per file (other checks are not ours to test)."""
    import json

    r = team.cli(["verify", "--json"])
    assert r.code in (0, 1), r.output
    return {
        f["file"]: (f["checks"].get("recipients", "?"), f["checks"].get("mac", "?"))
        for f in json.loads(r.stdout)["files"]
    }


def verified(team: Team) -> bool:
    """True when every file's recipients match the policy and its MAC checks out."""
    return all(v == ("ok", "ok") for v in recipient_checks(team).values())
