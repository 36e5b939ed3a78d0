"""Start the user's editor so that nothing of the buffer lands outside the private directory.

Editors keep state of their own beside the file they edit: vim's viminfo
(registers: a deleted line's value), undo files (the whole edit history), swap
and backup files; neovim's shada; emacs's backups, auto-saves and lock files;
nano's backups and search history. For a plaintext buffer each of those is a
copy of secrets written for good somewhere under ``$HOME``.

For the editors we recognise from ``$VISUAL``/``$EDITOR`` (by the name of the
program, after following symlinks, so ``vi`` that is really vim counts as
vim), this module adds flags that switch that state off, given *after* the
user's own configuration is read so that a ``set undofile`` in a vimrc does
not win, and points whatever directory remains at the private directory. For
every editor, ``XDG_STATE_HOME`` points into the private directory, where
XDG-minded editors keep their history. VS Code cannot be told from its command
line to skip its local history: docs/editing.md says what to set.

Pure: returns the command line and environment; runs nothing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

VIM = "vim"
NEOVIM = "neovim"
EMACS = "emacs"
NANO = "nano"
VSCODE = "vscode"

_VIM_NAMES = frozenset({"vi", "vim", "gvim", "mvim", "view", "rvim", "rview", "vimx", "ex"})
_CODE_NAMES = frozenset({"code", "code-insiders", "codium", "vscodium", "code-oss"})


def _real_name(program: str) -> str:
    """The program's name with symlinks followed (``vi`` -> ``vim.basic``), else as given."""
    found = shutil.which(program)
    return Path(os.path.realpath(found)).name if found is not None else Path(program).name


def _kind_of(name: str) -> str | None:
    if name.startswith("nvim"):
        return NEOVIM
    if name in _VIM_NAMES or name.startswith("vim."):
        return VIM
    if name.startswith("emacs") and not name.startswith("emacsclient"):
        return EMACS
    if name in ("nano", "rnano"):
        return NANO
    if name in _CODE_NAMES:
        return VSCODE
    return None


def editor_kind(argv: list[str]) -> str | None:
    """Which known editor ``argv`` starts, or None.

    The real program decides: ``vi`` that resolves to nvi or busybox is not
    vim, and our vim flags would break it.
    """
    return _kind_of(_real_name(argv[0]))


def _vim_path(path: Path) -> str:
    """A directory for a ``:set`` option value: spaces, commas, bars and quotes escaped."""
    return re.sub(r'([ \\,|"])', r"\\\1", str(path))


def _vim_args(private: Path, neovim: bool) -> list[str]:
    d = _vim_path(private)
    history = ["shada=", "shadafile=NONE"] if neovim else ["viminfo=", "viminfofile=NONE"]
    options = [
        *history,
        "noswapfile",
        "noundofile",
        "nobackup",
        "nowritebackup",
        f"undodir={d}",
        f"directory={d}//",
        f"backupdir={d}",
    ]
    # -i NONE: no viminfo/shada read or written; -n: no swap file. The -c command
    # runs after the user's vimrc and the file are loaded, so it wins over a
    # vimrc's `set undofile`, `set backup` or `set viminfo=…`; the directories
    # are a second line of defence. One `silent! set` per option: a small vim
    # build without an option (vim.tiny has no undofile) skips just that one.
    return ["-i", "NONE", "-n", "-c", " | ".join(f"silent! set {o}" for o in options)]


_EMACS_EVAL = (
    "(progn (setq make-backup-files nil backup-inhibited t auto-save-default nil"
    " create-lockfiles nil auto-save-list-file-prefix nil"
    " undo-tree-auto-save-history nil)"
    " (when (fboundp 'savehist-mode) (savehist-mode -1)))"
)


def editor_launch(argv: list[str], path: Path) -> tuple[list[str], dict[str, str]]:
    """The command line (without the file) and environment to edit ``path`` privately.

    ``path`` lives in the private directory; every directory an editor may
    still write to is pointed there. Our flags go right after the program
    name, before the user's own arguments, so a user's ``-c wq`` still runs
    last (emacs: after them, as it wants its start-up options first).
    """
    private = path.parent
    after: list[str] = []
    env = dict(os.environ)
    env["XDG_STATE_HOME"] = str(private / "state")
    kind = editor_kind(argv)
    extra: list[str] = []
    if kind in (VIM, NEOVIM):
        extra = _vim_args(private, kind == NEOVIM)
    elif kind == EMACS:
        # emacs wants --batch, -nw, -q … first; its --eval runs in order, after
        # the init file and before the file named last is visited.
        after = ["--eval", _EMACS_EVAL]
    elif kind == NANO:
        # nano has no "no backup" flag, but a backup directory given on the
        # command line wins over the nanorc's; its search history follows
        # XDG_DATA_HOME.
        extra = [f"--backupdir={private}"]
        env["XDG_DATA_HOME"] = str(private / "data")
    elif kind == VSCODE and "--wait" not in argv and "-w" not in argv:
        # Without --wait `code` returns at once and the edit would be lost.
        extra = ["--wait"]
    return [argv[0], *extra, *argv[1:], *after], env
