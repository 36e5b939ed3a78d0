"""The merge-conflict note is shown inside the editor buffer and never reaches the vault file."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.helpers import run_cli
from tests.team.conftest import Team
from tests.team.test_drivers import APP, _branches


def test_conflict_note_is_on_top_of_the_buffer_and_stripped_on_save(
    team: Team, tmp_path: Path
) -> None:
    _branches(
        team,
        ours=[("db.password", "ours-pass-2")],
        theirs=[("db.password", "theirs-pass-2")],
    )
    assert team.git("merge", "--no-edit", "feature", check=False).returncode != 0
    seen = tmp_path / "seen"
    script = tmp_path / "ed.py"
    script.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        "t = p.read_text()\n"
        f"pathlib.Path({str(seen)!r}).write_text(t)\n"
        "p.write_text(t.replace('ours-pass-2', 'resolved-pass-3'))\n"
    )
    editor = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    r = run_cli(["edit", APP], env=team.alice.env | {"EDITOR": editor}, cwd=team.root)
    assert r.code == 0, r.output
    shown = seen.read_text().splitlines()
    assert shown[0].startswith("# gitvault: merge conflict on db.password")
    assert any("MERGE_HEAD" in line for line in shown[:3])
    assert "theirs-pass-2" not in seen.read_text()  # the note names keys, never values
    r = team.decrypt(APP)
    assert r.code == 0 and "gitvault" not in r.stdout and "conflict" not in r.stdout
    raw = run_cli(["decrypt", APP], env=team.alice.env, cwd=team.root).stdout
    assert raw.startswith("db:")  # no comment kept in the file
    assert team.values(APP)["db"]["password"] == "resolved-pass-3"  # type: ignore[index]
