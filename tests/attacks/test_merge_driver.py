"""The merge driver, attacked by a key-less writer's branch, through real ``git merge``.

The driver runs inside ``git merge`` (the merge commit skips the pre-commit
hook), so whatever it encrypts lands in history unchecked.
"""

from __future__ import annotations

import os
import re

import pyrage

from gitvault.crypto.envelope import wrap
from gitvault.sops.file import parse_vault
from tests.team.conftest import Team, all_work_tree_bytes

APP = "secrets/prod/app.yaml"
BASE = "db:\n    password: base-pass-1\n    user: app-user-1\nport: 5432\n"


def _age_block(team: Team, person_public: str, enc: str) -> str:
    body = "".join(f"            {line}\n" for line in enc.rstrip("\n").split("\n"))
    return f"        - recipient: {person_public}\n          enc: |\n{body}"


def _swap_bob_for_outsider(team: Team) -> None:
    """What a key-less attacker can do to ``sops.age``: drop a stanza, add their own."""
    path = team.root / APP
    text = path.read_text()
    # remove bob's stanza
    # (either key order: sops < 3.13 writes recipient first, 3.13 sorts enc first)
    bob = re.escape(team.bob.public)
    pattern = re.compile(
        r"        - recipient: " + bob + r"\n          enc: \|\n(?:            .*\n)+"
        r"|        - enc: \|\n(?:            .*\n)+          recipient: " + bob + r"\n"
    )
    text, n = pattern.subn("", text)
    assert n == 1
    junk = wrap(os.urandom(32), team.outsider.public)  # they cannot wrap the real key
    text = text.replace(
        "    age:\n", "    age:\n" + _age_block(team, team.outsider.public, junk), 1
    )
    path.write_text(text)


def test_a_branch_editing_sops_age_gets_no_data_key_from_the_merge(team: Team) -> None:
    """Before: the driver merged the recipient lists of both sides, saw bob removed,
    made a fresh data key and wrapped it for every merged recipient — the outsider
    the branch had added included. The merge exited 0 and the outsider could read
    every value of the merged file."""
    team.write(APP, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "evil")
    _swap_bob_for_outsider(team)
    team.commit("harmless-looking change")
    team.git("checkout", "-q", "main")
    assert team.cli(["set", APP, "port", "6543", "--type", "int"]).code == 0
    team.commit("ours")
    m = team.git("merge", "--no-edit", "evil", check=False)
    # The outsider can read nothing that the merge left behind.
    assert team.cli(["decrypt", APP], team.outsider).code == 3
    assert m.returncode != 0, m.stdout + m.stderr
    assert "policy" in m.stderr
    for rel, data in all_work_tree_bytes(team.root).items():
        assert b"base-pass-1" not in data, rel
    # ours is left as it was: a valid file for the policy's readers
    assert team.values(APP)["port"] == 6543
    assert team.values(APP, team.bob)["port"] == 6543


def test_a_branch_that_names_the_outsider_in_its_policy_gets_no_key_either(team: Team) -> None:
    """Before: a branch that edited the policy *and* the file consistently (outsider
    added to ``ops``, the file's stanza list edited to match) made the driver wrap
    the merged file's data key for the outsider. The result's readers come from the
    committed policy of the branch being merged into; the outsider is not among them."""
    team.write(APP, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "evil")
    policy = team.root / ".gitvault.yaml"
    text = policy.read_text()
    text = text.replace("  carol: ", f"  outsider: {team.outsider.public}\n  carol: ")
    text = text.replace("ops: [alice, bob]", "ops: [alice, outsider]")
    policy.write_text(text)
    _swap_bob_for_outsider(team)
    team.commit("rotate the on-call")
    team.git("checkout", "-q", "main")
    assert team.cli(["set", APP, "port", "6543", "--type", "int"]).code == 0
    team.commit("ours")
    team.git("merge", "--no-edit", "evil", check=False)
    assert team.cli(["decrypt", APP], team.outsider).code == 3


def test_a_branch_with_its_own_data_key_never_lends_it_to_the_merge(team: Team) -> None:
    """Before: when only theirs had a new data key the driver adopted it. A key-less
    writer can make a whole file under a data key they chose (wrapped to everyone's
    public keys), so values only *ours* holds were re-encrypted under a key the
    attacker knows. Now a side's new key is never reused: a fresh one is made."""
    team.write(APP, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "evil")
    # The attacker's file: their own values, their own data key, correct recipients.
    (team.root / APP).unlink()
    team.write(APP, "db:\n    password: attacker-pass\n    user: app-user-1\nport: 5432\n")
    team.commit("refresh")
    evil_key = parse_vault((team.root / APP).read_bytes(), APP).meta.age
    team.git("checkout", "-q", "main")
    assert team.cli(["set", APP, "added_by_ours", "only-ours-knows-this"]).code == 0
    team.commit("ours")
    team.git("merge", "--no-edit", "evil", check=False)
    merged = parse_vault((team.root / APP).read_bytes(), APP).meta.age
    assert {s.enc for s in merged}.isdisjoint({s.enc for s in evil_key})
    # Decrypting the merged file's stanza for alice gives a key different from the
    # attacker's: the stanzas are not theirs.

    ident = pyrage.x25519.Identity.from_str(team.alice.key_file.read_text().splitlines()[1])
    alice_key = lambda stanzas: next(  # noqa: E731
        pyrage.decrypt(s.enc.encode(), [ident]) for s in stanzas if s.recipient == team.alice.public
    )
    assert alice_key(merged) != alice_key(evil_key)
