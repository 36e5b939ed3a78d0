"""``gitvault init``: a starter policy, ``.gitattributes`` lines, and (optionally) hooks.

Never overwrites an existing policy; appends only missing ``.gitattributes``
lines, so running it twice changes nothing.
"""

from __future__ import annotations

import re
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


@dataclass
class InitResult:
    root: Path
    created_policy: bool
    attributes_added: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


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
    if install_hooks:
        from gitvault.hooks.install import install_hooks as install

        result.hooks = list(install(root, which=("pre-commit",)))
    return result
