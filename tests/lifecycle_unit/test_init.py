"""init: identity facts recorded, a second clone left byte-identical, a clear refusal outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyrage
import pytest

from gitvault import policy
from tests.conftest import git
from tests.helpers import run_cli


def _keygen() -> str:
    r = run_cli(["keygen"])
    assert r.code == 0, r.output
    return r.stdout.strip()


def test_init_records_the_initializers_email(repo: Path) -> None:
    public = _keygen()
    git(repo, "config", "user.email", "alice@example.org")
    r = run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo)
    assert r.code == 0, r.output
    pol = policy.load(repo)
    assert pol.recipients["alice"].email == "alice@example.org"
    assert pol.recipients["alice"].key == public
    text = (repo / ".gitvault.yaml").read_text()
    assert text.startswith("# gitvault policy")  # the starter comments stay


def test_init_email_option_wins_and_ssh_signing_key_is_recorded(repo: Path, tmp_path: Path) -> None:
    _keygen()
    pub = tmp_path / "sign.pub"
    pub.write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd0b2tlbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3 me@laptop\n"
    )
    git(repo, "config", "gpg.format", "ssh")
    git(repo, "config", "user.signingkey", str(pub))
    r = run_cli(["init", "--no-hooks", "--name", "bob", "--email", "bob@example.org"], cwd=repo)
    assert r.code == 0, r.output
    bob = policy.load(repo).recipients["bob"]
    assert bob.email == "bob@example.org"
    assert bob.signing_keys == (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGd0b2tlbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3",
    )


def test_init_without_an_email_still_works_and_says_so(repo: Path) -> None:
    _keygen()
    git(repo, "config", "user.email", "")
    r = run_cli(["init", "--no-hooks", "--name", "carol"], cwd=repo)
    assert r.code == 0, r.output
    assert policy.load(repo).recipients["carol"].email is None
    assert "e-mail" in r.stderr


def _clone_with_vault(tmp_path: Path, attributes: bytes | None = None) -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    first = tmp_path / "first"
    git(tmp_path, "clone", "-q", str(origin), str(first))
    _keygen()
    assert run_cli(["init", "--no-hooks", "--name", "alice"], cwd=first).code == 0
    if attributes is not None:
        (first / ".gitattributes").write_bytes(attributes)
    git(first, "add", "-A")
    git(first, "commit", "-qm", "vault")
    git(first, "push", "-q", "origin", "HEAD:main")
    second = tmp_path / "second"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(second))
    return first, second


@pytest.mark.parametrize(
    "attributes",
    [
        None,  # exactly what init wrote
        b"secrets/**\tmerge=gitvault   diff=gitvault\n",  # re-spaced, reordered
        b"*.txt text\r\nsecrets/** diff=gitvault merge=gitvault\r\n",  # CRLF
        b"secrets/** diff=gitvault merge=gitvault",  # no final newline
        b"** diff=gitvault merge=gitvault\n",  # a broader pattern covers the rule
    ],
)
def test_init_in_a_second_clone_changes_no_tracked_file(
    tmp_path: Path, attributes: bytes | None
) -> None:
    _, second = _clone_with_vault(tmp_path, attributes)
    before = (second / ".gitattributes").read_bytes()
    r = run_cli(["init"], cwd=second)
    assert r.code == 0, r.output
    assert git(second, "status", "--porcelain").stdout == ""
    assert (second / ".gitattributes").read_bytes() == before
    assert git(second, "config", "--local", "merge.gitvault.driver").stdout.strip()


def test_init_from_a_subdirectory_uses_the_vault_above(tmp_path: Path) -> None:
    _, second = _clone_with_vault(tmp_path)
    sub = second / "deploy"
    sub.mkdir()
    r = run_cli(["init", "--no-hooks"], cwd=sub)
    assert r.code == 0, r.output
    assert list(sub.iterdir()) == []
    assert git(second, "status", "--porcelain").stdout == ""


def test_init_adds_a_line_for_a_rule_nothing_routes_yet(tmp_path: Path) -> None:
    first, _ = _clone_with_vault(tmp_path, b"*.txt text\r\n")
    r = run_cli(["init", "--no-hooks"], cwd=first)
    assert r.code == 0
    data = (first / ".gitattributes").read_bytes()
    assert data.startswith(b"*.txt text\r\n")
    assert b"secrets/** diff=gitvault merge=gitvault\r\n" in data  # the file's own line endings


def test_init_outside_git_is_one_clear_line_and_writes_nothing(tmp_path: Path) -> None:
    _keygen()
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    r = run_cli(["init"], cwd=plain)
    assert r.code == 6, r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("gitvault: error:")]
    assert len(errors) == 1 and "not inside a git repository" in errors[0]
    assert "fatal" not in r.stderr and "rev-parse" not in r.stderr
    assert list(plain.iterdir()) == []


def test_recipients_add_records_email_and_signing_key_keeping_comments(repo: Path) -> None:
    _keygen()
    git(repo, "config", "user.email", "alice@example.org")
    assert run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo).code == 0
    dave = str(pyrage.x25519.Identity.generate().to_public())
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRhdmUtc2lnbmluZy1rZXktZm9yLXRlc3RzLTAx"
    r = run_cli(
        [
            "recipients",
            "add",
            "dave",
            dave,
            "--email",
            "dave@example.org",
            "--signing-key",
            key,
            "--group",
            "team",
            "--json",
        ],
        cwd=repo,
    )
    assert r.code == 0, r.output
    import json

    assert json.loads(r.stdout)["layout"] == "kept"
    text = (repo / ".gitvault.yaml").read_text()
    assert "# The first matching rule wins" in text
    pol = policy.load(repo)
    assert pol.recipients["dave"].email == "dave@example.org"
    assert pol.recipients["dave"].signing_keys == (key,)
    assert pol.recipients["alice"].email == "alice@example.org"
    assert "dave" in pol.reader_names(pol.rules[0])
    # and remove takes the whole block entry away again
    assert run_cli(["recipients", "remove", "dave"], cwd=repo).code == 0
    assert "dave" not in (repo / ".gitvault.yaml").read_text()


def test_recipients_add_refuses_a_bad_email(repo: Path) -> None:
    _keygen()
    assert run_cli(["init", "--no-hooks", "--name", "alice"], cwd=repo).code == 0
    before = (repo / ".gitvault.yaml").read_bytes()
    dave = str(pyrage.x25519.Identity.generate().to_public())
    r = run_cli(["recipients", "add", "dave", dave, "--email", "not an email"], cwd=repo)
    assert r.code == 5
    assert (repo / ".gitvault.yaml").read_bytes() == before


def test_git_is_the_one_that_judges_routing(tmp_path: Path) -> None:
    """check-attr sees attributes from .git/info/attributes too: no line is added then."""
    first, _ = _clone_with_vault(tmp_path)
    info = first / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text("secrets/prod/** diff=gitvault merge=gitvault\n")
    pol = first / ".gitvault.yaml"
    pol.write_text(
        pol.read_text().replace(
            '  - path: "secrets/**"',
            '  - path: "secrets/prod/**"\n    recipients: [team]\n  - path: "secrets/**"',
        )
    )
    before = (first / ".gitattributes").read_bytes()
    assert run_cli(["init", "--no-hooks"], cwd=first).code == 0
    assert (first / ".gitattributes").read_bytes() == before
    assert (
        subprocess.run(
            ["git", "status", "--porcelain", ".gitattributes"],
            cwd=first,
            capture_output=True,
            text=True,
        ).stdout
        == ""
    )
