"""The policy as committed at a revision, for the merge driver (git access only here).

The merge driver must not trust the work tree's ``.gitvault.yaml`` (the merge
may be rewriting it) nor any side's file metadata: it reads the policy from
the commits themselves, with the same size cap as any policy file.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from gitvault.errors import BadInput

if TYPE_CHECKING:
    from gitvault.policy import Policy

POLICY_FILE = ".gitvault.yaml"
# Revisions naming "theirs" in each kind of operation that runs merge drivers.
THEIRS_REFS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def resolve(cwd: Path, rev: str) -> str | None:
    """The commit id of ``rev`` (a name such as ``HEAD`` or ``MERGE_HEAD``), or None."""
    proc = _git(cwd, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}")
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def theirs_commit(cwd: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The commit being merged, when git says which; None otherwise.

    ``git merge`` exports ``GITHEAD_<commit id>=<name>`` for the commit it merges
    (MERGE_HEAD is only written after the drivers ran). ``cherry-pick`` and
    ``rebase`` say nothing: theirs is then judged by the policy at ``HEAD``.
    """
    env = os.environ if environ is None else environ
    heads = [k[len("GITHEAD_") :] for k in env if k.startswith("GITHEAD_")]
    heads = [h for h in heads if len(h) in (40, 64) and all(c in "0123456789abcdef" for c in h)]
    if len(heads) == 1:
        return resolve(cwd, heads[0])
    if len(heads) > 1:
        return None  # an octopus merge: no single "theirs"
    for ref in THEIRS_REFS:
        commit = resolve(cwd, ref)
        if commit is not None:
            return commit
    return None


def policy_at(cwd: Path, commit: str, relpath: str) -> tuple[Policy, str] | None:
    """(policy, path of ``relpath`` relative to the policy's directory) as of ``commit``.

    The nearest ``.gitvault.yaml`` above ``relpath`` in that commit's tree;
    None when there is none. A policy that is invalid or too large is
    :class:`BadInput` (exit 5), never a traceback.
    """
    from gitvault import policy as policy_mod
    from gitvault.fsutil import MAX_POLICY_BYTES
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    parts = PurePosixPath(relpath).parts
    for depth in range(len(parts) - 1, -1, -1):
        directory = "/".join(parts[:depth])
        spec = f"{commit}:{directory + '/' if directory else ''}{POLICY_FILE}"
        size = _git(cwd, "cat-file", "-s", spec)
        if size.returncode != 0:
            continue
        if int(size.stdout.strip() or b"0") > MAX_POLICY_BYTES:
            raise BadInput(f"{POLICY_FILE} at {commit[:12]}: too large")
        blob = _git(cwd, "cat-file", "blob", spec)
        try:
            text = blob.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{POLICY_FILE} at {commit[:12]}: not UTF-8 text") from None
        name = f"{POLICY_FILE} at {commit[:12]}"
        docs = load_documents(text, name)
        if len(docs) != 1:
            raise BadInput(f"{name}: the policy must be exactly one YAML document")
        root = cwd / directory if directory else cwd
        pol = policy_mod.from_data(to_python(docs[0]), root / POLICY_FILE)
        return pol, "/".join(parts[depth:])
    return None
