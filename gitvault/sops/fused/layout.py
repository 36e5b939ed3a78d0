"""The line structure the fused passes accept: simple block mappings, one document.

:func:`split` cuts an encrypted file's text into its data lines and its
top-level ``sops:`` block; :func:`entries` turns data lines into one flat
record per line (depth, key, value text, the parent's additional-data
prefix). Both accept a strict subset of what the canonical reader
(:mod:`gitvault.yamlio.fast`) accepts and read it the same way, using that
module's own key check; anything else (comments, sequences, flow style,
quoted keys, blank lines, duplicate keys, several documents…) gives None, and
the caller takes the general path.
"""

from __future__ import annotations

from gitvault.yamlio.emit import _key as emitted_key
from gitvault.yamlio.fast import _KEY_LINE, _plain_key

# Deeper than this: the general path (whose parsers have their own caps) decides.
MAX_DEPTH = 64

# One record per data line: (depth, key, text after ``key: `` or None for a
# nested mapping's ``key:`` line, ``path:`` prefix of the key's parent).
Entry = tuple[int, str, str | None, str]


def plain_text(text: str) -> bool:
    """The whole-text preconditions of :func:`gitvault.yamlio.fast.load_canonical`,
    plus: one document, no comment anywhere (no ``#`` at all)."""
    return (
        text.endswith("\n")
        and not text.startswith("---")
        and "\n---\n" not in text
        and not any(c in text for c in "\t\r&*#")
    )


def split(text: str) -> tuple[list[str], str] | None:
    """(data lines, ``sops:`` block text) when the block is the last top-level key.

    sops and gitvault both write the metadata last; a file with it elsewhere
    (or with no data before it) is left to the general path.
    """
    if not plain_text(text):
        return None
    cut = text.rfind("\nsops:\n")
    if cut <= 0:
        return None
    block = text[cut + 1 :]
    inner = block[6:-1]
    # Everything after ``sops:`` belongs to the block (indented), and it is not empty.
    if not inner or any(line[:1] != " " for line in inner.split("\n")):
        return None
    return text[:cut].split("\n"), block


def entries(
    lines: list[str], step: int | None = None, canonical_keys: bool = False
) -> list[Entry] | None:
    """One :data:`Entry` per line, or None outside the accepted subset.

    ``step``: require every level to sit exactly ``step`` columns deeper than
    its parent (the layout the emitter writes, so the lines can be kept as they
    are); None accepts any deeper indentation, as the canonical reader does.
    ``canonical_keys``: require each key to be written as the emitter writes it.
    """
    out: list[Entry] = []
    append = out.append
    indents = [0]
    prefixes = [""]
    seen: list[set[str]] = [set()]
    ok: dict[str, bool] = {}
    key_line = _KEY_LINE.fullmatch
    opening: str | None = None  # the prefix of the mapping the next line must open
    for line in lines:
        body = line.lstrip(" ")
        if not body:
            return None
        ind = len(line) - len(body)
        if opening is not None:
            if ind <= indents[-1] or len(indents) > MAX_DEPTH:
                return None
            if step is not None and ind != indents[-1] + step:
                return None
            indents.append(ind)
            prefixes.append(opening)
            seen.append(set())
            opening = None
        elif ind != indents[-1]:
            while ind < indents[-1]:
                indents.pop()
                prefixes.pop()
                seen.pop()
            if ind != indents[-1]:
                return None
        key, colon, after = body.partition(":")
        good = ok.get(key)
        if good is None:
            # The canonical reader's own tests (its key regex and plain-key check).
            good = key_line(key + ":") is not None and _plain_key(key)
            if good and canonical_keys:
                good = emitted_key(key) == key
            ok[key] = good
        if not good or not colon:
            return None
        level = seen[-1]
        if key in level or (key == "sops" and len(indents) == 1):
            return None
        level.add(key)
        prefix = prefixes[-1]
        if not after:
            opening = prefix + key + ":"
            append((len(indents) - 1, key, None, prefix))
        elif after[0] == " ":
            append((len(indents) - 1, key, after[1:], prefix))
        else:
            return None
    if opening is not None or not out:
        return None
    return out
