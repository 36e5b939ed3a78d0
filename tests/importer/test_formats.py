"""Each input format lands in a vault file with the source's keys, values and types."""

from __future__ import annotations

import base64
import json
import re

from gitvault.importer import dotenv
from gitvault.importer.names import stem_for
from tests.importer.conftest import Vault

DOTENV = """\
# a comment line
export DB_PASSWORD="p@ss \\"word\\"\\nsecond line"   # trailing comment
API_KEY=abc123 # inline comment
HASH=abc#not-a-comment
EMPTY=
  SPACED  =  value with spaces
SINGLE='literal \\n and ${NOT_EXPANDED}'
MULTI="line one
line two"
PEM='-----BEGIN KEY-----
MIIB
-----END KEY-----'
UNICODE=héllo wörld ✓ 日本
URL=postgres://u:p@h:5432/db?sslmode=require
DOTTED.NAME=x
"""

EXPECTED_DOTENV = {
    "DB_PASSWORD": 'p@ss "word"\nsecond line',
    "API_KEY": "abc123",
    "HASH": "abc#not-a-comment",
    "EMPTY": "",
    "SPACED": "value with spaces",
    "SINGLE": "literal \\n and ${NOT_EXPANDED}",
    "MULTI": "line one\nline two",
    "PEM": "-----BEGIN KEY-----\nMIIB\n-----END KEY-----",
    "UNICODE": "héllo wörld ✓ 日本",
    "URL": "postgres://u:p@h:5432/db?sslmode=require",
    "DOTTED.NAME": "x",
}


def test_dotenv_parser_lines_and_values() -> None:
    entries = dotenv.parse(DOTENV, ".env")
    assert {e.key: e.value for e in entries} == EXPECTED_DOTENV
    lines = {e.key: e.line for e in entries}
    assert lines["DB_PASSWORD"] == 2
    assert lines["MULTI"] == 8
    assert lines["PEM"] == 10
    assert lines["UNICODE"] == 13
    assert "p@ss" not in repr(entries[0])  # repr never shows a value


def test_dotenv_crlf_and_bom() -> None:
    entries = dotenv.parse("\ufeffA=1\r\nB='x'\r\n", "w.env")
    assert [(e.key, e.value) for e in entries] == [("A", "1"), ("B", "x")]


def test_import_dotenv(vault: Vault) -> None:
    src = vault.inputs / ".env"
    src.write_text(DOTENV, encoding="utf-8")
    r = vault.run("import", str(src), "--to", "secrets/dev/app.yaml")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/dev/app.yaml") == EXPECTED_DOTENV
    for value in ("abc123", "p@ss", "héllo"):
        assert value not in r.output


JSON_DOC = {
    "port": 5432,
    "negative": -7,
    "big": 9223372036854775807,
    "ratio": 1.5,
    "tiny": 1.5e-7,
    "enabled": True,
    "disabled": False,
    "nothing": None,
    "empty_string": "",
    "text": "ünïcødé ✓ \u2028 tab\there",
    "nested": {"db": {"user": "app", "password": "pw"}, "empty": {}},
    "list": [1, "two", {"k": "v"}, [3, 4]],
    "empty_list": [],
    "a.b": "dotted key",
}


def test_import_json_keeps_types_and_nesting(vault: Vault) -> None:
    src = vault.inputs / "config.json"
    src.write_text(json.dumps(JSON_DOC, indent=2, ensure_ascii=False), encoding="utf-8")
    r = vault.run("import", str(src), "--into", "secrets/dev")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/dev/config.yaml") == JSON_DOC


YAML_DOC = """\
# leading comment
db:
  password: "s3cret"   # the password
  port: 5432
  replicas: 017
  ratio: 0.25
  enabled: true
  legacy_yes: yes
  none: null
when: 2024-01-02
hosts:
  - a.example
  - b.example
unicode: "日本語 ✓"
block: |
  line 1
  line 2
"""


def test_import_yaml_go_yaml_typing(vault: Vault) -> None:
    src = vault.inputs / "app.yml"
    src.write_text(YAML_DOC, encoding="utf-8")
    r = vault.run("import", str(src), "--into", "secrets/dev")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/dev/app.yaml") == {
        "db": {
            "password": "s3cret",
            "port": 5432,
            "replicas": 15,  # go-yaml: 017 is octal
            "ratio": 0.25,
            "enabled": True,
            "legacy_yes": "yes",  # a string, not YAML 1.1's boolean
            "none": None,
        },
        "when": "2024-01-02T00:00:00Z",
        "hosts": ["a.example", "b.example"],
        "unicode": "日本語 ✓",
        "block": "line 1\nline 2\n",
    }
    text = (vault.root / "secrets/dev/app.yaml").read_text()
    assert "type:time" in text and "type:comment" in text  # typed, comments kept (encrypted)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PEM = "-----BEGIN-----\nabc\n-----END-----\n"


def test_import_kubernetes_secrets_one_file_each(vault: Vault) -> None:
    src = vault.inputs / "secrets.yaml"
    src.write_text(
        f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db-creds
  namespace: prod
  labels: {{app: db}}
type: Opaque
data:
  password: {b64("hunter2 ✓")}
  cert.pem: {b64(PEM)}
stringData:
  username: admin
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {{name: api-token}}
    data:
      token: {b64("tok-123")}
  - apiVersion: v1
    kind: Secret
    metadata: {{name: other, namespace: staging}}
    stringData:
      TOKEN: "x y z"
""",
        encoding="utf-8",
    )
    r = vault.run("import", str(src), "--into", "secrets/k8s", "--dry-run")
    assert r.code == 0, r.output
    assert "secrets/k8s/prod/db-creds.yaml" in r.stdout
    assert re.search(rf"password +from {re.escape(str(src))}:9\n", r.stdout)
    assert re.search(rf"TOKEN +from {re.escape(str(src))}:26\n", r.stdout)
    r = vault.run("import", str(src), "--into", "secrets/k8s")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/k8s/prod/db-creds.yaml") == {
        "password": "hunter2 ✓",
        "cert.pem": "-----BEGIN-----\nabc\n-----END-----\n",
        "username": "admin",
    }
    assert vault.decrypt("secrets/k8s/api-token.yaml") == {"token": "tok-123"}
    assert vault.decrypt("secrets/k8s/staging/other.yaml") == {"TOKEN": "x y z"}


def test_import_kubernetes_secret_json(vault: Vault) -> None:
    src = vault.inputs / "s.json"
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "web"},
        "data": {"k": b64("v")},
    }
    src.write_text(json.dumps(doc))
    r = vault.run("import", str(src), "--into", "secrets/k8s")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/k8s/web.yaml") == {"k": "v"}


def test_several_sources_into_one_file(vault: Vault) -> None:
    (vault.inputs / "a.env").write_text("A=1\n")
    (vault.inputs / "b.json").write_text('{"B": 2}')
    r = vault.run(
        "import",
        str(vault.inputs / "a.env"),
        str(vault.inputs / "b.json"),
        "--to",
        "secrets/all.yaml",
    )
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/all.yaml") == {"A": "1", "B": 2}


def test_format_option_for_unnamed_files(vault: Vault) -> None:
    src = vault.inputs / "settings"
    src.write_text("X=1\n")
    r = vault.run("import", str(src), "--to", "secrets/x.yaml")
    assert r.code == 5
    assert "--format" in r.stderr
    r = vault.run("import", str(src), "--to", "secrets/x.yaml", "--format", "dotenv")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/x.yaml") == {"X": "1"}


def test_stem_rule() -> None:
    from pathlib import Path

    cases = {
        ".env": "env",
        ".env.production": "env.production",
        "prod.env": "prod",
        "config.json": "config",
        "app.yml": "app",
        "app.sops.yaml": "app",
        "db.enc.json": "db",
        "x.yaml.bak": "x.yaml.bak",
    }
    assert {name: stem_for(Path(name)) for name in cases} == cases


def test_export_dotenv_reads_back_exactly(vault: Vault) -> None:
    """What ``export --format dotenv`` writes, ``import`` reads back value for value."""
    values = {
        "PLAIN": "abc123",
        "SPACES": "  leading and trailing  ",
        "HASH": "a #b# c",
        "EQUALS": "k=v==",
        "UNICODE": "ünï ✓ 日本",
        "NEWLINES": "line 1\nline 2\n",
        "SINGLE": "it's",
        "DOUBLE": 'say "hi"',
        "DOLLAR": "cost $ 5",
        "BACKSLASH": "C:\\path\\x",
        "TAB": "a\tb",
    }
    src = vault.inputs / "seed.json"
    src.write_text(json.dumps(values))
    assert vault.run("import", str(src), "--to", "secrets/seed.yaml").code == 0
    r = vault.run("export", "secrets/seed.yaml", "--format", "dotenv")
    assert r.code == 0, r.output
    exported = vault.inputs / "exported.env"
    exported.write_text(r.stdout)
    r = vault.run("import", str(exported), "--to", "secrets/back.yaml")
    assert r.code == 0, r.output
    assert vault.decrypt("secrets/back.yaml") == values
