"""A tiny stand-in vault format, so audit logic is tested apart from the real one.

A value is stored as ``ENC[<value>|<nonce>]``: the nonce plays the data key, so
a "re-key" changes every stored text while values stay, and the fake decryptor
can read values back. Files still pass the commit path's SOPS shape check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitvault.errors import AccessDenied, BadInput


@dataclass(frozen=True)
class FakeView:
    leaves: Mapping[str, str]
    recipients: tuple[str, ...]
    data_key_wrapping: str


def fake_file(values: dict[str, str], wrap: str = "k1", recipients: str = "alice") -> bytes:
    lines = [f"{k}: ENC[{v}|{wrap}]" for k, v in values.items()]
    lines += ["sops:", "    mac: ENC[mac]", f"    wrap: {wrap}", f"    recipients: {recipients}"]
    return ("\n".join(lines) + "\n").encode()


def fake_parse(data: bytes, name: str) -> FakeView:
    text = data.decode()
    if "sops:" not in text:
        raise BadInput(f"{name}: not a vault file (no sops metadata)")
    body, _, meta = text.partition("sops:\n")
    leaves = dict(line.split(": ", 1) for line in body.splitlines() if line)
    fields = dict(line.strip().split(": ", 1) for line in meta.splitlines() if line.strip())
    return FakeView(leaves, tuple(fields["recipients"].split(",")), fields["wrap"])


def fake_decrypt(data: bytes, name: str) -> dict[str, str]:
    view = fake_parse(data, name)
    if "alice" not in view.recipients:
        raise AccessDenied(f"{name}: none of your identities can decrypt this file")
    return {k: v[4:].split("|")[0] for k, v in view.leaves.items()}
