"""``gitvault recover``: finish or undo an operation a crash interrupted, from its journal.

A ``rotate`` or ``offboard --rotate`` journals every step
(:mod:`gitvault.journal`). When its process died (SIGKILL, OOM, power loss, a
closed terminal) or left a value whose rollback failed uncommitted, the journal
stays, and this module reads it as the source of truth:

- :func:`finish` commits what was applied. Keys that rotated take their new
  value; keys whose outcome is uncertain (a command was running, or the
  rollback failed) are re-verified with their verify command and take the new
  value when it passes (with no verify command, or ``no_verify``, the new value
  is taken: the system most likely holds it, and the old one stays in
  history); keys that never ran or were rolled back keep the old value. The
  commit is staged from the index, with the trailers a normal rotation writes.
  If the commit already happened before the crash, only the index is brought
  in line.
- :func:`undo` puts each file back as it was before the operation, but only
  when no external system may hold a new value (apply never ran, or the
  rollback succeeded); ``force`` is for a human who checked the system.

Both return a :class:`Recovery` report; neither ever shows a value. The
re-verification of unsure keys and the mixing of old and new values are in
:mod:`gitvault.rotate.recover_keys`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil, journal
from gitvault.errors import CheckFailed
from gitvault.git.repo import Repository

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.identities import Identities


@dataclass(frozen=True)
class Recovery:
    """What ``recover`` did (or found, for a plain listing)."""

    action: str  # "list" | "finish" | "undo"
    operations: tuple[journal.Journal, ...]
    commit: CommitResult | None = None
    kept_new: tuple[str, ...] = ()  # "file:key" that took the new value
    kept_old: tuple[str, ...] = ()  # "file:key" that kept (or got back) the old value
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.recover/v1",
            "action": self.action,
            "operations": [
                {
                    "id": j.id,
                    "op": j.op,
                    "stage": j.stage,
                    "started": j.started,
                    "files": list(j.files),
                    "keys": [{"file": k.file, "key": k.key, "phase": k.phase} for k in j.keys],
                }
                for j in self.operations
            ],
            "commit": None
            if self.commit is None
            else {
                "id": self.commit.id,
                "branch": self.commit.branch,
                "files": list(self.commit.paths),
            },
            "new": list(self.kept_new),
            "old": list(self.kept_old),
            "notes": list(self.notes),
        }


def _open(start: Path) -> tuple[Repository, list[journal.Journal]]:
    repo = Repository.discover(start)
    return repo, journal.pending(repo.state().git_dir)


def status(start: Path) -> Recovery:
    """The interrupted operations of the repository at ``start``."""
    _repo, found = _open(start)
    return Recovery("list", tuple(found))


def _files(payload: Mapping[str, Any], name: str) -> dict[str, bytes]:
    section = payload.get(name) or {}
    if not isinstance(section, dict):
        raise journal.JournalError("the journal is damaged")
    return {str(rel): journal.decode(str(text)) for rel, text in section.items()}


def _pairs(payload: Mapping[str, Any]) -> dict[str, tuple[bytes, bytes]]:
    files = payload.get("files")
    if not isinstance(files, dict):
        raise journal.JournalError("the journal is damaged (no files)")
    return {
        str(rel): (journal.decode(str(v["old"])), journal.decode(str(v["new"])))
        for rel, v in files.items()
    }


def _head_moved_to(repo: Repository, record: journal.Journal, wanted: Mapping[str, bytes]) -> bool:
    """True when HEAD moved since the journal began and holds ``wanted`` already."""
    state = repo.state()
    if not wanted or state.head is None or state.head == record.head:
        return False
    entries = repo.entries_at("HEAD", list(wanted))
    return all(
        rel in entries and repo.read_blob(entries[rel][1]) == data for rel, data in wanted.items()
    )


def _sync_index(repo: Repository, relpaths: Sequence[str]) -> None:
    """Point the index entries of ``relpaths`` at HEAD (a kill after the commit, before this)."""
    from gitvault.git.log import run_git
    from gitvault.git.stalelock import clear_stale

    entries = repo.entries_at("HEAD", relpaths)
    lines = "".join(f"{mode:o} {blob}\t{rel}\n" for rel, (mode, blob) in entries.items())
    if lines:
        clear_stale(repo.state().git_dir)  # the killed run's git may have left index.lock
        run_git(repo.root, ["update-index", "--index-info"], stdin=lines.encode())


def finish(
    start: Path,
    identities: Identities,
    *,
    no_verify: bool = False,
    env: Mapping[str, str] | None = None,
) -> Recovery:
    """Finish every interrupted operation (see the module docstring)."""
    repo, found = _open(start)
    commit: CommitResult | None = None
    new: list[str] = []
    old: list[str] = []
    notes: list[str] = []
    for record in found:
        payload = record.payload(identities.keys)
        result = _finish_one(repo, record, payload, identities, no_verify=no_verify, env=env)
        commit = result.commit or commit
        new += result.kept_new
        old += result.kept_old
        notes += result.notes
        record.close()
    return Recovery("finish", tuple(found), commit, tuple(new), tuple(old), tuple(notes))


def _finish_one(
    repo: Repository,
    record: journal.Journal,
    payload: Mapping[str, Any],
    identities: Identities,
    *,
    no_verify: bool,
    env: Mapping[str, str] | None,
) -> Recovery:
    from gitvault.git.commit import commit_paths
    from gitvault.rotate import recover_keys

    plain_files = _files(payload, "plain")  # offboard's policy: (old, new) below
    pairs = _pairs(payload)
    wants_commit = bool(payload.get("commit_requested", True))
    uncertain = [k for k in record.keys if k.phase in (journal.APPLYING, journal.ROLLBACK_FAILED)]
    committed_stage = record.stage in (journal.COMMITTING, journal.UNCOMMITTED)

    if committed_stage and not uncertain:
        # The outcome was known: the journal holds the exact bytes to commit.
        final = _files(payload, "commit")
        disk = _files(payload, "disk")
        rotated = [f"{k.file}:{k.key}" for k in record.keys_in(journal.ROTATED)]
        kept = [f"{k.file}:{k.key}" for k in record.keys if k.phase != journal.ROTATED]
        text = str(payload.get("text") or "gitvault: finish an interrupted rotation")
    else:
        take_new = {(k.file, k.key) for k in record.keys_in(journal.ROTATED)}
        verified, holds_old = recover_keys.recheck(
            payload, pairs, uncertain, identities, no_verify=no_verify, env=env
        )
        take_new |= {(k.file, k.key) for k in uncertain} - holds_old
        final = {}
        for rel, (o, n) in pairs.items():
            mine = [k.key for k in record.keys if k.file == rel]
            back = [k for k in mine if (rel, k) not in take_new]
            if record.op == "rotate" and len(back) == len(mine):
                final[rel] = o  # nothing of it rotated: the old file, byte for byte
            else:
                final[rel] = recover_keys.mix(rel, o, n, back, identities)
        final.update({rel: data for rel, data in plain_files.items()})
        disk = dict(final)
        rotated = [f"{f}:{k}" for f, k in sorted(take_new)]
        kept = [f"{k.file}:{k.key}" for k in record.keys if (k.file, k.key) not in take_new]
        text = recover_keys.message(payload, record, take_new, verified)

    for rel, data in disk.items():
        fsutil.atomic_write(repo.root / rel, data)
    changed = {rel: data for rel, data in final.items() if _differs_from_head(repo, rel, data)}
    result: CommitResult | None = None
    notes: list[str] = []
    if not wants_commit:
        notes.append("the files hold the result; commit them when you are ready (as asked)")
    elif _head_moved_to(repo, record, _files(payload, "commit")) and not uncertain:
        _sync_index(repo, list(final))
        notes.append("the commit had been made before the interruption; the index is in line")
    elif changed:
        # A kill after an earlier commit, before the real index caught up, leaves
        # the journal's other files (the policy) staged as HEAD's parent had them:
        # they are part of this operation, not someone else's staged work.
        _sync_index(repo, [rel for rel in final if rel not in changed])
        result = commit_paths(
            repo,
            list(changed),
            text,
            allow_other_staged=bool(payload.get("allow_staged", False)),
            plain=list(plain_files),
            contents=changed,
        )
    return Recovery("finish", (record,), result, tuple(rotated), tuple(kept), tuple(notes))


def _differs_from_head(repo: Repository, rel: str, data: bytes) -> bool:
    entries = repo.entries_at("HEAD", [rel])
    return rel not in entries or repo.read_blob(entries[rel][1]) != data


def undo(start: Path, identities: Identities, *, force: bool = False) -> Recovery:
    """Undo every interrupted operation, when no external system may hold a new value."""
    repo, found = _open(start)
    old: list[str] = []
    for record in found:
        payload = record.payload(identities.keys)
        committed = record.stage == journal.KEPT or (
            record.stage in (journal.COMMITTING, journal.UNCOMMITTED)
            and _head_moved_to(repo, record, _files(payload, "commit"))
        )
        # Keys that rotated and were committed are done; undo concerns the rest.
        risky = [
            f"{k.file}:{k.key}"
            for k in record.keys
            if k.phase in journal.MAY_HOLD_NEW and not (committed and k.phase == journal.ROTATED)
        ]
        if risky and not force:
            raise CheckFailed(
                f"cannot undo: an apply command ran for {', '.join(risky[:3])}, so the system "
                "may hold the new value (it stays in the file)",
                hint="`gitvault recover --finish` commits it; after checking the system by hand, "
                "`gitvault recover --undo --force` restores the old value",
            )
        if committed:
            _sync_index(repo, record.files)
            entries = repo.entries_at("HEAD", record.files)
            for rel, (_mode, blob) in entries.items():
                fsutil.atomic_write(repo.root / rel, repo.read_blob(blob))
        else:
            for rel, (before, _new) in _pairs(payload).items():
                fsutil.atomic_write(repo.root / rel, before)
            for rel, before in _files(payload, "plain_old").items():
                fsutil.atomic_write(repo.root / rel, before)
        old += [
            f"{k.file}:{k.key}"
            for k in record.keys
            if not (committed and k.phase == journal.ROTATED)
        ]
        record.close()
    return Recovery("undo", tuple(found), None, (), tuple(old))
