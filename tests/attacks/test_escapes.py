"""Terminal escapes in names a key-less writer controls never reach a terminal.

A branch can name a vault file, a recipient or a commit author with ESC/OSC
sequences (clear the screen, retitle the window, hide a line) or a carriage
return (overwrite the start of the line with a fake "ok"). Every human output
of every command that prints those names must show them escaped; JSON output
must not carry them raw either.
"""

from __future__ import annotations

import json
import re

from tests.team.conftest import Team

EVIL = "\x1b[2J\x1b]0;pwned\x07\r"
APP = f"secrets/prod/a{EVIL}b.yaml"
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> None:
    """No control character but the line break (ESC, BEL, CR, C1, bidi)."""
    found = RAW.findall(text)
    assert not found, f"raw control characters reach the terminal: {found!r}"


def _hostile_repo(team: Team) -> None:
    team.write(APP, "db:\n  password: hunter2-old\n")
    team.git("add", "-A")
    team.git("-c", f"user.name=mallory{EVIL}", "commit", "-qm", f"subject {EVIL}")


def test_verify_prints_a_hostile_file_name_escaped(team: Team) -> None:
    _hostile_repo(team)
    r = team.cli(["verify"])
    assert "\\x1b]0;pwned\\x07\\x0d" in r.output, r.output  # the name is shown, escaped
    _clean(r.stdout)
    _clean(r.stderr)


def test_log_and_due_print_hostile_names_escaped(team: Team) -> None:
    _hostile_repo(team)
    r = team.cli(["log"])
    assert r.code == 0, r.output
    assert "mallory\\x1b[2J" in r.stdout, r.stdout
    _clean(r.stdout)
    _clean(r.stderr)
    r = team.cli(["due"])
    _clean(r.stdout)
    _clean(r.stderr)
    r = team.cli(["log", "--json"])
    _clean(r.stdout)
    authors = [c["author"] for c in json.loads(r.stdout)["commits"]]
    assert any(a.startswith("mallory\x1b[2J") for a in authors), authors  # escaped, same value


def test_access_prints_hostile_names_escaped(team: Team) -> None:
    _hostile_repo(team)
    for args in (["access"], ["access", "bob", "--history"], ["access", "--json"]):
        r = team.cli(args)
        assert "pwned" in r.stdout, r.output
        _clean(r.stdout)
        _clean(r.stderr)


def test_a_recipient_name_with_escapes_is_refused_in_one_clean_line(team: Team) -> None:
    policy = team.root / ".gitvault.yaml"
    # A recipient name with ESC/BEL/CR written as YAML escapes: the policy decodes them.
    policy.write_text(policy.read_text().replace("  carol:", '  "carol\\e[2J\\e]0;pwned\\a\\r":'))
    for args in (["recipients", "list"], ["access"]):
        r = team.cli(args)
        assert r.code == 5, r.output
        _clean(r.stdout)
        _clean(r.stderr)


def test_review_prints_hostile_names_escaped(team: Team) -> None:
    team.write("secrets/dev/app.yaml", "api:\n  token: dev_aaaaaaaaaaaaaaaaaaaa\n")
    base = team.commit("base")
    _hostile_repo(team)
    for fmt in ("markdown", "json"):
        r = team.cli(["review", f"{base}..HEAD", "--format", fmt])
        assert r.stdout, r.output
        _clean(r.stdout)
        _clean(r.stderr)


def test_error_and_hint_lines_print_hostile_names_escaped(team: Team) -> None:
    r = team.cli(["decrypt", str(team.root / APP)])
    assert r.code == 5, r.output
    assert r.stderr.startswith("gitvault: error: "), r.stderr
    assert "\\x1b]0;pwned\\x07\\x0d" in r.stderr
    _clean(r.stderr)
    assert r.stderr.count("\n") <= 2


def test_set_says_a_hostile_file_name_escaped(team: Team) -> None:
    _hostile_repo(team)
    r = team.cli(["set", APP, "db.password", "--stdin"], input="new-value\n")
    assert "\\x1b]0;pwned\\x07\\x0d" in r.stderr, r.output
    _clean(r.stderr)
