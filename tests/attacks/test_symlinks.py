"""A branch that commits a symlink in a vault path, aimed at a file outside the repository.

git stores the link, not the target. On a CI runner that also has another
project checked out (or a key file, or ``/dev/zero``), the link makes gitvault
read whatever it points at as if it were this repository's vault file.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.team.conftest import Team

APP = "secrets/prod/app.yaml"


def test_export_does_not_deploy_values_from_outside_the_repository(
    team: Team, tmp_path: Path
) -> None:
    """Before: ``export`` followed the link and printed the other project's values
    (readable with the CI identity) into this job's environment."""
    other = tmp_path / "other-project"
    other.mkdir()
    git(other, "init", "-q")
    (other / ".gitvault.yaml").write_text((team.root / ".gitvault.yaml").read_text())
    (other / "secrets" / "prod").mkdir(parents=True, exist_ok=True)
    (other / "plain.yaml").write_text("other_db_password: other-tenant-secret\n")
    r = team.cli(["encrypt", str(other / "plain.yaml"), "-o", str(other / APP)])
    (other / "plain.yaml").unlink()
    assert r.code == 0, r.output
    (team.root / "secrets" / "prod").mkdir(parents=True)
    (team.root / APP).symlink_to(other / APP)
    team.commit("add app config")  # the link is what git stores
    r = team.cli(["export", APP, "--format", "dotenv"])
    assert r.code == 5, r.output
    assert "other-tenant-secret" not in r.output
    assert "outside the repository" in r.stderr


def test_verify_does_not_judge_a_file_outside_the_repository(team: Team, tmp_path: Path) -> None:
    """Before: ``verify`` read the link's target and reported it ok (exit 0)."""
    team.write(APP, "a: 1\n")
    outside = tmp_path / "copy.yaml"
    outside.write_bytes((team.root / APP).read_bytes())
    (team.root / APP).unlink()
    (team.root / APP).symlink_to(outside)
    r = team.cli(["verify", "--no-freshness"])
    assert r.code == 1, r.output
    assert "outside the repository" in r.output


def test_the_pre_commit_hook_refuses_a_symlink_in_a_vault_path(team: Team, tmp_path: Path) -> None:
    """A staged symlink is a blob holding the target's name: not a vault file."""
    (team.root / "secrets" / "prod").mkdir(parents=True)
    (team.root / APP).symlink_to("/dev/zero")
    team.git("add", APP)
    r = team.cli(["hook", "pre-commit"])
    assert r.code == 1, r.output
    assert APP in r.stderr and "not a valid vault file" in r.stderr


def test_a_symlinked_directory_does_not_lead_reads_outside(team: Team, tmp_path: Path) -> None:
    """Before: a committed link ``secrets/prod -> /elsewhere`` made every file below it
    read from outside the repository (the file itself is not a link)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    team.write("secrets/dev/app.yaml", "a: 1\n")
    (elsewhere / "app.yaml").write_bytes((team.root / "secrets/dev/app.yaml").read_bytes())
    (team.root / "secrets" / "prod").symlink_to(elsewhere)
    r = team.cli(["decrypt", str(team.root / APP)])
    assert r.code == 5, r.output
    assert "outside the repository" in r.stderr


def test_export_does_not_skip_its_checks_when_the_policy_is_a_link(team: Team) -> None:
    """Before: ``export`` looked for a *regular* policy file and, finding a link (here a
    dangling one a branch committed), skipped every policy check and exported a file
    encrypted to a recipient the policy does not name."""
    from gitvault.sops.file import encrypt_new
    from gitvault.yamlio import load_documents

    (team.root / "secrets" / "prod").mkdir(parents=True)
    data = encrypt_new(
        load_documents("token: t-1\n", APP), [team.alice.public, team.outsider.public]
    )
    (team.root / APP).write_bytes(data)
    policy = team.root / ".gitvault.yaml"
    policy.unlink()
    policy.symlink_to("gone/.gitvault.yaml")
    r = team.cli(["export", APP, "--format", "dotenv"])
    assert r.code != 0, r.output
    assert "t-1" not in r.stdout
