"""``migrate import``: put each planned value into its vault file and key, in one commit.

A small adapter over the existing vault functions (:mod:`gitvault.vault`:
decrypt with the MAC verified, ``set``'s minimal re-encryption, a new file
encrypted to the policy rule's recipients) and the committing path of
``set --commit`` (:func:`gitvault.git.commit.commit_paths`: the user's hooks,
identity and signing apply).

Each value is read again from one of the places the plan lists and accepted
only when it matches the plan's fingerprint. A key that already holds another
value is never overwritten (it was rotated or set by hand since): it is
reported as ``kept``. The commit carries ``Gitvault-Action: migrate``, the
usual ``Gitvault-File``/``Gitvault-Keys`` trailers, and
``Gitvault-Exposed: <file>: <key>, …`` naming every imported value, which
``due`` and ``review`` read from history (:mod:`gitvault.history.exposed`).
Its body says where each value was found and since which commit — names and
commit ids only.

Resumable: the keys about to be committed are recorded in the plan first
(``steps.import.pending``); a run killed between writing the files and the
commit finds the values in place and commits them with their trailers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import keypath
from gitvault.errors import BadInput, GitError
from gitvault.migrate import repos as repos_mod
from gitvault.migrate.plan import Plan, Progress, Secret, no_progress, now_text

if TYPE_CHECKING:
    from gitvault.git.commit import CommitResult
    from gitvault.git.repo import Repository
    from gitvault.identities import Identities
    from gitvault.policy import Policy

ACTION = "migrate"


@dataclass
class ImportReport:
    """What ``migrate import`` did, per secret (ids, destinations and outcomes only)."""

    vault: str
    outcomes: list[tuple[str, str, str, str]] = field(default_factory=list)  # id, file, key, what
    commit: str | None = None
    recipients: dict[str, list[str]] = field(default_factory=dict)
    unmarked: list[str] = field(
        default_factory=list
    )  # file:key holding a leaked value, not exposed

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.migrate-import/v1",
            "vault": self.vault,
            "commit": self.commit,
            "secrets": [
                {"id": i, "file": f, "key": k, "result": w} for i, f, k, w in self.outcomes
            ],
            "recipients": self.recipients,
            "not_marked_exposed": self.unmarked,
        }


def _origin_line(plan: Plan, s: Secret) -> str:
    first = next((loc for loc in s.locations if loc.commit == s.first_commit), s.locations[0])
    since = f"since {s.first_commit[:12]}" if s.first_commit else "in the work tree"
    source = plan.repo(first.repo).source
    more = f" (+{len(s.locations) - 1} more places)" if len(s.locations) > 1 else ""
    return (
        f"- {s.dest_file}:{s.dest_key} <- {source} {first.path}:{first.line} [{s.rule}] "
        f"{since}{more}"
    )


def _warn_unmarked(root: Path, wanted: dict[str, list[str]], report: ImportReport) -> None:
    """Keys holding a leaked value that no ``Gitvault-Exposed`` trailer names yet.

    They were in the vault before the migration (copied by hand) and no new
    commit is needed, so none can carry the trailer: the caller tells the user
    to rotate them.
    """
    from gitvault.git.repo import Repository
    from gitvault.history.exposed import exposing_commits

    if not any(wanted.values()):
        return
    repo = Repository.discover(root)
    known = exposing_commits(repo.root) if not repo.state().is_empty else {}
    for rel, keys in wanted.items():
        report.unmarked += [f"{rel}:{k}" for k in keys if (rel, k) not in known]


def _reread(plan: Plan) -> dict[str, str]:
    """Every active secret's value, read again from its places and checked, before any write."""
    repos = {r.id: r for r in plan.repos}
    fp = plan.fingerprinter()
    values: dict[str, str] = {}
    for s in plan.active():
        raw = repos_mod.read_value(repos, s.locations, s.fingerprint, fp)
        if raw is None:
            raise BadInput(
                f"{s.id}: none of its {len(s.locations)} recorded places holds the value any more",
                hint='re-run `gitvault migrate find` or mark the secret "skip": true',
            )
        try:
            values[s.id] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{s.id}: the value is not UTF-8 text; import it by hand") from None
    return values


@dataclass
class _FileUpdate:
    """One destination file: its new bytes (None: unchanged) and the leaked keys it holds."""

    rel: str
    data: bytes | None
    leaked: list[str]  # keys added now or already holding the leaked value


def _update_file(
    pol: Policy,
    root: Path,
    rel: str,
    dest: str,
    secrets: list[Secret],
    values: dict[str, str],
    identities: Identities,
    report: ImportReport,
) -> _FileUpdate:
    """Set each secret's key in one vault file (in memory) as ``set`` would; never overwrite."""
    from gitvault import schemacheck, vault
    from gitvault.model import Mapping
    from gitvault.sops import file as sopsfile

    path = root / dest
    rule = vault.rule_for(pol, vault.locate(path, root))
    report.recipients[rel] = pol.reader_names(rule)
    plain = None
    if path.exists():
        plain = vault.decrypt(vault.read_vault(path), identities, record_ivs=True, pol=pol)
        docs = plain.documents
    else:
        docs = [Mapping()]
    added: list[str] = []
    present: list[str] = []
    for s in secrets:
        parts = keypath.parse(s.dest_key)
        try:
            current: object = keypath.get(docs[0], parts)
        except BadInput:
            current = None
        if current is None:
            keypath.set_value(docs[0], parts, values[s.id])
            added.append(keypath.display(parts))
            s.imported = "added"
        elif current == values[s.id]:
            s.imported = s.imported or "present"
            present.append(keypath.display(parts))
        else:
            s.imported = "kept"  # rotated or set by hand since: never overwrite
        report.outcomes.append((s.id, rel, s.dest_key, s.imported))
    data = None
    if added:
        schemacheck.validate_schema(docs, pol, rule, rel)
        from gitvault.sopsconfig import indent_for

        if plain is not None:
            indent = indent_for(plain.format, root / rel)
            data = sopsfile.reencrypt(docs, plain, indent=indent)
        else:
            indent = indent_for("yaml", root / rel)
            data = sopsfile.encrypt_new(
                docs, pol.reader_keys(rule), indent=indent, **vault.selection_for(rule)
            )
    # A leaked value already there (an earlier run, or copied by hand) is just as
    # exposed: a commit made now names it too.
    return _FileUpdate(rel, data, [*added, *present])


def import_plan(
    plan: Plan,
    vault_dir: Path,
    identities: Identities,
    *,
    checkpoint: Callable[[], None],
    progress: Progress = no_progress,
) -> ImportReport:
    """Bring every active secret of ``plan`` into the vault at ``vault_dir``."""
    from gitvault import policy
    from gitvault.git.repo import Repository
    from gitvault.git.worktree import uncommitted_many
    from gitvault.locking import commit_lock

    root = policy.find_root(vault_dir.absolute())
    if root is None:
        raise BadInput(f"{vault_dir}: no .gitvault.yaml here or above", hint="run `gitvault init`")
    pol = policy.load(root)
    repo = Repository.discover(root)
    if not repo.state().is_empty:
        repo.require_history()
    state = plan.steps.setdefault("import", {})
    state["vault"] = str(root)
    pending: dict[str, list[str]] = dict(state.get("pending") or {})
    report = ImportReport(vault=str(root))
    values = _reread(plan)
    progress(f"re-read {len(values)} values from their sources")
    by_file: dict[str, list[Secret]] = {}
    for s in plan.active():
        by_file.setdefault(s.dest_file, []).append(s)

    with commit_lock(root, "migrate import"):
        relpaths = {f: repo.relpath(root / f) for f in by_file}
        dirty = uncommitted_many(repo, list(relpaths.values()))
        for rel in relpaths.values():
            if rel in dirty and rel not in pending:
                raise GitError(
                    f"{rel} has uncommitted changes ({dirty[rel]}): refusing to commit them unseen",
                    hint="commit or discard them first",
                )
        updates = [
            _update_file(pol, root, relpaths[f], f, secrets, values, identities, report)
            for f, secrets in by_file.items()
        ]
        exposed = {rel: list(keys) for rel, keys in pending.items()}
        for u in updates:
            marked = exposed.setdefault(u.rel, [])
            marked += [k for k in u.leaked if k not in marked]
        new_bytes = {u.rel: u.data for u in updates if u.data is not None}
        # Files a killed run wrote are committed now, with the keys it recorded.
        to_commit = sorted(set(new_bytes) | {rel for rel in pending if rel in dirty})
        _warn_unmarked(root, {r: k for r, k in exposed.items() if r not in to_commit}, report)
        if not to_commit:
            progress("nothing to import: every value is already in the vault")
            state.update({"done": True, "at": now_text(), "pending": {}})
            checkpoint()
            return report
        state["pending"] = {rel: exposed.get(rel, []) for rel in to_commit}
        checkpoint()
        marked_now = {rel: tuple(exposed[rel]) for rel in to_commit if exposed.get(rel)}
        commit = _write_and_commit(repo, plan, new_bytes, to_commit, marked_now, relpaths)
    report.commit = commit.id
    from gitvault.commits import describe_commit

    progress(describe_commit(commit))
    state.update({"done": True, "at": now_text(), "pending": {}, "commit": commit.id})
    checkpoint()
    return report


def _write_and_commit(
    repo: Repository,
    plan: Plan,
    new_bytes: dict[str, bytes],
    to_commit: list[str],
    exposed: dict[str, tuple[str, ...]],
    relpaths: dict[str, str],
) -> CommitResult:
    """Write the files, commit them with trailers; on failure put the old bytes back."""
    from gitvault import commits, vault
    from gitvault.git.commit import commit_paths
    from gitvault.git.trailers import VaultTrailers, build_vault_message

    before: dict[str, bytes | None] = {}
    for rel, data in new_bytes.items():
        target = repo.root / rel
        before[rel] = target.read_bytes() if target.exists() else None
        vault.write(target, data)
    keys = {}
    for rel in to_commit:
        head = repo.blob_id_at("HEAD", rel) if not repo.state().is_empty else None
        old = commits.leaves_of(repo.read_blob(head) if head else None, rel)
        new = commits.leaves_of((repo.root / rel).read_bytes(), rel)
        keys[rel] = commits.changed_keys(old, new)
    body = "Values found hard-coded in these repositories (exposed until rotated):\n" + "\n".join(
        _origin_line(plan, s) for s in plan.active() if relpaths[s.dest_file] in to_commit
    )
    trailers = VaultTrailers(
        action=ACTION,
        files=tuple(to_commit),
        keys={rel: tuple(k) for rel, k in keys.items() if k},
        exposed=exposed,
    )
    count = sum(len(v) for v in exposed.values())
    message = build_vault_message(
        f"gitvault: migrate {count} exposed value(s) into the vault", trailers, body
    )
    try:
        return commit_paths(repo, to_commit, message)
    except BaseException:
        for rel, old_bytes in before.items():
            commits.restore(repo.root / rel, old_bytes)
        raise
