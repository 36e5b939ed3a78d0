"""The hooks' only door into the vault core (``gitvault.api``), guarded.

Three questions the scanner cannot answer alone: which values does the vault
hold that this committer can read, which paths does the policy exclude from
scanning, and is a staged policy-covered file a valid vault file. Each is
asked here, lazily — ``gitvault.api`` (and with it decryption) is imported only
when the repository has a policy file — and each degrades to "nothing to add"
when the core does not provide the function yet.

Never log, print or persist a value returned by ``known_values``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitvault.errors import AccessDenied, GitvaultError

POLICY_FILE = ".gitvault.yaml"


def has_policy(root: Path) -> bool:
    """True when ``root`` holds a gitvault policy file.

    A link or other non-regular file there counts too: loading it then fails
    loudly, instead of a policy replaced by a link to ``/dev/zero`` silently
    switching the vault checks off.
    """
    path = root / POLICY_FILE
    return path.exists() or path.is_symlink()


def _api_function(name: str) -> Callable[..., Any] | None:
    try:
        api = importlib.import_module("gitvault.api")
    except ImportError:
        return None
    fn = getattr(api, name, None)
    return fn if callable(fn) else None


def known_values(root: Path) -> tuple[tuple[str, str], ...]:
    """(display key path, value) pairs the current identities can decrypt; empty if none.

    No identity, no access and no policy all mean "no vault values to look
    for": the other scanning layers still run.
    """
    if not has_policy(root):
        return ()
    fn = _api_function("known_values")
    if fn is None:
        return ()
    try:
        raw = fn(root)
    except AccessDenied:
        return ()
    except GitvaultError as err:
        if "identity" in err.message.lower():
            return ()
        raise
    pairs: list[tuple[str, str]] = []
    for item in raw or ():
        if isinstance(item, tuple) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
        elif isinstance(item, str):
            pairs.append(("vault value", item))
    return tuple(pairs)


def _policy(root: Path) -> Any | None:
    if not has_policy(root):
        return None
    load = _api_function("load_policy")
    return load(root) if load is not None else None


def policy_excludes(root: Path, policy: Any | None = None) -> tuple[str, ...]:
    """Scan path excludes from the policy (``scan.exclude`` or ``scan_excludes``)."""
    policy = policy if policy is not None else _policy(root)
    if policy is None:
        return ()
    for attr in ("scan_excludes", "scan_exclude"):
        value = getattr(policy, attr, None)
        if value:
            return tuple(str(v) for v in value)
    scan = getattr(policy, "scan", None)
    exclude = getattr(scan, "exclude", None) if scan is not None else None
    if exclude is None and isinstance(scan, dict):
        exclude = scan.get("exclude")
    return tuple(str(v) for v in exclude) if exclude else ()


def covered_paths(root: Path, paths: list[str], policy: Any | None = None) -> list[str]:
    """The subset of ``paths`` a policy rule covers (all of them if the core cannot say)."""
    policy = policy if policy is not None else _policy(root)
    if policy is None:
        return []
    rule_for = getattr(policy, "rule_for", None)
    if rule_for is None:
        return list(paths)
    return [p for p in paths if rule_for(p) is not None]


def vault_problems(root: Path, relpath: str, data: bytes) -> list[str]:
    """Why a staged policy-covered file is not a valid vault file (empty when it is)."""
    fn = _api_function("vault_problems")
    if fn is None:
        return []
    return [str(p) for p in fn(root, relpath, data)]


def load_policy(root: Path) -> Any | None:
    """The parsed policy, or None when there is none or the core cannot load it yet."""
    return _policy(root)
