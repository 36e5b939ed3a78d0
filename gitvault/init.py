"""``gitvault init``: a starter policy, ``.gitattributes`` lines, git drivers, and hooks.

Never overwrites an existing policy; appends only missing ``.gitattributes``
lines, and sets the diff and merge drivers in the repository's *local* git
config (``.git/config``: git never reads drivers from a cloned file, so every
clone runs ``gitvault init`` once), so running it twice changes nothing.
``diff.gitvault.cachetextconv`` is deliberately never set: git would store the
decrypted text in ``refs/notes/textconv``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gitvault import fsutil
from gitvault.errors import BadInput
from gitvault.policy import POLICY_FILE

STARTER_POLICY = """\
# gitvault policy: who may read which secrets, how they are checked and rotated.
# Every file matching a rule must be encrypted to exactly that rule's recipients.
# The first matching rule wins. Docs: docs/policy.md
version: 1
recipients:
  {name}: {key}
groups:
  team: [{name}]
rules:
  - path: "secrets/**"
    recipients: [team]
    rotate_after: 90d
"""

ATTRIBUTES_MARK = "# gitvault: decrypting diffs and per-key merges for vault files"

# Local git config for the drivers the .gitattributes lines name (see gitvault/drivers.py).
GIT_CONFIG = (
    ("diff.gitvault.textconv", "gitvault textconv"),
    ("merge.gitvault.name", "gitvault per-key merge"),
    ("merge.gitvault.driver", "gitvault merge-driver %O %A %B %P"),
)


@dataclass
class InitResult:
    root: Path
    created_policy: bool
    attributes_added: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    git_config: list[str] = field(default_factory=list)  # keys set (or updated) now
    in_git: bool = True


def safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._@-]+", "-", text.strip()).strip("-.").lower()
    return name or "me"


def attribute_lines(globs: list[str]) -> list[str]:
    return [f"{g} diff=gitvault merge=gitvault" for g in globs]


def init(root: Path, *, name: str, recipient: str | None, install_hooks: bool) -> InitResult:
    """Create the policy (when absent) and the ``.gitattributes`` entries under ``root``."""
    from gitvault import policy

    if not root.is_dir():
        raise BadInput(f"{root}: no such directory")
    result = InitResult(root, created_policy=False)
    policy_path = root / POLICY_FILE
    if not policy_path.exists():
        if recipient is None:
            raise BadInput(
                "no identity found to name as the first recipient",
                hint="run `gitvault keygen` first, or pass --recipient age1…",
            )
        text = STARTER_POLICY.format(name=safe_name(name), key=recipient)
        # Validate before writing so a bad --recipient never leaves a broken file.
        from gitvault.model import to_python
        from gitvault.yamlio import load_documents

        policy.from_data(to_python(load_documents(text, POLICY_FILE)[0]), policy_path)
        fsutil.atomic_write(policy_path, text.encode())
        result.created_policy = True
    pol = policy.load(root)
    attrs = root / ".gitattributes"
    existing = attrs.read_text(encoding="utf-8") if attrs.exists() else ""
    present = set(existing.splitlines())
    wanted = [line for line in attribute_lines([r.path for r in pol.rules]) if line not in present]
    if wanted:
        block = "" if not existing or existing.endswith("\n") else "\n"
        if ATTRIBUTES_MARK not in present:
            block += ATTRIBUTES_MARK + "\n"
        block += "\n".join(wanted) + "\n"
        fsutil.atomic_write(attrs, (existing + block).encode())
        result.attributes_added = wanted
    configured = configure_drivers(root)
    if configured is None:
        result.in_git = False
    else:
        result.git_config = configured
    if install_hooks:
        from gitvault.hooks.install import install_hooks as install

        result.hooks = list(install(root, which=("pre-commit",)))
    return result


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def configure_drivers(root: Path) -> list[str] | None:
    """Set the diff and merge drivers in the local git config; None outside a repository.

    Returns the keys that were set or changed (empty when all were already right).
    """
    from gitvault.errors import GitError

    if _git(root, "rev-parse", "--git-dir").returncode != 0:
        return None
    changed = []
    for key, value in GIT_CONFIG:
        current = _git(root, "config", "--local", "--get", key)
        if current.returncode == 0 and current.stdout.rstrip("\n") == value:
            continue
        proc = _git(root, "config", "--local", key, value)
        if proc.returncode != 0:
            raise GitError(f"git config {key} failed: {proc.stderr.strip()[:200]}")
        changed.append(key)
    return changed
