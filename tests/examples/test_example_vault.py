"""examples/vault: the committed example vault works as its README says.

Runs the real CLI inside the committed directory, read-only: verify under the
example identities, one environment's CI identity refused by the other
environment (exit 3), production exported by ``ci-production``, the real
``sops`` reading the files, the generator agreeing with what is committed, and
the leak scanner accepting the EXAMPLE-ONLY keys.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.compat.sopsenv import sops_path
from tests.export.realvault import tamper

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "vault"
KEYS = EXAMPLE / "keys"
PEOPLE = ("alice", "bob", "carol", "ci-dev", "ci-production")
HEADER = "# EXAMPLE ONLY — protects nothing, never use for real secrets"
PRODUCTION = ("secrets/production/app.yaml", "secrets/production/db.yaml")
DEVELOPMENT = ("secrets/development/app.yaml",)


def key_file(name: str) -> Path:
    return KEYS / f"EXAMPLE-ONLY-{name}.agekey"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_example", EXAMPLE / "make-example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gv(*args: str, key: str | None, cwd: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    """``gitvault ARGS`` in the example vault with one example identity in GITVAULT_AGE_KEY."""
    env = {k: v for k, v in os.environ.items() if k != "GITVAULT_AGE_KEY"}
    if key is not None:
        env["GITVAULT_AGE_KEY"] = key_file(key).read_text()
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def verify_report(key: str | None) -> dict[str, Any]:
    result = gv("verify", "--json", key=key)
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return {f["file"]: f["checks"] for f in report["files"]}


def test_layout() -> None:
    for relpath in (
        ".gitvault.yaml",
        ".gitattributes",
        "README.md",
        "schemas/development.schema.json",
        "schemas/production.schema.json",
        *PRODUCTION,
        *DEVELOPMENT,
    ):
        assert (EXAMPLE / relpath).is_file(), relpath
    assert sorted(p.name for p in KEYS.iterdir()) == sorted(key_file(n).name for n in PEOPLE), (
        "keys/ holds only the labelled EXAMPLE-ONLY identities"
    )
    assert not (EXAMPLE / ".git").exists()  # files in this repository, not a nested repo


def test_keys_are_unmistakably_example_only() -> None:
    policy = (EXAMPLE / ".gitvault.yaml").read_text()
    for name in PEOPLE:
        lines = key_file(name).read_text(encoding="utf-8").splitlines()
        assert lines[0] == HEADER
        public = next(line for line in lines if line.startswith("# public key: ")).split()[-1]
        assert f"  {name}: {public}\n" in policy


def test_committed_files_match_the_generator() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "make-example.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_generator_rewrites_stale_files_and_is_idempotent(tmp_path: Path) -> None:
    copy = tmp_path / "vault"
    shutil.copytree(EXAMPLE, copy)
    tamper(copy / "secrets/production/db.yaml")  # a stale file: no longer its plaintext
    script = [sys.executable, str(copy / "make-example.py")]
    first = subprocess.run(script, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "make-example: wrote secrets/production/db.yaml"
    unchanged = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    again = subprocess.run(script, capture_output=True, text=True, check=False)
    assert again.stdout.strip() == "make-example: nothing to do"
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == unchanged


def test_verify_with_the_ops_identity_checks_everything() -> None:
    report = verify_report("alice")
    assert sorted(report) == sorted((*DEVELOPMENT, *PRODUCTION))
    for checks in report.values():
        assert checks == {"structure": "ok", "recipients": "ok", "mac": "ok", "schema": "ok"}


@pytest.mark.parametrize(
    ("key", "readable"),
    [("ci-production", PRODUCTION), ("ci-dev", DEVELOPMENT), ("carol", DEVELOPMENT)],
)
def test_verify_with_each_environment_identity(key: str, readable: tuple[str, ...]) -> None:
    # The whole vault: files this identity cannot open were not checked, which fails the gate.
    result = gv("verify", "--json", key=key)
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert sorted(data["unchecked"]) == sorted(set(PRODUCTION + DEVELOPMENT) - set(readable))
    for f in data["files"]:
        assert f["checks"]["recipients"] == "ok"
        if f["file"] in readable:
            assert f["checks"]["mac"] == "ok" and f["checks"]["schema"] == "ok" and f["ok"]
        else:
            assert f["checks"]["mac"].startswith("not checked") and not f["ok"]
    # What the identity is for: its environment's files pass.
    environment = "secrets/production" if readable == PRODUCTION else "secrets/development"
    result = gv("verify", environment, key=key)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_dev_cannot_read_production() -> None:
    result = gv("export", "secrets/production", "--format", "json", key="ci-dev")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("gitvault: error: secrets/production/app.yaml: ")
    assert "(readable by: alice, bob, ci-production)" in result.stderr
    assert "EXAMPLE-ONLY-prod" not in result.stderr
    exec_ = gv("exec", "secrets/production/db.yaml", "--", "true", key="ci-dev")
    assert exec_.returncode == 3 and "secrets/production/db.yaml" in exec_.stderr
    back = gv("export", "secrets/development", key="ci-production")
    assert back.returncode == 3 and "readable by: alice, bob, carol, ci-dev" in back.stderr


def test_ci_production_exports_production() -> None:
    result = gv("export", "secrets/production", "--format", "json", key="ci-production")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    values = json.loads(result.stdout)
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    secrets = generator().SECRETS
    expected: dict[str, Any] = {}
    for relpath in PRODUCTION:
        for section, keys in to_python(load_documents(secrets[relpath])[0]).items():  # type: ignore[union-attr]
            expected.update({f"{section}_{k}".upper(): v for k, v in keys.items()})
    assert values == expected
    assert values["APP_DEBUG"] is False and values["DB_PORT"] == 5432


def test_ci_production_runs_a_deploy_command() -> None:
    script = 'test "$DB_HOST" = db.production.example.invalid && test -z "${GITVAULT_AGE_KEY-}"'
    result = gv("exec", "secrets/production", "--", "sh", "-c", script, key="ci-production")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_sops_reads_the_example_with_the_example_keys() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["SOPS_AGE_KEY_FILE"] = str(key_file("ci-production"))
    for relpath in PRODUCTION:
        result = subprocess.run(
            [sops_path(), "decrypt", "--output-type", "json", relpath],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)


def test_scanner_accepts_the_example_keys_visibly() -> None:
    result = gv("scan", str(EXAMPLE), "--json", key=None, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["stats"]["allowed_inline"] == len(PEOPLE)  # one marker per key file


def test_pre_commit_does_not_block_the_example(tmp_path: Path) -> None:
    """Stage the example at its real path in a fresh repository and run the staged scan.

    The example identity files are accepted by the repository's committed,
    reviewable baseline (.gitvault-baseline.json), the same way a team would.
    """
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "examples" / "vault")
    baseline = REPO_ROOT / ".gitvault-baseline.json"
    if baseline.exists():
        shutil.copy(baseline, repo / baseline.name)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    result = gv("scan", "--staged", key=None, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
