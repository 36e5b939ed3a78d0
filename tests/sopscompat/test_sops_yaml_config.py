"""``.sops.yaml``: store settings honoured, creation rules generated and checked, with real sops."""

from __future__ import annotations

import itertools
import os
import re
import sys
from pathlib import Path

import pytest

from gitvault import sopsconfig, sopsrules
from gitvault.errors import BadInput
from tests.compat.sopsenv import AgeKey, make_key, run_sops
from tests.conftest import git
from tests.helpers import run_cli

PLAIN = """\
# database settings
db:
  host: db.internal
  password: hunter2hunter2
  port: 5432
  replicas:
    - name: r1
      weight: 2
    - name: r2
      weight: 3
features:
  - alpha
  - beta
api_token: tok-abc-123
"""


def _changed_lines(before: str, after: str) -> list[int]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), f"line count changed:\n{before}\n---\n{after}"
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def _line_keys(text: str, idx: list[int]) -> set[str]:
    lines = text.splitlines()
    return {lines[i].strip().split(":")[0].lstrip("- ") for i in idx}


@pytest.mark.parametrize("indent", [2, 3])
def test_alternating_set_no_churn_under_sops_yaml_indent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indent: int
) -> None:
    """gitvault set / sops set alternate under stores.yaml.indent: only the changed key moves."""
    key = make_key(tmp_path)
    (tmp_path / ".sops.yaml").write_text(
        f"stores:\n  yaml:\n    indent: {indent}\ncreation_rules:\n  - age: {key.public}\n"
    )
    (tmp_path / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  me: {key.public}\nrules:\n  - path: '*.yaml'\n    recipients: [me]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key.file))
    plain = tmp_path / "v.yaml"
    plain.write_text(PLAIN)
    run_sops(["encrypt", "--in-place", "v.yaml"], key, cwd=tmp_path)
    versions = [plain.read_text()]
    # the file sops wrote really uses the configured indent
    assert f"\n{' ' * indent}host: ENC[" in versions[0]
    for n in range(3):
        r = run_cli(["set", "v.yaml", "db.password", f"gv-{n}-value"], cwd=tmp_path)
        assert r.code == 0, r.output
        versions.append(plain.read_text())
        run_sops(["set", "v.yaml", '["db"]["port"]', str(6000 + n)], key, cwd=tmp_path)
        versions.append(plain.read_text())
    for i in range(1, len(versions)):
        changed = _line_keys(versions[i], _changed_lines(versions[i - 1], versions[i]))
        assert changed <= {"password", "port", "mac", "lastmodified"}, (i, changed)
        assert "mac" in changed
    out = run_sops(["decrypt", "--extract", '["db"]["password"]', "v.yaml"], key, cwd=tmp_path)
    assert out.stdout == b"gv-2-value"


def test_store_settings_lookup_follows_sops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".sops.yaml").write_text("stores:\n  yaml: {indent: 2}\n  json: {indent: 0}\n")
    (tmp_path / "a" / ".sops.yml").write_text(
        "stores: {yaml: {indent: 8}}\n"
    )  # ignored, as sops does
    s = sopsconfig.store_settings(cwd=tmp_path / "a" / "b")
    assert (s.yaml_indent, s.json_indent, s.json_binary_indent) == (2, 0, None)
    # from outside, the file's own directory is searched too
    outside = tmp_path.parent
    assert sopsconfig.yaml_indent(tmp_path / "a" / "x.yaml", cwd=Path("/")) == 2
    monkeypatch.setenv("SOPS_CONFIG", str(tmp_path / "a" / ".sops.yml"))
    assert sopsconfig.yaml_indent(cwd=outside) == 8
    monkeypatch.delenv("SOPS_CONFIG")
    (tmp_path / ".sops.yaml").write_text("stores:\n  yaml: {indent: -1}\n")
    with pytest.raises(BadInput, match="negative"):
        sopsconfig.store_settings(cwd=tmp_path)
    (tmp_path / ".sops.yaml").write_text("stores:\n  yaml: {indent: '2'}\n")
    with pytest.raises(BadInput, match="integer"):
        sopsconfig.store_settings(cwd=tmp_path)
    (tmp_path / ".sops.yaml").write_text("stores:\n  json: {indent: -2}\n")
    with pytest.raises(BadInput, match="below -1"):
        sopsconfig.store_settings(cwd=tmp_path)


def test_glob_regexes_match_like_the_policy() -> None:
    import re2

    from gitvault.policy.glob import compile_glob

    globs = [
        "secrets/prod/**",
        "secrets/*.yaml",
        "a/**/b/*.y?ml",
        "x/[a-c]*/[!z]",
        "lit.(x)+",
        "[.-0]",
    ]
    paths = [
        "secrets/prod/a.yaml",
        "secrets/prod/x/y.yaml",
        "secrets/a.yaml",
        "secrets/x/a.yaml",
        "a/b/c.yaml",
        "a/q/r/b/c.yml",
        "a/bb/c.yaml",
        "x/abc/q",
        "x/d/q",
        "x/a/z",
        "lit.(x)+",
        "litx(x)",
        "/",
        ".",
        "0",
        "-",
        "secrets/prod",
        "secrets/prod/",
    ]
    for g in globs:
        rx = re2.compile(sopsrules.glob_to_regex(g))
        for p in paths:
            assert bool(rx.search(p)) == compile_glob(g).fullmatch(p), (g, p)


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, AgeKey, AgeKey, AgeKey]:
    """A repository after `gitvault init` with a policy of two rules and three people."""
    alice, bob, carol = (make_key(tmp_path, n) for n in ("alice", "bob", "carol"))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    r = run_cli(["init", "--no-hooks", "--name", "alice", "--recipient", alice.public], cwd=repo)
    assert r.code == 0, r.output
    (repo / ".gitvault.yaml").write_text(
        "version: 1\n"
        f"recipients:\n  alice: {alice.public}\n  bob: {bob.public}\n  carol: {carol.public}\n"
        "groups:\n  ops: [alice, bob]\n"
        "rules:\n"
        "  - path: 'secrets/prod/**'\n    recipients: [ops]\n    encrypted_regex: '^(password|token)$'\n"
        "  - path: 'secrets/dev/*.yaml'\n    recipients: [ops, carol]\n"
    )
    return repo, alice, bob, carol


def _editor(tmp_path: Path, content: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen(sys.argv[1], 'w').write({content!r})\n")
    return f"{sys.executable} {script}"


def test_sops_edit_after_init_uses_policy_recipients(
    team: tuple[Path, AgeKey, AgeKey, AgeKey], tmp_path: Path
) -> None:
    repo, alice, bob, _carol = team
    r = run_cli(["sops-config", "--write"], cwd=repo)
    assert r.code == 0, r.output
    assert run_cli(["sops-config", "--check"], cwd=repo).code == 0
    # a teammate on plain sops creates a new file with a scripted editor
    env_editor = _editor(tmp_path, "user: app\npassword: s3cret-value\n")
    os.environ["EDITOR"] = env_editor
    (repo / "secrets/prod").mkdir(parents=True)
    try:
        run_sops(["edit", "secrets/prod/new.yaml"], bob, cwd=repo)
    finally:
        del os.environ["EDITOR"]
    text = (repo / "secrets/prod/new.yaml").read_text()
    recipients = set(re.findall(r"recipient: (age1\w+)", text))
    assert recipients == {alice.public, bob.public}
    assert "encrypted_regex: ^(password|token)$" in text
    assert "user: app" in text  # selection from the rule: only password is encrypted
    r = run_cli(["verify", "--identity", str(alice.file), "--no-freshness"], cwd=repo)
    assert r.code == 0, r.output
    # a dev file gets carol as well; a path no rule covers is refused by sops too
    run_sops(
        [
            "encrypt",
            "--filename-override",
            "secrets/dev/a.yaml",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        bob,
        cwd=repo,
        input=b"k: v\n",
    )
    proc = run_sops(
        [
            "encrypt",
            "--filename-override",
            "other/a.yaml",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        bob,
        cwd=repo,
        input=b"k: v\n",
        check=False,
    )
    assert proc.returncode != 0 and b"creation rule" in proc.stderr


def test_drifted_sops_yaml_is_reported_by_verify(
    team: tuple[Path, AgeKey, AgeKey, AgeKey], tmp_path: Path
) -> None:
    repo, alice, bob, carol = team
    assert run_cli(["sops-config", "--write"], cwd=repo).code == 0
    cfg = repo / ".sops.yaml"
    original = cfg.read_text()
    # hand-drift: carol added to the production rule
    cfg.write_text(
        original.replace(f"- {bob.public}\n", f"- {bob.public}\n        - {carol.public}\n", 1)
    )
    r = run_cli(["verify", "--identity", str(alice.file), "--no-freshness", "--json"], cwd=repo)
    assert r.code == 1, r.output
    assert "also encrypts to carol" in r.stdout
    assert run_cli(["sops-config", "--check"], cwd=repo).code == 1
    # regenerating fixes it, keeping other content
    cfg.write_text("stores:\n    yaml:\n        indent: 2\n" + cfg.read_text())
    assert run_cli(["sops-config", "--write"], cwd=repo).code == 0
    assert cfg.read_text().startswith("stores:\n    yaml:\n        indent: 2\n")
    assert run_cli(["sops-config", "--check"], cwd=repo).code == 0
    assert run_cli(["verify", "--identity", str(alice.file), "--no-freshness"], cwd=repo).code == 0


def test_hand_written_creation_rules_need_force(team: tuple[Path, AgeKey, AgeKey, AgeKey]) -> None:
    repo, alice, *_ = team
    cfg = repo / ".sops.yaml"
    cfg.write_text(
        f"# ours\ncreation_rules:\n  - age: {alice.public}\nstores:\n  yaml:\n    indent: 2\n"
    )
    r = run_cli(["sops-config", "--write"], cwd=repo)
    assert r.code == 5 and "did not write" in r.stderr
    assert cfg.read_text().startswith("# ours\ncreation_rules:\n  - age:")
    r = run_cli(["sops-config", "--write", "--force"], cwd=repo)
    assert r.code == 0, r.output
    text = cfg.read_text()
    assert text.startswith("# ours\n" + sopsrules.MARKER)
    assert text.endswith("stores:\n  yaml:\n    indent: 2\n")
    assert run_cli(["sops-config", "--check"], cwd=repo).code == 0


def test_init_sops_config_lets_plain_sops_create_files(tmp_path: Path) -> None:
    alice = make_key(tmp_path, "alice")
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q")
    r = run_cli(
        ["init", "--no-hooks", "--name", "alice", "--recipient", alice.public, "--sops-config"],
        cwd=repo,
    )
    assert r.code == 0, r.output
    assert ".sops.yaml: created" in r.stderr + r.stdout
    enc = run_sops(
        [
            "encrypt",
            "--filename-override",
            "secrets/app.yaml",
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            "/dev/stdin",
        ],
        alice,
        cwd=repo,
        input=b"token: t0k3n-value\n",
    ).stdout
    assert re.findall(r"recipient: (age1\w+)", enc.decode()) == [alice.public]
    # a second init changes nothing
    r = run_cli(["init", "--no-hooks", "--sops-config", "--json"], cwd=repo)
    assert r.code == 0, r.output
    assert '"sops_config": "unchanged"' in r.stdout


@pytest.mark.parametrize("indent", [2, 0])
def test_json_store_indent_no_churn(fvault_json: tuple[Path, AgeKey], indent: int) -> None:
    """stores.json.indent reaches the JSON store: alternating sets move only the changed line."""
    root, key = fvault_json
    (root / ".sops.yaml").write_text(f"stores:\n  json:\n    indent: {indent}\n")
    path = root / "secrets" / "app.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text('{"db": {"user": "app", "password": "p1"}, "port": 5432}')
    path.write_bytes(run_sops(["encrypt", "--age", key.public, str(path)], key, cwd=root).stdout)
    first = path.read_text()
    assert ("\n" + " " * indent + '"db"') in first and "\t" not in first
    versions = [first]
    for n in range(2):
        r = run_cli(["set", str(path), "db.password", f"gv-{n}"], cwd=root)
        assert r.code == 0, r.output
        versions.append(path.read_text())
        run_sops(["set", str(path), '["port"]', str(6000 + n)], key, cwd=root)
        versions.append(path.read_text())
    for before, after in itertools.pairwise(versions):
        idx = _changed_lines(before, after)
        changed = {after.splitlines()[i].strip().split(":")[0].strip('"') for i in idx}
        assert changed <= {"password", "port", "mac", "lastmodified"}, changed


@pytest.fixture
def fvault_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, AgeKey]:
    key = make_key(tmp_path)
    root = tmp_path / "jrepo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  me: {key.public}\n"
        "rules:\n  - path: 'secrets/**'\n    recipients: [me]\n"
    )
    monkeypatch.setenv("GITVAULT_AGE_KEY_FILE", str(key.file))
    return root, key
