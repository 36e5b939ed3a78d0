"""Shared pieces: document strategies, the general path's answers, tampering."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import strategies as st

from gitvault import vault
from gitvault.identities import load_identities
from gitvault.model import Mapping, from_python
from gitvault.sops import file as sopsfile
from gitvault.yamlio.emit import _key
from gitvault.yamlio.fast import _plain_key

# Keys of every kind: the fused passes take the simple ones and refuse the rest.
ANY_KEY = st.text(alphabet="abkXZ_-.09é ", min_size=1, max_size=8)
SIMPLE_KEY = st.from_regex(r"[a-z][a-z0-9_-]{0,7}", fullmatch=True).filter(
    lambda k: _plain_key(k) and _key(k) == k and not k.endswith("_unencrypted")
)
SCALAR = st.one_of(
    st.text(max_size=30),  # quotes, newlines, unicode, control characters
    st.text(min_size=300, max_size=3000),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just(""),
    st.sampled_from(["true", "null", "0x1F", "1e3", "~", "- x", "a: b", "#x", "ENC[x]", " pad "]),
)


def tree(
    keys: st.SearchStrategy[str], leaves: st.SearchStrategy[object]
) -> st.SearchStrategy[Mapping]:
    """Nested mappings (up to ~6 levels deep), never empty."""
    nested = st.recursive(
        leaves, lambda inner: st.dictionaries(keys, inner, min_size=1, max_size=4), max_leaves=25
    )
    top = st.dictionaries(keys.filter(lambda k: k != "sops"), nested, min_size=1, max_size=5)
    return top.map(lambda d: from_python(d))  # type: ignore[arg-type,return-value]


def deep(depth: int) -> Mapping:
    doc: object = "bottom"
    for n in range(depth):
        doc = {f"level{n}": doc, f"leaf{n}": f"v{n}"}
    return from_python(doc)  # type: ignore[return-value]


def general_decrypt(path: Path) -> str:
    """What the general path prints for ``gitvault decrypt PATH``."""
    ids = load_identities(None)
    return vault.render(vault.decrypt(vault.read_vault(path), ids), "yaml")


def encrypt(doc: Mapping, public: str, **options: object) -> bytes:
    return sopsfile.encrypt_new([doc], [public], **options)  # type: ignore[arg-type]


ENC_LINE = re.compile(r"^( *)([^ :]+): (ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:[^,]*,type:\w+\])$")


def flip(text: str, field: str, occurrence: int = 0) -> str:
    """Change one base64 character inside the ``occurrence``-th ``field:`` of the file."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(f"{field}:", start + 1)
    pos = start + len(field) + 2
    old = text[pos]
    return text[:pos] + ("A" if old != "A" else "B") + text[pos + 1 :]


def value_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n")) if ENC_LINE.match(line)]


def swap_values(text: str, a: int, b: int) -> str:
    lines = text.split("\n")
    ma, mb = ENC_LINE.match(lines[a]), ENC_LINE.match(lines[b])
    assert ma and mb
    lines[a] = f"{ma.group(1)}{ma.group(2)}: {mb.group(3)}"
    lines[b] = f"{mb.group(1)}{mb.group(2)}: {ma.group(3)}"
    return "\n".join(lines)


def copy_value(text: str, src: int, dst: int) -> str:
    lines = text.split("\n")
    ms, md = ENC_LINE.match(lines[src]), ENC_LINE.match(lines[dst])
    assert ms and md
    lines[dst] = f"{md.group(1)}{md.group(2)}: {ms.group(3)}"
    return "\n".join(lines)


def tampered(text: str) -> dict[str, str]:
    """Every kind of tampering the fused passes must refuse, by name."""
    rows = value_lines(text)
    lm = re.search(r"lastmodified: \"?(\d{4})", text)
    assert lm is not None
    year = lm.start(1)
    return {
        "data": flip(text, "data", 1),
        "iv": flip(text, "iv", 2),
        "tag": flip(text, "tag", 0),
        "type": text.replace("type:str]", "type:int]", 1),
        "mac": flip(text, "data", text.count("data:") - 1),
        "lastmodified": text[:year] + "2001" + text[year + 4 :],
        "swap": swap_values(text, rows[0], rows[1]),
        "move": copy_value(text, rows[0], rows[2]),
        "drop": "\n".join(line for i, line in enumerate(text.split("\n")) if i != rows[1]),
        "broken": text.replace("ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:%", 1),
    }
