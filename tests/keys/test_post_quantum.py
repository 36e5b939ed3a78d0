"""Post-quantum age (``mlkem768x25519``), measured against material gitvault did not write.

* The C2SP CCTV age test vectors (``cctv-age`` on npm, by age's authors): every
  vector is opened with its identities through the same function that unwraps
  data keys, and must succeed with the right payload, find no match, or fail as
  malformed, exactly as the vector says.
* age's own TypeScript implementation (``age-encryption`` on npm): identities it
  generates give the same recipient here; files it encrypts open here; files
  gitvault encrypts open there.
* A vault file with a post-quantum reader, end to end through the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from gitvault.crypto import envelope, pq
from gitvault.crypto.envelope import MalformedStanza
from gitvault.identities import generate
from gitvault.keyfiles import parse_age_keys
from tests import npm


@pytest.fixture(scope="module")
def vectors() -> dict[str, bytes]:
    script = (
        f"const m = await import({json.dumps(npm.entry('cctv-age'))});"
        "const out = {};"
        "for (const [k, v] of Object.entries(m)) out[k] = Buffer.from(v).toString('base64');"
        "process.stdout.write(JSON.stringify(out));"
    )
    raw = json.loads(npm.run_module(script))
    return {name: base64.b64decode(text) for name, text in raw.items()}


def _outcome(data: bytes) -> tuple[str, str]:
    """(expected outcome, actual outcome) of one CCTV vector."""
    head, _, body = data.partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, value = line.split(": ", 1)
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    identities = []
    for text in meta.get("identity", []):
        parsed = parse_age_keys(text, "vector")
        identities.extend(key for _r, key in parsed.keys)
    try:
        got = envelope.open_age(body, identities)
    except MalformedStanza:
        return meta["expect"][0], "failure"
    if got is None:
        return meta["expect"][0], "no match"
    ok = hashlib.sha256(got).hexdigest() == meta.get("payload", [""])[0]
    return meta["expect"][0], "success" if ok else "wrong payload"


def test_every_hybrid_vector_has_its_expected_outcome(vectors: dict[str, bytes]) -> None:
    hybrid = {n: v for n, v in vectors.items() if "hybrid" in n}
    assert len(hybrid) >= 19
    for name, data in sorted(hybrid.items()):
        expected, actual = _outcome(data)
        if expected.endswith("failure"):
            expected = "failure"
        assert actual == expected, name


# Where pyrage 1.4 (rage) itself departs from the vectors, for X25519 files only:
# it rejects whitespace around armor and accepts a stanza without its final short
# line. gitvault's own parser (post-quantum files) follows the spec on both.
PYRAGE_DEPARTURES = {"armor_whitespace_outside", "stanza_missing_body", "stanza_missing_final_line"}


def test_classic_vectors_keep_their_outcomes_through_the_same_path(
    vectors: dict[str, bytes],
) -> None:
    # X25519 files go through pyrage in the same function: the hybrid support
    # must not change any outcome there.
    checked = 0
    for name, data in sorted(vectors.items()):
        if "hybrid" in name or b"identity: " not in data.split(b"\n\n", 1)[0]:
            continue
        expected, actual = _outcome(data)
        if expected.endswith("failure"):
            expected = "failure"
        if name in PYRAGE_DEPARTURES:
            assert actual != expected, f"{name}: pyrage now follows the vector; update the note"
        else:
            assert actual == expected, name
        checked += 1
    assert checked > 60


def _typage(script: str, *args: str) -> str:
    prelude = f"const age = await import({json.dumps(npm.entry('age-encryption'))});"
    return npm.run_module(prelude + script, *args)


def test_identities_from_age_give_the_same_recipient_here() -> None:
    out = json.loads(
        _typage(
            "const r = [];"
            "for (let i = 0; i < 3; i++) {"
            "  const id = await age.generateHybridIdentity();"
            "  r.push([id, await age.identityToRecipient(id)]);"
            "}"
            "process.stdout.write(JSON.stringify(r));"
        )
    )
    for identity, recipient in out:
        assert identity.startswith("AGE-SECRET-KEY-PQ-1")
        assert pq.parse_identity(identity).recipient == recipient


def test_files_age_encrypts_open_here_and_ours_open_there() -> None:
    identity, recipient = json.loads(
        _typage(
            "const id = await age.generateHybridIdentity();"
            "process.stdout.write(JSON.stringify([id, await age.identityToRecipient(id)]));"
        )
    )
    data_key = os.urandom(32)
    theirs = _typage(
        "const e = new age.Encrypter(); e.addRecipient(process.argv[1]);"
        "const ct = await e.encrypt(Buffer.from(process.argv[2], 'hex'));"
        "process.stdout.write(age.armor.encode(ct));",
        recipient,
        data_key.hex(),
    )
    ident = pq.parse_identity(identity)
    assert envelope.unwrap(theirs, [ident]) == data_key
    ours = envelope.wrap(data_key, recipient)
    opened = _typage(
        "const d = new age.Decrypter(); d.addIdentity(process.argv[1]);"
        "const pt = await d.decrypt(age.armor.decode(process.argv[2]));"
        "process.stdout.write(Buffer.from(pt).toString('hex'));",
        identity,
        ours,
    )
    assert bytes.fromhex(opened) == data_key
    # Not for this key: a second identity gets "no match", not an error.
    other = pq.parse_identity(pq.bech32_encode(pq.IDENTITY_HRP, os.urandom(32)).upper())
    assert envelope.unwrap(ours, [other]) is None


def test_a_tampered_post_quantum_stanza_is_an_integrity_failure() -> None:
    ident = pq.parse_identity(pq.bech32_encode(pq.IDENTITY_HRP, os.urandom(32)).upper())
    armored = envelope.wrap(os.urandom(32), ident.recipient)
    from gitvault.crypto import agefile

    raw = bytearray(agefile.dearmor(armored.encode()))
    raw[-5] ^= 1  # in the payload
    with pytest.raises(MalformedStanza):
        envelope.open_age(bytes(raw), [ident])


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args], cwd=cwd, env=full, capture_output=True, text=True
    )


def test_vault_file_with_a_post_quantum_reader_end_to_end(repo: Path) -> None:
    pq_text = pq.bech32_encode(pq.IDENTITY_HRP, os.urandom(32)).upper()
    pq_recipient = pq.parse_identity(pq_text).recipient
    classic_text, classic_recipient = generate()
    (repo / ".gitvault.yaml").write_text(
        "version: 1\n"
        "recipients:\n"
        f"  quinn: {pq_recipient}\n"
        f"  carl: {classic_recipient}\n"
        "rules:\n"
        "  - path: 'secrets/**'\n"
        "    recipients: [quinn, carl]\n"
    )
    (repo / "secrets").mkdir()
    pq_key = repo.parent / "pq.txt"
    pq_key.write_text(f"# post-quantum\n{pq_text}\n")
    classic_key = repo.parent / "classic.txt"
    classic_key.write_text(classic_text)
    env_pq = {"SOPS_AGE_KEY_FILE": str(pq_key)}
    plain = repo.parent / "plain.yaml"
    plain.write_text("db:\n  password: placeholder\n")
    enc = _cli(["encrypt", str(plain), "-o", "secrets/app.yaml"], repo, env_pq)
    assert enc.returncode == 0, enc.stderr
    plain.unlink()
    res = subprocess.run(
        [sys.executable, "-m", "gitvault", "set", "secrets/app.yaml", "db.password", "--stdin"],
        cwd=repo,
        env={**os.environ, **env_pq},
        input="pq-protected-value",
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    text = (repo / "secrets" / "app.yaml").read_text()
    assert "age1pq1" in text and "mlkem768x25519" not in text  # the stanza is inside the armor
    for env in (env_pq, {"SOPS_AGE_KEY_FILE": str(classic_key)}):
        got = _cli(["decrypt", "--extract", "db.password", "secrets/app.yaml"], repo, env)
        assert got.returncode == 0, got.stderr
        assert got.stdout.strip() == "pq-protected-value"
    ver = _cli(["verify", "secrets/app.yaml"], repo, env_pq)
    assert ver.returncode == 0, ver.stdout + ver.stderr
    # The real sops opens it with the classic key (its X25519 stanza), recipient list intact.
    out = subprocess.run(
        ["sops", "decrypt", "--extract", '["db"]["password"]', "secrets/app.yaml"],
        cwd=repo,
        env={**os.environ, "SOPS_AGE_KEY_FILE": str(classic_key)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "pq-protected-value"


def test_keygen_pq_writes_an_identity_age_agrees_with(tmp_path: Path) -> None:
    res = _cli(["keygen", "--pq", "-o", str(tmp_path / "pq.key")], tmp_path, {})
    assert res.returncode == 0, res.stderr
    public = res.stdout.strip()
    lines = (tmp_path / "pq.key").read_text().splitlines()
    assert lines[1] == f"# public key: {public}"
    assert (tmp_path / "pq.key").stat().st_mode & 0o777 == 0o600
    theirs = _typage(
        "process.stdout.write(await age.identityToRecipient(process.argv[1]));", lines[2]
    )
    assert theirs == public
