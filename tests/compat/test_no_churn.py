"""Editing a file alternately with sops and gitvault changes only the changed value, mac and lastmodified."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from gitvault import edits, vault
from gitvault.identities import Identities, Identity
from gitvault.sops import file as sopsfile
from tests.compat.sopsenv import AgeKey, make_key, run_sops

PLAIN = """\
# database settings
db:
    host: db.internal
    password: hunter2hunter2
    port: 5432
features:
    - alpha
    - beta
api_token: tok-abc-123
"""


@pytest.fixture
def key(tmp_path: Path) -> AgeKey:
    return make_key(tmp_path)


def _ids(key: AgeKey) -> Identities:
    ident = pyrage.x25519.Identity.from_str(key.secret)
    return Identities((Identity("test", key.public, ident),), ("test",))


def _changed(before: str, after: str) -> set[str]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), "line count changed"
    return {y.split(":")[0].strip() for x, y in zip(a, b, strict=True) if x != y}


def test_sops_set_on_gitvault_file(key: AgeKey, tmp_path: Path) -> None:
    from gitvault.yamlio import load_documents

    f = tmp_path / "v.yaml"
    # The sops here is 3.11: a file in its layout (version 3.11.0) alternates
    # without churn; a 3.13-layout file is reordered by 3.11 itself (sorted
    # metadata keys), as it would be between two sops versions.
    f.write_bytes(
        sopsfile.encrypt_new(
            load_documents(PLAIN),
            [key.public],
            lastmodified="2020-01-01T00:00:00Z",
            version="3.11.0",
        )
    )
    before = f.read_text()
    run_sops(["set", str(f), '["db"]["password"]', '"n3w-value"'], key)
    assert _changed(before, f.read_text()) == {"password", "mac", "lastmodified"}


def test_gitvault_set_on_sops_file(key: AgeKey, tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(PLAIN)
    enc = run_sops(["encrypt", "--age", key.public, str(p)], key).stdout
    f = tmp_path / "v.yaml"
    f.write_bytes(enc)
    vf = vault.read_vault(f)
    plain = vault.decrypt(vf, _ids(key), record_ivs=True)
    change = edits.set_key(vf, plain, "db.password", "n3w-value")
    assert change.data is not None
    after = change.data.decode()
    changed = _changed(enc.decode(), after)
    assert changed in ({"password", "mac", "lastmodified"}, {"password", "mac"})
    f.write_bytes(change.data)
    out = run_sops(["decrypt", "--extract", '["db"]["password"]', str(f)], key).stdout
    assert out == b"n3w-value"


def test_noop_rewrite_of_sops_file_is_identical(key: AgeKey, tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(PLAIN)
    enc = run_sops(["encrypt", "--age", key.public, str(p)], key).stdout
    vf = sopsfile.parse_vault(enc, "v")
    plain = vault.decrypt(vf, _ids(key), record_ivs=True)
    assert sopsfile.reencrypt(plain.documents, plain, lastmodified=vf.meta.lastmodified) == enc


def test_alternating_edits_stay_small(key: AgeKey, tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(PLAIN)
    f = tmp_path / "v.yaml"
    f.write_bytes(run_sops(["encrypt", "--age", key.public, str(p)], key).stdout)
    for i in range(3):
        before = f.read_text()
        run_sops(["set", str(f), '["api_token"]', f'"sops-{i}"'], key)
        assert _changed(before, f.read_text()) <= {"api_token", "mac", "lastmodified"}
        before = f.read_text()
        vf = vault.read_vault(f)
        plain = vault.decrypt(vf, _ids(key), record_ivs=True)
        change = edits.set_key(vf, plain, "db.host", f"gv-{i}.internal")
        assert change.data is not None
        f.write_bytes(change.data)
        assert _changed(before, f.read_text()) <= {"host", "mac", "lastmodified"}
    out = run_sops(["decrypt", str(f)], key).stdout.decode()
    assert "api_token: sops-2" in out and "host: gv-2.internal" in out
    assert out.startswith("# database settings\n")
