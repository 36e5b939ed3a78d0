"""The targeted policy edits keep layout; anything they cannot do returns None (then re-emit)."""

from __future__ import annotations

from gitvault.model import to_python
from gitvault.team.policytext import add_recipient, remove_recipient
from gitvault.yamlio import load_documents

A = "age1" + "a" * 58
B = "age1" + "b" * 58
C = "age1" + "c" * 58


def data(text: str) -> object:
    return to_python(load_documents(text)[0])


def test_add_creates_the_groups_block_when_missing() -> None:
    text = f"version: 1\nrecipients:\n    alice: {A}\nrules:\n    - path: x/**\n      recipients: [alice]\n"
    out = add_recipient(text, "bob", B, "ops")
    assert out is not None
    assert data(out)["groups"] == {"ops": ["bob"]}  # type: ignore[index]
    assert out.startswith(
        f"version: 1\nrecipients:\n    alice: {A}\n    bob: {B}\ngroups:\n    ops: [bob]\n"
    )


def test_crlf_and_block_lists_are_kept() -> None:
    text = (
        f"version: 1\r\nrecipients:\r\n  alice: {A}\r\n  bob: {B}\r\ngroups:\r\n  ops:\r\n"
        "    - alice\r\n    - bob   # pager\r\nrules:\r\n  - path: x/**\r\n    recipients:\r\n"
        "      - ops\r\n      - bob\r\n"
    )
    out = remove_recipient(text, "bob")
    assert out is not None
    assert "\n" not in out.replace("\r\n", "")
    assert data(out) == {
        "version": 1,
        "recipients": {"alice": A},
        "groups": {"ops": ["alice"]},
        "rules": [{"path": "x/**", "recipients": ["ops"]}],
    }
    added = add_recipient(out, "carol", C, "ops")
    assert added is not None and "    - carol\r\n" in added


def test_quoted_names_and_values_that_need_quotes() -> None:
    text = f"version: 1\nrecipients:\n  'alice': {A}\n  \"bob\": {B}\nrules:\n  - path: x\n    recipients: ['alice', \"bob\"]\n"
    out = remove_recipient(text, "bob")
    assert out is not None
    assert data(out)["rules"] == [{"path": "x", "recipients": ["alice"]}]  # type: ignore[index]
    out = add_recipient(text, "true", C, None)
    assert out is not None and data(out)["recipients"]["true"] == C  # type: ignore[index]


def test_unhandled_layouts_return_none() -> None:
    flow = f"version: 1\nrecipients: {{alice: {A}}}\nrules: []\n"
    assert add_recipient(flow, "bob", B, None) is None
    assert remove_recipient(flow, "alice") is None
    assert remove_recipient(f"version: 1\nrecipients:\n  alice: {A}\n", "nobody") is None
