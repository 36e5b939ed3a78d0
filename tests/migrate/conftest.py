"""Generated repositories with hard-coded secrets, and a vault to migrate them into.

Each generated repository holds fresh random secrets (so no two runs share a
value) in the places audits find them: a committed ``.env`` that a later
commit removed (old history only), a YAML config, a JSON config, source code,
a side branch, and a tag that points at a commit no branch holds. Two
repositories share one value (a copied API key), to prove values are counted
once across repositories.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import run_cli

_ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def password(n: int) -> str:
    """A random password with letters, digits and a symbol (what the generic rules look for)."""
    body = rand(n - 4)
    return body[: n // 2] + rand(2, string.digits) + "-" + rand(1, "ABCDEFGH") + body[n // 2 :]


def git(cwd: Path, *args: str, days_ago: int = 0) -> str:
    env = dict(os.environ)
    if days_ago:
        stamp = f"@{1_700_000_000 - days_ago * 86400} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@dataclass
class Generated:
    """One user clone (or bare origin for URL sources) and the values planted in it."""

    name: str
    source: str  # what the user passes to `migrate find`
    path: Path  # the user's clone (or the bare repository behind a URL)
    values: dict[str, str] = field(default_factory=dict)  # label -> value
    first_commit: str = ""  # the commit that added the .env


def make_repo(base: Path, name: str, shared: str | None = None, *, url: bool = False) -> Generated:
    """A repository with secrets in .env (old), YAML, JSON, code, a side branch and a tag."""
    work = base / name
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    values = {
        "env_password": password(22),
        "env_aws": "AKIA" + rand(16, string.ascii_uppercase + "234567"),
        "yaml_stripe": "sk_live_" + rand(24),
        "json_github": "ghp_" + rand(36),
        "code_secret": password(26),
        "side_password": password(20),
        "tag_token": "sk_live_" + rand(28),
    }
    if shared is not None:
        values["shared_stripe"] = shared
    (work / "README.md").write_text(f"# {name}\n")
    (work / ".env").write_text(
        f"DB_PASSWORD={values['env_password']}\nAWS_ACCESS_KEY_ID={values['env_aws']}\n"
    )
    git(work, "add", "-A")
    git(work, "commit", "-qm", "initial import", days_ago=400)
    first = git(work, "rev-parse", "HEAD").strip()
    (work / "config").mkdir()
    (work / "config" / "settings.yaml").write_text(
        f"service: {name}\nstripe:\n  api_key: {values['yaml_stripe']}\n"
        + (f"billing:\n  stripe_key: {shared}\n" if shared else "")
    )
    (work / "config" / "app.json").write_text(
        json.dumps({"name": name, "github_token": values["json_github"]}, indent=2) + "\n"
    )
    git(work, "add", "-A")
    git(work, "commit", "-qm", "config", days_ago=300)
    (work / "src").mkdir()
    (work / "src" / "client.py").write_text(
        f'API_SECRET = "{values["code_secret"]}"\n\n\ndef connect():\n    return API_SECRET\n'
    )
    git(work, "add", "-A")
    git(work, "commit", "-qm", "client", days_ago=200)
    git(work, "rm", "-q", ".env")
    git(work, "commit", "-qm", "stop committing .env", days_ago=100)
    # A side branch with its own secret.
    git(work, "checkout", "-q", "-b", "feature/deploy")
    (work / "deploy.yaml").write_text(f"deploy:\n  password: {values['side_password']}\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "deploy config", days_ago=50)
    git(work, "checkout", "-q", "main")
    # A tag on a commit no branch holds.
    git(work, "checkout", "-q", "--detach")
    (work / "release.env").write_text(f"RELEASE_TOKEN={values['tag_token']}\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "release 1.0", days_ago=40)
    git(work, "tag", "-a", "v1.0", "-m", "release 1.0")
    git(work, "checkout", "-q", "main")
    if not url:
        return Generated(name, str(work), work, values, first)
    bare = base / f"{name}.git"
    git(base, "clone", "-q", "--mirror", str(work), str(bare))
    subprocess.run(["rm", "-rf", str(work)], check=True)
    return Generated(name, bare.as_uri(), bare, values, first)


@dataclass
class Env:
    """Everything a migration test needs: repositories, a vault, plan and work paths."""

    repos: list[Generated]
    vault: Path
    plan: Path
    workdir: Path
    recipients: dict[str, str]  # policy name -> age public key

    @property
    def values(self) -> dict[str, str]:
        """label -> value over all repositories (shared values once)."""
        out: dict[str, str] = {}
        for r in self.repos:
            for label, value in r.values.items():
                out[f"{r.name}/{label}"] = value
        return out

    @property
    def distinct(self) -> set[str]:
        return set(self.values.values())


def make_vault(base: Path, home: Path) -> tuple[Path, dict[str, str]]:
    """A vault repository whose policy has two readers: alice (us) and a CI key."""
    r = run_cli(["keygen"])
    assert r.code == 0, r.output
    alice = r.stdout.strip()
    r = run_cli(["keygen", "-o", str(base / "ci-key.txt")])
    assert r.code == 0, r.output
    ci = r.stdout.strip()
    vault = base / "vault"
    vault.mkdir()
    git(vault, "init", "-q", "-b", "main")
    (vault / ".gitvault.yaml").write_text(
        "version: 1\n"
        "recipients:\n"
        f"  alice:\n    key: {alice}\n"
        f"  ci:\n    key: {ci}\n"
        "rules:\n"
        '  - path: "secrets/**"\n'
        "    recipients: [alice, ci]\n"
        "    rotate_after: 365d\n"
    )
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "policy")
    return vault, {"alice": alice, "ci": ci}


@pytest.fixture
def migration(tmp_path: Path, hermetic_env: Path) -> Env:
    """12 repositories (2 behind file:// URLs), a vault, and paths outside them all."""
    repos_dir = tmp_path / "repos"
    repos_dir.mkdir()
    shared = "sk_live_" + rand(30)
    repos = [
        make_repo(
            repos_dir,
            f"svc{i:02d}",
            shared if i in (0, 1) else None,
            url=i in (10, 11),
        )
        for i in range(12)
    ]
    vault, recipients = make_vault(tmp_path, hermetic_env)
    return Env(repos, vault, tmp_path / "private" / "plan.json", tmp_path / "purge", recipients)


def snapshot(path: Path) -> tuple[str, str, str]:
    """Refs, HEAD and work-tree status of a user's clone (to prove it is untouched)."""
    refs = git(path, "for-each-ref", "--format=%(refname) %(objectname)")
    head = git(path, "rev-parse", "HEAD")
    bare = git(path, "rev-parse", "--is-bare-repository").strip() == "true"
    status = "" if bare else git(path, "status", "--porcelain", "--untracked-files=all")
    return refs, head, status
