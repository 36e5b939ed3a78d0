"""Install, remove and inspect gitvault's git hooks.

Hooks go where git will run them: ``git rev-parse --git-path hooks``, which
honours ``core.hooksPath``. Installing is idempotent (our script is recognised
by a marker line and rewritten in place). A hook that was already there is
kept: it is renamed ``<hook>.pre-gitvault`` and our script runs it first, with
the same arguments and standard input; uninstalling puts it back.

Never overwrite or delete a hook that gitvault did not write.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from gitvault.errors import GitError, UsageError
from gitvault.scan.gitdiff import run_git

HOOK_TYPES: tuple[str, ...] = ("pre-commit", "pre-push", "pre-receive")
MARKER = "# gitvault-hook v1"
CHAINED_SUFFIX = ".pre-gitvault"
_STDIN_HOOKS = frozenset({"pre-push", "pre-receive"})

_TEMPLATE = """#!/bin/sh
{marker}: {hook}
# Installed by `gitvault hooks install`; remove with `gitvault hooks uninstall`.
# A hook that was here before is kept as {hook}{suffix} and runs first.
# Bypass once, on purpose: git's own --no-verify flag.
hook_dir=$(dirname -- "$0")
chained="$hook_dir/{hook}{suffix}"
GITVAULT_PYTHON={python}
run_gitvault() {{
    if [ -x "$GITVAULT_PYTHON" ]; then
        "$GITVAULT_PYTHON" -m gitvault hook "$@"
    elif command -v gitvault >/dev/null 2>&1; then
        gitvault hook "$@"
    else
        echo "gitvault: error: gitvault is not installed; cannot run the {hook} hook" >&2
        echo "gitvault: hint: install gitvault, or run: gitvault hooks uninstall" >&2
        return 1
    fi
}}
{body}"""

_BODY_ARGS = """if [ -x "$chained" ]; then
    "$chained" "$@" || exit $?
fi
run_gitvault {hook} "$@"
"""

_BODY_STDIN = """input=$(cat)
if [ -x "$chained" ]; then
    printf '%s\\n' "$input" | "$chained" "$@" || exit $?
fi
printf '%s\\n' "$input" | run_gitvault {hook} "$@"
"""


@dataclass(frozen=True)
class HookState:
    """What is installed for one hook type."""

    hook: str
    path: Path
    state: str  # "installed", "foreign", "absent"
    chained: bool


def hooks_dir(repo: Path) -> Path:
    """The directory git runs hooks from (``core.hooksPath`` aware)."""
    out = (
        run_git(["rev-parse", "--git-path", "hooks"], repo)
        .decode("utf-8", "surrogateescape")
        .strip()
    )
    if not out:
        raise GitError("cannot find the hooks directory")
    path = Path(out)
    return path if path.is_absolute() else (repo / path)


def script(hook: str) -> str:
    """The shell script installed for ``hook``."""
    body = (_BODY_STDIN if hook in _STDIN_HOOKS else _BODY_ARGS).format(hook=hook)
    return _TEMPLATE.format(
        marker=MARKER,
        hook=hook,
        suffix=CHAINED_SUFFIX,
        python=shlex.quote(sys.executable),
        body=body,
    )


def _is_ours(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return MARKER in head


def _check(which: tuple[str, ...] | list[str]) -> None:
    unknown = [h for h in which if h not in HOOK_TYPES]
    if unknown:
        raise UsageError(
            f"unknown hook {unknown[0]!r}", hint=f"choose from {', '.join(HOOK_TYPES)}"
        )


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".gitvault-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)


def install_hooks(repo_root: Path, which: tuple[str, ...] = ("pre-commit",)) -> list[str]:
    """Install (or update) the named hooks; return one human line per hook."""
    _check(which)
    directory = hooks_dir(repo_root)
    directory.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    for hook in which:
        path = directory / hook
        chained = directory / (hook + CHAINED_SUFFIX)
        if path.is_symlink() or path.exists():
            if _is_ours(path):
                _write_executable(path, script(hook))
                messages.append(f"{hook}: already installed (updated) in {directory}")
                continue
            if chained.exists():
                raise GitError(
                    f"{hook}: both {path.name} and {chained.name} exist",
                    hint="merge them by hand, then run gitvault hooks install again",
                )
            os.replace(path, chained)
            _write_executable(path, script(hook))
            messages.append(f"{hook}: installed in {directory}; the existing hook runs first")
            continue
        _write_executable(path, script(hook))
        messages.append(f"{hook}: installed in {directory}")
    return messages


def uninstall_hooks(repo_root: Path, which: tuple[str, ...] = HOOK_TYPES) -> list[str]:
    """Remove our hooks and restore chained ones; foreign hooks are left alone."""
    _check(which)
    directory = hooks_dir(repo_root)
    messages: list[str] = []
    for hook in which:
        path = directory / hook
        chained = directory / (hook + CHAINED_SUFFIX)
        if not (path.exists() or path.is_symlink()):
            messages.append(f"{hook}: not installed")
            continue
        if not _is_ours(path):
            messages.append(f"{hook}: left alone (not installed by gitvault)")
            continue
        path.unlink()
        if chained.exists():
            os.replace(chained, path)
            messages.append(f"{hook}: removed; the previous hook is restored")
        else:
            messages.append(f"{hook}: removed")
    return messages


def hook_status(repo_root: Path, which: tuple[str, ...] = HOOK_TYPES) -> list[HookState]:
    """What is installed for each hook type."""
    _check(which)
    directory = hooks_dir(repo_root)
    states: list[HookState] = []
    for hook in which:
        path = directory / hook
        chained = (directory / (hook + CHAINED_SUFFIX)).exists()
        if not (path.exists() or path.is_symlink()):
            state = "absent"
        elif _is_ours(path):
            state = "installed"
        else:
            state = "foreign"
        states.append(HookState(hook, path, state, chained))
    return states
