"""A team of people sharing a vault through a bare origin, each in their own clone.

Every person has an age identity (a key file outside any work tree) and a git
identity (name and e-mail in their clone's config). ``Team.clone(person)``
gives that person a clone of the bare origin with gitvault's drivers set up,
so ``git pull`` merges vault files with the real merge driver. Commands run
in-process through the real CLI entry point with the person's identity.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.helpers import Result, run_cli
from tests.team.conftest import Person, gitvault_on_path, make_person  # noqa: F401 - fixture

F = "secrets/app.yaml"
VALUES = {"db": {"password": "first-Password-1111", "port": 5432}, "api_token": "tok-Abc-123456"}
SECRET_TEXTS = ["first-Password-1111", "tok-Abc-123456"]
LATER = "2031-01-01T00:00:00Z"


def policy_text(people: dict[str, Person], emails: bool) -> str:
    lines = ["version: 1", "recipients:"]
    for name in ("alice", "bob", "carol"):
        p = people[name]
        if emails:
            lines += [f"  {name}:", f"    key: {p.public}", f"    email: {name}@example.invalid"]
        else:
            lines.append(f"  {name}: {p.public}")
    lines += ["rules:", '  - path: "secrets/**"', "    recipients: [alice, bob, carol]"]
    lines += ["    rotate_after: 90d", ""]
    return "\n".join(lines)


@dataclass
class Clone:
    """One person's clone of the origin."""

    root: Path
    person: Person

    def cli(self, *args: str, identity: bool = True) -> Result:
        env: dict[str, str | None] = dict(self.person.env) if identity else {}
        return run_cli(list(args), env=env, cwd=self.root)

    def ok(self, *args: str) -> Result:
        r = self.cli(*args)
        assert r.code == 0, r.output
        return r

    def git(
        self, *args: str, check: bool = True, later: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run git as this person; ``later`` dates the commit it makes in 2031."""
        env = dict(os.environ)
        env.update(self.person.env)
        if later:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = LATER
        return subprocess.run(
            ["git", *args], cwd=self.root, env=env, text=True, capture_output=True, check=check
        )

    def head(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", rev).stdout.strip()

    def commit_all(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def write(self, rel: str, values: dict[str, Any]) -> None:
        """Encrypt ``values`` into ``rel`` (plaintext only for the moment of encrypting)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        self.ok("encrypt", rel, "--in-place")

    def values(self, rel: str = F) -> dict[str, Any]:
        r = self.ok("decrypt", rel, "--format", "json")
        return json.loads(r.stdout)  # type: ignore[no-any-return]

    def verify(self, *args: str, identity: bool = True) -> tuple[int, dict[str, Any], Result]:
        extra = () if identity else ("--structure-only",)  # a key-less verify says so
        r = self.cli("verify", "--json", *extra, *args, identity=identity)
        assert r.code in (0, 1), r.output
        return r.code, json.loads(r.stdout), r

    def log(self, *args: str, identity: bool = True) -> dict[str, Any]:
        r = self.cli("log", "--json", *args, identity=identity)
        assert r.code == 0, r.output
        return json.loads(r.stdout)  # type: ignore[no-any-return]


@dataclass
class Team:
    origin: Path
    people: dict[str, Person]
    base: Path
    clones: dict[str, Clone] = field(default_factory=dict)

    def clone(self, name: str) -> Clone:
        person = self.people[name]
        root = self.base / f"{name}-clone"
        git(self.base, "clone", "-q", str(self.origin), str(root))
        git(root, "config", "user.name", name.capitalize())
        git(root, "config", "user.email", f"{name}@example.invalid")
        git(root, "config", "pull.rebase", "false")
        c = Clone(root, person)
        # The drivers live in the local git config: configure them as a second clone does.
        r = c.cli("init", "--no-hooks")
        assert r.code == 0, r.output
        c.git("checkout", "--", ".")  # only the local config matters here
        self.clones[name] = c
        return c


def make_team(base: Path, *, emails: bool) -> Team:
    keys = base / "keys"
    keys.mkdir()
    people = {n: make_person(keys, n) for n in ("alice", "bob", "carol", "dave", "mallory")}
    origin = base / "origin.git"
    git(base, "init", "-q", "--bare", str(origin))
    team = Team(origin, people, base)
    seed = base / "seed"
    seed.mkdir()
    git(seed, "init", "-q")
    git(seed, "config", "user.name", "Alice")
    git(seed, "config", "user.email", "alice@example.invalid")
    (seed / ".gitvault.yaml").write_text(policy_text(people, emails))
    first = Clone(seed, people["alice"])
    first.ok("init", "--no-hooks")
    first.write(F, VALUES)
    first.commit_all("first vault file")
    git(seed, "push", "-q", str(origin), "HEAD:main")
    return team


@pytest.fixture
def team(tmp_path: Path, gitvault_on_path: Path) -> Iterator[Team]:  # noqa: F811
    yield make_team(tmp_path, emails=False)


@pytest.fixture
def team_with_emails(tmp_path: Path, gitvault_on_path: Path) -> Iterator[Team]:  # noqa: F811
    yield make_team(tmp_path, emails=True)


def assert_no_values(*texts: str) -> None:
    for text in texts:
        for value in SECRET_TEXTS:
            assert value not in text, "a secret value leaked into the output"
