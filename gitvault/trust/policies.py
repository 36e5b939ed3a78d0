"""The policy as it was at any commit (the trust anchor), and who a commit's author is in it.

History and review judge each change by a policy read from git, not from the
work tree: the policy at a commit's parent says who could read a file before
the change and whose signing keys were trusted. :class:`PolicyHistory` loads
``.gitvault.yaml`` at a commit (each distinct blob parsed and validated once).
A version that does not validate is treated as absent and noted in
``problems``.

Paths: history uses repository-relative paths, rules are relative to the
policy's directory (``prefix``, ``""`` when the policy is at the root).

Nothing here decrypts or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitvault.errors import GitError, GitvaultError

if TYPE_CHECKING:
    from gitvault.git.repo import Repository
    from gitvault.policy import Policy, Rule

POLICY_FILE = ".gitvault.yaml"


def policy_from_bytes(data: bytes, path: Path) -> Policy:
    """Parse and validate policy bytes (as :func:`gitvault.policy.load` does for a file)."""
    from gitvault import policy
    from gitvault.errors import BadInput
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    docs = load_documents(text, str(path))
    if len(docs) != 1:
        raise BadInput(f"{path}: the policy must be exactly one YAML document")
    return policy.from_data(to_python(docs[0]), path)


@dataclass
class PolicyHistory:
    """``.gitvault.yaml`` at ``prefix`` in any commit of ``repo``."""

    repo: Repository
    prefix: str = ""  # "" or "dir/" — where the policy sits in the repository
    problems: list[str] = field(default_factory=list)
    _by_blob: dict[str, Policy | None] = field(default_factory=dict)
    _by_commit: dict[str, Policy | None] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The policy file's repository-relative path."""
        return self.prefix + POLICY_FILE

    def at(self, commit: str | None) -> Policy | None:
        """The valid policy at ``commit``, or None (no policy there, or an invalid one)."""
        if commit is None:
            return None
        if commit in self._by_commit:
            return self._by_commit[commit]
        try:
            blob = self.repo.blob_id_at(commit, self.path)
        except GitError:
            blob = None
        pol = None if blob is None else self._load(blob, commit)
        self._by_commit[commit] = pol
        return pol

    def blob_at(self, commit: str) -> str | None:
        try:
            return self.repo.blob_id_at(commit, self.path)
        except GitError:
            return None

    def _load(self, blob: str, commit: str) -> Policy | None:
        if blob not in self._by_blob:
            try:
                data = self.repo.read_blob(blob)
                self._by_blob[blob] = policy_from_bytes(data, self.repo.root / self.path)
            except GitvaultError as exc:
                self._by_blob[blob] = None
                self.problems.append(
                    f"{self.path} at {commit[:12]} is not a valid policy: "
                    f"{exc.message.rpartition(': ')[2]}"
                )
        return self._by_blob[blob]

    def rel(self, path: str) -> str | None:
        """``path`` relative to the policy's directory, or None when outside it."""
        if not path.startswith(self.prefix):
            return None
        return path[len(self.prefix) :]

    def rule(self, pol: Policy | None, path: str) -> Rule | None:
        """The first rule of ``pol`` covering the repository path ``path``."""
        rel = self.rel(path)
        if pol is None or rel is None or rel == POLICY_FILE:
            return None
        return pol.rule_for(rel)

    def covers(self, pol: Policy | None, path: str) -> bool:
        return self.rule(pol, path) is not None


def readers(pol: Policy | None, rule: Rule | None) -> tuple[str, ...]:
    """Recipient names a rule gives read access to (empty without a policy or rule)."""
    if pol is None or rule is None:
        return ()
    return tuple(pol.reader_names(rule))


def recipient_names(pol: Policy | None, keys: tuple[str, ...]) -> tuple[str, ...]:
    """Policy names of public keys; keys the policy does not know keep a short form."""
    from gitvault.crypto.envelope import short_recipient

    out = []
    for key in keys:
        name = pol.name_of(key) if pol is not None else None
        out.append(name or short_recipient(key))
    return tuple(dict.fromkeys(out))


def named_by_email(pol: Policy | None, *emails: str) -> str | None:
    """The recipient whose ``email`` in the policy is the first of ``emails`` that has one."""
    if pol is None:
        return None
    for email in emails:
        wanted = email.strip().lower()
        if not wanted:
            continue
        for recipient in pol.recipients.values():
            if recipient.email and recipient.email.strip().lower() == wanted:
                return recipient.name
    return None


def signing_entries(pol: Policy | None) -> list[tuple[str, str]]:
    """``(name, ssh public key)`` for every signing key the policy lists."""
    if pol is None:
        return []
    return [(r.name, key) for r in pol.recipients.values() for key in r.signing_keys]


def policy_prefix(pol: Policy, repo_root: Path) -> str:
    """Where the policy's directory sits inside the repository (``""`` at the root)."""
    from gitvault.errors import BadInput

    try:
        rel = pol.root.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        raise BadInput(f"{pol.path}: the policy is outside the git repository") from None
    return "" if rel == "." else rel + "/"
