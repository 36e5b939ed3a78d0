"""Red-team: list items that no MAC covers move the authenticated items to other names.

SOPS hashes neither ``null`` nor ``""`` (nor empty maps and lists) into the MAC, and
all items of a list share one AAD (the list's key path). So a writer without a key can
insert such an item before the real ones: the file still verifies, and ``export`` then
names each real item by its new index (``HOSTS_1`` gets what ``HOSTS_0`` held).
"""

from __future__ import annotations

from tests.trust.conftest import Team
from tests.trust.conftest import team as team

L = "secrets/hosts.yaml"


def _shifted(team: Team):  # type: ignore[no-untyped-def]
    alice = team.clone("alice")
    alice.write(L, {"hosts": ["first-Host-a1", "second-Host-b2"], "name": "svc"})
    alice.commit_all("hosts")
    path = alice.root / L
    text = path.read_text()
    shifted = text.replace("hosts:\n", "hosts:\n    - null\n    - {}\n", 1)
    assert shifted != text
    path.write_text(shifted)
    return alice


def test_verify_refuses_items_that_shift_a_list(team: Team) -> None:
    alice = _shifted(team)
    for args in ((), ("--structure-only",)):
        r = alice.cli("verify", L, *args)
        assert r.code == 1, r.output
        assert "hosts[0]" in r.output and "hosts[1]" in r.output
        assert "first-Host-a1" not in r.output


def test_pre_commit_refuses_items_that_shift_a_list(team: Team) -> None:
    alice = _shifted(team)
    alice.git("add", L)
    r = alice.cli("hook", "pre-commit", "--no-vault-values", identity=False)
    assert r.code != 0, r.output
    assert "hosts[0]" in r.output


def test_trailing_empty_item_written_by_the_team_is_fine(team: Team) -> None:
    alice = team.clone("alice")
    alice.write(L, {"hosts": ["first-Host-a1", ""], "name": "svc"})
    alice.commit_all("hosts")
    r = alice.cli("verify", L)
    assert r.code == 0, r.output
