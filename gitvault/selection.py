"""A vault file's encryption selection judged against its policy rule, without a key.

The ``sops:`` block of a file says which of its values are encrypted
(``unencrypted_suffix``, ``encrypted_regex``, …) and whether unencrypted
values are covered by the MAC (``mac_only_encrypted``). SOPS trusts whatever
the file says, and anyone can write that block: a file whose selection is not
its rule's can keep values in plaintext that the rule says must be encrypted
(a recipient's ``sops --unencrypted-regex``, a pasted block over plaintext) or,
under ``mac_only_encrypted``, carry values no MAC covers that a writer without
any key can add. The policy rule is the authority (what
:func:`gitvault.vault.selection_for` gives new files), so:

* :func:`selection_problems` names every selection field whose value differs
  from the rule's (field names only: the file's patterns are attacker text);
* :func:`plaintext_problems` names every value the *rule's* selection requires
  encrypted that is stored in plaintext.

Both read the parsed file only; neither decrypts, neither returns a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from gitvault.model import Comment, Mapping, Node
from gitvault.sops import metadata as md
from gitvault.sops import value as encval

if TYPE_CHECKING:
    from gitvault.policy import Rule
    from gitvault.sops.file import VaultFile
    from gitvault.sops.selector import Selector

# Every field of the sops block that decides what is encrypted or MAC-covered.
FIELDS = (*md.SELECTION_FIELDS, "mac_only_encrypted")
# How many key paths a message names before it says "and N more".
_NAMED = 5
_MAX_NAME = 80


def rule_metadata(rule: Rule) -> md.Metadata:
    """The selection a file under ``rule`` must carry (sops's reader defaults applied)."""
    from gitvault.vault import selection_for

    return md.Metadata(age=(), lastmodified="", mac="", **selection_for(rule)).with_defaults()


def _field(meta: md.Metadata, name: str) -> object:
    value = getattr(meta, name)
    if name == "mac_only_encrypted":
        return bool(value)
    return value or None  # an empty pattern selects nothing, like an absent one


def differing_fields(rule: Rule, meta: md.Metadata) -> list[str]:
    """Names of the selection fields whose value in the file is not the rule's."""
    want = rule_metadata(rule)
    have = meta.with_defaults()
    return [f for f in FIELDS if _field(want, f) != _field(have, f)]


def selection_problems(rule: Rule, meta: md.Metadata) -> list[str]:
    """One problem naming the differing fields, or none."""
    fields = differing_fields(rule, meta)
    if not fields:
        return []
    return [
        f"selection metadata differs from the policy rule ({', '.join(fields)}): the file may "
        f"not choose which values stay unencrypted (rules[{rule.index}]; decrypt and re-encrypt it)"
    ]


def plaintext_leaves(rule: Rule, vault: VaultFile) -> list[str]:
    """Display key paths of values the rule requires encrypted that are stored in plaintext.

    ``null`` and the empty string are never encrypted by sops; anything else
    under an encrypted path must be an ``ENC[…]`` text (whether it decrypts is
    the MAC check's business).
    """
    from gitvault.sops.selector import Selector

    selector = Selector(rule_metadata(rule))
    out: list[str] = []
    multi = len(vault.documents) > 1
    for index, doc in enumerate(vault.documents):
        _walk(selector, doc, f"[{index}]" if multi else "", None, out)
    return out


def _walk(
    selector: Selector,
    node: Node,
    where: str,
    state: bool | None,
    out: list[str],
    path: tuple[str, ...] = (),
    stack: tuple[tuple[str, ...], ...] = (),
) -> None:
    """Collect plaintext leaves; ``path``/``stack`` feed the comment-based rules.

    Under ``encrypted_comment_regex``/``unencrypted_comment_regex`` whether a
    value is encrypted depends on the comments sops's walk met above it (each
    level's comments since its last value), so they are carried down here.
    """
    from gitvault.sops.file import join_path

    if isinstance(node, Mapping | list):
        level: list[str] = []
        entries = node.entries if isinstance(node, Mapping) else node
        index = 0
        for entry in entries:
            if isinstance(entry, Comment):
                level.append(entry.text)
                continue
            inner = (*stack, tuple(level))
            if isinstance(node, Mapping):
                assert isinstance(entry, tuple)
                key, value = entry
                _walk(
                    selector,
                    value,
                    join_path(where, key),
                    selector.settle(key, state),
                    out,
                    (*path, key),
                    inner,
                )
            else:
                item = cast(Node, entry)
                _walk(selector, item, f"{where}[{index}]", state, out, path, inner)
                index += 1
            level.clear()
        return
    if node is None or node == "":
        return
    if selector.incremental:
        encrypted = selector.default if state is None else state
    else:
        encrypted = selector.encrypted(list(path), [list(c) for c in stack], False)
    if encrypted and not (isinstance(node, str) and encval.looks_encrypted(node)):
        out.append(where)


def plaintext_problems(rule: Rule, vault: VaultFile) -> list[str]:
    """One problem naming (some of) the plaintext key paths, or none."""
    paths = plaintext_leaves(rule, vault)
    if not paths:
        return []
    named = ", ".join(_printable(p) for p in paths[:_NAMED])
    more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
    return [f"not encrypted although the rule says it must be: {named}{more}"]


def _printable(name: str) -> str:
    """A key path safe for a terminal line: no control characters, bounded length."""
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return clean if len(clean) <= _MAX_NAME else clean[: _MAX_NAME - 1] + "…"
