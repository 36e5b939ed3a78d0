"""sops's dotenv store: ``KEY=VALUE`` lines, ``#`` comments, metadata as ``sops_*`` lines.

This is sops's own line format, not a shell's: nothing is unquoted or
trimmed (``A="x"`` holds the three characters ``"x"``), a value runs from the
first ``=`` to the end of the line, ``\\n`` in a value is a newline, blank
lines are dropped. Every value is a string; sops keeps the type of an
encrypted value in its ``ENC[…]`` token, so a decrypted value can be an int.
Metadata lines are the flattened ``sops:`` block (:mod:`.flatten`), sorted
by key, after the body.
"""

from __future__ import annotations

from gitvault.errors import BadInput
from gitvault.model import Comment, Mapping, Node
from gitvault.sops.stores import flatten as flat

PREFIX = "sops_"


def load(text: str, name: str) -> Mapping:
    """Parse dotenv text into one flat mapping (comments kept in place)."""
    doc = Mapping()
    seen: set[str] = set()
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            doc.entries.append(Comment(line[1:]))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise BadInput(f"{name}: line {n}: not KEY=VALUE (invalid dotenv line)")
        if key in seen:
            raise BadInput(f"{name}: line {n}: duplicate key {key[:80]!r}")
        seen.add(key)
        doc.entries.append((key, value.replace("\\n", "\n")))
    return doc


def split_metadata(doc: Mapping, name: str) -> tuple[Mapping, Mapping | None]:
    """The body without ``sops_*`` lines, and the ``sops:`` block they hold (None if none)."""
    body = Mapping()
    meta: dict[str, str] = {}
    for entry in doc.entries:
        if isinstance(entry, Comment) or not entry[0].startswith(PREFIX):
            body.entries.append(entry)
        else:
            key, value = entry
            meta[key[len(PREFIX) :]] = str(value)
    if not meta:
        return body, None
    return body, flat.decode_non_strings(flat.unflatten(meta, name), name)


def check(doc: Mapping, name: str) -> None:
    """Refuse what a dotenv file cannot hold (sops refuses nested values too)."""
    for entry in doc.entries:
        if isinstance(entry, Comment):
            if "\n" in entry.text:
                raise BadInput(f"{name}: a dotenv comment cannot span lines")
            continue
        key, value = entry
        if isinstance(value, Mapping | list):
            raise BadInput(
                f"{name}: dotenv files hold only flat KEY=VALUE pairs; "
                f"{key[:80]!r} has a nested value"
            )
        if not key or "=" in key or "\n" in key or key.startswith("#"):
            raise BadInput(f"{name}: {key[:80]!r} cannot be a dotenv key")
        if key.startswith(PREFIX):
            raise BadInput(f"{name}: dotenv keys starting with {PREFIX!r} are sops's metadata")


def _value_text(value: Node) -> str:
    from gitvault.model import Timestamp

    if isinstance(value, str):
        return value.replace("\n", "\\n")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Go's ValToString: strconv 'G' shortest, and "3.0" rather than "3".
        from gitvault.yamlio.scalars import format_float_f, format_float_g

        text = format_float_g(value).upper()
        return text if ("." in text or "E" in text) else format_float_f(value) + ".0"
    if isinstance(value, Timestamp):
        return value.text
    return str(value)


def dump(doc: Mapping, block: Mapping | None = None) -> str:
    """Dotenv text of ``doc``, then the flattened ``block`` lines sorted by key."""
    lines: list[str] = []
    for entry in doc.entries:
        if isinstance(entry, Comment):
            lines.append(f"#{entry.text}\n")
        else:
            lines.append(f"{entry[0]}={_value_text(entry[1])}\n")
    if block is not None:
        items = flat.flatten(block)
        for key in sorted(items, key=lambda k: k.encode("utf-8", "surrogateescape")):
            lines.append(f"{PREFIX}{key}={items[key].replace(chr(10), chr(92) + 'n')}\n")
    return "".join(lines)
