"""The bodies of ``encrypt`` and ``set``, without click.

:mod:`gitvault.cli.files` declares the commands (options, help) and calls
these; the entry point's fast path calls them too for the plainest forms
(``gitvault set PATH KEY VALUE``, ``gitvault encrypt PATH``), which then skip
importing click and building the command tree. One body each, so both routes
behave the same by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gitvault.errors import UsageError


def say(message: str) -> None:
    """A human message on stderr (data goes to stdout), terminal controls escaped.

    Byte for byte what ``click.echo(…, err=True)`` writes: the escaping leaves
    no ANSI sequence for click to strip.
    """
    from gitvault.safetext import printable_lines

    sys.stderr.write(f"gitvault: {printable_lines(message)}\n")
    sys.stderr.flush()


def write_stdout(text: str) -> None:
    """Data on stdout, verbatim (decrypted values, encrypted files)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def load_ids(identity: Path | None) -> Any:
    from gitvault.identities import load_identities

    return load_identities(identity)


def _check_commit_flags(do_commit: bool, message: str | None, allow_staged: bool) -> None:
    if not do_commit and (message is not None or allow_staged):
        raise UsageError("-m/--message and --allow-staged need --commit")


def _prepare_commit(path: Path, do_commit: bool, allow_staged: bool) -> Any:
    """The checked commit target, before anything is written (None without --commit)."""
    if not do_commit:
        return None
    from gitvault import commits

    return commits.prepare(path, allow_staged=allow_staged)


def _commit(
    target: Any, data: bytes, action: str, message: str | None, allow_staged: bool, subject: str
) -> str:
    """Write ``data`` and commit it with trailers naming the keys that really changed."""
    from gitvault import commits

    keys = commits.changed_keys(
        commits.leaves_of(target.head, target.relpath), commits.leaves_of(data, target.relpath)
    )
    text = commits.commit_message(
        action, target.relpath, keys, message=message, default_subject=subject
    )
    from gitvault.locking import commit_lock

    with commit_lock(target.repo.root, action):
        result = commits.write_and_commit(target, data, text, allow_staged=allow_staged)
    return commits.describe_commit(result)


def run_encrypt(
    path: Path,
    output: Path | None,
    in_place: bool,
    input_type: str | None,
    output_type: str | None,
) -> None:
    """``gitvault encrypt`` (see :func:`gitvault.cli.files.encrypt`)."""
    from gitvault import fsutil, vault
    from gitvault.sops.formats import format_for_path

    if output is not None and in_place:
        raise UsageError("use either -o/--output or --in-place, not both")
    data = fsutil.read_input(path)
    dest = output or path
    loc = vault.locate(dest)
    pol = vault.load_policy_for(loc)
    rule = vault.rule_for(pol, loc)
    out_fmt = output_type or format_for_path(str(dest))
    if input_type is None and output is None:
        input_type = out_fmt  # in place (or to stdout): the file is what its name says
    encrypted = vault.encrypt_plaintext(
        data, str(path), pol, rule, input_fmt=input_type, output_fmt=out_fmt
    )
    if in_place or output is not None:
        from gitvault.locking import file_lock

        with file_lock(dest, "encrypt"):
            vault.write(dest, encrypted)
        names = ", ".join(pol.reader_names(rule))
        say(f"encrypted {dest} for {names}")
    else:
        write_stdout(encrypted.decode("utf-8", "surrogateescape"))


def run_set(
    path: Path,
    key: str,
    value: str | None,
    from_stdin: bool,
    generator: str | None,
    type_: str,
    input_type: str | None,
    identity: Path | None,
    do_commit: bool,
    message: str | None,
    allow_staged: bool,
) -> None:
    """``gitvault set``, run under the file lock (see :func:`gitvault.cli.files.set_`)."""
    from gitvault import edits, fsutil, vault

    sources = sum(1 for s in (value is not None, from_stdin, generator is not None) if s)
    if sources != 1:
        raise UsageError("give exactly one of VALUE, --stdin or --generate")
    _check_commit_flags(do_commit, message, allow_staged)
    target = _prepare_commit(path, do_commit, allow_staged)
    if from_stdin:
        raw = sys.stdin.read()
        if raw.endswith("\n"):
            raw = raw[:-1]
            if raw.endswith("\r"):
                raw = raw[:-1]
        new_value = edits.parse_value(raw, type_)
    elif generator is not None:
        from gitvault.rotate.generators import parse_generator

        new_value = parse_generator(generator).generate()
    else:
        assert value is not None
        new_value = edits.parse_value(value, type_)
    creating = not (path.exists() or path.is_symlink())
    if creating:
        # A new file, as `edit` makes one: the policy rule decides its recipients.
        change = edits.new_file(path, key, new_value, input_type)
    else:
        loaded: list[Any] = []  # identities, loaded once, when first needed

        def ids() -> Any:
            if not loaded:
                loaded.append(load_ids(identity))
            return loaded[0]

        fused = None
        if input_type in (None, "yaml") and type(new_value) is str:
            # One pass over the file's lines (issue 15); None: the general path.
            from gitvault.sops.fused.set import set_string

            fused = set_string(path, key, new_value, lambda: ids().keys)
        if fused is not None:
            change = fused
        else:
            vf = vault.read_vault(path, None, input_type)
            plain = vault.decrypt(vf, ids(), record_ivs=True)
            change = edits.set_key(vf, plain, key, new_value, edits.schema_check(path))
    if change.data is None:
        say(f"{path}: {change.key} already has that value; nothing written")
        return
    if creating:
        vault.make_parents(path)
    if target is not None:
        subject = f"gitvault: {'add' if creating else 'set'} {change.key} in {target.relpath}"
        done = _commit(target, change.data, "set", message, allow_staged, subject)
        say(f"{path}: {change.key} {change.action}; {done}")
        return
    fsutil.atomic_write(path, change.data)
    if creating:
        from gitvault.policy import load as load_policy

        loc = vault.locate(path)
        assert loc.root is not None and loc.relpath is not None
        pol = load_policy(loc.root)
        rule = pol.rule_for(loc.relpath)
        readers = ", ".join(pol.reader_names(rule)) if rule is not None else ""
        say(f"created {path} for {readers} with {change.key}")
        return
    say(f"{path}: {change.key} {change.action}")
