"""Set or remove one key of a vault file, or start a new file with one key.

The bodies behind ``gitvault set`` and ``gitvault unset``: each returns a
:class:`Change` (what happened, and the file's new bytes) and writes nothing.
Unchanged values keep their ciphertext, so a diff shows only the key that
changed; the rule's schema check sees the new documents before anything is
encrypted.
"""

from __future__ import annotations

from pathlib import Path

from gitvault.errors import BadInput
from gitvault.model import Mapping, Node
from gitvault.records import record
from gitvault.schemacheck import SchemaCheck, no_check, validate_schema
from gitvault.sops import file as sopsfile
from gitvault.sops.document import Plain, check_keys
from gitvault.vault import (
    check_parents,
    file_indent,
    load_policy_for,
    locate,
    rule_for,
    selection_for,
)


def schema_check(path: Path) -> SchemaCheck:
    """The schema check every write of ``path`` must pass (set, unset, edit, encrypt).

    Finds the policy and the rule covering ``path`` once; a file no policy or
    rule covers has no schema, so the check accepts anything. A policy that
    does not load is reported (exit 5) before anything is written.
    """
    loc = locate(path)
    if loc.root is None:
        return no_check
    pol = load_policy_for(loc)
    assert loc.relpath is not None
    rule = pol.rule_for(loc.relpath)
    if rule is None or not rule.schema:
        return no_check

    def check(docs: list[Mapping]) -> None:
        validate_schema(docs, pol, rule, str(path))

    return check


def parse_value(raw: str, type_: str) -> Node:
    """Turn a command-line value into a typed scalar."""
    if type_ == "str":
        return raw
    try:
        if type_ == "int":
            return int(raw, 10)
        if type_ == "float":
            return float(raw)
        if type_ == "bool":
            lowered = raw.strip().lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError
        if type_ == "json":
            import json

            from gitvault.model import from_python

            return from_python(json.loads(raw))
    except (ValueError, TypeError):
        raise BadInput(f"the value is not a valid {type_}") from None
    raise BadInput(f"unknown value type {type_!r}")


@record(frozen=True)
class Change:
    """The outcome of a set/unset: what happened, and the new file bytes (None if no-op)."""

    key: str
    action: str  # "added", "changed", "unchanged", "removed"
    data: bytes | None


def set_key(
    vault: sopsfile.VaultFile,
    plain: Plain,
    key: str,
    value: Node,
    check: SchemaCheck = no_check,
) -> Change:
    """Set one value; unchanged values (and this one, if equal) keep their ciphertext.

    Edits ``plain``'s documents in place (callers decrypt afresh for each change).
    ``check`` (see :func:`schema_check`) sees the new documents before anything
    is encrypted, so a schema violation raises and nothing is written.
    """
    from gitvault import keypath

    parts = keypath.parse(key)
    docs = plain.documents
    try:
        old: Node | object = keypath.get(docs[0], parts)
    except BadInput:
        old = _MISSING
    if old is not _MISSING and _same(old, value):
        return Change(keypath.display(parts), "unchanged", None)
    new = keypath.set_value(docs[0], parts, value)
    check(docs)
    data = sopsfile.reencrypt(
        docs, plain, name=vault.name, indent=file_indent(vault.name, plain.format)
    )
    return Change(keypath.display(parts), "added" if new else "changed", data)


def new_file(path: Path, key: str, value: Node, fmt: str | None = None) -> Change:
    """A brand-new vault file at ``path`` holding one key (``set`` on a missing file).

    Recipients and selection settings come from the policy rule covering
    ``path`` (no rule: refused, exit 5); the rule's schema must accept the
    one-key document; missing folders must be creatable inside the vault
    (checked here, created by :func:`write`). The file's format comes from
    ``fmt`` or its name, as sops chooses it. Nothing is written here.
    """
    from gitvault import keypath
    from gitvault.sops import formats

    loc = locate(path)
    pol = load_policy_for(loc)
    rule = rule_for(pol, loc)
    check_parents(path)
    parts = keypath.parse(key)
    doc = Mapping()
    keypath.set_value(doc, parts, value)
    check_keys(doc, str(path))
    validate_schema([doc], pol, rule, str(path))
    out_fmt = fmt or formats.format_for_path(path.name)
    if out_fmt == "ini":
        raise formats.refuse_ini(str(path))
    data = sopsfile.encrypt_new(
        [doc],
        pol.reader_keys(rule),
        fmt=out_fmt,
        name=str(path),
        indent=file_indent(str(path), out_fmt),
        **selection_for(rule),
    )
    return Change(keypath.display(parts), "created", data)


def unset_key(
    vault: sopsfile.VaultFile, plain: Plain, key: str, check: SchemaCheck = no_check
) -> Change:
    """Remove one key (editing ``plain``'s documents in place); ``check`` as for set."""
    from gitvault import keypath

    parts = keypath.parse(key)
    docs = plain.documents
    keypath.unset(docs[0], parts)
    check(docs)
    data = sopsfile.reencrypt(
        docs, plain, name=vault.name, indent=file_indent(vault.name, plain.format)
    )
    return Change(keypath.display(parts), "removed", data)


_MISSING = object()


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b
