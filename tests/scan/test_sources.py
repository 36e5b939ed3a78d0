"""Files on disk and changes from git: odd input handled without a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from gitvault.scan import ScanOptions, scan_history, scan_paths, scan_staged
from gitvault.scan.gitdiff import unquote_path
from tests.conftest import git

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"
TOKEN2 = "ghp_FqaDZeV7G5IfQHeVVEqZe2qpUWnoVPDF2yeQ"


def commit_all(repo: Path, msg: str = "c") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", msg)


def test_binary_symlink_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bin.dat").write_bytes(b"\0\x01" + TOKEN.encode())
    (tmp_path / "real.py").write_text(f"T='{TOKEN}'\n")
    os.symlink(tmp_path / "real.py", tmp_path / "link.py")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    result = scan_paths([tmp_path, tmp_path / "missing.txt"], base=tmp_path)
    assert [f.path for f in result.findings] == ["real.py"]
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons["bin.dat"] == "binary"
    assert reasons["link.py"] == "symlink" and reasons["dangling"] == "symlink"
    assert reasons["missing.txt"] == "missing"


def test_directory_in_git_respects_gitignore(repo: Path) -> None:
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.py").write_text(f"T='{TOKEN}'\n")
    (repo / "src.py").write_text(f"T='{TOKEN2}'\n")
    result = scan_paths([repo], base=repo)
    assert [f.path for f in result.findings] == ["src.py"]
    # Naming an ignored directory explicitly still scans it.
    assert [f.path for f in scan_paths([repo / "build"], base=repo).findings] == ["build/out.py"]


def test_excludes(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.js").write_text(f"t='{TOKEN}'\n")
    (tmp_path / "app.min.js").write_text(f"t='{TOKEN}'\n")
    (tmp_path / "app.js").write_text(f"t='{TOKEN}'\n")
    opts = ScanOptions(excludes=("vendor/", "*.min.js"))
    assert [f.path for f in scan_paths([tmp_path], opts, base=tmp_path).findings] == ["app.js"]


def test_staged_before_first_commit(repo: Path) -> None:
    (repo / "a.py").write_text(f"x = 1\nT='{TOKEN}'\n")
    git(repo, "add", "a.py")
    result = scan_staged(repo)
    assert [(f.path, f.line, f.rule) for f in result.findings] == [("a.py", 2, "github-pat")]


def test_staged_only_added_lines(repo: Path) -> None:
    (repo / "a.py").write_text(f"T='{TOKEN}'\n" + "x = 1\n" * 20)
    commit_all(repo)
    # The old secret is not re-reported; the new one is, with its real line number.
    (repo / "a.py").write_text(
        f"T='{TOKEN}'\n" + "x = 1\n" * 10 + f"U='{TOKEN2}'\n" + "x = 1\n" * 10
    )
    git(repo, "add", "a.py")
    result = scan_staged(repo)
    assert [(f.path, f.line) for f in result.findings] == [("a.py", 12)]


def test_staged_deleted_renamed_binary_and_odd_names(repo: Path) -> None:
    (repo / "gone.py").write_text(f"T='{TOKEN}'\n")
    (repo / "old name.py").write_text("x = 1\n" * 30)
    commit_all(repo)
    git(repo, "rm", "-q", "gone.py")
    git(repo, "mv", "old name.py", "new name.py")
    (repo / "blob.bin").write_bytes(b"\0\0" + TOKEN.encode())
    (repo / 'we"ird\tname.py').write_text(f"T='{TOKEN2}'\n")
    (repo / "latin.txt").write_bytes(b"caf\xe9 T='" + TOKEN2.encode() + b"'\n")
    git(repo, "add", "-A")
    result = scan_staged(repo)
    assert sorted(f.path for f in result.findings) == ["latin.txt", 'we"ird\tname.py']


def test_staged_submodule_is_ignored(repo: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "s.py").write_text(f"T='{TOKEN}'\n")
    commit_all(sub)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    result = scan_staged(repo)
    assert result.findings == ()


def test_history_each_commit_and_range(repo: Path) -> None:
    (repo / "a.py").write_text("x = 1\n")
    commit_all(repo, "one")
    (repo / "a.py").write_text(f"x = 1\nT='{TOKEN}'\n")
    commit_all(repo, "two")
    (repo / "a.py").write_text("x = 1\n")  # removed again: history still has it
    commit_all(repo, "three")
    result = scan_history(repo)
    [f] = result.findings
    two = git(repo, "rev-parse", "HEAD~1").stdout.strip()
    assert (f.path, f.line, f.commit) == ("a.py", 2, two)
    assert scan_history(repo, ["HEAD~1..HEAD"]).findings == ()


def test_history_reads_each_blob_once(repo: Path) -> None:
    (repo / "a.py").write_text(f"T='{TOKEN}'\n")
    commit_all(repo, "main")
    git(repo, "checkout", "-q", "-b", "other", "HEAD~0")
    git(repo, "checkout", "-q", "--orphan", "copy")
    commit_all(repo, "same content again")
    result = scan_history(repo, ["--all"])
    assert len(result.findings) == 1


def test_empty_repository(repo: Path) -> None:
    assert scan_history(repo).findings == ()
    assert scan_history(repo, ["HEAD"]).findings == ()
    assert scan_staged(repo).findings == ()


def test_unquote_path() -> None:
    assert unquote_path(b'"a\\tb\\"c\\303\\251"') == 'a\tb"c\u00e9'
    assert unquote_path(b"plain/path.py") == "plain/path.py"
