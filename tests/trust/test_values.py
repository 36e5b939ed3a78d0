"""Value identity from decoded bytes (gitvault.trust.values), on real encrypted files."""

from __future__ import annotations

from pathlib import Path

from gitvault.trust.values import leaf_ids, mac_id, new_data_key, timestamp, value_id
from tests.trust.conftest import F, Team
from tests.trust.test_attacks import respell


def test_respelt_file_has_the_same_identities(team: Team) -> None:
    from gitvault.sops.view import parse_for_history

    alice = team.clone("alice")
    data = (alice.root / F).read_bytes()
    other = respell(data)
    a, b = parse_for_history(data, F), parse_for_history(other, F)
    assert a.leaves != b.leaves  # the text differs…
    assert leaf_ids(a.leaves) == leaf_ids(b.leaves)  # …the values do not
    assert mac_id(data) == mac_id(other) is not None
    assert timestamp(a.lastmodified) == timestamp(b.lastmodified) is not None
    assert not new_data_key(a.data_key_wrapping, leaf_ids(a.leaves), "other", leaf_ids(b.leaves))


def test_a_new_encryption_of_the_same_value_is_another_value(team: Team, tmp_path: Path) -> None:
    from gitvault.sops.view import parse_for_history

    alice = team.clone("alice")
    before = parse_for_history((alice.root / F).read_bytes(), F)
    alice.ok("rekey")
    after = parse_for_history((alice.root / F).read_bytes(), F)
    old, new = leaf_ids(before.leaves), leaf_ids(after.leaves)
    assert all(old[k] != new[k] for k in old)
    assert new_data_key(before.data_key_wrapping, old, after.data_key_wrapping, new)


def test_timestamps_and_malformed_values() -> None:
    assert timestamp("'2026-01-02T03:04:05Z'") == timestamp('"2026-01-02T03:04:05Z"')
    assert timestamp("2026-01-02T03:04:05+00:00") == timestamp("2026-01-02T03:04:05Z")
    assert timestamp("yesterday") is None and timestamp("2026-01-02T03:04:05") is None
    assert value_id("ENC[AES256_GCM,data:!!,iv:x,tag:y,type:str]") == (
        "text",
        "ENC[AES256_GCM,data:!!,iv:x,tag:y,type:str]",
    )
    assert value_id("plain") == ("text", "plain")
