"""Reading the vault for ``export`` and ``exec``: files, decryption, checks, audit.

Steps 1-4 of the order in :mod:`gitvault.cli.export`: find the repository, its
policy and the files; decrypt each with the MAC verified and check it against
its rule; name the variables (leaving out, with a warning, the values no MAC
covers); refuse environment names that change how programs run unless the
team allowed them; append the read-audit lines. Everything here raises before
any output; nothing here prints a value (warnings and errors name files and
keys only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gitvault.errors import BadInput, GitvaultError, UsageError

# sops formats gitvault reads and writes (docs/formats.md); binary files are read
# only when named: a directory can hold other files a rule happens to cover.
VAULT_SUFFIXES = (".yaml", ".yml", ".json", ".env")
POLICY_FILE = ".gitvault.yaml"


@dataclass(frozen=True)
class Loaded:
    """Everything read from the vault for one command, before any output."""

    variables: list[Any]
    events: list[Any]
    root: Path
    policy: Any = None


# ---------------------------------------------------------------- locating files


def find_root(start: Path) -> Path:
    """The nearest directory upwards holding the policy file or ``.git`` (else ``start``)."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / POLICY_FILE).is_file() or (candidate / ".git").exists():
            return candidate
    return start


def relative_label(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form; the path as given when outside it."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def expand_paths(paths: Sequence[Path], root: Path, policy: Any) -> list[Path]:
    """Files as given, plus every vault file under each directory (sorted, no duplicates).

    Under a directory, a vault file is a ``.yaml``/``.yml``/``.json``/``.env`` file a policy
    rule covers; without a policy (or a ``rule_for``), every such file.
    """
    result: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or child.suffix not in VAULT_SUFFIXES:
                    continue
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue  # .git, .github, editor state: never vault files
                rule_for = getattr(policy, "rule_for", None)
                if rule_for is not None and rule_for(relative_label(child, root)) is None:
                    continue
                result[child] = None
        elif path.is_file():
            result[path] = None
        else:
            raise BadInput(f"{path}: no such file or directory")
    if not result:
        raise BadInput("no vault files found in the given paths")
    return list(result)


def parse_prefixes(values: Sequence[str], files: Sequence[Path], root: Path) -> dict[str, str]:
    """``--prefix P`` (every file) and ``--prefix FILE=P`` (one file) -> {label: prefix}."""
    labels = [relative_label(f, root) for f in files]
    result: dict[str, str] = {}
    for value in values:
        target, sep, prefix = value.rpartition("=")
        if not sep:
            result.update(dict.fromkeys(labels, value))
            continue
        label = relative_label(Path(target), root)
        if label not in labels:
            raise UsageError(f"--prefix names {target}, which is not among the files read")
        result[label] = prefix
    return result


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """``--label k=v`` (repeatable) -> {k: v}."""
    labels: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--label wants KEY=VALUE, got {value!r}")
        labels[key] = val
    return labels


# ------------------------------------------------------------- reading the vault


def _policy(api: Any, root: Path) -> Any:
    """The policy if the repository has one (for directory expansion, checks and names)."""
    path = root / POLICY_FILE
    if not (path.exists() or path.is_symlink()):  # a link is loaded, and refused there
        return None
    return api.load_policy(root)


def _previous_values(
    api: Any, policy: Any, root: Path, label: str, identities: Any
) -> Mapping[Any, Any]:
    """Values still in a rotation's grace period (``{key_path_tuple: old_value}``).

    Only files whose policy rule sets a ``grace`` (for the rule or one of its
    keys) can have any; the others are skipped here without asking
    ``api.previous_values``, which reads the policy and git history per file.
    """
    rule = policy.rule_for(label) if policy is not None else None
    if rule is None or not (rule.grace or any(k.grace for k in rule.keys.values())):
        return {}
    result: Mapping[Any, Any] = api.previous_values(root, label, identities)
    return result


def load(
    paths: Sequence[Path],
    *,
    identity: Path | None,
    prefixes: Sequence[str],
    with_previous: bool,
    per_file: bool = False,
) -> Loaded:
    """Verify and decrypt every file; name the variables. Raises before any output.

    Each file is decrypted first (MAC verified; a tampered file is exit 4, one
    this identity cannot open is exit 3 naming who can), then every file is
    checked against the policy (recipients, schema: exit 1), and only then are
    the variables named (a collision is exit 5; with ``per_file`` only within
    one file). Empty and null values are left out with a warning naming them:
    no MAC covers them, so a key-less writer could have added them.
    """
    from gitvault import api
    from gitvault.export.audit import ReadEvent
    from gitvault.export.model import (
        Source,
        collect,
        format_key_path,
        iter_leaves,
    )
    from gitvault.fsutil import read_input

    # The repository of the first path (as `verify` does), so that exporting from
    # outside the vault's directory still applies its policy.
    first = paths[0].absolute()
    root = find_root(first if first.is_dir() else first.parent)
    policy = _policy(api, root)
    files = expand_paths(paths, root, policy)
    labels = [relative_label(f, root) for f in files]
    prefix_of = parse_prefixes(prefixes, files, root)
    identities = api.load_identities(identity)
    sources: list[Source] = []
    events: list[ReadEvent] = []
    for file, label in zip(files, labels, strict=True):
        try:
            # One policy for all files: it names who can read in messages, who did in the audit.
            decrypted = api.decrypt_bytes(read_input(file), label, identities, policy)
        except GitvaultError as err:
            # With many files in one call the user must learn which one failed.
            if label in err.message or str(file) in err.message:
                raise
            raise type(err)(f"{label}: {err.message}", hint=err.hint) from None
        documents = list(decrypted.documents)
        previous = _previous_values(api, policy, root, label, identities) if with_previous else {}
        sources.append(
            Source(label, documents, prefix_of.get(label), previous, decrypted.unauthenticated)
        )
        keys = [format_key_path(p) for doc in documents for p, _ in iter_leaves(doc)]
        events.append(ReadEvent(label, keys, None, decrypted.recipient))
    if policy is not None:
        # Recipients and schema against the policy rule of every file.
        api.verify_for_export(
            root, labels, identities, {s.label: list(s.documents) for s in sources}
        )
    dropped: list[str] = []
    variables = collect(sources, per_file=per_file, authenticated_only=True, dropped=dropped)
    for what in dropped:
        warn(f"{what}, which no MAC covers; not exported")
    return Loaded(variables, events, root, policy)


def warn(message: str) -> None:
    """One ``gitvault: warning: …`` line on stderr (names only, never a value)."""
    from gitvault.safetext import printable

    click.echo(f"gitvault: warning: {printable(message)}", err=True)


def _allow_env_of(section: Any) -> list[str]:
    """``allow_env`` of a policy ``export:`` mapping (top level or one rule); [] when absent."""
    if not isinstance(section, Mapping):
        return []
    names = section.get("allow_env") or []
    return [str(n) for n in names] if isinstance(names, list) else []


def check_env_names(loaded: Loaded, allow_env: Sequence[str], extra: Sequence[str] = ()) -> None:
    """Refuse (exit 5) variable names that change how programs load or run.

    Allowed: ``--allow-env`` names, the policy's top-level ``export.allow_env``,
    and for a file the ``export.allow_env`` of the rule that covers it.
    ``extra`` are further names the child will see (``NAME_FILE``), checked
    against the allowances of the variable they come from.
    """
    from gitvault.export.envnames import check_names, is_denied

    policy = loaded.policy
    raw: Mapping[str, Any] = getattr(policy, "raw", None) or {}
    common = [*allow_env, *_allow_env_of(raw.get("export"))]
    raw_rules = raw.get("rules") or []
    by_file: dict[str, list[Any]] = {}
    for variable in loaded.variables:
        by_file.setdefault(variable.file, []).append(variable)
    suffixes = ("", *extra)
    for file, variables in by_file.items():
        rule = policy.rule_for(file) if policy is not None else None
        index = getattr(rule, "index", None)
        raw_rule = raw_rules[index] if isinstance(index, int) and index < len(raw_rules) else {}
        section = raw_rule.get("export") if isinstance(raw_rule, Mapping) else None
        allowed = [*common, *_allow_env_of(section)]
        for variable in variables:
            for suffix in suffixes:
                if is_denied(variable.name + suffix):  # origin text only when needed
                    check_names([(variable.name + suffix, variable.origin)], allowed)


def audit(loaded: Loaded, audit_log: str | None, command: str) -> None:
    """Append the read-audit lines if an audit log is configured (flag or environment)."""
    from dataclasses import replace

    from gitvault.export.audit import audit_path, record_reads

    path = audit_path(audit_log, os.environ)
    if path is None:
        return
    commit = head_commit(loaded.root)
    events = [replace(event, commit=commit) for event in loaded.events]
    record_reads(path, events, command=command, environ=os.environ)


def head_commit(root: Path) -> str | None:
    """The commit checked out in the repository holding ``root``, or None outside git."""
    try:
        from gitvault.git.repo import Repository

        return Repository.discover(root).resolve("HEAD")
    except (GitvaultError, ImportError):
        return None  # no repository, or no commit yet: the audit line says null
