"""Key-less structure checks of a vault file against the policy rule that covers it.

Without a key nobody can check the MAC, so a file that only *looks* encrypted
(a pasted ``sops:`` block over plaintext values, or selection metadata such as
``unencrypted_regex: .*`` that declares every value plaintext) would pass a
check that only parses the file. What can be known without a key:

- the file's selection metadata (suffixes, regexes, ``mac_only_encrypted``) is
  exactly what the rule says (the rule's selection, or sops's default
  ``_unencrypted`` suffix when it names none) — a writer cannot choose which
  values stay in plaintext;
- under that selection, every value that must be encrypted *is* an
  ``ENC[AES256_GCM,…]`` string of a valid shape (base64 fields, a known type);
  only ``null`` and the empty string are stored as they are, as sops does;
- the MAC field has the same shape and ``lastmodified`` is an RFC 3339 time.

What it cannot know: whether a well-shaped ``ENC[…]`` was made with the data
key (only the MAC, with a key, says that). Recipient counts, sizes and
duplicates are refused earlier, when the ``sops:`` block is read.

Returns problem texts (no values, key paths escaped for printing); never raises
for a hostile file.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as AnyMapping
from typing import Any

from gitvault.errors import GitvaultError
from gitvault.model import Comment, Mapping, Node
from gitvault.safetext import printable
from gitvault.sops import metadata as md
from gitvault.sops import value as encval

RULE_SELECTION_FIELDS = md.SELECTION_FIELDS
# The number of unencrypted-value problems listed before "and N more".
_SHOWN = 5


def expected_selection(selection: AnyMapping[str, Any]) -> dict[str, Any]:
    """The selection metadata a file under a rule with ``selection`` must carry."""
    want: dict[str, Any] = {f: None for f in md.SELECTION_FIELDS}
    for f in RULE_SELECTION_FIELDS:
        if selection.get(f):
            want[f] = selection[f]
    if not any(want[f] for f in RULE_SELECTION_FIELDS):
        want["unencrypted_suffix"] = md.DEFAULT_UNENCRYPTED_SUFFIX
    want["mac_only_encrypted"] = bool(selection.get("mac_only_encrypted", False))
    return want


def selection_problems(meta: md.Metadata, selection: AnyMapping[str, Any]) -> list[str]:
    """How the file's selection metadata differs from the rule's (field names only)."""
    have = meta.with_defaults()
    want = expected_selection(selection)
    wrong = [f for f, v in want.items() if (getattr(have, f) or None) != (v or None)]
    if not wrong:
        return []
    return [
        "selection metadata differs from the policy rule ("
        + ", ".join(wrong)
        + "): the file may not choose which values stay unencrypted"
    ]


def _leaves(node: Node, path: list[str]) -> Iterator[tuple[list[str], object]]:
    """Scalar leaves with their sops key path (list items share their list's path)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, [*path, key])
    elif isinstance(node, list):
        for item in node:
            if not isinstance(item, Comment):
                yield from _leaves(item, path)
    else:
        yield path, node


def _leaves_with_comments(
    node: Node, path: list[str], stack: list[list[str]]
) -> Iterator[tuple[list[str], list[list[str]], object]]:
    """Leaves with the comments sops's walk has seen above them (for comment selection).

    Mirrors sops's ``walkBranch``/``walkSlice``: each collection level keeps the
    comments met since its last value; the comment texts are the stored ones
    (a marker comment of ``encrypted_comment_regex`` is never encrypted itself).
    """
    level: list[str] = []
    inner = [*stack, level]
    if isinstance(node, Mapping):
        for entry in node.entries:
            if isinstance(entry, Comment):
                level.append(entry.text)
                continue
            key, value = entry
            yield from _leaves_with_comments(value, [*path, key], [list(c) for c in inner])
            level.clear()
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, Comment):
                level.append(item.text)
                continue
            yield from _leaves_with_comments(item, path, [list(c) for c in inner])
            level.clear()
    else:
        yield path, stack, node


def _well_formed(text: object) -> bool:
    if not isinstance(text, str) or not encval.looks_encrypted(text):
        return False
    try:
        enc = encval.parse(text)
    except GitvaultError:
        return False
    # AES-GCM as sops uses it: a 32-byte IV and a 16-byte tag.
    return len(enc.iv) == 32 and len(enc.tag) == 16 and enc.type != "comment"


def value_problems(documents: list[Mapping], meta: md.Metadata) -> list[str]:
    """Values the file's own selection says are encrypted but that are not ``ENC[…]``."""
    from gitvault.sops.document import Selector
    from gitvault.sops.file import join_path

    try:
        selector = Selector(meta)
    except GitvaultError as err:
        return [err.message]
    bad: list[str] = []
    for d, doc in enumerate(documents):
        prefix = f"[{d}]" if len(documents) > 1 else ""
        for path, stack, value in _leaves_with_comments(doc, [], []):
            if value is None or value == "":
                continue  # sops stores null and "" as they are
            if not selector.encrypted(path, stack, False):
                continue
            if not _well_formed(value):
                shown = prefix
                for part in path:
                    shown = join_path(shown, part)
                bad.append(printable(shown))
    if not bad:
        return []
    listed = ", ".join(bad[:_SHOWN]) + (
        f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    )
    return [f"not encrypted although the rule says it must be: {listed}"]


def _uncovered(node: object) -> bool:
    """Whether a node holds nothing the MAC covers: null, "", or containers of only those."""
    if node is None or node == "":
        return True
    if isinstance(node, Mapping):
        return all(_uncovered(v) for _k, v in node.items())
    if isinstance(node, list):
        return all(isinstance(i, Comment) or _uncovered(i) for i in node)
    return False


def _shifting(node: object, where: str, out: list[str]) -> None:
    from gitvault.sops.file import join_path

    if isinstance(node, Mapping):
        for key, value in node.items():
            _shifting(value, join_path(where, key), out)
    elif isinstance(node, list):
        items = [i for i in node if not isinstance(i, Comment)]
        covered = [not _uncovered(i) for i in items]
        for i, item in enumerate(items):
            if not covered[i] and any(covered[i + 1 :]):
                out.append(f"{where}[{i}]")
            elif covered[i]:
                _shifting(item, f"{where}[{i}]", out)


def list_problems(documents: list[Mapping]) -> list[str]:
    """List items no MAC covers that stand before items it does.

    sops hashes neither ``null`` nor ``""`` (nor empty maps and lists) into the
    MAC, and every item of a list shares the list's key path as AAD. Such an item
    inserted by anyone, key or not, moves the authenticated items after it to
    other indices — other names in ``export``/``exec`` (``HOSTS_1`` gets what
    ``HOSTS_0`` held) — while the file still verifies. Trailing ones move nothing.
    """
    bad: list[str] = []
    for d, doc in enumerate(documents):
        _shifting(doc, f"[{d}]" if len(documents) > 1 else "", bad)
    if not bad:
        return []
    shown = ", ".join(printable(b) for b in bad[:_SHOWN])
    more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    return [
        f"list items that no MAC covers (null or empty) come before authenticated ones, "
        f"moving them to other indices: {shown}{more}"
    ]


def metadata_problems(meta: md.Metadata) -> list[str]:
    """The MAC and ``lastmodified`` fields must have their shapes."""
    out = []
    if not _mac_shape(meta.mac):
        out.append("the MAC field is not an encrypted value")
    try:
        meta.mac_aad()
    except GitvaultError:
        out.append("lastmodified is not an RFC 3339 time")
    return out


def _mac_shape(text: str) -> bool:
    if not encval.looks_encrypted(text):
        return False
    try:
        enc = encval.parse(text)
    except GitvaultError:
        return False
    return len(enc.iv) == 32 and len(enc.tag) == 16 and enc.type == "str"


def structure_problems(
    documents: list[Mapping], meta: md.Metadata, selection: AnyMapping[str, Any]
) -> list[str]:
    """Everything a key-less reader can check of a parsed file under a rule's ``selection``.

    When the selection metadata is wrong, the values are judged by the *rule's*
    selection (what the file should have said), not the file's.
    """
    problems = selection_problems(meta, selection)
    judged = meta
    if problems:
        from gitvault.records import replace

        want = expected_selection(selection)
        judged = replace(meta, **want)
    problems += value_problems(documents, judged)
    problems += list_problems(documents)
    problems += metadata_problems(meta)
    return problems
