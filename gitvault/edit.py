"""The edit flow: decrypt into a private file, run the user's editor, validate, re-encrypt.

Guarantees (DESIGN §11): the plaintext lives only in a 0700 directory on tmpfs
when available (never the work tree or the system temp dir), in a 0600 file,
removed on every exit path including Ctrl-C and SIGTERM; the user's work is
never lost to a typo (invalid YAML or a schema violation reopens the editor on
their text with the error on top, and so does a write that fails); quitting
without fixing aborts and leaves the vault file untouched; an unchanged file is
not rewritten. An editor that keeps saving text that does not validate without
a person at the terminal (no TTY, or the same rejected text three times in a
row) ends the loop with exit 5 instead of spinning forever.

Notes for the user (a new-file hint, a merge conflict, the last error) are
shown as ``# gitvault: …`` comment lines on top of the buffer and stripped on
save, so they never end up in the vault file.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitvault import fsutil
from gitvault.errors import BadInput, GitvaultError, UsageError
from gitvault.model import Mapping

ERROR_MARK = "# gitvault: "
NEW_FILE_TEMPLATE = f"{ERROR_MARK}new vault file: add your keys below, save and quit\n"
# Without a terminal nobody can fix the text: give up after this many rejected
# rounds. With one, give up when the editor returns the same rejected text this
# many times in a row (an editor that saves and exits on its own).
MAX_UNATTENDED_ROUNDS = 3
MAX_SAME_REJECTED = 3
MAX_ROUNDS = 100  # nobody fixes a file a hundred times: something else is typing


@dataclass(frozen=True)
class EditResult:
    """``changed`` is False when the user saved nothing new; ``data`` are the new bytes."""

    changed: bool
    data: bytes | None
    created: bool = False


def editor_command() -> list[str]:
    """``$VISUAL``, then ``$EDITOR``, then ``vi``, split the way a shell would."""
    raw = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(raw)
    except ValueError:
        raise UsageError("cannot parse $VISUAL/$EDITOR (unbalanced quotes?)") from None
    if not argv:
        raise UsageError("$VISUAL/$EDITOR is empty")
    return argv


def run_editor(path: Path) -> None:
    """Run the user's editor on ``path`` with the flags that keep its state private."""
    from gitvault.editors import editor_launch

    argv, env = editor_launch(editor_command(), path)
    try:
        proc = subprocess.run([*argv, str(path)], check=False, env=env)
    except FileNotFoundError:
        raise UsageError(
            f"editor {argv[0]!r} not found", hint="set $EDITOR to an installed editor"
        ) from None
    if proc.returncode != 0:
        raise BadInput(f"the editor exited with status {proc.returncode}; nothing was changed")


def _strip_error_header(text: str) -> str:
    """The buffer without gitvault's leading ``# gitvault: …`` note lines."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith(ERROR_MARK):
        lines.pop(0)
    return "".join(lines)


def note_lines(*notes: str) -> str:
    """Comment lines shown on top of the buffer and stripped on save."""
    return "".join(f"{ERROR_MARK}{n.replace(chr(10), ' ')}\n" for n in notes)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def _save(save: Callable[[str, list[Mapping]], None], body: str, docs: list[Mapping]) -> None:
    """Run ``save``; an OS error becomes a rejection, so the editor reopens on the text."""
    try:
        save(body, docs)
    except OSError as exc:
        raise BadInput(f"cannot save the file ({exc.strerror or type(exc).__name__})") from None


def buffer_name(fmt: str) -> str:
    """The editor buffer's file name: its extension lets the editor highlight the format."""
    return {"json": "secrets.json", "dotenv": "secrets.env", "binary": "secrets"}.get(
        fmt, "secrets.yaml"
    )


def interactive() -> bool:
    """True when a person can answer the editor: stdin and stdout are terminals."""
    try:
        return os.isatty(0) and os.isatty(1)
    except OSError:
        return False


def edit_text(
    initial: str,
    validate: Callable[[str], list[Mapping]],
    *,
    editor: Callable[[Path], None] = run_editor,
    header: str = "",
    save: Callable[[str, list[Mapping]], None] | None = None,
    attended: bool | None = None,
    filename: str = "secrets.yaml",
) -> tuple[str, list[Mapping]] | None:
    """Let the user edit ``initial`` until it validates (and saves); None when nothing changed.

    ``header`` (see :func:`note_lines`) is shown above ``initial`` and stripped
    on save. ``validate`` parses and checks the text and ``save`` writes it,
    both raising :class:`GitvaultError` to reject it: the editor reopens with
    the error on top, so a failed write never loses what the user typed. If
    the user then quits without saving, the last error is raised and nothing is
    written. ``attended`` (default: :func:`interactive`) bounds the rounds.
    """
    if attended is None:
        attended = interactive()
    initial_digest = _digest(initial)
    with fsutil.private_dir() as tmp:
        path = tmp / filename
        shown = header + initial
        fsutil.write_private(path, shown.encode("utf-8", "surrogateescape"))
        last_error: GitvaultError | None = None
        rounds = same = 0
        last_rejected: bytes | None = None
        while True:
            before = _digest(shown)
            editor(path)
            rounds += 1
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            if _digest(text) == before:
                if last_error is None:
                    return None
                raise last_error  # quit without fixing: abort, nothing written
            body = _strip_error_header(text)
            if _digest(body) == initial_digest:
                return None
            try:
                docs = validate(body)
                if save is not None:
                    _save(save, body, docs)
                return body, docs
            except GitvaultError as err:
                last_error = err
                same = same + 1 if _digest(body) == last_rejected else 1
                last_rejected = _digest(body)
                if (
                    (not attended and rounds >= MAX_UNATTENDED_ROUNDS)
                    or same >= MAX_SAME_REJECTED
                    or rounds >= MAX_ROUNDS
                ):
                    err.hint = (
                        f"the editor saved text that does not validate {rounds} time(s) "
                        "without a fix; nothing was written"
                    )
                    raise
                shown = (
                    note_lines(
                        f"error: {err.message}", "fix it and save, or quit without saving to abort"
                    )
                    + body
                )
                path.write_text(shown, encoding="utf-8", errors="surrogateescape")
