"""Escaping of text from untrusted files before it reaches a terminal."""

from __future__ import annotations

from gitvault.crypto.envelope import short_recipient
from gitvault.safetext import printable


def test_control_and_format_characters_are_escaped() -> None:
    assert printable("a\x1b[2Jb\x07") == "a\\x1b[2Jb\\x07"
    assert printable("name\u202eevil") == "name\\u202eevil"
    assert printable("line\nbreak") == "line\\x0abreak"


def test_ordinary_text_is_unchanged() -> None:
    for text in ("alice", "secrets/prod/db.yaml", "José 日本 ключ", "a b"):
        assert printable(text) == text


def test_recipient_labels_are_escaped() -> None:
    assert "\x1b" not in short_recipient("age1\x1b]0;x\x07")
    assert "\x1b" not in short_recipient("ssh-ed25519 AAAAC3Nza alice\x1b[31m")
