"""``gitvault init``: a starter policy, ``.gitattributes`` lines, git drivers, and hooks.

Refuses outside a git repository before writing anything. Never overwrites an
existing policy; appends only ``.gitattributes`` lines for rules whose files
git does not already route to the drivers (asked of git itself, so a second
clone, a reordered or re-spaced line, or a broader pattern leaves the
committed file byte-identical), and sets the diff and merge drivers in the repository's *local* git
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
{entry}
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
    email: str | None = None  # identity facts recorded in a new policy
    signing_key: str | None = None


def safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._@-]+", "-", text.strip()).strip("-.").lower()
    return name or "me"


def attribute_lines(globs: list[str]) -> list[str]:
    return [f"{g} diff=gitvault merge=gitvault" for g in globs]


def recipient_entry(name: str, key: str, email: str | None, signing_key: str | None) -> str:
    """The starter policy's first recipient: ``name: key``, or a mapping with identity facts.

    The e-mail and SSH signing key are what the history checks use to tell a
    member's commits from anyone else's; init records them when git knows them.
    """
    from gitvault.yamlio import format_scalar

    if not email and not signing_key:
        return f"  {name}: {format_scalar(key, 4)}"
    lines = [f"  {name}:", f"    key: {format_scalar(key, 4)}"]
    if email:
        lines.append(f"    email: {format_scalar(email, 4)}")
    if signing_key:
        lines.append(f"    signing_keys: [{format_scalar(signing_key, 4)}]")
    return "\n".join(lines)


def init(
    root: Path,
    *,
    name: str,
    recipient: str | None,
    install_hooks: bool,
    email: str | None = None,
) -> InitResult:
    """Create the policy (when absent) and the ``.gitattributes`` entries under ``root``.

    A new policy records the initializer's e-mail (``email``, else git config
    ``user.email``) and SSH signing key (see :func:`git_identity`).
    """
    from gitvault import policy

    if not root.is_dir():
        raise BadInput(f"{root}: no such directory")
    if not in_git_repository(root):
        from gitvault.errors import GitError

        raise GitError(
            f"{root}: not inside a git repository; nothing was written",
            hint="run `git init` (or clone the repository) first, then `gitvault init`",
        )
    result = InitResult(root, created_policy=False)
    policy_path = root / POLICY_FILE
    if not policy_path.exists():
        if recipient is None:
            raise BadInput(
                "no identity found to name as the first recipient",
                hint="run `gitvault keygen` first, or pass --recipient age1…",
            )
        git_email, signing_key = git_identity(root)
        email = (email if email is not None else git_email) or None
        entry = recipient_entry(safe_name(name), recipient, email, signing_key)
        text = STARTER_POLICY.format(entry=entry, name=safe_name(name))
        # Validate before writing so a bad --recipient never leaves a broken file.
        from gitvault.model import to_python
        from gitvault.yamlio import load_documents

        policy.from_data(to_python(load_documents(text, POLICY_FILE)[0]), policy_path)
        fsutil.atomic_write(policy_path, text.encode())
        result.created_policy = True
        result.email, result.signing_key = email, signing_key
    pol = policy.load(root)
    result.attributes_added = _add_attributes(root, [r.path for r in pol.rules])
    configured = configure_drivers(root)
    if configured is None:
        result.in_git = False
    else:
        result.git_config = configured
    if install_hooks:
        from gitvault.hooks.install import install_hooks as install

        result.hooks = list(install(root, which=("pre-commit",)))
    return result


def _add_attributes(root: Path, globs: list[str]) -> list[str]:
    """Append ``.gitattributes`` lines for the globs git does not route yet; the lines added.

    The file's bytes are kept as they are (line endings included) and only
    appended to, so a repository that already has the entries, in any
    spelling, stays byte-identical.
    """
    attrs = root / ".gitattributes"
    existing = attrs.read_bytes() if attrs.exists() else b""
    declared = _declared(existing.decode("utf-8", "surrogateescape"))
    wanted = [
        line
        for glob, line in zip(globs, attribute_lines(globs), strict=True)
        if glob not in declared and not _routed(root, glob)
    ]
    if not wanted:
        return []
    eol = "\r\n" if b"\r\n" in existing else "\n"
    block = "" if not existing or existing.endswith(b"\n") else eol
    if ATTRIBUTES_MARK not in existing.decode("utf-8", "surrogateescape"):
        block += ATTRIBUTES_MARK + eol
    block += eol.join(wanted) + eol
    fsutil.atomic_write(attrs, existing + block.encode())
    return wanted


def _declared(text: str) -> set[str]:
    """Patterns that a ``.gitattributes`` text already gives both gitvault drivers."""
    out = set()
    for line in text.splitlines():
        fields = line.split()
        wanted = {"diff=gitvault", "merge=gitvault"}
        if fields and not fields[0].startswith("#") and wanted <= set(fields[1:]):
            out.add(fields[0])
    return out


def _sample_path(glob: str) -> str:
    """A path the glob matches, to ask git which drivers such a file gets."""
    sample = glob.replace("**", "x").replace("*", "x").replace("?", "x")
    sample = re.sub(r"\[!?([^\]])[^\]]*\]", r"\1", sample)
    return sample.rstrip("/") or "x"


def _routed(root: Path, glob: str) -> bool:
    """True when git already gives files of ``glob`` both drivers (any attributes file)."""
    proc = _git(root, "check-attr", "diff", "merge", "--", _sample_path(glob))
    if proc.returncode != 0:
        return False
    values = {
        parts[1].strip(): parts[2].strip()
        for line in proc.stdout.splitlines()
        if len(parts := line.rsplit(":", 2)) == 3
    }
    return values.get("diff") == "gitvault" and values.get("merge") == "gitvault"


def default_root(cwd: Path) -> Path:
    """Where ``init`` without a directory works: the vault ``cwd`` is in, else ``cwd``.

    Running init from ``secrets/prod/`` of a clone must set up that vault,
    not start a second policy there.
    """
    from gitvault.policy import find_root

    if (cwd / POLICY_FILE).exists():
        return cwd
    return find_root(cwd) or cwd


def in_git_repository(root: Path) -> bool:
    """True inside a git work tree (git's own message is never shown to the user)."""
    try:
        proc = _git(root, "rev-parse", "--is-inside-work-tree")
    except OSError:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def git_identity(root: Path) -> tuple[str | None, str | None]:
    """The user's e-mail and SSH signing key from git config, as far as git knows them.

    The signing key is taken only when commits are signed with SSH
    (``gpg.format=ssh``) and ``user.signingkey`` is a literal ``key::`` or a
    readable public key file (or a private key with its ``.pub`` beside it).
    """
    email = _git(root, "config", "user.email").stdout.strip() or None
    if _git(root, "config", "gpg.format").stdout.strip() != "ssh":
        return email, None
    raw = _git(root, "config", "user.signingkey").stdout.strip()
    if raw.startswith("key::"):
        raw = raw[5:].strip()
    elif raw:
        path = Path(raw).expanduser()
        candidates = [path] if path.suffix == ".pub" else [Path(f"{path}.pub"), path]
        raw = ""
        for candidate in candidates:
            try:
                text = candidate.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                continue
            if text.startswith(("ssh-", "sk-", "ecdsa-")):
                raw = text.splitlines()[0]
                break
    key = " ".join(raw.split()[:2]) if raw.startswith(("ssh-", "sk-", "ecdsa-")) else None
    return email, key


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
