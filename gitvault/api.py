"""The stable programmatic surface of gitvault.

Other programs (and gitvault's own higher layers: export, hooks, scanning,
history) use these functions; everything else in the package may change.
Functions return plain data and raise :class:`gitvault.errors.GitvaultError`
subclasses; none prints, none writes plaintext anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput, CheckFailed, GitvaultError, IntegrityError
from gitvault.fsutil import read_input

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy

__all__ = [
    "Decrypted",
    "decrypt_bytes",
    "decrypt_file",
    "flatten",
    "known_values",
    "load_identities",
    "load_policy",
    "vault_problems",
    "verify_for_export",
]


@dataclass(frozen=True)
class Decrypted:
    """A verified, decrypted vault file as plain Python data (timestamps as text)."""

    file: str
    documents: list[Any]
    recipients: tuple[str, ...]
    recipient: str | None  # the policy name of the identity that opened it, when known
    # (document index, key path) of the non-empty leaves the MAC does not vouch for
    # (see :func:`unauthenticated_leaves`); empty strings and nulls never are, and
    # are not listed. Deploy-time outputs leave both out.
    unauthenticated: frozenset[tuple[int, tuple[str | int, ...]]] = frozenset()

    def __repr__(self) -> str:  # never show values
        return f"Decrypted({self.file!r}, <{len(self.documents)} document(s)>)"


def load_identities(explicit: Path | None = None) -> Identities:
    """Every identity found in DESIGN §4's order (only ``explicit`` when given)."""
    from gitvault.identities import load_identities as _load

    return _load(explicit)


def load_policy(root: Path) -> Policy:
    """The validated policy at ``root/.gitvault.yaml``."""
    from gitvault import policy

    return policy.load(root)


def decrypt_bytes(
    data: bytes, name: str, identities: Identities, pol: Policy | None = None
) -> Decrypted:
    """Parse, unwrap, decrypt and MAC-verify a vault file's bytes."""
    from gitvault.model import to_python
    from gitvault.sops import file as sopsfile

    vault = sopsfile.parse_vault(data, name)
    names = pol.name_of if pol is not None else None
    try:
        plain = sopsfile.open_file(vault, identities.keys, identities.describe_tried(), names=names)
    except IntegrityError as err:
        if name in err.message:
            raise
        raise IntegrityError(f"{name}: {err.message}") from None
    who = None
    if pol is not None:
        # The reader's name for the audit log: the first of our identities the file
        # is encrypted to (no second age unwrap: decryption already succeeded).
        from gitvault.policy import normalize_key

        readers = {normalize_key(r) for r in vault.recipients}
        for ident in identities.items:
            if normalize_key(ident.recipient) in readers:
                who = pol.name_of(ident.recipient)
                break
    documents = [to_python(d) for d in plain.documents]
    loose: frozenset[tuple[int, tuple[str | int, ...]]] = frozenset()
    if vault.meta.mac_only_encrypted:  # else every non-empty leaf is sealed or hashed
        loose = unauthenticated_leaves([to_python(d) for d in vault.documents], documents)
    return Decrypted(name, documents, vault.recipients, who, loose)


def unauthenticated_leaves(
    raw: list[Any], documents: list[Any]
) -> frozenset[tuple[int, tuple[str | int, ...]]]:
    """Non-empty leaves of a verified ``mac_only_encrypted`` file that its MAC does not cover.

    SOPS authenticates a leaf in one of two ways: an encrypted value is sealed
    with its key path as additional data (and hashed into the MAC); a plaintext
    value (left out of encryption by the selection metadata) is hashed into
    the MAC — unless ``mac_only_encrypted`` is set, as for the file this is
    asked about. So here every plaintext leaf is loose. (Empty strings and
    nulls are never covered in any file; callers test those themselves.)
    ``raw`` are the stored documents, ``documents`` the decrypted ones.
    """
    from gitvault.export.model import iter_leaves
    from gitvault.sops.value import looks_encrypted

    found: set[tuple[int, tuple[str | int, ...]]] = set()
    for index, (stored, plain) in enumerate(zip(raw, documents, strict=True)):
        stored_leaves = dict(iter_leaves(stored))
        for path, value in iter_leaves(plain):
            if value is None or value == "":
                continue
            before = stored_leaves.get(path)
            # Sealed: stored as ENC[…] and really opened (a plaintext value that merely
            # looks encrypted comes back unchanged).
            if not (isinstance(before, str) and looks_encrypted(before) and before != value):
                found.add((index, path))
    return frozenset(found)


def decrypt_file(path: Path, identities: Identities) -> Decrypted:
    """Read and decrypt one vault file (MAC verified before anything is returned)."""
    from gitvault.fsutil import read_input
    from gitvault.vault import policy_near

    # The policy names the recipient in the read audit; it is loaded anyway by
    # export's checks, so this costs one parse per file, not a new import.
    return decrypt_bytes(read_input(path), str(path), identities, policy_near(path))


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Plain data -> {dotted key path: scalar}; list items as ``name[0]``."""
    from gitvault.keypath import display

    out: dict[str, Any] = {}

    def walk(node: Any, parts: list[str | int]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*parts, str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*parts, i])
        else:
            out[display(parts)] = node

    walk(tree, [prefix] if prefix else [])
    return out


def vault_problems(root: Path, relpath: str, data: bytes) -> list[str]:
    """Why ``data`` may not be committed at ``relpath`` (empty when fine or not a vault path).

    Checks without decrypting: a path a rule covers must hold a valid vault file
    encrypted to exactly the rule's recipients.
    """
    from gitvault import policy
    from gitvault.verify import check_file

    try:
        pol = policy.load(root)
    except BadInput as err:
        return [err.message] if relpath == policy.POLICY_FILE else []
    if pol.rule_for(relpath) is None:
        return []
    report = check_file(pol, relpath, data, None, check_schema=False)
    return list(report.problems)


@dataclass
class _KnownCache:
    """In-memory only: values per (file, content digest) for one root and identity set."""

    key: tuple[str, tuple[str, ...], int]
    per_file: dict[tuple[str, bytes], list[tuple[str, str]]]
    signature: tuple[tuple[str, bytes], ...] = ()
    result: list[tuple[str, str]] | None = None


_KNOWN: _KnownCache | None = None


def known_values(
    root: Path, *, min_length: int = 6, identities: Identities | None = None
) -> list[tuple[str, str]]:
    """(``file:key.path``, value) for every string value the user's identities can read.

    For the leak scanner only (``scan``, the hooks, ``review``): the values stay
    in memory. Files that cannot be opened are skipped silently (other people's
    environments). ``identities`` defaults to the user's (DESIGN §4 order).

    Linear in the number of files and values, and each file is decrypted once
    per process: the result is kept in memory per file content (a digest of the
    bytes, so any change is seen), and a second call with nothing changed
    returns the same list without decrypting. Nothing is cached on disk: a
    cache that lets a matcher find values must hold the values or hashes of
    them, and hashes of low-entropy values (``Summer2024!``) are guessable
    offline by anyone who can read ``.git``; keying them with a secret that
    needs an identity would cost the very unwrap the cache is meant to save.
    """
    import hashlib

    from gitvault import policy
    from gitvault.fsutil import read_input
    from gitvault.identities import load_identities as _load
    from gitvault.verify import covered_files

    global _KNOWN
    try:
        pol = policy.load(root)
        ids = identities if identities is not None else _load()
    except GitvaultError:
        return []
    if not ids.items:
        return []
    key = (str(root.resolve()), tuple(sorted(i.recipient for i in ids.items)), min_length)
    if _KNOWN is None or _KNOWN.key != key:
        _KNOWN = _KnownCache(key, {})
    cache = _KNOWN
    signature: list[tuple[str, bytes]] = []
    fresh: dict[tuple[str, bytes], list[tuple[str, str]]] = {}
    for rel in covered_files(pol):
        try:
            data = read_input(root / rel, root=root)
        except (GitvaultError, OSError):
            continue
        entry = (rel, hashlib.blake2b(data, digest_size=16).digest())
        signature.append(entry)
        pairs = cache.per_file.get(entry)
        if pairs is None:
            pairs = _file_values(data, rel, ids, min_length)
        fresh[entry] = pairs
    if cache.result is not None and tuple(signature) == cache.signature:
        return cache.result
    cache.per_file = fresh  # forget files that changed or went away
    cache.signature = tuple(signature)
    cache.result = [pair for entry in signature for pair in fresh[entry]]
    return cache.result


def _file_values(data: bytes, rel: str, ids: Identities, min_length: int) -> list[tuple[str, str]]:
    """The string values of one vault file worth searching for; [] when it cannot be opened."""
    try:
        dec = decrypt_bytes(data, rel, ids, None)
    except GitvaultError:
        return []
    return [
        (f"{rel}:{key}", value)
        for doc in dec.documents
        for key, value in flatten(doc).items()
        if isinstance(value, str) and len(value) >= min_length
    ]


def verify_for_export(
    root: Path,
    relpaths: list[str],
    identities: Identities,
    documents: Mapping[str, list[Any]] | None = None,
) -> None:
    """Refuse deploy-time reads of files that fail the policy checks (recipients, schema).

    ``documents`` are the already decrypted (MAC-verified) documents per path, as
    ``export`` has them: the schema is checked on those instead of decrypting
    every file a second time. Raises :class:`CheckFailed` naming the first
    failing file.
    """
    from gitvault import policy
    from gitvault.verify import check_file

    path = root / policy.POLICY_FILE
    if not (path.exists() or path.is_symlink()):  # a link is loaded, and refused there
        return
    pol = policy.load(root)
    for rel in relpaths:
        data = read_input(root / rel, root=root)  # capped; no link out, no device
        decrypted = (documents or {}).get(rel)
        report = check_file(pol, rel, data, None if decrypted is not None else identities)
        problems = list(report.problems)
        rule = pol.rule_for(rel)
        if not problems and decrypted is not None and rule is not None and rule.schema:
            from gitvault.schemacheck import validate_schema

            try:
                validate_schema(decrypted, pol, rule, rel)
            except GitvaultError as err:
                problems.append(err.message.removeprefix(rel + ": "))
        if problems:
            raise CheckFailed(f"{rel}: {problems[0]}", hint="run `gitvault verify` for details")


def previous_values(
    root: Path, relpath: str, identities: Identities
) -> dict[tuple[str | int, ...], Any]:
    """Values of recently rotated keys as they were before the rotation (grace period).

    For every key of ``root/relpath`` whose policy rule or key entry sets
    ``grace``, the value the key had just before its latest value change, if
    that change (the commit's author time) is within the grace period. Re-keys
    are not value changes. Keyed by the key-path tuple the export layer uses
    (:func:`gitvault.export.model.iter_leaves`; a file with several documents
    starts with the document index), so ``export``/``exec`` expose each one as
    ``NAME_PREVIOUS``.

    Empty (never an error) when no key has a grace period, outside git, in an
    empty or shallow repository, or when the old version cannot be decrypted
    with ``identities``: a deploy must not fail because history is unreadable.
    The old version is MAC-verified like every decryption.
    """
    import time

    from gitvault import policy

    if not (root / policy.POLICY_FILE).is_file():
        return {}
    pol = policy.load(root)
    rule = pol.rule_for(relpath)
    if rule is None or not (rule.grace or any(k.grace for k in rule.keys.values())):
        return {}
    from gitvault.git.repo import Repository
    from gitvault.history.previous import previous_version
    from gitvault.history.schedule import key_settings, seconds
    from gitvault.history.sources import parse_for_history

    try:
        repo = Repository.discover(root)
        state = repo.state()
        if state.is_empty or state.is_shallow:
            return {}
        git_rel = repo.relpath(root / relpath)
        current = parse_for_history(read_input(root / relpath, root=root), relpath)
    except (GitvaultError, OSError):
        return {}
    now = int(time.time())
    opened: dict[str, dict[str, tuple[tuple[str | int, ...], Any]]] = {}
    out: dict[tuple[str | int, ...], Any] = {}
    for key in current.leaves:
        grace = key_settings(rule, key).grace
        if not grace:
            continue
        try:
            found = previous_version(
                repo, git_rel, key, parse=parse_for_history, now=now, grace=seconds(grace)
            )
        except GitvaultError:
            continue
        if found is None:
            continue
        if found.commit not in opened:
            try:
                old = decrypt_bytes(found.data, relpath, identities)
            except GitvaultError:
                opened[found.commit] = {}
                continue
            opened[found.commit] = _by_display_path(old.documents)
        entry = opened[found.commit].get(key)
        if entry is not None:
            out[entry[0]] = entry[1]
    if out:
        # A commit may re-encrypt a value without changing it (another tool, a bug):
        # only a value that really differs from the current one is a previous value.
        try:
            now_values = _by_display_path(
                decrypt_bytes(read_input(root / relpath, root=root), relpath, identities).documents
            )
        except (GitvaultError, OSError):
            return {}
        current_values = {path: value for path, value in now_values.values()}
        out = {p: v for p, v in out.items() if p in current_values and current_values[p] != v}
    return out


def _by_display_path(documents: list[Any]) -> dict[str, tuple[tuple[str | int, ...], Any]]:
    """Display key path (as ``VaultFile.leaves()`` writes it) -> (export key path, value)."""
    from gitvault.export.model import iter_leaves
    from gitvault.sops.file import join_path

    multi = len(documents) > 1
    table: dict[str, tuple[tuple[str | int, ...], Any]] = {}
    for index, document in enumerate(documents):
        for path, value in iter_leaves(document):
            display = f"[{index}]" if multi else ""
            for part in path:
                if isinstance(part, int):
                    display = f"{display}[{part}]"
                else:
                    display = join_path(display, part)
            table[display] = ((index, *path) if multi else path, value)
    return table
