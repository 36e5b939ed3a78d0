"""The diff (textconv) and merge drivers, through real ``git diff`` and ``git merge``."""

from __future__ import annotations

import json

import pytest

from gitvault.drivers.treemerge import merge_document
from gitvault.sops.file import parse_vault
from gitvault.yamlio import emit_documents, load_documents
from tests.compat.sopsenv import AgeKey, run_sops
from tests.helpers import run_cli
from tests.team.conftest import Team, all_work_tree_bytes

APP = "secrets/dev/app.yaml"
BASE = "db:\n    password: base-pass-1\n    user: app-user-1\napi:\n    token: base-token-1\nport: 5432\n"


def _branches(team: Team, ours: list[tuple[str, str]], theirs: list[tuple[str, str]]) -> None:
    team.write(APP, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "feature")
    for key, value in theirs:
        assert team.cli(["set", APP, key, value]).code == 0
    team.commit("theirs")
    team.git("checkout", "-q", "main")
    for key, value in ours:
        assert team.cli(["set", APP, key, value]).code == 0
    team.commit("ours")


def _leaves(team: Team, rev: str | None = None) -> dict[str, str]:
    data = (
        team.git("show", f"{rev}:{APP}").stdout.encode() if rev else (team.root / APP).read_bytes()
    )
    return parse_vault(data, APP).leaves()


def test_init_configures_the_drivers_locally(team: Team) -> None:
    get = lambda key: team.git("config", "--local", "--get", key).stdout.strip()  # noqa: E731
    assert get("diff.gitvault.textconv") == "gitvault textconv"
    assert get("merge.gitvault.driver") == "gitvault merge-driver %O %A %B %P"
    assert get("merge.gitvault.name")
    assert team.git("config", "--get", "diff.gitvault.cachetextconv", check=False).returncode == 1
    assert (
        "secrets/dev/** diff=gitvault merge=gitvault" in (team.root / ".gitattributes").read_text()
    )
    r = team.cli(["init", "--no-hooks", "--json"])
    assert r.code == 0 and json.loads(r.stdout)["git_config"] == []


def test_merge_of_different_keys_is_clean_and_sops_accepts_it(team: Team) -> None:
    _branches(team, ours=[("db.password", "ours-pass-2")], theirs=[("api.token", "theirs-token-2")])
    theirs_leaves = _leaves(team, "feature")
    base_leaves = _leaves(team, "HEAD~1")
    m = team.git("merge", "--no-edit", "feature", check=False)
    assert m.returncode == 0, m.stdout + m.stderr
    assert team.git("status", "--porcelain").stdout == ""
    assert team.values(APP) == {
        "db": {"password": "ours-pass-2", "user": "app-user-1"},
        "api": {"token": "theirs-token-2"},
        "port": 5432,
    }
    merged = _leaves(team)
    assert merged["api.token"] == theirs_leaves["api.token"]  # their ciphertext, kept
    assert merged["db.user"] == base_leaves["db.user"]  # untouched value, untouched ciphertext
    key = AgeKey("", team.carol.public, team.carol.key_file)
    out = run_sops(["decrypt", "--output-type", "json", str(team.root / APP)], key)
    assert json.loads(out.stdout) == team.values(APP)


def test_same_key_changed_on_both_sides_is_one_conflict_and_no_plaintext(team: Team) -> None:
    _branches(
        team,
        ours=[("db.password", "ours-pass-2")],
        theirs=[("db.password", "theirs-pass-2"), ("api.token", "theirs-token-2")],
    )
    m = team.git("merge", "--no-edit", "feature", check=False)
    assert m.returncode != 0
    lines = [ln for ln in m.stderr.splitlines() if "conflict in" in ln]
    assert lines == [
        f"gitvault: conflict in {APP}: db.password changed on both sides; run gitvault edit {APP}"
    ]
    assert f"UU {APP}" in team.git("status", "--porcelain").stdout
    # the work tree file is a valid vault file: ours for the conflict, theirs merged elsewhere
    assert team.values(APP) == {
        "db": {"password": "ours-pass-2", "user": "app-user-1"},
        "api": {"token": "theirs-token-2"},
        "port": 5432,
    }
    record = team.root / ".git" / "gitvault-conflicts" / f"{APP}.json"
    payload = json.loads(record.read_text())
    assert payload["keys"] == ["db.password"]
    # no plaintext anywhere in the work tree, nor in the record
    secrets = [b"base-pass-1", b"ours-pass-2", b"theirs-pass-2", b"theirs-token-2", b"app-user-1"]
    files = dict(all_work_tree_bytes(team.root))
    files["record"] = record.read_bytes()
    for name, data in files.items():
        for secret in secrets:
            assert secret not in data, (name, secret)
    # resolved with gitvault edit, then committed like any merge
    theirs = team.cli(["decrypt", APP, "--rev", "MERGE_HEAD", "--extract", "db.password"])
    assert theirs.stdout == "theirs-pass-2"
    editor = {"EDITOR": "sed -i s/ours-pass-2/resolved-pass-3/"}
    r = run_cli(["edit", APP], env=team.alice.env | editor, cwd=team.root)  # type: ignore[arg-type]
    assert r.code == 0, r.output
    # edit names the conflicting keys (never their values) and clears the record
    assert "merge conflict on db.password" in r.stderr
    assert "theirs-pass-2" not in r.output and "ours-pass-2" not in r.output
    assert not record.exists()
    team.git("add", APP)
    team.git("commit", "-q", "--no-edit")
    assert team.values(APP)["db"] == {"password": "resolved-pass-3", "user": "app-user-1"}


def test_merge_without_an_identity_leaves_ours_and_fails(team: Team) -> None:
    _branches(team, ours=[("db.password", "ours-pass-2")], theirs=[("api.token", "theirs-token-2")])
    ours = (team.root / APP).read_bytes()
    m = team.git("merge", "--no-edit", "feature", who=team.outsider, check=False)
    assert m.returncode != 0
    assert "none of your identities can decrypt" in m.stderr
    assert (team.root / APP).read_bytes() == ours
    team.git("merge", "--abort")


def test_merge_keeps_the_rekey_one_side_made(team: Team) -> None:
    """Theirs re-keyed without bob; ours changed a value: the merge must not give bob access back."""
    team.write(APP, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "feature")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(policy.read_text().replace("ops: [alice, bob]", "ops: [alice]"))
    assert team.cli(["rekey", APP]).code == 0
    team.commit("bob leaves")
    team.git("checkout", "-q", "main")
    assert team.cli(["set", APP, "port", "6543", "--type", "int"]).code == 0
    team.commit("ours")
    m = team.git("merge", "--no-edit", "feature", check=False)
    assert m.returncode == 0, m.stderr
    assert team.values(APP)["port"] == 6543
    assert team.cli(["decrypt", APP], team.bob).code == 3
    assert team.values(APP, team.carol)["db"]["password"] == "base-pass-1"


def test_textconv_shows_values_to_key_holders_and_ciphertext_otherwise(team: Team) -> None:
    team.write(APP, BASE)
    team.commit("base")
    assert team.cli(["set", APP, "db.password", "new-pass-2"]).code == 0
    diff = team.git("diff", APP).stdout
    assert "-    password: base-pass-1" in diff and "+    password: new-pass-2" in diff
    assert "ENC[" not in diff
    other = team.git("diff", APP, who=team.outsider).stdout
    assert "ENC[AES256_GCM" in other
    assert "base-pass-1" not in other and "new-pass-2" not in other
    team.commit("rotate")
    log = team.git("log", "-p", "-1", "--", APP).stdout
    assert "+    password: new-pass-2" in log
    # a file that is not a vault file passes through unchanged
    r = team.cli(["textconv", str(team.root / ".gitvault.yaml")])
    assert r.code == 0 and r.stdout == (team.root / ".gitvault.yaml").read_text()


# --- the per-key merge itself ------------------------------------------------------


def _doc(text: str):  # type: ignore[no-untyped-def]
    return load_documents(text)[0]


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "result", "conflicts"),
    [
        # theirs adds a nested key next to its sibling; ours changes another
        (
            "a:\n    x: 1\nb: 2\n",
            "a:\n    x: 1\nb: 3\n",
            "a:\n    x: 1\n    z: 9\nb: 2\n",
            "a:\n    x: 1\n    z: 9\nb: 3\n",
            [],
        ),
        # theirs removes a key ours left alone; the emptied parent goes too
        ("a:\n    x: 1\nb: 2\n", "a:\n    x: 1\nb: 3\n", "b: 2\n", "b: 3\n", []),
        # removed on one side, changed on the other
        ("a: 1\nb: 2\n", "a: 5\nb: 2\n", "b: 2\n", "a: 5\nb: 2\n", ["a removed"]),
        # both sides to the same value is no conflict; types count (1 is not "1")
        ("a: 1\n", "a: 2\n", "a: 2\n", "a: 2\n", []),
        ("a: 1\n", 'a: "2"\n', "a: 2\n", 'a: "2"\n', ["a changed"]),
        # lists are one value
        (
            "l:\n    - 1\n",
            "l:\n    - 1\n    - 2\n",
            "l:\n    - 1\n    - 3\n",
            "l:\n    - 1\n    - 2\n",
            ["l changed"],
        ),
        # both add the same new key differently
        ("a: 1\n", "a: 1\nk: x\n", "a: 1\nk: z\n", "a: 1\nk: x\n", ["k changed"]),
    ],
)
def test_merge_document(
    base: str, ours: str, theirs: str, result: str, conflicts: list[str]
) -> None:
    merged, found, _ = merge_document(_doc(base), _doc(ours), _doc(theirs))
    assert emit_documents([merged]) == result
    assert [f"{c.key} {c.kind}" for c in found] == conflicts


def test_merge_of_a_branch_that_adds_a_reader_waits_for_a_rekey(team: Team) -> None:
    """Theirs adds carol to the rule and re-keys; ours changes a value. The merge is
    clean, but the result's readers come from HEAD's committed policy: carol gets
    access only from the re-key after the merge, never from the merge driver."""
    prod = "secrets/prod/app.yaml"
    team.write(prod, BASE)
    team.commit("base")
    team.git("checkout", "-q", "-b", "feature")
    policy = team.root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace("recipients: [ops]\n", "recipients: [ops, carol]\n")
    )
    assert team.cli(["rekey", prod]).code == 0
    team.commit("carol joins prod")
    team.git("checkout", "-q", "main")
    assert team.cli(["set", prod, "port", "6543", "--type", "int"]).code == 0
    team.commit("ours")
    m = team.git("merge", "--no-edit", "feature", check=False)
    assert m.returncode == 0, m.stderr
    assert "new data key" in m.stderr  # theirs's re-key is not undone, nor adopted
    assert team.cli(["decrypt", prod], team.carol).code == 3
    assert team.values(prod, team.bob)["port"] == 6543
    assert team.cli(["rekey", prod]).code == 0
    assert team.values(prod, team.carol)["port"] == 6543
