"""textconv under GitHub Actions: a diff in a CI log must not show plaintext."""

from __future__ import annotations

import os
import subprocess

from tests.team.conftest import Team

APP = "secrets/dev/app.yaml"


def test_textconv_registers_masks_before_printing_plaintext(team: Team) -> None:
    """Before: ``git diff`` in a GitHub Actions job printed every decrypted value in
    the log with no ``::add-mask::``, readable by anyone who can read the job."""
    team.write(APP, 'db:\n    password: "tab\\there"\n    note: "it\'s-quoted"\nport: 5432\n')
    team.commit("base")
    assert team.cli(["set", APP, "db.password", "new\tvalue-2"]).code == 0
    env = dict(team.alice.env, GITHUB_ACTIONS="true")
    diff = subprocess.run(
        ["git", "diff", APP],
        cwd=team.root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    masks = {ln.removeprefix("::add-mask::") for ln in diff.stderr.splitlines()}
    # every value, as meant and as the YAML output spells it, is masked
    for expected in ("tab\there", '"tab\\there"', "new\tvalue-2", '"new\\tvalue-2"', "it's-quoted"):
        assert expected in masks, (expected, masks)
    # masks reach the runner on stderr, which git passes through; stdout is diff text
    assert "::add-mask::" not in diff.stdout
    # each printed value line is covered by some mask
    for line in diff.stdout.splitlines():
        if line[:1] in "+-" and ":" in line and not line.startswith(("+++", "---")):
            value = line.split(":", 1)[1].strip()
            if value and not value.startswith("#"):
                assert any(m and m in line for m in masks), line


def test_textconv_outside_ci_registers_no_masks(team: Team) -> None:
    team.write(APP, "a: secret-value-1\n")
    r = team.cli(["textconv", str(team.root / APP)])
    assert r.code == 0 and "secret-value-1" in r.stdout
    assert "::add-mask::" not in r.output
