"""What a writer who holds no key can try, and must not get past ``verify`` or ``log``.

Each test is a real repository history made with real git commands; each
failed on the code before the trust checks compared decoded bytes, walked
merges by their first parent and identified signing recipients by signature.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.trust.conftest import Clone, F, Team, assert_no_values

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
REKEY_TRAILERS = "\n\nGitvault-Action: rekey\nGitvault-File: secrets/app.yaml\nGitvault-Rekey: secrets/app.yaml\n"


def respell(data: bytes) -> bytes:
    """The same file in another spelling: unused base64 bits set, lastmodified re-quoted."""

    def flip(match: re.Match[str]) -> str:
        text, pad = match.group(2), match.group(3)
        last = _B64[_B64.index(text[-1]) ^ 1]
        return f"{match.group(1)}{text[:-1]}{last}{pad}"

    text = re.sub(r"((?:iv|tag):)([A-Za-z0-9+/]+)(=+)", flip, data.decode())
    text = re.sub(r'lastmodified: "([^"]+)"', r"lastmodified: '\1'", text)
    assert text.encode() != data
    return text.encode()


def findings(clone: Clone, *, identity: bool = True) -> list[dict]:  # type: ignore[type-arg]
    _code, report, _r = clone.verify(identity=identity)
    return list(report["history"]["findings"])


def test_respelt_old_file_is_still_a_rollback(team: Team) -> None:
    alice = team.clone("alice")
    old = (alice.root / F).read_bytes()
    alice.ok("set", F, "db.password", "second-Password-2222", "--commit")
    alice.git("push", "-q", "origin", "main")
    mallory = team.clone("mallory")
    (mallory.root / F).write_bytes(respell(old))
    bad = mallory.commit_all("tidy formatting")
    # The re-spelt file is still a valid file: the MAC verifies.
    assert mallory.cli("decrypt", F, identity=False).code != 0  # mallory cannot read it…
    alice.git("pull", "-q", str(mallory.root), "main")
    assert alice.values()["db"]["password"] == "first-Password-1111"  # …but alice's tools accept it
    code, report, r = alice.verify()
    assert code == 1, r.output
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "rollback" and finding["commit"] == bad and finding["current"]
    assert_no_values(r.output)


def test_respelt_unchanged_value_is_not_a_rotation(team: Team) -> None:
    alice = team.clone("alice")
    mallory = team.clone("mallory")
    data = (mallory.root / F).read_bytes()
    (mallory.root / F).write_bytes(respell(data))
    mallory.git("add", "-A")
    mallory.git("commit", "-q", "-m", "looks like a rotation", later=True)
    fake = mallory.head()
    mallory.git("push", "-q", "origin", "main")
    alice.git("pull", "-q", "origin", "main")
    log = alice.log()
    assert not [e for e in log["events"] if e["commit"] == fake and e["kind"] == "rotated"]
    assert not [e for e in alice.log(identity=False)["events"] if e["commit"] == fake]
    # due: the re-spelt values were not rotated in 2031.
    due = json.loads(alice.ok("due", "--json").stdout)
    assert not [i for i in due["items"] if (i["last_change"] or "").startswith("2031")], due
    code, _report, r = alice.verify()
    assert code == 0, r.output


def test_merge_that_restores_an_old_file_is_a_rollback(team: Team) -> None:
    alice = team.clone("alice")
    seed = alice.head()
    alice.ok("set", F, "db.password", "second-Password-2222", "--commit")
    alice.git("push", "-q", "origin", "main")
    mallory = team.clone("mallory")
    mallory.git("switch", "-q", "-c", "docs", seed)
    (mallory.root / "README.md").write_text("docs\n")
    mallory.commit_all("docs")
    mallory.git("switch", "-q", "main")
    mallory.git("merge", "-q", "--no-commit", "--no-ff", "docs")
    mallory.git("checkout", "docs", "--", F)  # the merge quietly takes the old file
    mallory.git("commit", "-q", "--no-edit")
    merge = mallory.head()
    mallory.git("push", "-q", "origin", "main")
    alice.git("pull", "-q", "origin", "main")
    assert alice.values()["db"]["password"] == "first-Password-1111"
    code, report, r = alice.verify()
    assert code == 1, r.output
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "rollback" and finding["commit"] == merge and finding["current"]
    code, report, r = alice.verify(identity=False)
    assert [f["commit"] for f in report["history"]["findings"]] == [merge]


def _signing_alice(team: Team, tmp_path: Path) -> Clone:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = tmp_path / "alice_signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = key.with_suffix(".pub").read_text().strip()
    alice = team.clone("alice")
    alice.git("config", "gpg.format", "ssh")
    alice.git("config", "user.signingkey", str(key))
    alice.git("config", "commit.gpgsign", "true")
    policy = alice.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "    email: alice@example.invalid\n",
            f"    email: alice@example.invalid\n    signing_keys: [{public!r}]\n".replace("'", '"'),
        )
    )
    alice.commit_all("alice signs her commits")
    alice.git("push", "-q", "origin", "main")
    return alice


def test_forged_email_of_a_signing_recipient_is_not_her(
    team_with_emails: Team, tmp_path: Path
) -> None:
    team = team_with_emails
    alice = _signing_alice(team, tmp_path)
    mallory = team.clone("mallory")
    (mallory.root / F).write_text(
        '{"db": {"password": "mallory-Chosen-1"}, "api_token": "x-Chosen-22"}'
    )
    assert mallory.cli("encrypt", F, "--in-place", identity=False).code == 0
    mallory.git("add", "-A")
    mallory.git(
        "-c",
        "user.name=Alice",
        "-c",
        "user.email=alice@example.invalid",
        "commit",
        "-q",
        "-m",
        "rekey" + REKEY_TRAILERS,
    )
    forged = mallory.head()
    mallory.git("push", "-q", "origin", "main")
    alice.git("pull", "-q", "origin", "main")
    for identity in (True, False):
        _code, report, r = alice.verify(identity=identity)
        subs = [f for f in report["history"]["findings"] if f["kind"] == "substitution"]
        assert [f["commit"] for f in subs] == [forged], r.output
        assert subs[0]["writer"] is None and subs[0]["current"]
        assert any("substitution" in p for p in report["files"][0]["problems"])
    log = alice.log()
    (commit,) = [c for c in log["commits"] if c["commit"] == forged]
    assert commit["signed"] is False
    r = alice.cli("review", f"{forged}~1..{forged}", "--format", "json")
    assert r.code == 1, r.output
    review = json.loads(r.stdout)
    assert [(f["kind"], f["commit"]) for f in review["freshness"]] == [("substitution", forged)]
    assert_no_values(r.output)


def test_keyless_substitution_with_rekey_trailers_fails_when_an_identity_can_tell(
    team: Team,
) -> None:
    alice = team.clone("alice")
    mallory = team.clone("mallory")
    (mallory.root / F).write_text('{"db": {"password": "mallory-Chosen-1"}}')
    assert mallory.cli("encrypt", F, "--in-place", identity=False).code == 0
    bad = mallory.commit_all("rekey" + REKEY_TRAILERS)
    mallory.git("push", "-q", "origin", "main")
    alice.git("pull", "-q", "origin", "main")
    code, report, r = alice.verify()
    assert code == 1, r.output
    (finding,) = report["history"]["findings"]
    assert finding["kind"] == "substitution" and finding["commit"] == bad
    # Without an identity nothing proves the values changed: a note names the unverified writer.
    _code, report, r = alice.verify(identity=False)
    assert any("unverified writer" in n and bad[:12] in n for n in report["history"]["notes"])


def test_substitution_merged_by_a_recipient_stays_current(team: Team) -> None:
    alice, bob = team.clone("alice"), team.clone("bob")
    mallory = team.clone("mallory")
    mallory.git("switch", "-q", "-c", "tweak")
    (mallory.root / F).write_text(
        '{"db": {"password": "mallory-Chosen-1", "port": 5432}, "api_token": "x-Chosen-22"}'
    )
    assert mallory.cli("encrypt", F, "--in-place", identity=False).code == 0
    bad = mallory.commit_all("tweak the config")
    mallory.git("push", "-q", "origin", "tweak")
    alice.ok("set", F, "db.port", "6543", "--commit")
    alice.git("push", "-q", "origin", "main")
    # bob merges the branch on top of alice's change: the merge driver keeps mallory's key.
    bob.git("pull", "-q", "origin", "main")
    merged = bob.git("pull", "-q", "--no-edit", "origin", "tweak", check=False)
    assert merged.returncode == 0, merged.stderr
    assert bob.values()["db"]["password"] == "mallory-Chosen-1"
    for identity in (True, False):
        _code, report, r = bob.verify(identity=identity)
        subs = [f for f in report["history"]["findings"] if f["kind"] == "substitution"]
        assert [f["commit"] for f in subs] == [bad], r.output
        assert subs[0]["current"], r.output
        assert any("substitution" in p for p in report["files"][0]["problems"])
    assert_no_values(r.output)
