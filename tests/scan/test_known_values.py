"""The vault-values matcher: any value length, built once per process, linear to build.

Issue 9: a vault value over 16 KB crashed ``scan`` (Hyperscan's literal limit).
Issue 10: the matcher was rebuilt for every scan of a process. The end-to-end
test uses a real vault (real age keys, a real encrypted file) and the real CLI.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from gitvault import api
from gitvault.scan import ScanOptions, scan_units
from gitvault.scan.known import ANCHOR_BYTES, KnownValues, matcher_for
from gitvault.scan.model import Unit
from tests.export.realvault import make_keys, readers, write_policy, write_vault
from tests.helpers import run_cli

LONG = "MII" + secrets.token_hex(12 * 1024)  # 24 KiB on one line, past Hyperscan's 16 KiB


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_a_value_over_16_kib_is_found_whole(engine: str) -> None:
    near_miss = LONG[: ANCHOR_BYTES + 50] + "different tail"
    known = KnownValues([("a.yaml:cert", LONG), ("a.yaml:other", near_miss + "x")], engine=engine)
    data = f"x = '{LONG}'\ny = '{near_miss}'\n".encode()
    hits = known.find(data)
    # The long value is reported once, over its whole length; the shared prefix is no hit.
    assert [(h.key_path, h.end - h.start) for h in hits] == [("a.yaml:cert", len(LONG))]
    assert data[hits[0].start : hits[0].end] == LONG.encode()


@pytest.mark.parametrize("engine", ["hyperscan", "python"])
def test_values_sharing_a_long_prefix_are_told_apart(engine: str) -> None:
    prefix = "p" * ANCHOR_BYTES
    known = KnownValues([("k:a", prefix + "-alpha-1"), ("k:b", prefix + "-bravo-2")], engine=engine)
    hits = known.find(f"1 {prefix}-bravo-2 2 {prefix}-alpha-1".encode())
    assert [h.key_path for h in hits] == ["k:b", "k:a"]


def test_the_matcher_is_built_once_per_process_for_the_same_values() -> None:
    pairs = [("k:a", "value-number-one"), ("k:b", "value-number-two")]
    first = matcher_for(pairs)
    assert matcher_for(list(pairs)) is first
    units = [Unit(path=f"f{i}.txt", data=b"x value-number-two\n") for i in range(3)]
    result = scan_units(units, ScanOptions(known_values=tuple(pairs)))
    assert len(result.findings) == 3
    assert matcher_for(pairs) is first  # scan_units reused it
    assert matcher_for([*pairs, ("k:c", "value-number-three")]) is not first


def test_scan_cli_with_a_long_vault_value(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = make_keys()
    write_policy(repo, keys)
    write_vault(
        repo / "secrets/tls.yaml", {"tls": {"cert": LONG}}, readers("secrets/tls.yaml", keys)
    )
    (repo / "app.py").write_text(f"CERT = '{LONG}'\n")
    monkeypatch.setenv("GITVAULT_AGE_KEY", keys["ci-test"].secret)
    assert ("secrets/tls.yaml:tls.cert", LONG) in api.known_values(repo)
    res = run_cli(["scan", "app.py"], cwd=repo)
    assert res.code == 1, res.output
    assert "vault-value" in res.stdout and "secrets/tls.yaml:tls.cert" in res.stdout
    assert LONG[:40] not in res.output and "Traceback" not in res.output


def test_known_values_is_built_once_per_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = make_keys()
    write_policy(repo, keys)
    path = write_vault(repo / "secrets/app.yaml", {"token": "value-1234-abcd"},
                       readers("secrets/app.yaml", keys))  # fmt: skip
    monkeypatch.setenv("GITVAULT_AGE_KEY", keys["ci-test"].secret)
    first = api.known_values(repo)
    assert first == [("secrets/app.yaml:token", "value-1234-abcd")]
    assert api.known_values(repo) is first  # nothing changed: no second decryption
    write_vault(path, {"token": "value-5678-efgh"}, readers("secrets/app.yaml", keys))
    assert api.known_values(repo) == [("secrets/app.yaml:token", "value-5678-efgh")]
    monkeypatch.setenv("GITVAULT_AGE_KEY", keys["ci-dev"].secret)  # cannot read it
    assert api.known_values(repo) == []


def test_values_spread_over_several_databases_keep_their_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gitvault.scan.known as known_mod

    monkeypatch.setattr(known_mod, "CHUNK", 2)  # 7 values -> 4 databases
    values = [f"value-number-{i}-{secrets.token_hex(4)}" for i in range(7)]
    known = KnownValues([(f"k:v{i}", v) for i, v in enumerate(values)], engine="hyperscan")
    assert len(known._dbs) == 4
    hits = known.find(" | ".join(reversed(values)).encode())
    assert [h.key_path for h in hits] == [f"k:v{i}" for i in reversed(range(7))]
