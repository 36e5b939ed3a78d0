"""The agent's own clone of the remote: create, fetch, move the work tree.

The clone is a full one (the trust checks need complete history) that
fetches one branch with a forced refspec: a force-push is fetched, so the
gate can see it is not a fast-forward and refuse it by name, instead of
``git fetch`` failing with a message about refs. Its work tree only ever
holds what git stores (encrypted vault files, the policy); the agent never
writes a decrypted value into it.

Hooks are disabled (``core.hooksPath`` points at an empty directory) and the
``ext::`` transport is refused: the remote is not trusted to run code here.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path

from gitvault.errors import GitError

_USERINFO = re.compile(r"://[^/@\s]+@")


def _redact(text: str) -> str:
    """No credentials from a URL in a message (``https://user:token@host``)."""
    return _USERINFO.sub("://***@", text)


def _env() -> dict[str, str]:
    from gitvault.git.log import git_env

    env = git_env()
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = "true"  # never wait for a password on a terminal nobody watches
    return env


def git(checkout: Path, *args: str, timeout: float = 120.0) -> str:
    """Run git in the clone; a failure (or timeout) is a one-line :class:`GitError`."""
    hooks = checkout / ".git" / "gitvault-agent" / "no-hooks"
    cmd = [
        "git",
        "-C",
        str(checkout),
        "-c",
        f"core.hooksPath={hooks}",
        "-c",
        "protocol.ext.allow=never",
        "-c",
        "advice.detachedHead=false",
        *args,
    ]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            env=_env(),
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        reason = _redact(lines[-1].strip() if lines else f"exit status {proc.returncode}")
        raise GitError(f"git {args[0]} failed: {reason[:200]}")
    return proc.stdout.decode("utf-8", "replace").strip()


def state_dir(checkout: Path) -> Path:
    """Where the agent keeps its state and journal: inside the clone's ``.git``."""
    return checkout / ".git" / "gitvault-agent"


def ensure_clone(checkout: Path, remote: str) -> bool:
    """Create the clone on first run (True when it was created); keep its remote URL current."""
    created = False
    if not (checkout / ".git").is_dir():
        if checkout.exists() and any(checkout.iterdir()):
            raise GitError(f"{checkout}: exists and is not the agent's clone")
        checkout.mkdir(parents=True, exist_ok=True, mode=0o700)
        subprocess.run(
            ["git", "init", "-q", str(checkout)], check=True, env=_env(), capture_output=True
        )
        created = True
    (state_dir(checkout) / "no-hooks").mkdir(parents=True, exist_ok=True, mode=0o700)
    current = ""
    with contextlib.suppress(GitError):
        current = git(checkout, "config", "--get", "remote.origin.url")
    if current != remote:
        git(checkout, "config", "remote.origin.url", remote)
    if (checkout / ".git" / "shallow").exists():
        raise GitError(f"{checkout}: a shallow clone; the trust checks need full history")
    return created


def fetch(checkout: Path, branch: str, *, timeout: float) -> str:
    """Fetch ``branch`` from origin; return the commit id of its tip."""
    ref = f"refs/remotes/origin/{branch}"
    git(
        checkout,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-recurse-submodules",
        "--no-write-fetch-head",
        "origin",
        f"+refs/heads/{branch}:{ref}",
        timeout=timeout,
    )
    return git(checkout, "rev-parse", "--verify", "--quiet", ref + "^{commit}")


def head(checkout: Path) -> str | None:
    """The commit the work tree is at (None in a fresh clone)."""
    try:
        return git(checkout, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitError:
        return None


def checkout_commit(checkout: Path, commit: str) -> None:
    """Put the work tree at ``commit`` (detached), exactly as git stores it."""
    git(checkout, "checkout", "--quiet", "--detach", "--force", commit)
    git(checkout, "clean", "-ffdxq")


def is_ancestor(checkout: Path, older: str, newer: str) -> bool:
    """True when ``older`` is ``newer`` or one of its ancestors."""
    proc = subprocess.run(
        ["git", "-C", str(checkout), "merge-base", "--is-ancestor", older, newer],
        capture_output=True,
        env=_env(),
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise GitError("git merge-base failed: unknown commit")
    return proc.returncode == 0


def commit_count(checkout: Path, spec: str) -> int:
    return int(git(checkout, "rev-list", "--count", spec) or "0")
