"""Red-team: a pull request that un-covers a vault file and puts plaintext in it.

``review`` checked the files at HEAD by the head's policy only: a range that changes
the rule's path (``secrets/**`` -> ``nothing/**``) made ``secrets/app.yaml`` "not a
vault file", and its plaintext passed with no failing finding. The base's policy is
what the reviewer trusts, and a file it covers is held to it.
"""

from __future__ import annotations

import json

from tests.trust.conftest import F, Team
from tests.trust.conftest import team as team


def test_review_fails_plaintext_in_a_file_the_range_un_covers(team: Team) -> None:
    mallory = team.clone("mallory")
    pol = mallory.root / ".gitvault.yaml"
    pol.write_text(pol.read_text().replace('"secrets/**"', '"nothing/**"'))
    (mallory.root / F).write_text("ld_preload: /tmp/evil-Lib.so\n")
    mallory.commit_all("reorganise")
    r = mallory.cli("review", "origin/main..HEAD", "--format", "json", identity=False)
    assert r.code == 1, r.output
    report = json.loads(r.stdout)
    failing = [f for f in report["findings"] if f["fails"]]
    assert [(f["kind"], f["file"]) for f in failing] == [("plaintext", F)], failing
    assert "evil-Lib" not in r.output


def test_review_of_a_rule_moved_with_its_files_is_quiet(team: Team) -> None:
    alice = team.clone("alice")
    pol = alice.root / ".gitvault.yaml"
    pol.write_text(pol.read_text().replace('"secrets/**"', '"vault/**"'))
    alice.git("mv", "secrets", "vault")
    alice.commit_all("move the vault")
    r = alice.cli("review", "origin/main..HEAD", "--format", "json")
    report = json.loads(r.stdout)
    assert not [f for f in report["findings"] if f["fails"]], report["findings"]
    assert r.code == 0, r.output
