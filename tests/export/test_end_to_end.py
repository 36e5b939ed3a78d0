"""Issue 4's promises, end to end: real vault files, real identities, the real CLI.

- a tampered file among good ones: exit 4 and nothing at all on stdout;
- one environment's identity on another's file: exit 3, naming the file and
  (by policy name) the recipients who could read it;
- ``export --format json`` equals ``sops decrypt --output-type json`` on files
  the real ``sops`` binary wrote;
- every format parses back to exactly the decrypted values;
- masks before anything else under GitHub Actions; audit lines without values.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dotenv
import pytest
import yaml

from gitvault import api
from gitvault.export.model import Source, collect, env_name
from tests.compat.sopsenv import run_sops
from tests.conftest import git
from tests.export.conftest import gitvault_env
from tests.export.realvault import AgeKey, tamper

Vault = Callable[..., Path]

# Values that make quoting hard, one per key (no NUL: no environment can hold it).
TRICKY = {
    "single": "it's",
    "double": 'say "hi"',
    "dollar": "pa$$word $HOME ${HOME} $(id) `id`",
    "backslash": "a\\b\\\\c\\'d",
    "newlines": "line1\nline2\n\nline4\n",
    "crlf": "a\r\nb\rc",
    "tab": "a\tb",
    "control": "bell\x07esc\x1b",
    "unicode": "ünïcödé ✓ 😀 \u2028",
    "hash": "# not a comment",
    "spaces": "  padded  ",
    "empty": "",
    "equals": "a=b==",
    "percent": "100% sure",
    "yaml-ish": "yes",
}
TYPED = {"port": 5432, "ratio": 1.5, "enabled": True, "off": False, "nothing": None}


@pytest.fixture
def tricky(vault: Vault) -> Path:
    return vault("secrets/app.yaml", {"app": dict(TRICKY), "typed": dict(TYPED)})


def decrypted_variables(path: Path, key: AgeKey, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the real decrypt gives for ``path``, named by the export rule."""
    monkeypatch.setenv("GITVAULT_AGE_KEY", key.secret)
    decrypted = api.decrypt_file(path, api.load_identities())
    # Empty and null values carry no MAC: export leaves them out (tests/export/test_env_safety.py).
    return collect([Source(path.name, decrypted.documents)], authenticated_only=True)


@pytest.fixture
def expected(
    tricky: Path, keys: dict[str, AgeKey], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """{NAME: typed value} decrypted by the API, independently of the CLI."""
    yield {v.name: v.value for v in decrypted_variables(tricky, keys["ci-test"], monkeypatch)}


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# The only stderr an export of these files may have: warnings for the empty and null values.
UNAUTHENTICATED_WARNING = re.compile(
    rb"(gitvault: warning: [^\n]+ is empty or null, which no MAC covers; not exported\n)*"
)


def export(gv: Any, *args: str, **kwargs: Any) -> str:
    result = gv("export", *args, **kwargs)
    assert result.returncode == 0, result.stderr
    assert UNAUTHENTICATED_WARNING.fullmatch(result.stderr), result.stderr
    return str(result.stdout.decode("utf-8"))


# ------------------------------------------------------------ all or nothing


def test_tampered_file_among_good_ones_exports_nothing(
    gv: Any, vault: Vault, vault_root: Path
) -> None:
    for i in range(5):
        vault(f"secrets/many/f{i}.yaml", {f"svc{i}": {"token": f"good-value-{i}"}})
    tamper(vault_root / "secrets/many/f3.yaml")
    for fmt in ("env", "dotenv", "json", "yaml", "k8s", "github-env"):
        result = gv("export", "secrets/many", "-f", fmt, env={"GITHUB_ACTIONS": "true"})
        assert result.returncode == 4, (fmt, result.stderr)
        assert result.stdout == b""  # not even the masks of the good files
        assert result.stderr.decode().startswith("gitvault: error: secrets/many/f3.yaml")
        assert b"good-value" not in result.stderr
    out = gv("export", "secrets/many", "-f", "dotenv", "-o", "out.env")
    assert out.returncode == 4 and not (vault_root / "out.env").exists()
    ran = gv("exec", "secrets/many", "--", "touch", "child-ran")
    assert ran.returncode == 4 and not (vault_root / "child-ran").exists()


def test_dev_identity_cannot_read_production(gv: Any, vault: Vault) -> None:
    vault("secrets/development/app.yaml", {"app": {"token": "dev-value-1"}})
    vault("secrets/production/db.yaml", {"db": {"password": "prod-value-1"}})
    result = gv("export", "secrets", "-f", "json", as_="ci-dev")
    assert result.returncode == 3
    assert result.stdout == b""
    message = result.stderr.decode()
    assert message.startswith("gitvault: error: secrets/production/db.yaml: ")
    assert "readable by: alice, ci-production" in message  # policy names, not keys
    assert "prod-value" not in message and "dev-value" not in message
    # Its own environment works; production's identity cannot read development either.
    assert gv("export", "secrets/development", as_="ci-dev").returncode == 0
    other = gv("exec", "secrets/development", "--", "true", as_="ci-production")
    assert other.returncode == 3
    assert b"secrets/development/app.yaml" in other.stderr
    assert b"readable by: alice, ci-dev" in other.stderr


def test_no_identity_at_all_is_exit_3(gv: Any, vault: Vault) -> None:
    vault("secrets/production/db.yaml", {"db": {"password": "prod-value-1"}})
    result = gv("export", "secrets/production", as_=None)
    assert result.returncode == 3 and result.stdout == b""
    assert b"secrets/production/db.yaml" in result.stderr


def test_the_policy_applies_when_exporting_from_outside_the_vault(
    vault: Vault, vault_root: Path, keys: dict[str, AgeKey]
) -> None:
    vault("secrets/production/db.yaml", {"db": {"password": "prod-value-1"}})
    vault("secrets/production/other.yaml", {"x": "y"}, to=["ci-production"])  # alice missing
    outside = vault_root.parent
    env = gitvault_env(keys["ci-production"].secret)
    args = [sys.executable, "-m", "gitvault", "export", str(vault_root / "secrets/production")]
    result = subprocess.run(args, cwd=outside, env=env, capture_output=True, check=False)
    assert result.returncode == 1 and result.stdout == b""  # the policy's recipient check
    assert result.stderr.startswith(b"gitvault: error: secrets/production/other.yaml: ")
    assert b"not encrypted to alice" in result.stderr
    env = gitvault_env(keys["ci-dev"].secret)
    denied = subprocess.run(args, cwd=outside, env=env, capture_output=True, check=False)
    assert denied.returncode == 3 and b"readable by: alice, ci-production" in denied.stderr


# -------------------------------------------------------- sops interop (json)

SOPS_DOCUMENT = """\
# a comment sops keeps
db:
    host: db.internal
    port: 5432
    password: "pa$$ 'w\\"rd"
    replicas: [a, b]
feature:
    enabled: yes
    strict: true
    ratio: 1.5
    big: 1e10
    octal: 017
    hex: 0x1F
    nothing: ~
    version: 3.11.0
    when: 2024-01-02T03:04:05Z
    day: 2024-01-02
text:
    unicode: ünïcödé ✓
    multi: |
        line one
        line $two
    folded: >
        folded
        text
hosts:
    - name: a
      port: 1
    - name: b
      port: 2
"""


def flatten_json(tree: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from flatten_json(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from flatten_json(value, (*path, index))
    else:
        yield env_name(path), tree


def test_export_json_equals_sops_decrypt(
    gv: Any, vault_root: Path, keys: dict[str, AgeKey], tmp_path_factory: pytest.TempPathFactory
) -> None:
    scratch = tmp_path_factory.mktemp("sops")
    key_file = scratch / "keys.txt"
    key_file.write_text(keys["ci-test"].secret + "\n")
    sops_key = _sops_key(key_file, keys["ci-test"])
    recipients = f"{keys['alice'].public},{keys['ci-test'].public}"  # what the policy wants
    plain = scratch / "app.yaml"
    plain.write_text(SOPS_DOCUMENT)
    encrypted = run_sops(["encrypt", "--age", recipients, str(plain)], None).stdout
    (vault_root / "from-sops").mkdir()
    (vault_root / "from-sops" / "app.yaml").write_bytes(encrypted)
    sops_json = run_sops(
        ["decrypt", "--output-type", "json", "from-sops/app.yaml"], sops_key, cwd=vault_root
    ).stdout
    ours = json.loads(export(gv, "from-sops", "--format", "json"))
    theirs = dict(flatten_json(json.loads(sops_json)))
    # sops prints the empty and null values it neither encrypted nor authenticated; we leave
    # them out (tests/export/test_env_safety.py), and agree on every other value.
    theirs = {k: v for k, v in theirs.items() if v is not None and v != ""}
    assert ours == theirs
    # Same JSON kinds too (JSON has one number type: sops prints 1e10 as 10000000000).
    assert [json_kind(v) for v in ours.values()] == [json_kind(v) for v in theirs.values()]
    assert ours["DB_PASSWORD"] == "pa$$ 'w\"rd" and ours["HOSTS_1_PORT"] == 2


def json_kind(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return repr(type(value))
    return "number"


def _sops_key(path: Path, key: AgeKey) -> Any:
    from tests.compat.sopsenv import AgeKey as SopsKey

    return SopsKey(key.secret, key.public, path)


# ------------------------------------------------- formats parse back exactly


def test_env_evaluates_back_in_bash(gv: Any, expected: dict[str, Any]) -> None:
    script = export(gv, "secrets/app.yaml", "-f", "env")
    names = list(expected)
    probe = 'eval "$1"; shift; for n in "$@"; do printf "%s\\0" "${!n}"; done'
    out = subprocess.run(
        ["bash", "-c", probe, "bash", script, *names], capture_output=True, check=True
    ).stdout
    got = dict(zip(names, out.decode().split("\0")[:-1], strict=True))
    assert got == {k: text_of(v) for k, v in expected.items()}


def test_dotenv_reads_back_with_python_dotenv(
    gv: Any, expected: dict[str, Any], vault_root: Path
) -> None:
    py = ("-f", "dotenv", "--dotenv-dialect", "python-dotenv")
    text = export(gv, "secrets/app.yaml", *py)
    want = {k: text_of(v) for k, v in expected.items()}
    assert dict(dotenv.dotenv_values(stream=io.StringIO(text), interpolate=False)) == want
    # From a file written with -o and read in text mode (a raw CR must not become LF).
    assert gv("export", "secrets/app.yaml", *py, "-o", ".env").returncode == 0
    assert dict(dotenv.dotenv_values(vault_root / ".env", interpolate=False)) == want
    # A lone `$` or `$NAME` survives python-dotenv's default interpolation too.
    interpolated = dotenv.dotenv_values(stream=io.StringIO(text))
    assert interpolated["APP_SINGLE"] == "it's" and interpolated["APP_DOUBLE"] == 'say "hi"'


def test_json_and_yaml_keep_values_and_types(gv: Any, expected: dict[str, Any]) -> None:
    assert json.loads(export(gv, "secrets/app.yaml", "-f", "json")) == expected
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    back = to_python(load_documents(export(gv, "secrets/app.yaml", "-f", "yaml"))[0])
    assert back == expected


@pytest.mark.parametrize("syntax", ["yaml", "json"])
def test_k8s_data_is_binary_safe_base64(gv: Any, expected: dict[str, Any], syntax: str) -> None:
    text = export(gv, "secrets/app.yaml", "-f", "k8s", "--k8s-output", syntax)
    doc = yaml.safe_load(text) if syntax == "yaml" else json.loads(text)
    assert doc["kind"] == "Secret" and doc["metadata"]["name"] == "app"
    data = {k: base64.b64decode(v, validate=True) for k, v in doc["data"].items()}
    assert data == {k: text_of(v).encode("utf-8") for k, v in expected.items()}


def test_k8s_string_data_reads_back_in_yaml_1_1(gv: Any, expected: dict[str, Any]) -> None:
    doc = yaml.safe_load(export(gv, "secrets/app.yaml", "-f", "k8s", "--string-data"))
    assert doc["stringData"] == {k: text_of(v) for k, v in expected.items()}


def test_exec_environment_holds_exactly_the_values(
    gv: Any, expected: dict[str, Any], vault_root: Path
) -> None:
    names = list(expected)
    script = 'for n in "$@"; do printf "%s\\0" "${!n}"; done > seen.bin'
    result = gv("exec", "secrets/app.yaml", "--", "bash", "-c", script, "bash", *names)
    assert result.returncode == 0, result.stderr
    got = dict(zip(names, (vault_root / "seen.bin").read_bytes().split(b"\0")[:-1], strict=True))
    assert got == {k: text_of(v).encode() for k, v in expected.items()}


# ------------------------------------------------------------- logs and audit


def test_masks_cover_every_value_before_any_output(gv: Any, expected: dict[str, Any]) -> None:
    out = export(gv, "secrets/app.yaml", "-f", "k8s", env={"GITHUB_ACTIONS": "true"})
    lines = out.split("\n")
    first_data = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    assert first_data > 0 and lines[first_data].startswith("apiVersion")
    masks = {line[len("::add-mask::") :] for line in lines[:first_data]}
    assert "it's" in masks and "line1" in masks and "line4" in masks
    assert "pa$$word $HOME ${HOME} $(id) `id`" in masks
    assert "100%25 sure" in masks  # escaped as the runner un-escapes workflow-command data
    assert {"a", "b", "c"} <= masks  # each line of a value with CR/LF
    assert base64.b64encode(TRICKY["dollar"].encode()).decode() in masks  # what k8s prints
    assert not any(line.startswith("::add-mask::") for line in lines[first_data:])


def test_audit_names_the_reader_and_commit_and_holds_no_values(
    gv: Any, vault: Vault, vault_root: Path
) -> None:
    vault("secrets/production/db.yaml", {"db": {"password": "prod-pw-7", "hosts": ["h1"]}})
    vault("secrets/production/api.yaml", {"api": {"token": "prod-tok-8"}})
    git(vault_root, "init", "-q")
    git(vault_root, "add", "-A")
    git(vault_root, "commit", "-q", "-m", "vault")
    head = git(vault_root, "rev-parse", "HEAD").stdout.strip()
    env = {"GITHUB_RUN_ID": "99", "GITHUB_WORKFLOW": "deploy"}
    result = gv(
        "export", "secrets/production", "--audit-log", "audit.jsonl", env=env, as_="ci-production"
    )
    assert result.returncode == 0, result.stderr
    text = (vault_root / "audit.jsonl").read_text()
    for value in ("prod-pw-7", "prod-tok-8", "h1"):
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["file"], r["keys"]) for r in records] == [
        ("secrets/production/api.yaml", ["api.token"]),
        ("secrets/production/db.yaml", ["db.password", "db.hosts[0]"]),
    ]
    assert {r["recipient"] for r in records} == {"ci-production"}
    assert {r["commit"] for r in records} == {head}
    assert records[0]["ci"] == {"provider": "github", "run_id": "99", "workflow": "deploy"}


# ---------------------------------------------------------------- grace period


def test_previous_value_during_the_grace_period(gv: Any, vault: Vault, vault_root: Path) -> None:
    policy = vault_root / ".gitvault.yaml"
    rule = "    recipients: [ops, ci-production]\n"
    policy.write_text(policy.read_text().replace(rule, rule + "    grace: 7d\n"))
    vault("secrets/production/db.yaml", {"db": {"password": "old-pw-1", "user": "app"}})
    git(vault_root, "init", "-q")
    git(vault_root, "add", "-A")
    git(vault_root, "commit", "-q", "-m", "vault")
    rotate = gv(
        "set", "secrets/production/db.yaml", "db.password", "--stdin", "--commit",
        input=b"new-pw-2", as_="alice",
    )  # fmt: skip
    assert rotate.returncode == 0, rotate.stderr
    got = json.loads(export(gv, "secrets/production", "-f", "json", as_="ci-production"))
    assert got == {"DB_PASSWORD": "new-pw-2", "DB_PASSWORD_PREVIOUS": "old-pw-1", "DB_USER": "app"}
    without = export(gv, "secrets/production", "-f", "json", "--no-previous", as_="ci-production")
    assert json.loads(without) == {"DB_PASSWORD": "new-pw-2", "DB_USER": "app"}
