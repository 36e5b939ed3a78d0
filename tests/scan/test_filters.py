"""Filters: placeholders, digests, UUIDs, example keys, entropy, allow comments."""

from __future__ import annotations

import pytest

from gitvault.scan import filters


@pytest.mark.parametrize(
    "value",
    [
        b"AKIAIOSFODNN7EXAMPLE",
        b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        b"ghp_" + b"x" * 36,
        b"sk_live_****************",
        b"abc...",
        b"AAAAAAAAAAAAAAAA",
        b"glrt-REPLACE_ME_NOW_PLEASE",
        b"token-<insert-here>",
    ],
)
def test_trivial_values(value: bytes) -> None:
    assert filters.is_trivial(value)


def test_key_bodies_keep_their_runs() -> None:
    body = b"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    assert filters.is_trivial(body)
    assert not filters.is_trivial(body, repeats=False)


@pytest.mark.parametrize(
    "value",
    [
        b"changeme",
        b"${DB_PASSWORD}",
        b"{{ vault_pw }}",
        b"<your-api-key-here>",
        b"%(password)s",
        b"process.env.API_KEY",
        b"ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]",
        b"/run/secrets/db",
        b"4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41",
        b"%USERPROFILE%",
        b"secrets/db.pem",
        b"password",
    ],
)
def test_generic_placeholders_and_references(value: bytes) -> None:
    assert filters.generic_reject(value, b"db_password", quoted=True)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (b"5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8", b"token_sha256"),
        (b"7443e210471948d33296c87009e8a7f770d9106f", b"deploy_token_commit"),
        (b"c4fa2815d2802827283e0ad841735815", b"password_hash"),
    ],
)
def test_digests_next_to_hash_names(value: bytes, name: bytes) -> None:
    assert filters.generic_reject(value, name, quoted=True)


def test_digest_shapes() -> None:
    assert filters.looks_like_digest(b"7443e210471948d33296c87009e8a7f770d9106f")
    assert filters.looks_like_digest(b"4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41")
    assert not filters.looks_like_digest(b"r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg")


def test_code_references_only_when_unquoted() -> None:
    assert filters.generic_reject(b"self.password", b"password", quoted=False)
    assert filters.generic_reject(b"this.nextToken;", b"nextToken", quoted=False)
    assert not filters.generic_reject(b"Zq8vL2pRt7wX", b"password", quoted=False)
    assert not filters.generic_reject(b"Zq8vL2pRt7wX", b"password", quoted=True)


def test_entropy() -> None:
    assert filters.shannon_entropy(b"") == 0.0
    assert filters.shannon_entropy(b"aaaa") == 0.0
    assert filters.shannon_entropy(b"abcd") == pytest.approx(2.0)
    assert filters.shannon_entropy(b"r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg") > 4.0


@pytest.mark.parametrize(
    "line",
    [
        b'key = "x"  # gitvault:allow',
        b"token: abc # gitleaks:allow",
        b'pw = "x"  # pragma: allowlist secret',
        b"k = 1 // GITVAULT:ALLOW",
    ],
)
def test_allow_markers(line: bytes) -> None:
    assert filters.is_allowed_line(line)


def test_no_allow_marker() -> None:
    assert not filters.is_allowed_line(b'key = "x"  # allowed by review')


def test_basic_auth_needs_user_and_password() -> None:
    assert filters.basic_auth_ok(b"YWNtZTpaUThtdkwycFJ0N3dY")  # acme:ZQ8mvL2pRt7wX
    assert not filters.basic_auth_ok(b"dXNlcm5hbWVwYXNzd29yZA==")  # no colon
    assert not filters.basic_auth_ok(b"dXNlcjpwYXNzd29yZA==")  # user:password placeholder
    assert not filters.basic_auth_ok(b"!!!notbase64")
