"""The body of ``edit``, without click: decrypt, edit in a private buffer, save.

:func:`gitvault.cli.files.edit` declares the command (options, help) and calls
:func:`run_edit`. The flow (the editor loop, the private buffer) is
:mod:`gitvault.edit`; this module ties it to the vault file: the policy rule a
new file is created under, the validation of each save, the per-key merge with
a concurrent writer and the optional commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitvault.cli.common import hint, load_ids, say
from gitvault.cli.writes import _check_commit_flags, _commit, _prepare_commit
from gitvault.errors import BadInput


def run_edit(
    path: Path,
    input_type: str | None,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """``gitvault edit`` (see :func:`gitvault.cli.files.edit`)."""
    from gitvault import edit as editflow
    from gitvault import fsutil, schemacheck, vault
    from gitvault.sops import file as sopsfile
    from gitvault.sops import formats

    _check_commit_flags(do_commit, message, allow_staged)
    target = _prepare_commit(path, do_commit, allow_staged)
    loc = vault.locate(path)
    exists = path.exists()
    pol = vault.load_policy_for(loc) if (loc.root is not None) else None
    rule = vault.rule_for(pol, loc) if pol is not None else None
    plain = None
    header = ""
    original = fsutil.read_input(path) if exists else None
    fmt = input_type or formats.vault_format(str(path), original or b"")
    if fmt == "ini":
        raise formats.refuse_ini(str(path))
    if original is not None:
        vf = vault.read_vault(path, original, input_type)
        plain = vault.decrypt(vf, load_ids(identity), record_ivs=True)
        fmt = plain.format
        initial = formats.emit_plain(plain.documents, fmt, str(path)).decode(
            "utf-8", "surrogateescape"
        )
    else:
        fmt = input_type or formats.format_for_path(str(path))
        if pol is None or rule is None:
            raise BadInput(f"{path}: no such file, and no policy rule to create it under")
        vault.check_parents(path)
        initial, header = "", editflow.NEW_FILE_TEMPLATE

    def validate(text: str) -> list:  # type: ignore[type-arg]
        docs = formats.load_plain(text.encode("utf-8", "surrogateescape"), str(path), fmt)
        formats.check_writable(docs, fmt, str(path))
        if not docs or all(len(d) == 0 for d in docs):
            raise BadInput("the file has no keys; sops cannot store an empty document")
        if pol is not None and rule is not None:
            schemacheck.validate_schema(docs, pol, rule, str(path))
        return docs

    conflict = _merge_conflict(path) if exists else None
    if conflict is not None:
        keys = ", ".join(conflict.get("keys", []))
        say(f"{path}: merge conflict on {keys}; the file holds our side of those keys")
        hint(f"see theirs with: gitvault decrypt {path} --rev MERGE_HEAD --extract KEY")
        header = editflow.note_lines(
            f"merge conflict on {keys}: this file holds OUR side of those keys",
            f"theirs: gitvault decrypt {path} --rev MERGE_HEAD --extract KEY",
            "these note lines are removed when you save",
        )
    committed: list[str] = []

    def save(_text: str, docs: list) -> None:  # type: ignore[type-arg]
        # Runs inside the edit loop: a write or commit that fails reopens the
        # editor on the user's text instead of losing it.
        from gitvault.sopsconfig import indent_for

        if plain is not None:
            indent = indent_for(plain.format, path)
            data = sopsfile.reencrypt(docs, plain, name=str(path), indent=indent)
        else:
            assert pol is not None and rule is not None
            data = sopsfile.encrypt_new(
                docs,
                pol.reader_keys(rule),
                fmt=fmt,
                name=str(path),
                indent=indent_for(fmt, path),
                **vault.selection_for(rule),
            )
        from gitvault.concurrent import rebase_edit
        from gitvault.locking import file_lock

        vault.make_parents(path)
        with file_lock(path, "edit"):  # only now: never while the editor is open
            # Someone may have written the file while the editor was open: their
            # change is kept (merged per key), never overwritten.
            base = plain.documents if plain is not None else None
            data = rebase_edit(path, original, data, base, docs, load_ids(identity))
            if target is None:
                vault.write(path, data)
                return
            subject = f"gitvault: {'edit' if exists else 'add'} {target.relpath}"
            committed.append(_commit(target, data, "edit", message, allow_staged, subject))

    result = editflow.edit_text(
        initial, validate, header=header, save=save, filename=editflow.buffer_name(fmt)
    )
    if result is None:
        say(f"{path}: file has not changed")
        return
    if committed:
        say(f"{'updated' if exists else 'created'} {path}; {committed[0]}")
        return
    if conflict is not None:
        from gitvault.drivers.records import clear_record

        clear_record(path.absolute().parent, conflict["path"])
        hint(f"conflict resolved in the file: git add {path} to mark it")
    say(f"{'updated' if exists else 'created'} {path}")


def _merge_conflict(path: Path) -> dict[str, Any] | None:
    """The merge driver's record of conflicting keys for ``path``, if one is pending."""
    root = next((d for d in path.absolute().parents if (d / ".git").exists()), None)
    if root is None:
        return None
    from gitvault.drivers.records import pending_conflicts

    target = path.absolute().resolve()
    for record in pending_conflicts(root):
        if (root / record["path"]).resolve() == target:
            return record
    return None
