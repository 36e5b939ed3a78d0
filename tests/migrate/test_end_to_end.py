"""The whole migration over 12 generated repositories, checked with git itself.

find (work trees and every ref of every repository, two of them clone URLs)
-> import (values in the vault, policy recipients, exposed) -> due lists
every value as overdue -> rotate clears one -> rewrite (mirrors, the real
git-filter-repo, re-scan) -> no value in any object of any mirror, by
``git log -p --all``, ``git grep`` on every ref and ``git cat-file
--batch-all-objects``; the user's clones unchanged.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gitvault import keypath
from gitvault.identities import load_identities
from gitvault.migrate import plan as plan_mod
from gitvault.vault import decrypt, read_vault
from tests.helpers import run_cli
from tests.migrate.conftest import Env, snapshot


def _git_bytes(cwd: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _find(env: Env) -> dict:
    r = run_cli(
        ["migrate", "find", *[g.source for g in env.repos], "--plan", str(env.plan), "--json"]
    )
    assert r.code == 0, r.output
    return json.loads(r.stdout)


def test_find_import_rotate_rewrite(migration: Env, tmp_path: Path) -> None:
    env = migration
    before = {g.name: snapshot(g.path) for g in env.repos}

    # -- find ---------------------------------------------------------------
    found = _find(env)
    assert len(found["repos"]) == 12
    plan = plan_mod.load(env.plan)
    fp = plan.fingerprinter()
    by_fp = {s.fingerprint: s for s in plan.secrets}
    for label, value in env.values.items():
        assert fp(value.encode()) in by_fp, f"{label} not found"
    # Distinct values once: the shared key of svc00/svc01 is one secret in two repos.
    assert len(plan.secrets) == len(env.distinct)
    shared = by_fp[fp(env.repos[0].values["shared_stripe"].encode())]
    assert {loc.repo for loc in shared.locations} == {"svc00", "svc01"}
    # The .env values were removed from HEAD: found in history, first commit recorded.
    for g in env.repos:
        s = by_fp[fp(g.values["env_password"].encode())]
        assert s.first_commit == g.first_commit
        assert all(loc.commit is not None for loc in s.locations)
        side = by_fp[fp(g.values["side_password"].encode())]
        assert any("refs/heads/feature/deploy" in loc.refs for loc in side.locations)
        tag = by_fp[fp(g.values["tag_token"].encode())]
        assert any("refs/tags/v1.0" in loc.refs for loc in tag.locations)
    # Code and config still in the work tree of the local clones.
    local = env.repos[2]
    code = by_fp[fp(local.values["code_secret"].encode())]
    assert any(loc.commit is None and loc.path == "src/client.py" for loc in code.locations)

    # -- import --------------------------------------------------------------
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault), "--json"])
    assert r.code == 0, r.output
    imported = json.loads(r.stdout)
    assert {s["result"] for s in imported["secrets"]} == {"added"}
    plan = plan_mod.load(env.plan)
    ids = load_identities(None)
    seen_values: set[str] = set()
    for dest_file in {s.dest_file for s in plan.secrets}:
        vf = read_vault(env.vault / dest_file)
        # Policy recipients: exactly alice and ci.
        assert set(vf.recipients) == set(env.recipients.values())
        plain = decrypt(vf, ids)
        for s in plan.secrets:
            if s.dest_file == dest_file:
                value = keypath.get(plain.documents[0], keypath.parse(s.dest_key))
                assert isinstance(value, str)
                assert fp.matches(value.encode(), s.fingerprint)
                seen_values.add(value)
    assert seen_values == env.distinct
    # The CI key (the other policy recipient) decrypts them too.
    ci = load_identities(env.vault.parent / "ci-key.txt")
    first_file = plan.secrets[0].dest_file
    assert decrypt(read_vault(env.vault / first_file), ci).documents
    recipients_text = (env.vault / first_file).read_text()
    for public in env.recipients.values():
        assert public in recipients_text
    # The import commit records exposure and origin, and holds no value.
    message = _git_bytes(env.vault, "log", "-1", "--format=%B").decode()
    assert "Gitvault-Action: migrate" in message
    assert "Gitvault-Exposed: " in message
    assert "since " in message
    assert not any(v in message for v in env.distinct)

    # -- due: every value exposed and overdue -----------------------------------
    r = run_cli(["due", "--json"], cwd=env.vault)
    assert r.code == 0, r.output
    items = json.loads(r.stdout)["items"]
    assert len(items) == len(env.distinct)
    assert all(i["status"] == "overdue" and i["exposed"] for i in items)
    r = run_cli(["due", "--fail"], cwd=env.vault)
    assert r.code == 1

    # -- rotate one: cleared; the rest stay exposed ------------------------------
    target = plan.secrets[0]
    r = run_cli(
        ["rotate", target.dest_file, target.dest_key, "--generate", "password:32"],
        cwd=env.vault,
    )
    assert r.code == 0, r.output
    r = run_cli(["due", "--json"], cwd=env.vault)
    status = {(i["file"], i["key"]): i for i in json.loads(r.stdout)["items"]}
    rotated = status[(target.dest_file, target.dest_key)]
    assert rotated["exposed"] is None and rotated["status"] == "ok"
    assert sum(1 for i in status.values() if i["exposed"]) == len(env.distinct) - 1

    # -- rewrite ------------------------------------------------------------------
    r = run_cli(
        ["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir), "--json"]
    )
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["clean"] is True
    assert {x["status"] for x in report["repos"]} == {"verified"}
    assert len(report["provider_purge"]) == len(env.distinct)
    needles = [v.encode() for v in env.distinct]
    patterns = tmp_path / "test-patterns.txt"  # the test's own copy of the values
    patterns.write_text("".join(v + "\n" for v in env.distinct))
    # Sanity: the same grep finds the values in a user's clone (so a pass means something).
    probe = subprocess.run(
        ["git", "grep", "-F", "-q", "-f", str(patterns), "refs/tags/v1.0"],
        cwd=env.repos[0].path,
        check=False,
    )
    assert probe.returncode == 0
    for g in env.repos:
        mirror = env.workdir / f"{g.name}.git"
        refs = _git_bytes(mirror, "for-each-ref", "--format=%(refname)").decode().split()
        assert "refs/tags/v1.0" in refs and "refs/heads/feature/deploy" in refs
        log = _git_bytes(mirror, "log", "-p", "--all", "--format=%H%n%B")
        objects = _git_bytes(mirror, "cat-file", "--batch-all-objects", "--batch")
        for needle in needles:
            assert needle not in log
            assert needle not in objects
        for ref in refs:
            # git grep over the ref's whole tree, every value at once (-F: fixed strings).
            proc = subprocess.run(
                ["git", "grep", "-F", "-q", "-f", str(patterns), ref],
                cwd=mirror,
                capture_output=True,
                check=False,
            )
            assert proc.returncode == 1, (g.name, ref, proc.stderr)
        # The rewritten history is still there: the files, with the literal removed.
        assert b"***REMOVED***" in log

    # -- the user's clones are untouched -------------------------------------------
    after = {g.name: snapshot(g.path) for g in env.repos}
    assert after == before
    # and still hold the values (nothing rewrote them).
    assert env.repos[2].values["code_secret"] in (env.repos[2].path / "src/client.py").read_text()

    # -- status -----------------------------------------------------------------------
    r = run_cli(["migrate", "status", "--plan", str(env.plan), "--json"])
    assert r.code == 0, r.output
    st = json.loads(r.stdout)
    assert st["steps"]["import"]["state"] == "done"
    assert st["steps"]["rewrite"]["state"] == "done"
    assert st["steps"]["rotate"]["still_exposed"] == len(env.distinct) - 1
    assert st["steps"]["code"]["lines_left"] > 0


def test_import_twice_changes_nothing(migration: Env) -> None:
    """import is idempotent: a second run finds every value in place and commits nothing."""
    env = migration
    env.repos[:] = env.repos[:2]
    _find(env)
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 0, r.output
    head = _git_bytes(env.vault, "rev-parse", "HEAD")
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault), "--json"])
    assert r.code == 0, r.output
    assert {s["result"] for s in json.loads(r.stdout)["secrets"]} == {"added"}
    assert _git_bytes(env.vault, "rev-parse", "HEAD") == head


def test_import_never_overwrites_a_rotated_value(migration: Env) -> None:
    """After a rotation, re-running import keeps the new value (never the leaked one)."""
    env = migration
    env.repos[:] = env.repos[:1]
    _find(env)
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 0, r.output
    plan = plan_mod.load(env.plan)
    s = plan.secrets[0]
    r = run_cli(["rotate", s.dest_file, s.dest_key, "--generate", "hex:32"], cwd=env.vault)
    assert r.code == 0, r.output
    rotated = (env.vault / s.dest_file).read_bytes()
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault), "--json"])
    assert r.code == 0, r.output
    results = {x["id"]: x["result"] for x in json.loads(r.stdout)["secrets"]}
    assert results[s.id] == "kept"
    assert (env.vault / s.dest_file).read_bytes() == rotated


def test_value_copied_by_hand_before_migrate_is_reported(migration: Env) -> None:
    """A leaked value already in the vault is "present"; it is named as not marked exposed."""
    env = migration
    env.repos[:] = env.repos[:1]
    _find(env)
    plan = plan_mod.load(env.plan)
    s = plan.secrets[0]
    value = next(v for v in env.distinct if plan.fingerprinter().matches(v.encode(), s.fingerprint))
    for other in plan.secrets[1:]:
        other.skip = True
    plan_mod.save(plan, env.plan)
    # Copied by hand into a new vault file (`set` cannot create files), committed.
    (env.vault / s.dest_file).parent.mkdir(parents=True, exist_ok=True)
    (env.vault / s.dest_file).write_text(f"{s.dest_key}: {json.dumps(value)}\n")
    assert run_cli(["encrypt", s.dest_file, "--in-place"], cwd=env.vault).code == 0
    subprocess.run(["git", "add", "-A"], cwd=env.vault, check=True)
    subprocess.run(["git", "commit", "-qm", "by hand"], cwd=env.vault, check=True)
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault), "--json"])
    assert r.code == 0, r.output
    result = json.loads(r.stdout)
    assert [x["result"] for x in result["secrets"]] == ["present"]
    assert result["not_marked_exposed"] == [f"{s.dest_file}:{s.dest_key}"]
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert "not marked exposed: rotate them" in r.stderr


def test_stash_and_notes_are_found_and_purged(migration: Env) -> None:
    """Refs beyond branches and tags: a stash and a git note holding secrets."""
    env = migration
    g = env.repos[3]
    env.repos[:] = [g]
    stashed = "STASH_PASSWORD=" + "Qw7" + g.values["code_secret"][::-1]
    noted = 'api_password = "Nz4-' + g.values["side_password"][::-1] + '"'
    (g.path / "local.env").write_text(stashed + "\n")
    subprocess.run(["git", "add", "local.env"], cwd=g.path, check=True)
    subprocess.run(["git", "stash", "-q"], cwd=g.path, check=True)
    subprocess.run(["git", "notes", "add", "-m", noted, "HEAD"], cwd=g.path, check=True)
    before = snapshot(g.path)
    found = _find(env)
    assert set(found["repos"][0]["other_refs"]) == {"refs/notes/commits", "refs/stash"}
    plan = plan_mod.load(env.plan)
    paths = {loc.path for s in plan.secrets for loc in s.locations}
    assert "local.env" in paths  # from the stash's commits
    stash_value = stashed.split("=", 1)[1].encode()
    note_value = noted.split('"')[1].encode()
    r = run_cli(
        ["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir), "--json"]
    )
    assert r.code == 0, r.output
    report = json.loads(r.stdout)
    assert report["clean"] is True
    assert any("refs/stash" in w for w in report["warnings"])
    mirror = env.workdir / f"{g.name}.git"
    refs = _git_bytes(mirror, "for-each-ref", "--format=%(refname)").decode().split()
    assert "refs/stash" in refs and "refs/notes/commits" in refs
    objects = _git_bytes(mirror, "cat-file", "--batch-all-objects", "--batch")
    log = _git_bytes(mirror, "log", "-p", "--all")
    notes = _git_bytes(mirror, "log", "-p", "refs/notes/commits")
    for needle in (stash_value, note_value):
        assert needle not in objects and needle not in log and needle not in notes
    # The user's clone keeps its stash and note untouched.
    assert snapshot(g.path) == before
    assert stash_value in _git_bytes(g.path, "stash", "show", "-p")
