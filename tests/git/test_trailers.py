"""Trailer building and parsing, checked against ``git interpret-trailers --parse``."""

from __future__ import annotations

import subprocess

import pytest

from gitvault.errors import BadInput
from gitvault.git.trailers import (
    Trailer,
    VaultTrailers,
    build_message,
    build_vault_message,
    parse_trailers,
    parse_vault_trailers,
    quote,
    unquote,
)


def git_parse(message: str) -> list[tuple[str, str]]:
    """What real git thinks the trailers of ``message`` are."""
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    pairs = []
    for line in out.splitlines():
        token, _, value = line.partition(":")
        pairs.append((token.strip(), value.strip()))
    return pairs


MESSAGES = [
    "subject only\n",
    "subject\n\nbody text only\n",
    "subject\n\nGitvault-Action: rotate\n",
    "subject\n\nbody\n\nGitvault-Action: rotate\nGitvault-File: a.yaml\n",
    "subject\n\nGitvault-Action: rotate\n  continued value\nOther: x\n",
    "Key: not a trailer because it is the subject\n",
    "subject\n\nSome text\nSigned-off-by: A <a@x>\nCo-authored-by: B <b@x>\nmore text\n",
    "subject\n\nSome text\nmore text\nand more\nCo-authored-by: B <b@x>\n",
    "subject\n\nGitvault-Action: set\n\n",
    "subject\n\nfirst: para\n\nlast: para\nkey : spaced\n",
    "subject\n\nGitvault-Keys: secrets/a.yaml: db.password, api%2Ckey\n---\nnot: trailer\n",
    "subject\r\n\r\nWindows: line\r\n",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_parser_agrees_with_git(message: str) -> None:
    ours = [(t.token, t.value) for t in parse_trailers(message)]
    assert ours == git_parse(message)


def test_vault_trailers_round_trip_and_git_agrees() -> None:
    claims = VaultTrailers(
        action="rotate",
        files=("secrets/prod/db.yaml", "secrets/odd, name:x.yaml"),
        keys={"secrets/prod/db.yaml": ("db.password", '["a.b"]["c"]')},
        generators={("secrets/prod/db.yaml", "db.password"): "token:sk_live_:32"},
        verified={"secrets/prod/db.yaml": ("db.password",)},
        rekeyed=("secrets/odd, name:x.yaml",),
        recipients={"secrets/prod/db.yaml": ("alice", "ci-production")},
    )
    message = build_vault_message("rotate db password", claims, body="Scheduled rotation.")
    parsed = parse_vault_trailers(message)
    assert parsed == claims
    assert parsed.problems == ()
    git_pairs = git_parse(message)
    assert [(t.token, t.value) for t in parse_trailers(message)] == git_pairs
    assert ("Gitvault-Action", "rotate") in git_pairs


def test_quote_round_trip() -> None:
    for text in ["plain/path.yaml", "a,b:c%d", " lead", "tab\tin", "new\nline", "ünïcode"]:
        assert unquote(quote(text)) == text
        assert "\n" not in quote(text) and "," not in quote(text)
    assert quote("secrets/prod/db.yaml") == "secrets/prod/db.yaml"


def test_build_rejects_multiline_values() -> None:
    with pytest.raises(BadInput):
        build_message("subject", trailers=[Trailer("Gitvault-File", "a\nb")])
    with pytest.raises(BadInput):
        build_message("two\nlines")
    with pytest.raises(BadInput):
        build_message("s", trailers=[Trailer("bad token", "x")])


def test_parse_reports_malformed_and_unknown() -> None:
    message = (
        "subject\n\nGitvault-Action: rotate\nGitvault-Keys: nocolon\n"
        "Gitvault-Generator: only: two\nGitvault-Bogus: x\nSigned-off-by: A <a@x>\n"
    )
    parsed = parse_vault_trailers(message)
    assert parsed.action == "rotate"
    assert len(parsed.problems) == 3


def test_case_insensitive_tokens() -> None:
    parsed = parse_vault_trailers("s\n\ngitvault-action: set\ngitvault-file: a.yaml\n")
    assert parsed.action == "set" and parsed.files == ("a.yaml",)
    assert parse_vault_trailers("just a subject\n").is_gitvault is False
