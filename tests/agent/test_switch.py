"""The group switch killed (SIGKILL, a real process) at each step, then recovered.

A child process switches three files and kills itself at a chosen point:
after the first temp file is written (before the journal says ``commit``),
after the first rename, and after the last rename (before the journal is
removed). :func:`recover` must then leave all three old (first case) or all
three new (the others), with no temp file left.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitvault.agent.outputs import JOURNAL, Change, read_current, recover, switch

ROOT = Path(__file__).resolve().parents[2]

CHILD = """\
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from gitvault.agent import outputs
where, base = sys.argv[1], Path(sys.argv[2])
count = {{"n": 0}}
real_replace, real_temp = outputs.os.replace, outputs._write_temp
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def replace(src, dst):
    real_replace(src, dst)
    count["n"] += 1
    if where == "first-rename" and str(dst).endswith("a.txt"):
        die()
def temp(tmp, data, mode):
    real_temp(tmp, data, mode)
    if where == "staged":
        die()
outputs.os.replace = replace
outputs._write_temp = temp
real_unlink = Path.unlink
def unlink(self, missing_ok=False):
    if where == "before-journal-removal" and self.name == "journal.json":
        die()
    return real_unlink(self, missing_ok=missing_ok)
Path.unlink = unlink
changes = [outputs.Change(base / "out" / n, b"new " + n.encode()) for n in ("a.txt", "b.txt", "c.txt")]
outputs.switch(changes, base / "state")
"""


@pytest.mark.parametrize(
    ("where", "expect"),
    [("staged", "old"), ("first-rename", "new"), ("before-journal-removal", "new")],
)
def test_switch_killed_then_recovered(tmp_path: Path, where: str, expect: str) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "state").mkdir()
    names = ("a.txt", "b.txt", "c.txt")
    for n in names:
        (tmp_path / "out" / n).write_bytes(b"old " + n.encode())
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)))
    proc = subprocess.run([sys.executable, str(script), where, str(tmp_path)], check=False)
    assert proc.returncode == -9  # it really died mid-switch
    assert (tmp_path / "state" / JOURNAL).exists()
    for n in names:  # each single file is old or new right after the kill
        assert read_current(tmp_path / "out" / n) in (b"old " + n.encode(), b"new " + n.encode())
    assert recover(tmp_path / "state") is not None
    assert [read_current(tmp_path / "out" / n) for n in names] == [
        f"{expect} {n}".encode() for n in names
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == list(names)
    assert not (tmp_path / "state" / JOURNAL).exists()
    assert recover(tmp_path / "state") is None  # nothing left to do


def test_switch_can_remove_a_file_and_creates_missing_directories(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    target = tmp_path / "deep" / "er" / "x.json"
    switch([Change(target, b"{}", 0o600)], state)
    assert target.read_bytes() == b"{}" and (target.parent.stat().st_mode & 0o777) == 0o700
    switch([Change(target, None)], state)
    assert not target.exists()
