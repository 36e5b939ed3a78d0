"""Dry run, merge/overwrite, commits, and the all-or-nothing write."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from gitvault.errors import GitError
from gitvault.importer import ImportOptions, apply_import, plan_import
from tests.conftest import git
from tests.importer.conftest import Vault, one_error_line

VALUE = "Qx7-import-value-secret"


def src(vault: Vault, name: str, text: str) -> str:
    path = vault.inputs / name
    path.write_text(text)
    return str(path)


def test_dry_run_writes_nothing_and_shows_no_values(vault: Vault) -> None:
    a = src(vault, ".env", f"# c\nTOKEN={VALUE}\nexport USER=bob\n")
    b = src(vault, "b.json", json.dumps({"db": {"password": VALUE, "port": 1}}, indent=1))
    before = vault.files()
    r = vault.run("import", a, b, "--into", "secrets/dev", "--dry-run")
    assert r.code == 0, r.output
    assert vault.files() == before
    assert VALUE not in r.output
    assert re.search(rf"TOKEN +from {re.escape(a)}:2\n", r.stdout)
    assert re.search(rf"USER +from {re.escape(a)}:3\n", r.stdout)
    assert re.search(rf"db\.password +from {re.escape(b)}:3\n", r.stdout)
    assert "secrets/dev/env.yaml  (create; readers: alice)" in r.stdout
    assert "nothing written" in r.stderr


def test_dry_run_json(vault: Vault) -> None:
    a = src(vault, "a.env", f"TOKEN={VALUE}\n")
    before = vault.files()
    r = vault.run("import", a, "--to", "secrets/a.yaml", "--dry-run", "--json")
    assert r.code == 0, r.output
    assert vault.files() == before
    report = json.loads(r.stdout)
    assert report["dry_run"] is True
    assert report["summary"] == {"files": 1, "keys": 1, "create": 1, "merge": 0, "overwrite": 0}
    (f,) = report["files"]
    assert f["vault_path"] == "secrets/a.yaml"
    assert f["recipients"] == ["alice"]
    assert f["keys"] == [{"key": "TOKEN", "from": f"{a}:1", "action": "add"}]
    assert VALUE not in r.output


def test_json_report_after_writing(vault: Vault) -> None:
    a = src(vault, "a.env", "A=1\n")
    r = vault.run("import", a, "--to", "secrets/a.yaml", "--json")
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["dry_run"] is False and report["summary"]["files"] == 1
    assert vault.decrypt("secrets/a.yaml") == {"A": "1"}


def test_merge_adds_keys_and_keeps_other_ciphertexts(vault: Vault) -> None:
    assert (
        vault.run("import", src(vault, "a.env", "A=1\nB=2\n"), "--to", "secrets/m.yaml").code == 0
    )
    before = (vault.root / "secrets/m.yaml").read_text()
    line_a = next(ln for ln in before.splitlines() if ln.startswith("A: "))
    r = vault.run("import", src(vault, "b.env", "C=3\n"), "--to", "secrets/m.yaml", "--merge")
    assert r.code == 0, r.output
    after = (vault.root / "secrets/m.yaml").read_text()
    assert line_a in after  # same data key, same IV: untouched values are byte-identical
    assert vault.decrypt("secrets/m.yaml") == {"A": "1", "B": "2", "C": "3"}


def test_merge_refuses_existing_keys_unless_overwrite(vault: Vault) -> None:
    assert (
        vault.run("import", src(vault, "a.env", "A=1\nB=2\n"), "--to", "secrets/m.yaml").code == 0
    )
    clash = src(vault, "c.env", f"B={VALUE}\nD=4\n")
    before = vault.files()
    r = vault.run("import", clash, "--to", "secrets/m.yaml", "--merge")
    assert r.code == 5
    assert "already has B" in one_error_line(r)
    assert vault.files() == before
    r = vault.run("import", clash, "--to", "secrets/m.yaml", "--merge", "--overwrite", "--dry-run")
    assert re.search(r"B +from .*c\.env:1  replaces\n", r.stdout)
    r = vault.run("import", clash, "--to", "secrets/m.yaml", "--merge", "--overwrite")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/m.yaml") == {"A": "1", "B": VALUE, "D": "4"}


def test_overwrite_replaces_the_whole_file(vault: Vault) -> None:
    assert (
        vault.run("import", src(vault, "a.env", "A=1\nB=2\n"), "--to", "secrets/o.yaml").code == 0
    )
    r = vault.run("import", src(vault, "n.env", "Z=9\n"), "--to", "secrets/o.yaml", "--overwrite")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/o.yaml") == {"Z": "9"}


def test_commit_one_commit_with_trailers(vault: Vault) -> None:
    a = src(vault, "a.env", "A=1\n")
    b = src(vault, "b.json", '{"x": {"y": 2}}')
    r = vault.run("import", a, b, "--into", "secrets/c", "--commit", "-m", "bring in app secrets")
    assert r.code == 0, r.output
    assert "committed" in r.stderr
    message = git(vault.root, "log", "-1", "--format=%B").stdout
    assert message.startswith("bring in app secrets")
    assert "Gitvault-Action: import" in message
    assert "Gitvault-File: secrets/c/a.yaml" in message
    assert "Gitvault-Keys: secrets/c/b.yaml: x.y" in message
    assert git(vault.root, "status", "--porcelain").stdout == ""


def test_failed_commit_puts_everything_back(vault: Vault) -> None:
    assert vault.run("import", src(vault, "a.env", "A=1\n"), "--to", "secrets/e.yaml").code == 0
    git(vault.root, "add", "-A")
    git(vault.root, "commit", "-qm", "existing")
    hook = vault.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho refused by hook >&2\nexit 1\n")
    hook.chmod(0o755)
    before = vault.files()
    r = vault.run(
        "import",
        src(vault, "n.env", "N=1\n"),
        src(vault, "e.env", "B=2\n"),
        "--into",
        "secrets",
        "--merge",
        "--commit",
    )
    assert r.code == 6, r.output
    assert vault.files() == before
    assert not (vault.root / "secrets" / "n.yaml").exists()


def test_commit_refuses_dirty_destination_before_writing(vault: Vault) -> None:
    assert vault.run("import", src(vault, "a.env", "A=1\n"), "--to", "secrets/d.yaml").code == 0
    git(vault.root, "add", "-A")
    git(vault.root, "commit", "-qm", "d")
    assert vault.run("set", "secrets/d.yaml", "A", "2").code == 0  # uncommitted change
    before = vault.files()
    r = vault.run(
        "import", src(vault, "b.env", "B=1\n"), "--to", "secrets/d.yaml", "--merge", "--commit"
    )
    assert r.code == 6, r.output
    assert "uncommitted changes" in one_error_line(r)
    assert vault.files() == before


def test_failure_during_the_renames_leaves_no_half_written_set(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third rename fails: the two files already renamed are removed again."""
    sources = [src(vault, f"s{i}.env", f"K{i}=v{i}\n") for i in range(5)]
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(a: object, b: object) -> None:
        if str(b).endswith(".yaml") and "secrets/batch" in str(b):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        real_replace(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    before = vault.files()
    r = vault.run("import", *sources, "--into", "secrets/batch")
    assert r.code == 5, r.output
    assert "cannot write the imported files" in one_error_line(r)
    assert calls["n"] == 3
    assert vault.files() == before  # no file, no folder, no temp file left behind
    git_tmp = vault.root / ".git" / "gitvault" / "tmp"
    assert not git_tmp.exists() or not any(git_tmp.iterdir())


def test_api_plan_then_apply(vault: Vault) -> None:
    a = Path(src(vault, "a.env", f"T={VALUE}\n"))
    plan = plan_import([a], ImportOptions(into=vault.root / "secrets/api"))
    assert VALUE not in repr(plan)
    assert not (vault.root / "secrets/api").exists()
    (f,) = plan.files
    assert (f.relpath, f.action, f.recipients) == ("secrets/api/a.yaml", "create", ("alice",))
    result = apply_import(plan)
    assert result.files == plan.files
    assert vault.decrypt("secrets/api/a.yaml") == {"T": VALUE}


def test_api_refuses_a_destination_changed_since_the_plan(vault: Vault) -> None:
    a = Path(src(vault, "a.env", "T=1\n"))
    plan = plan_import([a], ImportOptions(to=vault.root / "secrets/race.yaml"))
    assert vault.run("set", "secrets/race.yaml", "other", "x").code == 0  # someone else
    snapshot = (vault.root / "secrets/race.yaml").read_bytes()
    with pytest.raises(GitError, match="since the import was planned"):
        apply_import(plan)
    assert (vault.root / "secrets/race.yaml").read_bytes() == snapshot


def test_many_files_in_one_process(vault: Vault) -> None:
    sources = []
    for i in range(60):
        sources.append(src(vault, f"svc{i:03}.env", f"DB_PASSWORD=pw-{i}\nAPI_TOKEN=tok-{i}\n"))
    r = vault.run("import", *sources, "--into", "secrets/fleet")
    assert r.code == 0, r.output
    assert len(list((vault.root / "secrets/fleet").iterdir())) == 60
    assert vault.decrypt("secrets/fleet/svc042.yaml") == {
        "DB_PASSWORD": "pw-42",
        "API_TOKEN": "tok-42",
    }


def test_api_units_from_memory(vault: Vault) -> None:
    """What ``migrate`` does: values found elsewhere, planned with the same checks."""
    from gitvault.importer import Unit, plan_units
    from gitvault.model import Mapping

    unit = Unit(
        source="app/settings.py",
        kind="finding",
        document=Mapping([("DB_PASSWORD", VALUE), ("PORT", 5432)]),
        lines={("DB_PASSWORD",): 12},
    )
    plan = plan_units([unit], ImportOptions(to=vault.root / "secrets/found.yaml"))
    report = plan.to_json()
    assert report["files"][0]["keys"] == [
        {"key": "DB_PASSWORD", "from": "app/settings.py:12", "action": "add"},
        {"key": "PORT", "from": "app/settings.py", "action": "add"},
    ]
    assert VALUE not in json.dumps(report)
    apply_import(plan)
    assert vault.decrypt("secrets/found.yaml") == {"DB_PASSWORD": VALUE, "PORT": 5432}
    clash = Unit("b.py", "finding", Mapping([("DB_PASSWORD", "x")]), {})
    with pytest.raises(Exception, match="already exists"):
        plan_units([clash], ImportOptions(to=vault.root / "secrets/found.yaml"))
