"""``rekey``: re-wrap vault files to the recipients the policy names now.

By default every file gets a **new data key**: every value is re-encrypted with
a fresh IV (values unchanged), the MAC is recomputed, and the new key is
wrapped once per recipient. That is what removing someone needs: with sops's
``updatekeys`` the data key stays the same, so a removed recipient who kept it
can read every value written later (getsops/sops#365, #901).

``--recipients-only`` is ``sops updatekeys``: the same data key, stanzas kept
for recipients who stay, wrapped for new ones, dropped for those who go; values,
MAC and ``lastmodified`` are untouched. Cheap, and enough for *adding* people.

Each file keeps its own selection rules (``encrypted_regex``, suffixes,
``mac_only_encrypted``) from its metadata. Every file is decrypted and its MAC
verified before anything is written; all new bytes are computed in memory
first, so one unreadable file leaves every file as it was. Many files take one
process: the cost per file is an age unwrap, one wrap per recipient and an
AES-GCM pass over the values.

``commit=True`` commits every changed file in one commit with ``Gitvault-Action:
rekey`` (``recipients`` for ``--recipients-only``), one ``Gitvault-File`` and
``Gitvault-Rekey`` per file, and ``Gitvault-Recipients`` naming the readers.
Re-keying every file also commits the policy when it differs from HEAD, and
files an earlier plain re-key left uncommitted (:mod:`gitvault.team.commitplan`
checks that their uncommitted change is only a re-key).

The whole run holds the work tree's lock (:func:`gitvault.locking.tree_lock`)
and reads the policy and every file after taking it. Files are planned one at
a time (:func:`plan_each`), so only old and new bytes stay in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil
from gitvault.errors import AccessDenied, BadInput
from gitvault.policy import Policy, normalize_key
from gitvault.records import replace

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.identities import Identities
    from gitvault.model import Mapping
    from gitvault.sops.document import Plain
    from gitvault.sops.file import VaultFile


@dataclass(frozen=True)
class Loaded:
    """A decrypted, MAC-verified vault file and the readers the policy names for it."""

    relpath: str  # relative to the policy root
    path: Path
    original: bytes
    vault: VaultFile
    plain: Plain
    recipients: tuple[str, ...]  # public keys, in policy order

    def __repr__(self) -> str:  # never show values or the key in a traceback
        return f"Loaded({self.relpath!r})"


@dataclass(frozen=True)
class Rekeyed:
    """One file's outcome; names are policy names (or shortened keys)."""

    file: str  # relative to the policy root
    recipients: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    new_data_key: bool
    values: int  # encrypted values (re-encrypted under the new key)
    changed: bool
    data: bytes = field(repr=False)
    original: bytes = field(default=b"", repr=False)  # the bytes it replaces

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "recipients": list(self.recipients),
            "added": list(self.added),
            "removed": list(self.removed),
            "new_data_key": self.new_data_key,
            "values": self.values,
            "changed": self.changed,
        }


@dataclass(frozen=True)
class RekeyReport:
    files: tuple[Rekeyed, ...]
    recipients_only: bool
    commit: CommitResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.rekey/v1",
            "recipients_only": self.recipients_only,
            "files": [f.to_json() for f in self.files],
            "commit": None
            if self.commit is None
            else {"id": self.commit.id, "branch": self.commit.branch, "signed": self.commit.signed},
        }


def display_name(pol: Policy, key: str) -> str:
    from gitvault.crypto.envelope import short_recipient

    return pol.name_of(key) or short_recipient(key)


def policy_recipients(pol: Policy, relpath: str) -> tuple[str, ...]:
    rule = pol.rule_for(relpath)
    if rule is None:
        raise BadInput(
            f"{relpath}: no rule in {pol.path.name} covers this path",
            hint="add a rule with a matching `path:` glob",
        )
    return tuple(pol.reader_keys(rule))


def load(
    pol: Policy, relpath: str, ids: Identities, recipients: Sequence[str] | None = None
) -> Loaded:
    """Read, decrypt and MAC-verify one file; ``recipients`` default to its policy rule's."""
    from gitvault.sops.file import open_file, parse_vault

    wanted = tuple(recipients) if recipients is not None else policy_recipients(pol, relpath)
    path = pol.root / relpath
    original = fsutil.read_input(path, root=pol.root)  # capped; no links out, no devices
    vault = parse_vault(original, relpath)
    plain = open_file(vault, ids.keys, ids.describe_tried(), names=pol.name_of)
    return Loaded(relpath, path, original, vault, plain, wanted)


def load_all(pol: Policy, relpaths: Sequence[str], ids: Identities) -> list[Loaded]:
    """Load every file; one AccessDenied naming every file no identity can open."""
    return list(load_each(pol, relpaths, ids))


def load_each(pol: Policy, relpaths: Sequence[str], ids: Identities) -> Iterator[Loaded]:
    """Load the files one at a time (each can be dropped before the next is decrypted).

    Files no identity can open are collected and, at the end, reported in one
    AccessDenied naming them all: the caller must write nothing before the
    iteration has finished.
    """
    denied = []
    for rel in relpaths:
        try:
            yield load(pol, rel, ids)
        except AccessDenied:
            denied.append(rel)
    if denied:
        shown = ", ".join(denied[:5]) + (f" and {len(denied) - 5} more" if len(denied) > 5 else "")
        raise AccessDenied(
            f"none of your identities can decrypt {shown}; nothing was changed",
            hint="run it as someone who can read those files, or name fewer paths",
        )


def encrypt_under_new_key(
    vault: VaultFile,
    documents: list[Mapping],
    recipients: Sequence[str],
    *,
    data_key: bytes | None = None,
    lastmodified: str | None = None,
) -> bytes:
    """``documents`` encrypted with a new data key for ``recipients``, fresh IVs, new MAC.

    The file's selection rules and format version come from ``vault``'s metadata.
    """
    from gitvault.crypto.envelope import wrap_all
    from gitvault.sops import metadata as md
    from gitvault.sops.document import encrypt_documents
    from gitvault.sops.file import now_rfc3339, serialize

    if vault.meta.foreign:
        kinds = ", ".join(sorted(vault.meta.foreign))
        raise BadInput(
            f"{vault.name}: also encrypted with {kinds}, which gitvault cannot wrap a new "
            "data key for",
            hint="use --recipients-only (same data key), or `sops rotate` for this file",
        )
    if not recipients:
        raise BadInput(f"{vault.name}: no recipients to encrypt to")
    key = data_key if data_key is not None else os.urandom(32)
    stanzas = tuple(md.AgeStanza(r, enc) for r, enc in wrap_all(key, recipients))
    meta = replace(vault.meta, age=stanzas, lastmodified="", mac="")
    enc_docs, meta = encrypt_documents(
        documents, meta, key, lastmodified=lastmodified or now_rfc3339()
    )
    from gitvault.sopsconfig import indent_for

    indent = indent_for(vault.format, Path(vault.name))
    return serialize(enc_docs, meta, vault.format, name=vault.name, indent=indent)


def rewrap_same_key(loaded: Loaded) -> bytes:
    """Like ``sops updatekeys``: the same data key, stanzas of staying recipients kept."""
    from gitvault.crypto.envelope import wrap
    from gitvault.sops import metadata as md
    from gitvault.sops.file import serialize

    existing = {normalize_key(s.recipient): s for s in loaded.vault.meta.age}
    stanzas = tuple(
        existing.get(normalize_key(r)) or md.AgeStanza(r, wrap(loaded.plain.data_key, r))
        for r in loaded.recipients
    )
    if [normalize_key(s.recipient) for s in stanzas] == list(existing):
        return loaded.original
    from gitvault.sopsconfig import indent_for

    vault = loaded.vault
    indent = indent_for(vault.format, Path(vault.name))
    meta = replace(vault.meta, age=stanzas)
    return serialize(vault.documents, meta, vault.format, name=vault.name, indent=indent)


def _count_values(vault: VaultFile) -> int:
    return sum(1 for v in vault.leaves().values() if v.startswith("ENC["))


def plan(pol: Policy, loaded: Sequence[Loaded], *, recipients_only: bool = False) -> list[Rekeyed]:
    """The new bytes of every file, in memory (nothing is written)."""
    out = []
    for item in loaded:
        before = {normalize_key(r) for r in item.vault.recipients}
        after = {normalize_key(r) for r in item.recipients}
        if recipients_only:
            data = rewrap_same_key(item)
        else:
            data = encrypt_under_new_key(item.vault, item.plain.documents, item.recipients)
        out.append(
            Rekeyed(
                file=item.relpath,
                recipients=tuple(display_name(pol, r) for r in item.recipients),
                added=tuple(
                    display_name(pol, r) for r in item.recipients if normalize_key(r) not in before
                ),
                removed=tuple(
                    display_name(pol, r)
                    for r in item.vault.recipients
                    if normalize_key(r) not in after
                ),
                new_data_key=not recipients_only,
                values=_count_values(item.vault),
                changed=data != item.original,
                data=data,
                original=item.original,
            )
        )
    return out


def plan_each(
    pol: Policy,
    relpaths: Sequence[str],
    ids: Identities,
    *,
    recipients_only: bool = False,
    check: Callable[[Loaded], None] | None = None,
) -> list[Rekeyed]:
    """:func:`plan` file by file: only the old and new bytes of each file stay in memory.

    Decrypted documents are dropped as soon as a file's new bytes exist, so the
    peak memory of re-keying thousands of files is their ciphertext, not their
    parsed plaintext. ``check`` sees each decrypted file first. Nothing is
    written here: the caller writes after every file has been planned.
    """
    out: list[Rekeyed] = []
    for item in load_each(pol, relpaths, ids):
        if check is not None:
            check(item)
        out += plan(pol, [item], recipients_only=recipients_only)
    return out


def targets(pol: Policy, relpaths: Sequence[str] | None) -> list[str]:
    """The given files (relative to the policy root), or every file a rule covers."""
    from gitvault.verify import covered_files

    if relpaths:
        for rel in relpaths:
            policy_recipients(pol, rel)  # raises when no rule covers it
        return list(dict.fromkeys(relpaths))
    found = covered_files(pol)
    if not found:
        raise BadInput("no vault files: no file in the work tree matches a policy rule")
    return found


def rekey(
    pol: Policy,
    relpaths: Sequence[str] | None,
    ids: Identities,
    *,
    recipients_only: bool = False,
    commit: bool = False,
    message: str | None = None,
    allow_staged: bool = False,
) -> RekeyReport:
    """Re-key files (see the module docstring); write them, and commit them if asked.

    Runs under the work tree's exclusive lock: every file is read after the
    lock is held, so a concurrent ``set`` lands either before (and is
    re-keyed) or after (on the new key); neither is lost.
    """
    from gitvault.locking import tree_lock

    with tree_lock(pol.root, "rekey"):
        from gitvault import policy as policy_mod

        pol = policy_mod.load(pol.root)  # the policy as it is now, not as it was
        return _rekey_locked(
            pol,
            relpaths,
            ids,
            recipients_only=recipients_only,
            commit=commit,
            message=message,
            allow_staged=allow_staged,
        )


def _rekey_locked(
    pol: Policy,
    relpaths: Sequence[str] | None,
    ids: Identities,
    *,
    recipients_only: bool,
    commit: bool,
    message: str | None,
    allow_staged: bool,
) -> RekeyReport:
    files = targets(pol, relpaths)
    if not commit:
        results = plan_each(pol, files, ids, recipients_only=recipients_only)
        write_all([(pol.root / r.file, r.data) for r in results if r.changed])
        return RekeyReport(tuple(results), recipients_only)

    from gitvault.team import commitplan

    target = commitplan.plan(pol, files, allow_staged=allow_staged)

    def only_rekeyed(item: Loaded) -> None:
        commitplan.require_only_rekeyed(target, [(target.prefix + item.relpath, item.plain)], ids)

    results = plan_each(pol, files, ids, recipients_only=recipients_only, check=only_rekeyed)
    # The commit holds what this run changes, what an earlier plain re-key left
    # uncommitted (checked above: no value changed), and, when every file was
    # re-keyed, the policy change that asked for it.
    committed = [r for r in results if r.changed or target.prefix + r.file in target.changed]
    with_policy = relpaths is None and target.policy_changed
    if not committed and not with_policy:
        return RekeyReport(tuple(results), recipients_only)
    text = commit_message(
        pol,
        committed,
        message,
        recipients_only=recipients_only,
        prefix=target.prefix,
        policy=target.policy_rel if with_policy else None,
    )
    changed = [r for r in committed if r.changed]
    result = commitplan.write_and_commit(
        target,
        [(target.prefix + r.file, pol.root / r.file, r.data) for r in changed],
        [(pol.root / r.file, r.original) for r in changed],
        text,
        extra=[target.prefix + r.file for r in committed]
        + ([target.policy_rel] if with_policy else []),
        plain=[target.policy_rel] if with_policy else [],
        allow_staged=allow_staged,
    )
    return RekeyReport(tuple(results), recipients_only, result)


# ----------------------------------------------------------------- writing, committing


def write_all(items: Sequence[tuple[Path, bytes]]) -> None:
    """Write every file atomically, with one ``sync()`` for all (:func:`fsutil.write_many`)."""
    fsutil.write_many(items)


def commit_message(
    pol: Policy,
    changed: Sequence[Rekeyed],
    message: str | None,
    *,
    recipients_only: bool,
    prefix: str,
    policy: str | None = None,
) -> str:
    from gitvault.commits import split_message
    from gitvault.git.trailers import VaultTrailers, build_vault_message

    what = "update recipients of" if recipients_only else "rekey"
    default = (
        f"gitvault: {what} {prefix}{changed[0].file}"
        if len(changed) == 1 and policy is None
        else f"gitvault: {what} {len(changed)} files"
    )
    subject, body = split_message(message, default)
    lines = [f"- {policy}: the recipients changed"] if policy is not None else []
    plainly = "recipients updated" if recipients_only else "new data key"
    for r in changed:
        delta = [f"+{n}" for n in r.added] + [f"-{n}" for n in r.removed]
        lines.append(f"- {prefix}{r.file}: " + (" ".join(delta) if delta else plainly))
    body = "\n".join(filter(None, [body, "\n".join(lines)]))
    files = tuple(prefix + r.file for r in changed)
    trailers = VaultTrailers(
        action="recipients" if recipients_only else "rekey",
        files=((policy,) if policy is not None else ()) + files,
        rekeyed=() if recipients_only else files,
        recipients={prefix + r.file: r.recipients for r in changed},
    )
    return build_vault_message(subject, trailers, body)
