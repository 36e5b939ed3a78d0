"""The recipient label orders the unwrap search; it never decides the outcome."""

from __future__ import annotations

import os

import pyrage

from gitvault.crypto import envelope


def _stanzas(key: bytes, n: int) -> tuple[list[tuple[str, str]], pyrage.x25519.Identity]:
    others = [pyrage.x25519.Identity.generate() for _ in range(n)]
    me = pyrage.x25519.Identity.generate()
    recipients = [str(i.to_public()) for i in others] + [str(me.to_public())]
    return envelope.wrap_all(key, recipients), me


def test_our_labelled_stanza_is_tried_first() -> None:
    key = os.urandom(32)
    stanzas, me = _stanzas(key, 5)
    ordered = envelope._mine_first(stanzas, [me])
    assert ordered[0][0] == str(me.to_public())
    assert sorted(ordered) == sorted(stanzas)  # nothing dropped, nothing added
    assert envelope.unwrap_any(stanzas, [me]) == key


def test_a_mislabelled_stanza_still_opens_by_the_full_search() -> None:
    """Labels are unauthenticated: swapping them must not lock a reader out."""
    key = os.urandom(32)
    stanzas, me = _stanzas(key, 3)
    labels = [r for r, _ in stanzas]
    swapped = [(labels[(i + 1) % len(labels)], enc) for i, (_, enc) in enumerate(stanzas)]
    assert envelope.unwrap_any(swapped, [me]) == key


def test_ssh_identities_keep_the_plain_order() -> None:
    key = os.urandom(32)
    stanzas, _me = _stanzas(key, 2)
    assert envelope._mine_first(stanzas, []) == stanzas
