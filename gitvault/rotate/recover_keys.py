"""Which value each key of an interrupted operation takes, for ``recover --finish``.

:func:`recheck` asks the verify command of every key whose outcome is
uncertain which value its system holds; :func:`mix` puts the old value of
the keys that keep it back into the new version of a file; :func:`message`
writes the commit message a normal rotation would have. Used by
:mod:`gitvault.rotate.recover`; no value ever leaves these functions.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import journal, keypath
from gitvault.errors import RotationFailed

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.sops.document import Plain


def _open_plain(data: bytes, rel: str, identities: Identities) -> Plain:
    from gitvault.sops.file import open_file, parse_vault

    return open_file(
        parse_vault(data, rel), identities.keys, identities.describe_tried(), record_ivs=True
    )


def mix(rel: str, old: bytes, new: bytes, keys: Sequence[str], identities: Identities) -> bytes:
    """The new version of the file with the old value of ``keys`` put back."""
    from gitvault.sops.file import reencrypt

    if not keys:
        return new
    new_plain = _open_plain(new, rel, identities)
    old_plain = _open_plain(old, rel, identities)
    docs = copy.deepcopy(new_plain.documents)
    for key in keys:
        parts = keypath.parse(key)
        keypath.set_value(docs[0], parts, copy.deepcopy(keypath.get(old_plain.documents[0], parts)))
    stash = dict(new_plain.stash)
    if new_plain.data_key == old_plain.data_key:
        stash.update(old_plain.stash)  # the old ciphertexts come back byte for byte
    from gitvault.sopsconfig import indent_for

    indent = indent_for(new_plain.format, Path(rel))
    return reencrypt(docs, new_plain, stash=stash, indent=indent)


def recheck(
    payload: Mapping[str, Any],
    pairs: Mapping[str, tuple[bytes, bytes]],
    uncertain: Sequence[journal.KeyPhase],
    identities: Identities,
    *,
    no_verify: bool,
    env: Mapping[str, str] | None,
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Ask each unsure key's verify command which value the system holds.

    Returns the keys verified with their new value and the keys whose system
    holds the old value (verify fails with the new value, passes with the old).
    Raises :class:`RotationFailed` when it passes with neither: a human must look.
    """
    from gitvault.rotate.engine import scalar_text

    jobs = {(str(j["file"]), str(j["key"])): j for j in payload.get("jobs", [])}
    verified: set[tuple[str, str]] = set()
    holds_old: set[tuple[str, str]] = set()
    if no_verify:
        return verified, holds_old
    for entry in uncertain:
        job = jobs.get((entry.file, entry.key)) or {}
        command = job.get("verify")
        if not command:
            continue  # nothing can tell: the new value is the likelier one
        old_bytes, new_bytes = pairs[entry.file]
        parts = keypath.parse(entry.key)
        new_doc = _open_plain(new_bytes, entry.file, identities).documents[0]
        old_doc = _open_plain(old_bytes, entry.file, identities).documents[0]
        new_value = scalar_text(keypath.get(new_doc, parts)) or ""
        old_value = scalar_text(keypath.get(old_doc, parts))

        if _passes(payload, job, entry, new_value, old_value, env):
            verified.add((entry.file, entry.key))
        elif old_value is not None and _passes(payload, job, entry, old_value, new_value, env):
            holds_old.add((entry.file, entry.key))
        else:
            raise RotationFailed(
                f"the verify command of {entry.file}:{entry.key} passes with neither the new "
                "nor the old value; the new value stays in the file, uncommitted",
                hint="check the system by hand, then `gitvault recover --finish --no-verify` "
                "(it holds the new value) or `gitvault recover --undo --force` (the old one)",
            )
    return verified, holds_old


def _passes(
    payload: Mapping[str, Any],
    job: Mapping[str, Any],
    key: journal.KeyPhase,
    value: str,
    other: str | None,
    env: Mapping[str, str] | None,
) -> bool:
    """True when the key's verify command accepts ``value`` (in GITVAULT_NEW_VALUE)."""
    from gitvault.rotate.commands import CommandFailed, run_rotation

    try:
        run_rotation(
            file=key.file,
            key=key.key,
            new_value=value,
            old_value=other,
            apply=None,
            verify=str(job["verify"]),
            cwd=Path(str(payload.get("cwd") or ".")),
            timeout=float(job.get("timeout") or 120),
            base_env=env,
        )
    except CommandFailed:
        return False
    return True


def message(
    payload: Mapping[str, Any],
    record: journal.Journal,
    take_new: set[tuple[str, str]],
    verified_now: set[tuple[str, str]],
) -> str:
    """The commit message of a finished operation (a rotation's, with its trailers)."""
    from gitvault.rotate.model import ROTATED, KeyResult
    from gitvault.rotate.settle import message_for

    if record.op != "rotate":
        # An offboarding's own trailers describe a re-key this message cannot
        # reconstruct: say what was finished, in plain words.
        lines = [f"- {f} {k}: new value" for f, k in sorted(take_new)]
        return f"gitvault: finish an interrupted {record.op}\n\n" + "\n".join(lines) + "\n"
    jobs = {(str(j["file"]), str(j["key"])): j for j in payload.get("jobs", [])}
    results = []
    for k in record.keys:
        job = jobs.get((k.file, k.key), {})
        done = (k.file, k.key) in take_new
        results.append(
            KeyResult(
                k.file,
                k.key,
                str(job.get("spec") or "unknown"),
                ROTATED if done else k.phase,
                applied=done and bool(job.get("apply")),
                verified=(k.file, k.key) in verified_now
                or (k.phase == journal.ROTATED and bool(job.get("verify"))),
                has_verify=bool(job.get("verify")),
            )
        )
    user = payload.get("message")
    return message_for(results, str(user) if user else "gitvault: finish an interrupted rotation")
