"""Context-aware generic detection: config-file leaks, hashes, keys, near-misses, real code."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from gitvault.scan import filters, weakvalues
from gitvault.scan.detector import Detector
from gitvault.scan.model import Unit
from gitvault.scan.rules import all_rules

# Invented values only. Each entry: (file name, content, the secret that must not leak).
LEAKS = [
    (".netrc", "machine git.corp.test login ci password Kd8#vQ2mLp9x\n", "Kd8#vQ2mLp9x"),
    (".pgpass", "db.corp.test:5432:shop:app:Wq7!zR4nTb2c\n", "Wq7!zR4nTb2c"),
    ("wp-config.php", "<?php\ndefine( 'DB_PASSWORD', 'Lm3$pX8qVz1k' );\n", "Lm3$pX8qVz1k"),
    ("settings.py", "DATABASES = {'default': {'PASSWORD': 'Hy6&cN2wRq9s'}}\n", "Hy6&cN2wRq9s"),
    ("database.yml", "production:\n  username: app\n  password: Zt5pQw8LmN3x\n", "Zt5pQw8LmN3x"),
    ("NuGet.config", '<add key="ClearTextPassword" value="Fg4%kP9sXw2e" />\n', "Fg4%kP9sXw2e"),
    ("sitemanager.xml", '<Pass encoding="base64">Rm9vQmFyOTg3NjU0</Pass>\n', "Rm9vQmFyOTg3NjU0"),
    ("backup.sh", "mysqldump -u root -pVb7xN3qLs8Kd shop > shop.sql\n", "Vb7xN3qLs8Kd"),
    ("client.py", "requests.get(u, auth=HTTPBasicAuth('svc', 'Jp2wQ8xLm5Nz'))\n", "Jp2wQ8xLm5Nz"),
    ("app.env", "CACHE_URL=redis://:Tq9vB4mXp2Lw@cache:6379/0\n", "Tq9vB4mXp2Lw"),
    ("shadow", "ana:$6$Gnswph8P$" + "RvQSuEqcTdr3ZZx6HQO35UWzQXzoohJKjqqRKApEHmVBFRN2YZl7c5mG3pr4H"
     "llooXL3Gv3fgrMRcnNfzSgQGH:19700:0:99999:7:::\n", "RvQSuEqcTdr3ZZx6HQO35"),
    ("secret.yaml", "data:\n  tls.key: " + base64.b64encode(
        b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu8jzPde0IgxLd6GnKdNnFRIBXu\n"
    ).decode() + "\n", "LS0tLS1CRUdJTiBSU0Eg"),
]


def test_rule_set_grew_with_the_new_families() -> None:
    families = {r.family for r in all_rules()}
    assert {"password-hash", "private-key", "generic"} <= families
    ids = {r.id for r in all_rules()}
    assert {"hash-bcrypt", "hash-sha512-crypt", "hash-ntlm-pwdump", "private-key-jwk",
            "private-key-base64-pem", "netrc-password", "mysql-cli-password",
            "call-user-password-pair", "php-define-secret"} <= ids


def test_config_leaks_are_found_by_the_cli_and_never_printed(tmp_path: Path) -> None:
    for name, content, _ in LEAKS:
        (tmp_path / name).write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "gitvault", "scan", "--format", "json", "--no-vault-values", "."],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    flagged = {f["path"] for f in doc["findings"]}
    assert {name for name, _, _ in LEAKS} <= flagged
    for _, _, secret in LEAKS:
        assert secret not in proc.stdout and secret not in proc.stderr


@pytest.mark.parametrize(
    "line",
    [
        'password = "${DB_PASSWORD}"',
        "password = os.environ['DB_PASSWORD']",
        'password = f"{prefix}{suffix}"',
        'api_key = "abcdefghijklmnop"',
        'token = "abcabcabcabcabc"',
        "password = 'password123'",
        'secret = "1234567890123456"',
        "DATABASE_URL=postgres://user:password@localhost/app",
        "mysql -u root -p$MYSQL_PWD app",
        "admin:$apr1$salt$",
        '"AWS::ApiGateway::ApiKey": "48205b4d8e1ea3a0f1a0c1b8f8e9a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0"',
        "label = 'Password:'",
        "mask = {'pass_mask32': '0x81f0a0b4'}",
        # Provider formats with the wrong length: the provider rule decides, not the name.
        'github_token = "ghp_Zq8vL2pRt7wXkd93"',
        "STRIPE_SECRET_KEY=sk_live_Zq8vL2pRt7wX",
        'aws_secret = "AKIAZQ8VL2PRT7WX"',
        "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIUeLdXbqQ2jVw3yZ7uZt1C4p0OQ2wwDQYJKoZIhvcNAQEL\n",
    ],
)
def test_near_misses_are_not_findings(line: str) -> None:
    assert Detector().scan(Unit("app.py", line.encode())).findings == []


def test_bare_word_is_a_value_in_config_files_only() -> None:
    line = b"password: xlJvkEoFqwIYmd\n"
    assert [f.rule for f in Detector().scan(Unit("config.yml", line)).findings]
    assert Detector().scan(Unit("model.py", line)).findings == []


@pytest.mark.parametrize(
    ("value", "weak"),
    [
        (b"abcdef123456", True),
        (b"xyzxyzxyz", True),
        (b"qwerty12", True),
        (b"admin123", True),
        (b"test_token_1", True),
        (b"P@ssw0rd", True),
        (b"S3cr3t!", True),
        (b"Ch@ngeM3", True),
        (b"Zq8vL2pRt7wX", False),
        (b"Winter2024!", False),
    ],
)
def test_weak_patterns(value: bytes, weak: bool) -> None:
    assert weakvalues.is_weak_pattern(value) is weak


def test_strength_is_lenient_for_passwords_only() -> None:
    assert weakvalues.value_strength_ok(b"Palau", password=True)
    assert not weakvalues.value_strength_ok(b"Palau", password=False)
    assert weakvalues.value_strength_ok(b"KjIg8xNbe3nNyjOq9wMxEhh2", password=False)
    assert not weakvalues.value_strength_ok(b"AbCdEfGhIjKlMnOpQrSt", password=False)


def test_config_paths() -> None:
    for path in (".netrc", "conf/app.ini", "x/.env.prod", "settings.yaml", "Dockerfile"):
        assert filters.is_config_path(path), path
    for path in ("src/app.py", "lib/index.js", "Main.java"):
        assert not filters.is_config_path(path), path


def test_base64_pem_validator() -> None:
    key = base64.b64encode(b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKjIg8xNbe3nNyjOq9wMx\n")
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIUeLdXbqQ2jVw\n")
    assert filters.b64_private_key(key)
    assert not filters.b64_private_key(cert)


STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Real code that handles passwords, tokens and connection strings all day. (urllib/request.py
# is left out on purpose: its module docstring hard-codes passwd='geheim$parole', a finding.)
REAL_CODE = ["smtplib.py", "ftplib.py", "imaplib.py", "poplib.py", "netrc.py", "getpass.py",
             "urllib/parse.py", "http/client.py", "http/cookiejar.py", "ssl.py", "hmac.py",
             "secrets.py", "configparser.py", "argparse.py", "email/utils.py", "nntplib.py"]


@pytest.mark.parametrize("name", REAL_CODE)
def test_real_code_that_handles_credentials_is_not_flagged(name: str) -> None:
    path = STDLIB / name
    if not path.is_file():
        pytest.fail(f"{path} missing from this Python")
    found = Detector().scan(Unit(name, path.read_bytes())).findings
    assert found == [], [(f.rule, f.line, f.preview) for f in found]
