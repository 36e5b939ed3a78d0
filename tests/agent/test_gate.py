"""The agent applies only fast-forward updates that pass verify and the trust checks.

Each refused update is a real push to the origin (rolled back, substituted,
force-pushed, unsigned when signatures are required); after each, the agent
exits 1, its outputs keep the last good values, and the status says why
without a value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.agent.conftest import F, World, assert_no_values

NEW = "second-Password-2222"
ALL_VALUES = ["first-Password-1111", "tok-Abc-123456", NEW, "mallory-Chosen-1"]


def _config(w: World, **top: object) -> None:
    w.write_config(
        [{"name": "db", "path": str(w.out / "db.json"), "format": "json", "files": [F]}], **top
    )


def _password(w: World) -> str:
    return str(json.loads((w.out / "db.json").read_text())["DB_PASSWORD"])


def _applied(w: World) -> str:
    """Run once with a rotated value and check it was applied."""
    _config(w)
    assert w.agent("--once").returncode == 0
    w.push({"db.password": NEW})
    r = w.agent("--once")
    assert r.returncode == 0, r.stderr
    assert _password(w) == NEW
    return w.alice.head()


def _assert_refused(w: World, good: str, word: str) -> None:
    before = (w.out / "db.json").read_bytes()
    r = w.agent("--once")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "REFUSED" in r.stdout and word in r.stdout, r.stdout
    assert (w.out / "db.json").read_bytes() == before  # last good output kept, not rewritten
    assert _password(w) == NEW
    status = w.status()
    assert status["state"] == "error" and word in status["last_error"]
    assert status["applied_commit"] == good
    assert status["outputs"]["db"]["rendered_commit"] == good
    # the work tree went back to the applied commit
    head = subprocess.run(
        ["git", "-C", str(w.checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert head == good
    assert_no_values(r.stdout + r.stderr + w.status_path.read_text(), ALL_VALUES)
    # asked again, it refuses again (without judging the same tip twice)
    again = w.agent("--once")
    assert again.returncode == 1 and _password(w) == NEW


def test_applies_a_good_update(world: World) -> None:
    good = _applied(world)
    assert world.status()["applied_commit"] == good


def test_refuses_a_rollback(world: World) -> None:
    w = world
    good = _applied(w)
    w.alice.git("checkout", f"{good}~1", "--", F)  # the old file, bytes and all
    w.alice.commit_all("restore the old file")
    w.alice.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "rollback")


def test_refuses_a_substitution_by_a_keyless_writer(world: World) -> None:
    w = world
    good = _applied(w)
    mallory = w.team.clone("mallory")
    (mallory.root / F).write_text('{"db": {"password": "mallory-Chosen-1", "port": 5432}}')
    assert mallory.cli("encrypt", F, "--in-place", identity=False).code == 0
    mallory.commit_all("tidy")
    mallory.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "substitution")


def test_refuses_a_branch_moved_back_to_an_older_commit(world: World) -> None:
    w = world
    good = _applied(w)
    w.alice.git("push", "-q", "--force", "origin", f"{good}~1:main")
    _assert_refused(w, good, "not a fast-forward")


def test_refuses_a_force_push(world: World) -> None:
    w = world
    good = _applied(w)
    w.alice.git("reset", "-q", "--hard", f"{good}~1")
    w.alice.ok("set", F, "db.password", "third-Password-3333")
    w.alice.commit_all("rewritten")
    w.alice.git("push", "-q", "--force", "origin", "HEAD:main")
    _assert_refused(w, good, "not a fast-forward")
    # putting the branch back on top of the applied commit is a fast-forward again
    w.alice.git("reset", "-q", "--hard", good)
    w.alice.git("push", "-q", "--force", "origin", "HEAD:main")
    w.push({"db.password": "fourth-Password-4444"})
    assert w.agent("--once").returncode == 0
    assert _password(w) == "fourth-Password-4444"


def test_refuses_a_tampered_file(world: World) -> None:
    w = world
    good = _applied(w)
    path = w.alice.root / F
    text = path.read_text()
    start = text.index("ENC[AES256_GCM,data:") + len("ENC[AES256_GCM,data:")
    flipped = "A" if text[start] != "A" else "B"
    path.write_text(text[:start] + flipped + text[start + 1 :])
    w.alice.commit_all("tamper")
    w.alice.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "tampered")


def _signing_key(base: Path, name: str) -> tuple[Path, str]:
    key = base / f"{name}_signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, key.with_suffix(".pub").read_text().strip()


def test_refuses_unsigned_commits_when_signers_are_required(world: World) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.fail("ssh-keygen is needed to sign commits")
    w = world
    a = w.alice
    key, public = _signing_key(w.base, "alice")
    a.git("config", "gpg.format", "ssh")
    a.git("config", "user.signingkey", str(key))
    a.git("config", "commit.gpgsign", "true")
    policy = a.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            f"  alice: {w.team.people['alice'].public}\n",
            f'  alice:\n    key: {w.team.people["alice"].public}\n    signing_keys: ["{public}"]\n',
        )
    )
    anchor = a.commit_all("alice signs her commits")
    a.git("push", "-q", "origin", "HEAD:main")
    _config(w, require_signed_by=["alice"], signed_since=anchor)
    w.push({"db.password": NEW}, message="signed rotation")
    r = w.agent("--once")
    assert r.returncode == 0, r.stdout + r.stderr
    good = a.head()
    assert _password(w) == NEW
    # an unsigned commit (here: alice's e-mail, no signature) is refused
    a.git("-c", "commit.gpgsign=false", "pull", "-q", "--ff-only", "origin", "main")
    a.ok("set", F, "db.password", "unsigned-Password-5")
    a.git("add", "-A")
    a.git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "unsigned")
    a.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "not signed")
    # a good signature by a recipient who is not among the named signers is refused too
    bob_key, bob_public = _signing_key(w.base, "bob")
    a.git("reset", "-q", "--hard", good)
    a.git("push", "-q", "--force", "origin", "HEAD:main")
    policy.write_text(
        policy.read_text().replace(
            f"  bob: {w.team.people['bob'].public}\n",
            f'  bob:\n    key: {w.team.people["bob"].public}\n    signing_keys: ["{bob_public}"]\n',
        )
    )
    a.commit_all("bob signs too")  # signed by alice: accepted
    a.git("push", "-q", "origin", "HEAD:main")
    assert w.agent("--once").returncode == 0
    good = a.head()
    a.ok("set", F, "db.password", "bob-Password-6")
    a.git("add", "-A")
    a.git("-c", f"user.signingkey={bob_key}", "commit", "-q", "-m", "by bob")
    a.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "not in require_signed_by")


def test_range_check_sees_a_respelt_old_version(world: World) -> None:
    """The second, whole-range look (rangecheck's version ids) on its own."""
    from gitvault.agent.gate import restored
    from tests.trust.test_attacks import respell

    w = world
    good = _applied(w)
    old = w.alice.git("show", f"{good}~1:{F}").stdout.encode()
    (w.alice.root / F).write_bytes(respell(old))
    head = w.alice.commit_all("re-spelt old file")
    found = restored(w.alice.root, good, head, [F])
    assert len(found) == 1 and "rollback" in found[0] and F in found[0]
    assert restored(w.alice.root, f"{good}~1", good, [F]) == []  # a real rotation is not one
    w.alice.git("push", "-q", "origin", "HEAD:main")
    _assert_refused(w, good, "rollback")
