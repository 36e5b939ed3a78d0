"""``gitvault export`` end to end: real vault files, the real CLI in a subprocess.

The promises: many files and directories in one call; any failure -> exit
code from the table and *nothing* on stdout; masks first under GitHub Actions;
the audit log never holds a value; stderr never holds a value.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dotenv
import pytest

from tests.export.realvault import tamper

SECRET = "pa$$ 'w\"rd\nline2"
Vault = Callable[..., Path]


@pytest.fixture
def two(vault: Vault) -> tuple[Path, Path]:
    return (
        vault("secrets/prod/db.yaml", {"db": {"password": SECRET, "port": 5432}}),
        vault("secrets/prod/api.yaml", {"api": {"token": "tok-123"}}),
    )


def test_directory_and_files_in_one_call(gv: Any, two: tuple[Path, Path]) -> None:
    result = gv("export", "secrets/prod", "--format", "json")
    assert result.returncode == 0, result.stderr
    # Directory contents come sorted: api.yaml before db.yaml.
    assert json.loads(result.stdout) == {
        "API_TOKEN": "tok-123",
        "DB_PASSWORD": SECRET,
        "DB_PORT": 5432,
    }
    assert result.stderr == b""


def test_dotenv_output_file_is_private(gv: Any, two: tuple[Path, Path], vault_root: Path) -> None:
    # The password holds both quote kinds and `$`: no form every reader agrees on.
    refused = gv("export", *map(str, two), "-f", "dotenv", "-o", ".env")
    assert refused.returncode == 5
    assert b"DB_PASSWORD" in refused.stderr or b"db.password" in refused.stderr
    assert b"w\"rd" not in refused.stderr
    assert not (vault_root / ".env").exists()
    result = gv(
        "export", *map(str, two), "-f", "dotenv", "--dotenv-dialect", "python-dotenv", "-o", ".env"
    )
    assert result.returncode == 0 and result.stdout == b""
    env_file = vault_root / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert dotenv.dotenv_values(env_file, interpolate=False) == {
        "DB_PASSWORD": SECRET,
        "DB_PORT": "5432",
        "API_TOKEN": "tok-123",
    }


def test_prefix_per_file(gv: Any, vault: Vault) -> None:
    vault("a/x.yaml", {"token": "1"})
    vault("b/x.yaml", {"token": "2"})
    result = gv(
        "export",
        "a/x.yaml",
        "b/x.yaml",
        "--prefix",
        "a/x.yaml=A",
        "--prefix",
        "b/x.yaml=B",
        "-f",
        "json",
    )
    assert json.loads(result.stdout) == {"A_TOKEN": "1", "B_TOKEN": "2"}


@pytest.mark.parametrize(
    ("failure", "code"),
    [("tampered", 4), ("unreadable", 3), ("wrong-recipients", 1)],
)
def test_any_failure_outputs_nothing(
    gv: Any, two: tuple[Path, Path], vault: Vault, failure: str, code: int
) -> None:
    tree = {"x": {"y": "zz-value-9"}}
    if failure == "tampered":
        bad = vault("secrets/prod/zz-bad.yaml", tree)
        tamper(bad)
    elif failure == "unreadable":
        bad = vault("secrets/prod/zz-bad.yaml", tree, to=["alice", "outsider"])
    else:  # readable by ci-test, but the policy also wants alice
        bad = vault("secrets/prod/zz-bad.yaml", tree, to=["ci-test"])
    before = bad.read_bytes()
    for fmt in ("env", "json", "k8s"):
        result = gv("export", "secrets/prod", "-f", fmt, env={"GITHUB_ACTIONS": "true"})
        assert result.returncode == code, result.stderr
        assert result.stdout == b""
        assert result.stderr.startswith(b"gitvault: error: secrets/prod/zz-bad.yaml")
        for value in (SECRET, "tok-123", "zz-value-9"):
            assert value.encode() not in result.stderr
    assert bad.read_bytes() == before


def test_collision_between_files_is_exit_5_naming_both(gv: Any, vault: Vault) -> None:
    vault("a.yaml", {"db": {"password": "v-alpha-1"}})
    vault("b.yaml", {"DB_PASSWORD": "v-beta-2"})
    result = gv("export", "a.yaml", "b.yaml")
    assert result.returncode == 5
    assert result.stdout == b""
    assert b"a.yaml:db.password" in result.stderr and b"b.yaml:DB_PASSWORD" in result.stderr
    assert b"v-alpha-1" not in result.stderr and b"v-beta-2" not in result.stderr


def test_masks_come_before_any_other_output(gv: Any, two: tuple[Path, Path]) -> None:
    result = gv("export", "secrets/prod", "-f", "env", env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 0
    lines = result.stdout.decode().split("\n")
    first_other = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    masks = lines[:first_other]
    assert all(line.startswith("export ") for line in lines[first_other:] if line.startswith("e"))
    for must in ("tok-123", "5432", "pa$$ 'w\"rd", "line2"):
        assert f"::add-mask::{must}" in masks
    assert result.stderr == b""


def test_masks_alone_on_stdout_when_writing_a_file(gv: Any, two: tuple[Path, Path]) -> None:
    result = gv(
        "export", "secrets/prod", "-f", "k8s", "-o", "s.yaml", env={"GITHUB_ACTIONS": "true"}
    )
    assert result.returncode == 0
    assert all(line.startswith("::add-mask::") for line in result.stdout.decode().splitlines())


def test_exec_masks_before_the_childs_output(gv: Any, two: tuple[Path, Path]) -> None:
    result = gv(
        "exec", "secrets/prod", "--", "echo", "child says hi", env={"GITHUB_ACTIONS": "true"}
    )
    lines = result.stdout.decode().splitlines()
    assert lines[-1] == "child says hi"
    assert all(line.startswith("::add-mask::") for line in lines[:-1]) and len(lines) > 1


def test_github_env_appends(gv: Any, two: tuple[Path, Path], tmp_path: Path) -> None:
    github_env = tmp_path / "github_env"
    github_env.write_text("EARLIER=1\n")
    result = gv("export", "secrets/prod", "-f", "github-env", "-o", str(github_env))
    assert result.returncode == 0
    text = github_env.read_text()
    assert text.startswith("EARLIER=1\nAPI_TOKEN<<ghadelimiter_")
    assert SECRET in text


def test_audit_log_lines_hold_no_values(gv: Any, two: tuple[Path, Path], tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"GITVAULT_AUDIT_LOG": str(log), "GITHUB_RUN_ID": "99"}
    assert gv("export", "secrets/prod", env=env).returncode == 0
    assert gv("exec", "secrets/prod", "--audit-log", str(log), "--", "true").returncode == 0
    text = log.read_text()
    for value in (SECRET, "pa$$", "line2", "tok-123", "5432"):
        assert value not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["command"], r["file"]) for r in records] == [
        ("export", "secrets/prod/api.yaml"),
        ("export", "secrets/prod/db.yaml"),
        ("exec", "secrets/prod/api.yaml"),
        ("exec", "secrets/prod/db.yaml"),
    ]
    assert records[1]["keys"] == ["db.password", "db.port"]
    assert records[0]["ci"]["run_id"] == "99"
    assert {r["recipient"] for r in records} == {"ci-test"}  # by policy name


def test_failed_audit_log_stops_the_export(gv: Any, two: tuple[Path, Path]) -> None:
    result = gv("export", "secrets/prod", "--audit-log", "no/such/dir/log")
    assert result.returncode == 5 and result.stdout == b""


def test_k8s_from_the_command_line(gv: Any, two: tuple[Path, Path]) -> None:
    args = ["export", "secrets/prod", "-f", "k8s", "--k8s-output", "json", "--merge"]
    args += ["--k8s-name", "web", "--namespace", "prod", "--label", "app=web"]
    result = gv(*args)
    assert result.returncode == 0, result.stderr
    secret = json.loads(result.stdout)
    assert secret["metadata"]["labels"]["app"] == "web"
    assert set(secret["data"]) == {"API_TOKEN", "DB_PASSWORD", "DB_PORT"}
    bad = gv("export", "secrets/prod", "-f", "k8s", "--namespace", "Not_Valid")
    assert bad.returncode == 5 and bad.stdout == b""


def test_missing_path_and_bad_label(gv: Any, two: tuple[Path, Path]) -> None:
    assert gv("export", "nope.yaml").returncode == 5
    assert gv("export", "secrets/prod", "--label", "novalue").returncode == 2


def test_output_is_not_left_behind_on_failure(gv: Any, vault: Vault, vault_root: Path) -> None:
    tamper(vault("a.yaml", {"x": "v"}))
    assert gv("export", "a.yaml", "-o", "out.env").returncode == 4
    assert sorted(p.name for p in vault_root.iterdir()) == [".gitvault.yaml", "a.yaml"]


def test_k8s_secret_per_file_with_the_same_key_names(gv: Any, vault: Vault) -> None:
    vault("secrets/prod/web.yaml", {"db": {"password": "prod-pass-1"}})
    vault("secrets/staging/web.yaml", {"db": {"password": "staging-pass-2"}})
    vault("secrets/staging/worker.yaml", {"db": {"password": "worker-pass-3"}})
    result = gv("export", "secrets", "-f", "k8s", "--k8s-output", "json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    names = {i["metadata"]["name"]: i["metadata"]["annotations"]["gitvault/sources"] for i in items}
    assert names == {
        "prod-web": "secrets/prod/web.yaml",
        "staging-web": "secrets/staging/web.yaml",
        "worker": "secrets/staging/worker.yaml",
    }
    assert all(set(i["data"]) == {"DB_PASSWORD"} for i in items)
    # One Secret (--merge) or one environment (env) still cannot hold both.
    merged = gv("export", "secrets", "-f", "k8s", "--merge", "--k8s-name", "all")
    assert merged.returncode == 5 and b"DB_PASSWORD comes from both" in merged.stderr
    assert gv("export", "secrets", "-f", "env").returncode == 5
