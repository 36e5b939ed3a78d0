"""Audit over real git history with a stand-in vault format."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitvault.git.commit import commit_paths
from gitvault.git.repo import Repository
from gitvault.git.trailers import VaultTrailers, build_vault_message
from gitvault.history.audit import AuditLog, audit, last_changes
from tests.conftest import git
from tests.history.conftest import fake_decrypt, fake_file, fake_parse

F = "secrets/app.yaml"


def vault_commit(repo: Path, data: bytes, claims: VaultTrailers | None, subject: str) -> str:
    (repo / F).parent.mkdir(parents=True, exist_ok=True)
    (repo / F).write_bytes(data)
    if claims is None:
        git(repo, "add", F)
        git(repo, "commit", "-q", "-m", subject)
        return git(repo, "rev-parse", "HEAD").stdout.strip()
    message = build_vault_message(subject, claims)
    return commit_paths(Repository.discover(repo), [F], message).id


def rotate_claim(*keys: str) -> VaultTrailers:
    return VaultTrailers(action="rotate", files=(F,), keys={F: keys})


def kinds(log: AuditLog, commit: str) -> dict[str | None, str]:
    return {e.key: e.kind for e in log.events if e.commit == commit}


@pytest.fixture
def story(repo: Path) -> dict[str, str]:
    """A file's life: added, rotated, re-keyed, a lying commit, a key removed."""
    c = {}
    c["add"] = vault_commit(
        repo,
        fake_file({"db.password": "p1", "api": "a1"}),
        VaultTrailers(action="set", files=(F,), keys={F: ("db.password", "api")}),
        "add",
    )
    c["rotate"] = vault_commit(
        repo, fake_file({"db.password": "p2", "api": "a1"}), rotate_claim("db.password"), "rotate"
    )
    c["rekey"] = vault_commit(
        repo,
        fake_file({"db.password": "p2", "api": "a1"}, wrap="k2"),
        VaultTrailers(action="rekey", files=(F,), rekeyed=(F,)),
        "rekey",
    )
    c["liar"] = vault_commit(
        repo, fake_file({"db.password": "p3", "api": "a1"}, wrap="k2"), rotate_claim("api"), "liar"
    )
    c["remove"] = vault_commit(
        repo,
        fake_file({"db.password": "p3"}, wrap="k2"),
        VaultTrailers(action="unset", files=(F,), keys={F: ("api",)}),
        "unset api",
    )
    return c


def test_events_and_trailer_agreement(repo: Path, story: dict[str, str]) -> None:
    log = audit(Repository.discover(repo), ["secrets"], parse=fake_parse)
    assert [c.subject for c in log.commits] == ["unset api", "liar", "rekey", "rotate", "add"]
    assert kinds(log, story["add"]) == {"db.password": "added", "api": "added"}
    assert kinds(log, story["rotate"]) == {"db.password": "rotated"}
    assert kinds(log, story["rekey"]) == {"db.password": "rekeyed", "api": "rekeyed"}
    assert {e.basis for e in log.events if e.commit == story["rekey"]} == {"trailers"}
    assert kinds(log, story["remove"]) == {"api": "removed"}
    by_subject = {c.subject: c for c in log.commits}
    for good in ("add", "rotate", "rekey", "unset api"):
        assert by_subject[good].trailers_agree is True, by_subject[good].problems
    liar = by_subject["liar"]
    assert liar.trailers_agree is False
    assert f"trailers claim a rotation of {F}:api the commit did not make" in liar.problems
    assert f"the commit changes {F}:db.password but its trailers do not name the key" in (
        liar.problems
    )
    assert not any(c.signed for c in log.commits)
    assert log.to_json()["schema"] == "gitvault.log/v1"


def test_last_changes_ignore_rekeys_and_removed(repo: Path, story: dict[str, str]) -> None:
    log = audit(Repository.discover(repo), [F], parse=fake_parse)
    times = {c.commit: c.time for c in log.commits}
    assert last_changes(log) == {(F, "db.password"): times[story["liar"]]}


def test_key_filter(repo: Path, story: dict[str, str]) -> None:
    log = audit(Repository.discover(repo), [F], parse=fake_parse, key="api")
    assert [e.kind for e in log.events] == ["removed", "rekeyed", "added"]


def test_rekey_told_apart_by_decrypting(repo: Path) -> None:
    vault_commit(repo, fake_file({"a": "1", "b": "2"}), None, "add")
    # New data key, no trailers: without an identity we cannot tell.
    unknown = vault_commit(repo, fake_file({"a": "1", "b": "2"}, wrap="k2"), None, "silent rekey")
    # New data key AND every value changed, no trailers.
    both = vault_commit(
        repo, fake_file({"a": "Distinct-Value-42", "b": "2"}, wrap="k3"), None, "rekey+rotate"
    )
    wrapped = Repository.discover(repo)

    blind = audit(wrapped, [F], parse=fake_parse)
    silent = [e for e in blind.events if e.commit == unknown]
    assert {(e.kind, e.value_changed, e.basis) for e in silent} == {("rekeyed", None, "unknown")}
    assert all(c.trailers_agree is None for c in blind.commits)

    seeing = audit(wrapped, [F], parse=fake_parse, decrypt=fake_decrypt)
    assert {(e.kind, e.basis) for e in seeing.events if e.commit == unknown} == {
        ("rekeyed", "decrypted")
    }
    assert kinds(seeing, both) == {"a": "rotated", "b": "rekeyed"}
    # The audit keeps no plaintext, only keyed hashes.
    assert "Distinct-Value-42" not in repr(seeing)


def test_recipients_change_and_unreadable_old_versions(repo: Path) -> None:
    vault_commit(repo, fake_file({"a": "1"}, recipients="bob"), None, "bob only")
    commit = vault_commit(repo, fake_file({"a": "1"}, recipients="bob,alice"), None, "add alice")
    log = audit(Repository.discover(repo), [F], parse=fake_parse, decrypt=fake_decrypt)
    events = [e for e in log.events if e.commit == commit]
    assert [(e.kind, e.key, e.detail) for e in events] == [("recipients", None, "+alice")]


def test_unparseable_version_is_reported_not_fatal(repo: Path) -> None:
    (repo / "secrets").mkdir()
    (repo / F).write_text("plain: oops\n")
    git(repo, "add", F)
    git(repo, "commit", "-q", "-m", "plaintext slipped in")
    vault_commit(repo, fake_file({"a": "1"}), None, "fixed")
    log = audit(Repository.discover(repo), [F], parse=fake_parse)
    assert any("not a vault file" in p for p in log.problems)
    assert [e.kind for e in log.events] == ["added"]
