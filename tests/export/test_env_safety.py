"""What a vault file may put into a deploy's environment (issue 9's exec/export blind spots).

A key-less writer can add a valid file (or empty/null values to any file), and
its key names become variable names. These tests run the real CLI on real vault
files: names that change how programs load or run are refused (exit 5, naming
the key, never the value) unless allowed deliberately; values no MAC covers
never reach the child; oversized environments are one line and exit 5.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitvault.export.envnames import is_denied
from gitvault.model import from_python
from gitvault.sops.file import encrypt_new
from tests.export.realvault import AgeKey

Vault = Callable[..., Path]
VALUE = "/tmp/evil-payload.so"  # what an attacker would load; must never be echoed


def one_line_error(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert lines and lines[0].startswith("gitvault: error: "), stderr
    assert all(line.startswith("gitvault: hint: ") for line in lines[1:]), stderr
    assert b"Traceback" not in stderr and VALUE.encode() not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("ld_preload", "LD_PRELOAD"),
        ("path", "PATH"),
        ("bash_env", "BASH_ENV"),
        ("node-options", "NODE_OPTIONS"),
        ("pythonpath", "PYTHONPATH"),
        ("git_ssh_command", "GIT_SSH_COMMAND"),
        ("dyld_insert_libraries", "DYLD_INSERT_LIBRARIES"),
    ],
)
def test_exec_refuses_a_name_that_changes_how_programs_run(
    gv: Any, vault: Vault, vault_root: Path, key: str, name: str
) -> None:
    vault("secrets/app.yaml", {key: VALUE, "token": "ok-value-1"})
    result = gv("exec", "secrets/app.yaml", "--", "touch", "child-ran")
    assert result.returncode == 5
    line = one_line_error(result.stderr)
    assert f"secrets/app.yaml:{key}" in line and name in line
    assert not (vault_root / "child-ran").exists()


@pytest.mark.parametrize("fmt", ["env", "dotenv", "github-env", "k8s"])
def test_environment_shaped_exports_refuse_it_too(gv: Any, vault: Vault, fmt: str) -> None:
    vault("secrets/app.yaml", {"bash_env": VALUE})
    result = gv("export", "secrets/app.yaml", "-f", fmt, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 5 and result.stdout == b""  # not even the masks
    assert "BASH_ENV" in one_line_error(result.stderr)


def test_github_env_file_is_not_touched(gv: Any, vault: Vault, vault_root: Path) -> None:
    vault("secrets/app.yaml", {"node_options": "--require /tmp/x.js"})
    target = vault_root / "github_env"
    target.write_text("KEEP=1\n")
    result = gv("export", "secrets/app.yaml", "-f", "github-env", "-o", str(target))
    assert result.returncode == 5
    assert target.read_text() == "KEEP=1\n"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_data_formats_are_not_environments(gv: Any, vault: Vault, fmt: str) -> None:
    vault("secrets/app.yaml", {"path": "/srv/app"})
    result = gv("export", "secrets/app.yaml", "-f", fmt)
    assert result.returncode == 0, result.stderr
    assert b"PATH" in result.stdout


def test_a_prefix_makes_the_name_harmless(gv: Any, vault: Vault) -> None:
    vault("secrets/app.yaml", {"path": "/srv/app"})
    result = gv("export", "secrets/app.yaml", "--prefix", "APP")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"export APP_PATH='/srv/app'\n"


def test_allow_env_flag_opts_in_for_that_name_only(gv: Any, vault: Vault) -> None:
    vault("secrets/app.yaml", {"path": "/opt/tool/bin", "ld_preload": VALUE})
    allowed = gv("exec", "--allow-env", "LD_PRELOAD", "--allow-env", "PATH", "secrets/app.yaml",
                 "--", "/bin/sh", "-c", 'printf "%s|%s" "$PATH" "$LD_PRELOAD"')  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout == f"/opt/tool/bin|{VALUE}".encode()
    partial = gv("exec", "--allow-env", "PATH", "secrets/app.yaml", "--", "true")
    assert partial.returncode == 5 and "LD_PRELOAD" in one_line_error(partial.stderr)


def test_files_companion_names_are_checked(gv: Any, vault: Vault) -> None:
    # --files adds NAME_FILE: a key "git" would make GIT_FILE, which git reads.
    vault("secrets/app.yaml", {"git": "value-1234"})
    assert gv("exec", "secrets/app.yaml", "--", "true").returncode == 0
    result = gv("exec", "--files", "secrets/app.yaml", "--", "true")
    assert result.returncode == 5 and "GIT_FILE" in one_line_error(result.stderr)


def _policy_with(vault_root: Path, top: str = "", rule: str = "") -> None:
    policy = vault_root / ".gitvault.yaml"
    text = policy.read_text()
    if top:
        text += f"export:\n  allow_env: [{top}]\n"
    if rule:
        text = text.replace(
            '  - path: "**/*.yaml"\n',
            f'  - path: "**/*.yaml"\n    export:\n      allow_env: [{rule}]\n',
        )
    policy.write_text(text)


def test_policy_allows_a_name_for_every_file(gv: Any, vault: Vault, vault_root: Path) -> None:
    _policy_with(vault_root, top="NODE_OPTIONS")
    vault("secrets/app.yaml", {"node_options": "--max-old-space-size=512"})
    result = gv("export", "secrets/app.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"export NODE_OPTIONS='--max-old-space-size=512'\n"


def test_policy_rule_allows_a_name_for_its_files_only(
    gv: Any, vault: Vault, vault_root: Path
) -> None:
    _policy_with(vault_root, rule="PATH")
    vault("secrets/app.yaml", {"path": "/srv/bin"})  # the rule "**/*.yaml" allows it
    vault("secrets/production/db.yaml", {"path": "/srv/bin"})  # its rule does not
    assert gv("export", "secrets/app.yaml").returncode == 0
    result = gv("export", "secrets/production/db.yaml", as_="ci-production")
    assert result.returncode == 5
    assert "secrets/production/db.yaml:path" in one_line_error(result.stderr)


def test_policy_allow_env_is_validated(gv: Any, vault: Vault, vault_root: Path) -> None:
    _policy_with(vault_root, top="'NOT A NAME'")
    vault("secrets/app.yaml", {"token": "value-1234"})
    assert gv("export", "secrets/app.yaml").returncode == 5


def test_denylist_covers_the_known_families() -> None:
    for name in ("LD_AUDIT", "GCONV_PATH", "BASH_FUNC_X__", "SHELLOPTS", "PS4", "IFS", "ENV",
                 "PERL5OPT", "PERL5LIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS",
                 "_JAVA_OPTIONS", "PYTHONSTARTUP", "PYTHONHOME", "SOPS_AGE_KEY_FILE",
                 "GITVAULT_AGE_KEY", "GIT_CONFIG_COUNT", "DYLD_LIBRARY_PATH", "HTTPS_PROXY",
                 "NODE_EXTRA_CA_CERTS", "PATHEXT"):  # fmt: skip
        assert is_denied(name), name
    for name in ("DB_PASSWORD", "API_TOKEN", "GITHUB_TOKEN", "APP_PATH", "LDAP_URL", "HOSTNAME"):
        assert not is_denied(name), name


# ------------------------------------------------------ values no MAC covers


def _append_unauthenticated(path: Path) -> None:
    """What a key-less writer can do: add empty and null values to a valid file."""
    text = path.read_text()
    head, sep, tail = text.partition("sops:\n")
    path.write_text(head + 'ld_preload: ""\nnode_options: null\nextra: ""\n' + sep + tail)


def test_empty_and_null_values_added_without_a_key_never_reach_the_child(
    gv: Any, vault: Vault
) -> None:
    app = vault("secrets/app.yaml", {"token": "value-1234"})
    _append_unauthenticated(app)
    # The format lets this through: the file still decrypts, MAC verified.
    assert gv("decrypt", "secrets/app.yaml").returncode == 0
    script = 'printf "%s/%s/%s/%s" "${LD_PRELOAD-unset}" "${NODE_OPTIONS-unset}" '
    script += '"${EXTRA-unset}" "$TOKEN"'
    result = gv("exec", "secrets/app.yaml", "--", "/bin/sh", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"unset/unset/unset/value-1234"
    warnings = result.stderr.decode().splitlines()
    assert warnings == [
        f"gitvault: warning: secrets/app.yaml:{key} is empty or null, which no MAC covers; "
        "not exported"
        for key in ("ld_preload", "node_options", "extra")
    ]


def test_export_leaves_them_out_of_every_format(gv: Any, vault: Vault) -> None:
    app = vault("secrets/app.yaml", {"token": "value-1234"})
    _append_unauthenticated(app)
    for fmt in ("env", "dotenv", "json", "yaml", "k8s", "github-env"):
        result = gv("export", "secrets/app.yaml", "-f", fmt)
        assert result.returncode == 0, (fmt, result.stderr)
        assert b"TOKEN" in result.stdout
        for name in (b"LD_PRELOAD", b"NODE_OPTIONS", b"EXTRA"):
            assert name not in result.stdout, (fmt, name)


def test_an_empty_value_cannot_cause_a_collision(gv: Any, vault: Vault) -> None:
    vault("secrets/a.yaml", {"db": {"password": "value-1234"}})
    b = vault("secrets/b.yaml", {"other": "value-5678"})
    text = b.read_text()
    head, sep, tail = text.partition("sops:\n")
    b.write_text(head + 'db_password: ""\n' + sep + tail)
    result = gv("export", "secrets")
    assert result.returncode == 0, result.stderr
    assert b"export DB_PASSWORD='value-1234'\n" in result.stdout


# ------------------------------------------------------------ size limits


def test_exec_with_a_200_kib_value_is_one_line_exit_5(
    gv: Any, vault: Vault, vault_root: Path
) -> None:
    vault("secrets/app.yaml", {"big": "x" * (200 * 1024)})
    result = gv("exec", "secrets/app.yaml", "--", "touch", "child-ran")
    assert result.returncode == 5
    line = one_line_error(result.stderr)
    assert "secrets/app.yaml:big" in line and "KiB" in line
    assert b"x" * 64 not in result.stderr
    assert not (vault_root / "child-ran").exists()


def test_exec_over_the_total_limit_is_one_line_exit_5(
    gv: Any, vault: Vault, vault_root: Path
) -> None:
    # Each value fits one variable; together they exceed ARG_MAX (2 MiB on Linux by default).
    vault("secrets/app.yaml", {f"v{i}": "y" * (100 * 1024) for i in range(40)})
    result = gv("exec", "secrets/app.yaml", "--", "touch", "child-ran")
    assert result.returncode == 5
    assert "over the system's" in one_line_error(result.stderr)
    assert not (vault_root / "child-ran").exists()


def test_a_large_value_just_under_the_limit_still_runs(gv: Any, vault: Vault) -> None:
    vault("secrets/app.yaml", {"cert": "z" * (120 * 1024)})
    result = gv("exec", "secrets/app.yaml", "--", "/bin/sh", "-c", 'printf %s "${#CERT}"')
    assert result.returncode == 0, result.stderr
    assert result.stdout == str(120 * 1024).encode()


def test_plaintext_values_of_a_mac_only_encrypted_file_are_left_out(
    gv: Any, vault_root: Path, keys: dict[str, AgeKey]
) -> None:
    # A rule whose files keep *_unencrypted values in plaintext, outside the MAC.
    policy = vault_root / ".gitvault.yaml"
    policy.write_text(
        policy.read_text().replace(
            "rules:\n",
            'rules:\n  - path: "secrets/plain/**"\n    recipients: [ops, ci-test]\n'
            '    unencrypted_suffix: _unencrypted\n    mac_only_encrypted: true\n',
        )
    )
    path = vault_root / "secrets/plain/app.yaml"
    path.parent.mkdir(parents=True)
    tree = {"token": "sealed-value-1", "host_unencrypted": "db.internal"}
    recipients = [keys["alice"].public, keys["ci-test"].public]
    path.write_bytes(
        encrypt_new([from_python(tree)], recipients, unencrypted_suffix="_unencrypted",
                    mac_only_encrypted=True)
    )  # fmt: skip
    text = path.read_text()
    head, sep, tail = text.partition("sops:\n")
    path.write_text(head + "db_password_unencrypted: attacker-chosen\n" + sep + tail)
    assert gv("decrypt", "secrets/plain/app.yaml").returncode == 0  # the MAC does not see it
    result = gv("export", "secrets/plain/app.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"export TOKEN='sealed-value-1'\n"
    assert result.stderr.decode().splitlines() == [
        f"gitvault: warning: secrets/plain/app.yaml:{key} is plaintext, which no MAC covers; "
        "not exported"
        for key in ("host_unencrypted", "db_password_unencrypted")
    ]
