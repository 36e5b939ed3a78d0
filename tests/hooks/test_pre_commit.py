"""The pre-commit hook with real `git commit` in temporary repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitvault.hooks import run as hook_run
from gitvault.hooks import vaultlink
from gitvault.hooks.install import install_hooks
from tests.conftest import git
from tests.helpers import run_cli

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"


@pytest.fixture
def hooked(repo: Path) -> Path:
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "root")
    install_hooks(repo)
    return repo


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def commit(repo: Path, *paths: str, args: tuple[str, ...] = ()):
    git(repo, "add", *paths)
    return git(repo, "commit", "-qm", "change", *args, check=False)


def test_blocks_an_added_secret_line(hooked: Path) -> None:
    before = head(hooked)
    (hooked / "config.py").write_text(f"DEBUG = True\nGITHUB_TOKEN = '{TOKEN}'\n")
    proc = commit(hooked, "config.py")
    assert proc.returncode == 1
    assert head(hooked) == before  # the commit does not exist
    assert "gitvault: blocked: config.py:2: github-pat" in proc.stderr
    assert "gitvault set" in proc.stderr and "gitvault:allow" in proc.stderr
    assert "git commit --no-verify" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("path", "what"),
    [
        (".env", "dotenv file"),
        ("deploy/.env.production", "dotenv file"),
        ("keys/id_ed25519", "private key file"),
        ("secrets/app.dec.yaml", "decrypted copy"),
        ("ops/sops/age/keys.txt", "age identity file"),
    ],
)
def test_blocks_plaintext_files_by_name(hooked: Path, path: str, what: str) -> None:
    before = head(hooked)
    target = hooked / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("LOG_LEVEL=debug\n")
    proc = commit(hooked, path)
    assert proc.returncode == 1 and head(hooked) == before
    assert f"gitvault: blocked: {path}: {what}" in proc.stderr
    assert "git rm --cached" in proc.stderr


def test_env_example_and_clean_commits_pass(hooked: Path) -> None:
    (hooked / ".env.example").write_text(
        "DB_PASSWORD=${DB_PASSWORD}\nAPI_KEY=<your-api-key-here>\n"
    )
    (hooked / "app.py").write_text("import os\nTOKEN = os.environ['GITHUB_TOKEN']\n")
    before = head(hooked)
    proc = commit(hooked, ".env.example", "app.py")
    assert proc.returncode == 0, proc.stderr
    assert head(hooked) != before


def test_allowed_line_passes(hooked: Path) -> None:
    (hooked / "fixture.py").write_text(f"TEST_TOKEN = '{TOKEN}'  # gitvault:allow\n")
    assert commit(hooked, "fixture.py").returncode == 0


def test_baseline_lets_a_reviewed_finding_pass(hooked: Path) -> None:
    (hooked / "fixture.py").write_text(f"TEST_TOKEN = '{TOKEN}'\n")
    r = run_cli(["scan", "--baseline-update", "fixture.py"], cwd=hooked)
    assert r.code == 0
    assert TOKEN not in (hooked / ".gitvault-baseline.json").read_text()
    assert commit(hooked, "fixture.py", ".gitvault-baseline.json").returncode == 0


def test_no_verify_is_the_explicit_bypass(hooked: Path) -> None:
    (hooked / "config.py").write_text(f"T = '{TOKEN}'\n")
    before = head(hooked)
    assert commit(hooked, "config.py", args=("--no-verify",)).returncode == 0
    assert head(hooked) != before


def test_first_commit_of_an_empty_repository(repo: Path) -> None:
    install_hooks(repo)
    (repo / "a.py").write_text(f"T = '{TOKEN}'\n")
    (repo / "blob.bin").write_bytes(b"\0\x01\x02")
    proc = commit(repo, "a.py", "blob.bin")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0


def test_deleting_a_secret_file_passes(hooked: Path) -> None:
    (hooked / "old.py").write_text(f"T = '{TOKEN}'\n")
    commit(hooked, "old.py", args=("--no-verify",))
    git(hooked, "rm", "-q", "old.py")
    assert git(hooked, "commit", "-qm", "remove", check=False).returncode == 0


# --- layers that need the vault core: exercised in-process with a fake gitvault.api ----------


class FakePolicy:
    scan_excludes = ("fixtures/**",)

    def rule_for(self, relpath: str) -> object | None:
        return object() if relpath.startswith("secrets/") else None


class FakeApi:
    def __init__(self, values: list[tuple[str, str]], problems: dict[str, list[str]]) -> None:
        self.values = values
        self.problems = problems
        self.asked: list[str] = []

    def known_values(self, root: Path) -> list[tuple[str, str]]:
        return self.values

    def load_policy(self, root: Path) -> FakePolicy:
        return FakePolicy()

    def vault_problems(self, root: Path, relpath: str, data: bytes) -> list[str]:
        self.asked.append(relpath)
        return self.problems.get(relpath, [])


@pytest.fixture
def fake_api(hooked: Path, monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    (hooked / ".gitvault.yaml").write_text("version: 1\n")
    api = FakeApi(
        values=[("secrets/dev/app.yaml:db.password", "Summer2024")],
        problems={"secrets/dev/new.yaml": ["value db.password is not encrypted"]},
    )

    def lookup(name: str) -> Any:
        return getattr(api, name, None)

    monkeypatch.setattr(vaultlink, "_api_function", lookup)
    return api


def test_vault_value_pasted_into_code_is_blocked(hooked: Path, fake_api: FakeApi) -> None:
    # Pasted next to a name no rule treats as a credential name.
    (hooked / "config.py").write_text('DB = connect(user="app", season="Summer2024")\n')
    git(hooked, "add", "config.py")
    r = run_cli(["hook", "pre-commit"], cwd=hooked)
    assert r.code == 1
    assert "config.py:1: vault-value: the value of secrets/dev/app.yaml:db.password" in r.stderr
    assert "Summer2024" not in r.output and "Su" not in r.stderr.split("season=")[-1][:3]
    # Without the vault layer no rule catches a low-entropy value away from a password name.
    assert run_cli(["hook", "pre-commit", "--no-vault-values"], cwd=hooked).code == 0


def test_policy_covered_plaintext_file_is_blocked(hooked: Path, fake_api: FakeApi) -> None:
    (hooked / "secrets" / "dev").mkdir(parents=True)
    (hooked / "secrets" / "dev" / "new.yaml").write_text("db:\n  password: x\n")
    (hooked / "notes.txt").write_text("hello\n")
    git(hooked, "add", "secrets", "notes.txt")
    report = hook_run.pre_commit(hooked)
    assert fake_api.asked == ["secrets/dev/new.yaml"]  # only files a policy rule covers
    [problem] = report.problems
    assert problem.where == "secrets/dev/new.yaml"
    assert "not a valid vault file: value db.password is not encrypted" in problem.what
    assert "gitvault encrypt --in-place secrets/dev/new.yaml" in problem.fix


def test_policy_excludes_apply(hooked: Path, fake_api: FakeApi) -> None:
    (hooked / "fixtures").mkdir()
    (hooked / "fixtures" / "tokens.py").write_text(f"T = '{TOKEN}'\n")
    git(hooked, "add", "fixtures")
    assert hook_run.pre_commit(hooked).problems == ()


def test_no_identity_means_no_vault_layer(hooked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitvault.errors import AccessDenied

    (hooked / ".gitvault.yaml").write_text("version: 1\n")

    def known_values(root: Path) -> list[tuple[str, str]]:
        raise AccessDenied("no identity can decrypt")

    monkeypatch.setattr(
        vaultlink, "_api_function", lambda name: known_values if name == "known_values" else None
    )
    assert vaultlink.known_values(hooked) == ()


def test_hook_json_free_of_secrets(hooked: Path) -> None:
    (hooked / "config.py").write_text(f"T = '{TOKEN}'\n")
    git(hooked, "add", "config.py")
    r = run_cli(["scan", "--staged", "--json"], cwd=hooked)
    doc = json.loads(r.stdout)
    assert doc["source"] == "staged" and TOKEN not in r.stdout
