"""Resource limits on sizes a hostile file or policy controls.

Each test is an attack a key-less writer can mount by pushing a file. Each
must end in one ``gitvault: error:`` line with exit code 5 (bad input), without
doing the expensive work first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyrage

from gitvault.crypto.envelope import wrap
from tests.team.conftest import Team

DEV = "secrets/dev/app.yaml"


def _stanza(recipient: str, enc: str) -> str:
    body = "".join(f"            {line}\n" for line in enc.rstrip("\n").split("\n"))
    return f"        - recipient: {recipient}\n          enc: |\n{body}"


def _with_extra_stanzas(text: str, stanzas: list[str]) -> str:
    """Insert stanzas at the front of the file's ``sops.age`` list."""
    marker = "    age:\n"
    assert marker in text
    return text.replace(marker, marker + "".join(stanzas), 1)


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("gitvault: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_thousands_of_age_stanzas_are_refused_before_unwrapping(team: Team) -> None:
    """Before: every stanza was tried with every identity (minutes for a few thousand);
    decrypt then succeeded with exit 0."""
    team.write(DEV, "a: 1\n")
    path = team.root / DEV
    junk = wrap(os.urandom(32), team.outsider.public)
    # Distinct recipients (fresh keys): only the count is abnormal.
    many = []
    for _ in range(2000):
        other = pyrage.x25519.Identity.generate().to_public()
        many.append(_stanza(str(other), junk))
    path.write_text(_with_extra_stanzas(path.read_text(), many))
    r = team.cli(["decrypt", str(path)])
    assert r.code == 5, r.output
    assert "age" in _one_error_line(r.stderr)


def test_two_stanzas_for_one_recipient_are_a_structural_error(team: Team) -> None:
    """Before: a second stanza for alice's key (wrapping another data key) passed verify."""
    team.write(DEV, "a: 1\n")
    path = team.root / DEV
    other = wrap(os.urandom(32), team.alice.public)
    path.write_text(_with_extra_stanzas(path.read_text(), [_stanza(team.alice.public, other)]))
    r = team.cli(["decrypt", str(path)])
    assert r.code == 5, r.output
    assert "more than one age entry" in _one_error_line(r.stderr)


def test_an_oversized_armored_stanza_is_refused(team: Team) -> None:
    """Before: a multi-megabyte armored "data key" was handed to age as it was."""
    team.write(DEV, "a: 1\n")
    path = team.root / DEV
    armor = (
        "-----BEGIN AGE ENCRYPTED FILE-----\n"
        + ("A" * 64 + "\n") * 20000
        + "-----END AGE ENCRYPTED FILE-----\n"
    )
    path.write_text(_with_extra_stanzas(path.read_text(), [_stanza(team.outsider.public, armor)]))
    r = team.cli(["decrypt", str(path)])
    assert r.code == 5, r.output
    assert "too large" in _one_error_line(r.stderr)


def test_a_malformed_glob_is_one_line_naming_the_rule(team: Team) -> None:
    """Before: ``secrets/[]`` compiled to an invalid regex: a traceback (re.error)."""
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace('"secrets/dev/**"', '"secrets/[]"'))
    r = team.cli(["verify"])
    assert r.code == 5, r.output
    line = _one_error_line(r.stderr)
    assert "rules[1]" in line and "path" in line


def test_a_glob_with_nested_stars_matches_in_linear_time(team: Team) -> None:
    """Before: the glob became a backtracking regex; 25 stars against a 60-character
    name would run for years. The subprocess timeout only keeps a regression from
    hanging the suite; the fixed matcher answers at once."""
    policy = team.root / ".gitvault.yaml"
    glob = "secrets/" + "a*" * 25 + "b"
    policy.write_text(policy.read_text().replace('"secrets/dev/**"', f'"{glob}"'))
    (team.root / "secrets").mkdir()
    (team.root / "secrets" / ("a" * 60)).write_text("x: 1\n")
    env = dict(os.environ, **team.alice.env)
    proc = subprocess.run(
        [sys.executable, "-m", "gitvault", "verify", "--no-freshness"],
        cwd=team.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1), proc.stderr


def test_a_vault_file_symlinked_outside_the_repository_is_refused(
    team: Team, tmp_path: Path
) -> None:
    """Before: the link was followed and the outside file read as the vault file."""
    team.write(DEV, "a: 1\n")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_bytes((team.root / DEV).read_bytes())
    (team.root / DEV).unlink()
    (team.root / DEV).symlink_to(outside)
    r = team.cli(["decrypt", str(team.root / DEV)])
    assert r.code == 5, r.output
    assert "outside the repository" in _one_error_line(r.stderr)


def test_a_vault_file_symlinked_to_a_device_is_refused(team: Team) -> None:
    """Before: ``/dev/zero`` was read until memory ran out."""
    (team.root / "secrets" / "dev").mkdir(parents=True)
    (team.root / DEV).symlink_to("/dev/zero")
    r = team.cli(["decrypt", str(team.root / DEV)])
    assert r.code == 5, r.output
    line = _one_error_line(r.stderr)
    assert "outside the repository" in line or "not a regular file" in line


def test_a_policy_symlinked_to_a_device_is_refused(team: Team) -> None:
    """Before: the policy loader read ``/dev/zero`` until memory ran out."""
    policy = team.root / ".gitvault.yaml"
    policy.unlink()
    policy.symlink_to("/dev/zero")
    r = team.cli(["recipients", "list"])
    assert r.code == 5, r.output
    line = _one_error_line(r.stderr)
    assert "outside the repository" in line or "not a regular file" in line


def test_a_device_named_directly_is_not_read(tmp_path: Path) -> None:
    """Before: ``read_input`` read any path it was given, ``/dev/zero`` included."""
    import pytest

    from gitvault import fsutil
    from gitvault.errors import BadInput

    with pytest.raises(BadInput, match="not a regular file"):
        fsutil.read_input(Path("/dev/zero"))
    inside = tmp_path / "repo"
    inside.mkdir()
    (inside / ".git").mkdir()
    (inside / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(BadInput, match="outside the repository"):
        fsutil.read_input(inside / "zero.yaml")


def test_an_oversized_vault_file_is_refused_before_parsing(team: Team) -> None:
    """Before: any size was read into memory and parsed."""
    from gitvault import fsutil

    (team.root / "secrets" / "dev").mkdir(parents=True)
    with open(team.root / DEV, "wb") as fh:
        fh.truncate(fsutil.MAX_INPUT_BYTES + 1)
    r = team.cli(["decrypt", str(team.root / DEV)])
    assert r.code == 5, r.output
    assert "too large" in _one_error_line(r.stderr)


def test_terminal_escapes_in_a_recipient_never_reach_the_terminal(team: Team) -> None:
    """Before: an attacker-written recipient label was printed raw in the access-denied
    message (and in textconv's recipients line), so ESC sequences ran in the terminal."""
    team.write(DEV, "a: 1\n")
    path = team.root / DEV
    text = path.read_text()
    evil = "age1\x1b]0;owned\x07\x1b[2J"
    # quoted so YAML carries the control characters
    text = re.sub(
        r"recipient: (age1\w+)", lambda m: 'recipient: "age1\\e]0;owned\\a\\e[2J"', text, count=1
    )
    path.write_text(text)
    r = team.cli(["decrypt", str(path)], team.outsider)
    assert r.code == 3, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    assert evil not in r.output


def test_a_policy_with_a_huge_number_of_rules_is_refused(team: Team) -> None:
    """Before: any number of rules was accepted, and every path in the repository is
    matched against every rule by every command and hook."""
    policy = team.root / ".gitvault.yaml"
    extra = "".join(f'  - path: "x/{i}/**"\n    recipients: [ops]\n' for i in range(1001))
    policy.write_text(policy.read_text() + extra)
    r = team.cli(["recipients", "list"])
    assert r.code == 5, r.output
    assert "rules" in _one_error_line(r.stderr)
