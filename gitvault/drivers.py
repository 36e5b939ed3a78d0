"""git's diff (textconv) and merge drivers for vault files.

``gitvault init`` configures them in the repository's local git config, and
``.gitattributes`` routes vault paths to them (``diff=gitvault merge=gitvault``)::

    diff.gitvault.textconv = gitvault textconv
    merge.gitvault.name    = gitvault per-key merge
    merge.gitvault.driver  = gitvault merge-driver %O %A %B %P

**textconv** (:func:`textconv`) turns a vault file into the decrypted YAML for
people holding a key, followed by one comment line naming its recipients, so
``git diff`` and ``git log -p`` show values and recipient changes. For everyone
else, and for anything that is not a readable vault file, it returns the bytes
unchanged: a diff never fails because of it. Plaintext only goes to git's pager;
``diff.gitvault.cachetextconv`` must stay unset (git would store the plaintext
in ``refs/notes/textconv``).

**merge** (:func:`merge`) merges per key. All three versions are decrypted
(MAC verified) and every leaf key path is merged three-way: a key changed on
one side takes that side's value, keys changed on both sides to the same value
are fine, and a key changed differently on both sides (or removed on one side
and changed on the other) is a conflict. The result is re-encrypted: values
that did not change keep their exact ciphertext (the IVs are reused, as sops
does), and the MAC is new. Lists and empty mappings are single values.

Data keys: both sides normally share the base's data key. When only one side
re-keyed, the result takes *that* side's key, so a merge never undoes a re-key
(an offboarding); when both did, ours. Recipients are merged like keys (each
side's additions and removals apply). If the merged recipients lack someone
who held the chosen key, the result gets a fresh data key instead.

On a conflict the result holds every cleanly merged change plus **our** value
of each conflicting key, so it is a valid encrypted file; the conflicting key
paths (names only) are recorded in ``$GIT_DIR/gitvault-conflicts/PATH.json``
and the merge fails so git marks the path conflicted. Plaintext never touches
the work tree. When no identity can decrypt the versions, the merge falls back
to git's behaviour for binary-like files: ours is left as it is, and the merge
fails with a message saying so.

This module returns data and never prints; the CLI (``gitvault/cli/drivers.py``)
writes files and messages. No value ever reaches a message.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import AccessDenied, GitvaultError, IntegrityError
from gitvault.model import Comment, Mapping, Timestamp

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.sops.document import Plain
    from gitvault.sops.file import VaultFile

CLEAN = "clean"
CONFLICT = "conflict"
FALLBACK = "fallback"
CONFLICTS_DIR = "gitvault-conflicts"

_MISSING: Any = object()


# ----------------------------------------------------------------- textconv


def textconv(data: bytes, name: str, identities: Identities | None) -> tuple[bytes, str | None]:
    """(what git should diff, an optional warning). Never raises for bad input."""
    from gitvault.sops.file import open_file, parse_vault

    try:
        vault = parse_vault(data, name)
    except GitvaultError:
        return data, None  # not a vault file: show it as it is
    if identities is None or not identities.items:
        return data, None
    try:
        plain = open_file(vault, identities.keys)
    except AccessDenied:
        return data, None
    except GitvaultError as exc:
        return data, f"{name}: {exc.message}; showing the encrypted text"
    from gitvault.crypto.envelope import short_recipient
    from gitvault.yamlio import emit_documents

    text = emit_documents(plain.documents)
    readers = ", ".join(sorted(short_recipient(r) for r in vault.recipients))
    text += f"# gitvault: encrypted to {readers}\n"
    return text.encode("utf-8", "surrogateescape"), None


# ----------------------------------------------------------------- merge


@dataclass(frozen=True)
class Conflict:
    key: str  # display key path
    kind: str  # "changed" (on both sides) | "removed" (on one, changed on the other)

    def describe(self) -> str:
        if self.kind == "removed":
            return f"{self.key} removed on one side and changed on the other"
        return f"{self.key} changed on both sides"


@dataclass(frozen=True)
class MergeOutcome:
    """What the merge driver should do: write ``data`` (None: leave ours) and exit."""

    status: str  # CLEAN | CONFLICT | FALLBACK
    data: bytes | None = None
    conflicts: tuple[Conflict, ...] = ()
    message: str = ""  # for FALLBACK: why the per-key merge was not possible
    notes: tuple[str, ...] = ()  # e.g. "merged under a new data key"
    merged: tuple[str, ...] = ()  # keys taken from theirs

    @property
    def exit_code(self) -> int:
        return 0 if self.status == CLEAN else 1


@dataclass
class _Side:
    label: str
    vault: VaultFile | None
    plain: Plain | None = field(default=None, repr=False)

    @property
    def data_key(self) -> bytes | None:
        return None if self.plain is None else self.plain.data_key

    @property
    def documents(self) -> list[Mapping]:
        return [] if self.plain is None else self.plain.documents


def _parse(data: bytes, label: str, name: str) -> VaultFile | None:
    from gitvault.sops.file import parse_vault

    if not data.strip():
        return None
    return parse_vault(data, f"{name} ({label})")


def merge(
    base: bytes, ours: bytes, theirs: bytes, name: str, identities: Identities
) -> MergeOutcome:
    """Merge three versions of a vault file per key (see the module docstring)."""
    from gitvault.sops.file import open_file

    try:
        sides = [
            _Side("base", _parse(base, "base", name)),
            _Side("ours", _parse(ours, "ours", name)),
            _Side("theirs", _parse(theirs, "theirs", name)),
        ]
    except GitvaultError as exc:
        return MergeOutcome(FALLBACK, message=f"cannot merge per key: {exc.message}")
    if sides[1].vault is None or sides[2].vault is None:
        return MergeOutcome(FALLBACK, message="cannot merge per key: one side is empty")
    for side in sides:
        if side.vault is None:
            continue
        try:
            side.plain = open_file(side.vault, identities.keys, record_ivs=True)
        except AccessDenied:
            return MergeOutcome(
                FALLBACK,
                message=f"cannot merge {name} per key: none of your identities can decrypt "
                f"the {side.label} version",
            )
        except IntegrityError as exc:
            return MergeOutcome(
                FALLBACK, message=f"cannot merge {name}: the {side.label} version: {exc.message}"
            )
    b, o, t = sides
    if len(o.documents) != len(t.documents) or (b.vault and len(b.documents) != len(o.documents)):
        return MergeOutcome(
            CONFLICT,
            data=None,
            conflicts=(Conflict("(documents)", "changed"),),
        )
    result_docs: list[Mapping] = []
    conflicts: list[Conflict] = []
    merged: list[str] = []
    many = len(o.documents) > 1
    for i, (od, td) in enumerate(zip(o.documents, t.documents, strict=True)):
        bd = b.documents[i] if b.vault is not None else Mapping()
        doc, doc_conflicts, doc_merged = merge_document(bd, od, td, f"[{i}]" if many else "")
        result_docs.append(doc)
        conflicts += doc_conflicts
        merged += doc_merged
    data, notes = _encrypt(result_docs, b, o, t)
    status = CONFLICT if conflicts else CLEAN
    return MergeOutcome(status, data, tuple(conflicts), notes=notes, merged=tuple(merged))


# --- the per-key three-way merge (pure, on plaintext models) --------------------


def _canon(node: Any) -> Any:
    """A comparable form that tells types apart (``1`` ≠ ``true`` ≠ ``"1"``)."""
    if isinstance(node, Mapping):
        return ("map", tuple((k, _canon(v)) for k, v in node.items()))
    if isinstance(node, list):
        return ("list", tuple(_canon(v) for v in node))
    if isinstance(node, Comment):
        return ("comment", node.text)
    if isinstance(node, Timestamp):
        return ("time", node.text)
    return (type(node).__name__, node)


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return bool(_canon(a) == _canon(b))


def _leaves(node: Mapping, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Leaf paths in document order: scalars, lists and empty mappings are leaves."""
    for key, value in node.items():
        here = (*path, key)
        if isinstance(value, Mapping) and len(value) > 0:
            yield from _leaves(value, here)
        else:
            yield here, value


def _display(prefix: str, path: tuple[str, ...]) -> str:
    from gitvault.sops.file import join_path

    out = prefix
    for part in path:
        out = join_path(out, part)
    return out


def _find(doc: Mapping, path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node.get(part)
    return node


def _remove(doc: Mapping, path: tuple[str, ...], keep: set[tuple[str, ...]]) -> None:
    parent = _find(doc, path[:-1]) if path[:-1] else doc
    if not isinstance(parent, Mapping):
        return
    parent.remove(path[-1])
    # A mapping emptied by the removal goes too, unless theirs still has it.
    up = path[:-1]
    while up and isinstance(parent, Mapping) and len(parent) == 0 and up not in keep:
        grand = _find(doc, up[:-1]) if up[:-1] else doc
        if not isinstance(grand, Mapping):
            break
        grand.remove(up[-1])
        parent, up = grand, up[:-1]


def _insert(doc: Mapping, path: tuple[str, ...], value: Any, order: Mapping) -> bool:
    """Set ``path`` to ``value``, creating mappings; False when a non-mapping is in the way."""
    node: Any = doc
    source: Any = order
    for part in path[:-1]:
        nxt = node.get(part, _MISSING) if part in node else _MISSING
        if nxt is _MISSING:
            nxt = Mapping()
            _place(node, part, nxt, source)
        elif not isinstance(nxt, Mapping):
            return False
        node = nxt
        source = source.get(part) if isinstance(source, Mapping) else None
    key = path[-1]
    if key in node:
        node.set(key, copy.deepcopy(value))
    else:
        _place(node, key, copy.deepcopy(value), source)
    return True


def _place(node: Mapping, key: str, value: Any, source: Any) -> None:
    """Insert ``key`` after the nearest preceding sibling it has in ``source`` (theirs)."""
    if isinstance(source, Mapping):
        before = []
        for k, _v in source.items():
            if k == key:
                break
            before.append(k)
        for prev in reversed(before):
            for i, entry in enumerate(node.entries):
                if isinstance(entry, tuple) and entry[0] == prev:
                    node.entries.insert(i + 1, (key, value))
                    return
    node.entries.append((key, value))


def merge_document(
    base: Mapping, ours: Mapping, theirs: Mapping, prefix: str = ""
) -> tuple[Mapping, list[Conflict], list[str]]:
    """Three-way merge of one document: (result, conflicts, keys taken from theirs).

    The result starts as a copy of ours (its order and comments); changes theirs
    made to keys ours left alone are applied; conflicting keys keep ours's value.
    """
    b, o, t = dict(_leaves(base)), dict(_leaves(ours)), dict(_leaves(theirs))
    result = copy.deepcopy(ours)
    conflicts: list[Conflict] = []
    removals: list[tuple[str, ...]] = []
    updates: list[tuple[str, ...]] = []
    for path in dict.fromkeys([*o, *t, *b]):
        bv, ov, tv = b.get(path, _MISSING), o.get(path, _MISSING), t.get(path, _MISSING)
        if _same(ov, tv) or _same(bv, tv):
            continue  # both agree, or theirs left it alone: ours stands
        if _same(bv, ov):
            (removals if tv is _MISSING else updates).append(path)
            continue
        kind = "removed" if ov is _MISSING or tv is _MISSING else "changed"
        conflicts.append(Conflict(_display(prefix, path), kind))
    conflicted = {c.key for c in conflicts}
    keep = {p[:n] for p in t for n in range(1, len(p) + 1)}  # mappings theirs still has
    for path in removals:
        _remove(result, path, keep)
    merged = []
    for path in updates:
        shown = _display(prefix, path)
        if any(shown == c or shown.startswith(c + ".") for c in conflicted):
            continue
        if _insert(result, path, t[path], theirs):
            merged.append(shown)
        else:
            conflicts.append(Conflict(shown, "changed"))
    merged += [_display(prefix, p) for p in removals]
    return result, conflicts, merged


# --- re-encryption ---------------------------------------------------------------


def _recipients(b: _Side, o: _Side, t: _Side) -> list[str]:
    from gitvault.policy import normalize_key

    def keys(side: _Side) -> dict[str, str]:
        if side.vault is None:
            return {}
        return {normalize_key(r): r for r in side.vault.recipients}

    rb, ro, rt = keys(b), keys(o), keys(t)
    out = dict(ro)
    for k, r in rt.items():
        if k not in rb:
            out.setdefault(k, r)
    for k in rb:
        if k not in rt:
            out.pop(k, None)
    return list(out.values())


def _encrypt(docs: list[Mapping], b: _Side, o: _Side, t: _Side) -> tuple[bytes, tuple[str, ...]]:
    from gitvault.crypto.envelope import wrap
    from gitvault.policy import normalize_key
    from gitvault.sops import metadata as md
    from gitvault.sops.document import encrypt_documents
    from gitvault.sops.file import now_rfc3339, serialize

    assert o.vault is not None and t.vault is not None
    notes: list[str] = []
    if o.data_key == t.data_key or b.data_key != o.data_key:
        chosen = o  # the same key, or ours re-keyed (alone or as well as theirs)
    else:
        chosen = t  # only theirs re-keyed: keep their new key
        notes.append("merged under the data key theirs introduced")
    assert chosen.vault is not None and chosen.data_key is not None
    recipients = _recipients(b, o, t)
    kept = {normalize_key(r) for r in recipients}
    key = chosen.data_key
    if any(normalize_key(r) not in kept for r in chosen.vault.recipients):
        key = os.urandom(32)  # someone who held the chosen key is no longer a reader
        notes.append("merged under a new data key: a side removed a recipient")
    sharing = [s for s in (t, o) if s.data_key == key and s.plain is not None]
    stash: dict[Any, str] = {}
    stanzas: dict[str, md.AgeStanza] = {}
    for side in sharing:
        assert side.plain is not None and side.vault is not None
        stash.update(side.plain.stash)
        stanzas.update({normalize_key(s.recipient): s for s in side.vault.meta.age})
    age = tuple(stanzas.get(normalize_key(r)) or md.AgeStanza(r, wrap(key, r)) for r in recipients)
    meta = replace(o.vault.meta, age=age, lastmodified="", mac="", foreign={})
    if o.vault.meta.foreign and key == o.data_key:
        meta = replace(meta, foreign=o.vault.meta.foreign)
    enc_docs, meta = encrypt_documents(docs, meta, key, lastmodified=now_rfc3339(), stash=stash)
    return serialize(enc_docs, meta), tuple(notes)


# ----------------------------------------------------------------- conflict records


def conflicts_dir(cwd: Path) -> Path:
    """``$GIT_DIR/gitvault-conflicts`` of the repository at ``cwd`` (worktrees included)."""
    proc = subprocess.run(
        ["git", "rev-parse", "--git-path", CONFLICTS_DIR],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise GitvaultError("not inside a git repository")
    return (cwd / proc.stdout.strip()).resolve()


def record_path(cwd: Path, relpath: str) -> Path:
    directory = conflicts_dir(cwd)
    target = (directory / (relpath + ".json")).resolve()
    if directory not in target.parents:
        raise GitvaultError(f"unexpected merge path {relpath[:80]!r}")
    return target


def write_record(cwd: Path, relpath: str, conflicts: Sequence[Conflict], data: bytes) -> Path:
    """Record the conflicting key paths (names only) for ``relpath``; returns the record."""
    from gitvault import fsutil

    path = record_path(cwd, relpath)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": "gitvault.conflicts/v1",
        "path": relpath,
        "keys": [c.key for c in conflicts],
        "conflicts": [{"key": c.key, "kind": c.kind} for c in conflicts],
        "kept": "ours",
        "theirs": "MERGE_HEAD",
        "written_sha256": hashlib.sha256(data).hexdigest(),
        "time": int(time.time()),
    }
    fsutil.atomic_write(path, (json.dumps(payload, indent=2) + "\n").encode(), mode=0o644)
    return path


def clear_record(cwd: Path, relpath: str) -> None:
    with contextlib.suppress(FileNotFoundError, GitvaultError):
        record_path(cwd, relpath).unlink()


def pending_conflicts(root: Path) -> list[dict[str, Any]]:
    """Conflict records whose file is still exactly as the merge driver wrote it."""
    try:
        directory = conflicts_dir(root)
    except GitvaultError:
        return []
    out = []
    for record in sorted(directory.rglob("*.json")) if directory.is_dir() else []:
        try:
            payload = json.loads(record.read_text(encoding="utf-8"))
            data = (root / payload["path"]).read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if hashlib.sha256(data).hexdigest() == payload.get("written_sha256"):
            out.append(payload)
    return out


def merge_text(base: Path, ours: Path, theirs: Path, name: str) -> int:
    """git's own line merge (``git merge-file``) for files that are not vault files."""
    proc = subprocess.run(
        [
            "git",
            "merge-file",
            "-L",
            f"{name} (ours)",
            "-L",
            f"{name} (base)",
            "-L",
            f"{name} (theirs)",
            "--",
            str(ours),
            str(base),
            str(theirs),
        ],
        capture_output=True,
        check=False,
    )
    return 0 if proc.returncode == 0 else 1


_SOPS_BLOCK = re.compile(rb"(?m)^sops:[ \t]*\r?$")


def is_vault_bytes(data: bytes) -> bool:
    """Cheap check for a top-level ``sops:`` block (no pygit2, no YAML parse)."""
    return b"\0" not in data and bool(_SOPS_BLOCK.search(data))
