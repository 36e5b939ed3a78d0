"""git's textconv for vault files: decrypted YAML for key holders, the bytes otherwise.

The output is the decrypted YAML followed by one comment line naming the
file's recipients, so ``git diff`` and ``git log -p`` show values and recipient
changes. For everyone else, and for anything that is not a readable vault
file, the bytes come back unchanged: a diff never fails because of it.
Plaintext only goes to git's pager; ``diff.gitvault.cachetextconv`` must stay
unset (git would store the plaintext in ``refs/notes/textconv``).

Under GitHub Actions the log is public to everyone who can read the job, so
every value (and the spellings the YAML output gives it) is returned as a mask
to register *before* the plaintext is printed (:func:`masks_for`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gitvault.errors import AccessDenied, GitvaultError
from gitvault.model import Comment, Mapping

if TYPE_CHECKING:
    from gitvault.identities import Identities


def textconv(data: bytes, name: str, identities: Identities | None) -> tuple[bytes, str | None]:
    """(what git should diff, an optional warning). Never raises for bad input."""
    out, warning, _values = textconv_values(data, name, identities)
    return out, warning


def textconv_values(
    data: bytes, name: str, identities: Identities | None
) -> tuple[bytes, str | None, list[Any]]:
    """Like :func:`textconv`, plus the decrypted leaf values (for log masks)."""
    from gitvault.safetext import printable
    from gitvault.sops.file import open_file, parse_vault

    try:
        vault = parse_vault(data, name)
    except GitvaultError:
        # git may hand over a temp file whose name lost the extension: the
        # content says whether it is a JSON or dotenv vault file.
        from gitvault.sops.formats import sniff

        try:
            vault = parse_vault(data, name, sniff(data))
        except GitvaultError:
            return data, None, []  # not a vault file: show it as it is
    if identities is None or not identities.items:
        return data, None, []
    try:
        plain = open_file(vault, identities.keys)
    except AccessDenied:
        return data, None, []
    except GitvaultError as exc:
        return data, printable(f"{name}: {exc.message}; showing the encrypted text"), []
    from gitvault.crypto.envelope import short_recipient
    from gitvault.yamlio import emit_documents

    text = emit_documents(plain.documents)
    readers = ", ".join(sorted(short_recipient(r) for r in vault.recipients))
    text += f"# gitvault: encrypted to {readers}\n"
    values = [v for doc in plain.documents for v in _leaf_values(doc)]
    return text.encode("utf-8", "surrogateescape"), None, values


def _leaf_values(node: Any) -> Iterator[Any]:
    if isinstance(node, Mapping):
        for _key, value in node.items():
            yield from _leaf_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _leaf_values(item)
    elif isinstance(node, Comment):
        yield node.text
    elif node is not None:
        yield node


def masks_for(values: list[Any]) -> list[str]:
    """Every string to mask for ``values``: each value as text and as the YAML output spells it.

    The emitter may quote or escape a value (``"a\\tb"``, ``'it''s'``), and the
    runner masks what is printed, not what is meant; both spellings are given.
    """
    from gitvault.yamlio import emit_documents

    out: dict[str, None] = {}
    for value in values:
        if isinstance(value, bool):
            continue  # masking every "true" in a job log hides nothing and breaks the log
        text = value if isinstance(value, str) else str(value)
        out[text] = None
        spelled = emit_documents([Mapping([("k", value)])])
        body = spelled.removeprefix("k:").strip()
        if body:
            out[body] = None
            for line in body.splitlines():
                out[line.strip()] = None
    return [s for s in out if s.strip()]
