"""SIGKILL ``offboard --rotate --commit`` at random moments: no applied value is lost.

Before the journal, a kill during the commit (a slow pre-commit hook) lost a
value whose rollback had failed in about half of the kills: offboard wrote the
files *without* it, committed, and put it back afterwards.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pyrage
import pytest

from tests.conftest import git
from tests.crash.conftest import SEED, TRIALS, Lab, script, slow_hook

DB = "secrets/prod/db.yaml"
POLICY = """\
version: 1
recipients:
  alice: {alice}
  bob: {bob}
groups:
  ops: [alice, bob]
rules:
  - path: "secrets/prod/**"
    recipients: [ops]
    keys:
      db.password: {{generate: "hex:16", apply: "{apply}", verify: "{verify}"}}
"""


@pytest.fixture
def team_lab(
    repo: Path, hermetic_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Lab:
    keys = tmp_path / "keys"
    keys.mkdir()
    people = {}
    for name in ("alice", "bob"):
        ident = pyrage.x25519.Identity.generate()
        path = keys / f"{name}.txt"
        path.write_text(f"{ident}\n")
        people[name] = (str(ident.to_public()), path)
    monkeypatch.setenv("GITVAULT_AGE_KEY_FILE", str(people["alice"][1]))
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    ext = tmp_path / "external"
    ext.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), XDG_RUNTIME_DIR=str(tmp))
    if os.environ.get("GITVAULT_CRASH_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["GITVAULT_CRASH_PYTHONPATH"]
    lab = Lab(repo, env, ext, tmp, random.Random(SEED))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    broken = tmp_path / "broken"
    # apply installs the value (its rollback fails while `broken` exists);
    # verify checks what the system holds (and fails while `broken` exists).
    apply = script(
        scripts,
        "apply",
        f"""
sleep 0.05
if [ "$GITVAULT_PHASE" = rollback ] && [ -e "{broken}" ]; then exit 1; fi
printf %s "$GITVAULT_NEW_VALUE" > "{ext}/$GITVAULT_KEY.tmp"
mv "{ext}/$GITVAULT_KEY.tmp" "{ext}/$GITVAULT_KEY"
""",
    )
    verify = script(
        scripts,
        "verify",
        f"""
sleep 0.05
[ -e "{broken}" ] && exit 1
[ "$(cat "{ext}/$GITVAULT_KEY")" = "$GITVAULT_NEW_VALUE" ]
""",
    )
    (repo / ".gitvault.yaml").write_text(
        POLICY.format(alice=people["alice"][0], bob=people["bob"][0], apply=apply, verify=verify)
    )
    assert lab.gv("init", "--no-hooks").returncode == 0
    (repo / "secrets" / "prod").mkdir(parents=True)
    (repo / DB).write_text("db:\n    password: first-password\n    port: 5432\n")
    assert lab.gv("encrypt", DB, "--in-place").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "team vault")
    (ext / "db.password").write_text("first-password")
    lab.seen.add("first-password")
    slow_hook(repo, 0.4)
    return lab


@pytest.mark.parametrize("rollback", ["works", "fails"])
def test_offboard_killed_anywhere_keeps_the_applied_value(
    team_lab: Lab, tmp_path: Path, rollback: str
) -> None:
    lab = team_lab
    broken = tmp_path / "broken"
    base = git(lab.root, "rev-parse", "HEAD").stdout.strip()
    args = ["offboard", "bob", "--rotate", "--commit"]
    length = 4.0
    for _ in range(TRIALS):
        if rollback == "fails":
            broken.touch()
        lab.kill_during(args, length)
        on_disk = lab.value("db.password", DB)
        held = lab.external("db.password")
        assert held == on_disk or held in lab.journal_values("db.password", DB), (
            "the value the external system holds is in neither the file nor the journal"
        )
        broken.unlink(missing_ok=True)  # the system is fixed before anyone recovers
        if lab.pending():
            r = lab.gv("recover", "--finish")
            assert r.returncode == 0, r.stderr
        else:
            assert lab.gv("recover").returncode == 0  # the next run: nothing to recover
        assert not lab.pending()
        assert lab.external("db.password") == lab.value("db.password", DB)
        assert lab.value("db.password", DB) == lab.head_value("db.password", DB)
        status = git(lab.root, "status", "--porcelain").stdout.splitlines()
        assert [s for s in status if not s.endswith(".tmp")] == []
        lab.assert_no_plaintext({lab.external("db.password") or "", *lab.seen})
        # Next trial from the same start: bob is back, the system holds the first value.
        lab.seen.add(lab.external("db.password") or "")
        git(lab.root, "reset", "-q", "--hard", base)
        (lab.ext / "db.password").write_text("first-password")
