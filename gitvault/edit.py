"""The edit flow: decrypt into a private file, run the user's editor, validate, re-encrypt.

Guarantees (DESIGN §11): the plaintext lives only in a 0700 directory on tmpfs
when available (never the work tree or the system temp dir), in a 0600 file,
removed on every exit path including Ctrl-C and SIGTERM; the user's work is
never lost to a typo (invalid YAML or a schema violation reopens the editor on
their text with the error on top); quitting without fixing aborts and leaves
the vault file untouched; an unchanged file is not rewritten.
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
NEW_FILE_TEMPLATE = "# New vault file: add your keys below, save and quit.\n"


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
    argv = [*editor_command(), str(path)]
    try:
        proc = subprocess.run(argv, check=False)
    except FileNotFoundError:
        raise UsageError(
            f"editor {argv[0]!r} not found", hint="set $EDITOR to an installed editor"
        ) from None
    if proc.returncode != 0:
        raise BadInput(f"the editor exited with status {proc.returncode}; nothing was changed")


def _strip_error_header(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith(ERROR_MARK):
        lines.pop(0)
    return "".join(lines)


def edit_text(
    initial: str,
    validate: Callable[[str], list[Mapping]],
    *,
    editor: Callable[[Path], None] = run_editor,
) -> tuple[str, list[Mapping]] | None:
    """Let the user edit ``initial`` until it validates; None when nothing changed.

    ``validate`` parses and checks the text, raising :class:`GitvaultError` to
    reject it. On rejection the editor reopens with the error on top; if the
    user then quits without saving, the last error is raised and nothing is
    written.
    """
    initial_digest = hashlib.sha256(initial.encode()).digest()
    with fsutil.private_dir() as tmp:
        path = tmp / "secrets.yaml"
        fsutil.write_private(path, initial.encode())
        shown = initial
        last_error: GitvaultError | None = None
        while True:
            before = hashlib.sha256(shown.encode()).digest()
            editor(path)
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            if hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest() == before:
                if last_error is None:
                    return None
                raise last_error  # quit without fixing: abort, nothing written
            body = _strip_error_header(text)
            if hashlib.sha256(body.encode("utf-8", "surrogateescape")).digest() == initial_digest:
                return None
            try:
                docs = validate(body)
                return body, docs
            except GitvaultError as err:
                last_error = err
                header = (
                    f"{ERROR_MARK}error: {err.message}\n"
                    f"{ERROR_MARK}fix it and save, or quit without saving to abort\n"
                )
                shown = header + body
                path.write_text(shown, encoding="utf-8", errors="surrogateescape")
