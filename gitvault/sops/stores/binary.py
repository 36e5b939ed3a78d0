"""sops's binary store: the whole file is one string under the key ``data``.

The encrypted file is the JSON store's output for ``{"data": "ENC[…]"}`` plus
the ``sops`` object; the MAC covers that one value (path ``data:``). Bytes
that are not UTF-8 are carried as surrogate escapes, so they are encrypted,
hashed and written back exactly as they were read (sops does the same with
Go's byte strings).
"""

from __future__ import annotations

from gitvault.errors import BadInput
from gitvault.model import Mapping

KEY = "data"


def load_plain(data: bytes) -> Mapping:
    """A plaintext file of any bytes as sops's one-value tree."""
    return Mapping([(KEY, data.decode("utf-8", "surrogateescape"))])


def check(doc: Mapping, name: str) -> None:
    """A binary-format file holds exactly one string value, ``data``."""
    keys = doc.keys()
    if keys != [KEY] or not isinstance(doc.get(KEY), str):
        raise BadInput(
            f"{name}: a binary-format file holds exactly one string value named {KEY!r}",
            hint="give the file a .yaml/.json/.env name to store structured values",
        )


def dump_plain(doc: Mapping, name: str) -> bytes:
    """The original bytes back (what ``sops decrypt`` prints for a binary file)."""
    check(doc, name)
    value = doc.get(KEY)
    assert isinstance(value, str)
    return value.encode("utf-8", "surrogateescape")
