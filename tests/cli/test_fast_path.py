"""The click-free fast paths (``decrypt``, ``decrypt --extract``, ``textconv``) answer
exactly as the click commands do: same stdout, stderr and exit code, good input or bad."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import gitvault.cli as cli_mod
from tests.cli.conftest import Vault
from tests.helpers import Result, run_cli


def _both(
    args: list[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None] | None = None
) -> tuple[Result, Result, int]:
    """(result with the fast paths, result through click only, click calls in the first)."""
    calls = {"n": 0}
    real: Callable[[list[str]], int] = cli_mod._run_click

    def counting(a: list[str]) -> int:
        calls["n"] += 1
        return real(a)

    with monkeypatch.context() as m:
        m.setattr(cli_mod, "_run_click", counting)
        fast = run_cli(args, env=env)
    with monkeypatch.context() as m:
        m.setattr(cli_mod, "_fast_decrypt", lambda a: False)
        m.setattr(cli_mod, "_fast_textconv", lambda a: False)
        m.setattr(cli_mod, "_fast_verify", lambda a: False)
        slow = run_cli(args, env=env)
    return fast, slow, calls["n"]


def _same(fast: Result, slow: Result) -> None:
    assert (fast.code, fast.stdout, fast.stderr) == (slow.code, slow.stdout, slow.stderr)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--extract", "db.password"],
        ["--extract", "db"],
        ["--format", "json"],
        ["--format", "yaml"],
        ["--extract", "no.such.key"],
    ],
)
def test_decrypt_forms(vault: Vault, monkeypatch: pytest.MonkeyPatch, extra: list[str]) -> None:
    fast, slow, clicks = _both(["decrypt", str(vault.secret_file), *extra], monkeypatch)
    _same(fast, slow)
    assert clicks == 0  # the fast path answered
    if extra[-1:] != ["no.such.key"]:
        assert fast.code == 0 and "hunter2hunter2" in fast.stdout
    else:
        assert fast.code == 5


def test_textconv_for_a_key_holder(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow, clicks = _both(["textconv", str(vault.secret_file)], monkeypatch)
    _same(fast, slow)
    assert clicks == 0
    assert fast.code == 0 and "hunter2hunter2" in fast.stdout
    assert "# gitvault: encrypted to" in fast.stdout


def test_textconv_without_a_key_shows_the_ciphertext(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.key_file.unlink()
    fast, slow, clicks = _both(["textconv", str(vault.secret_file)], monkeypatch)
    _same(fast, slow)
    assert clicks == 0
    assert fast.code == 0 and "ENC[AES256_GCM" in fast.stdout and "hunter2" not in fast.stdout


def test_textconv_of_missing_plain_and_tampered_files(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("just text\n")
    tampered = tmp_path / "tampered.yaml"
    text = vault.secret_file.read_text()
    start = text.index("ENC[AES256_GCM,data:") + len("ENC[AES256_GCM,data:")
    flipped = "A" if text[start] != "A" else "B"
    tampered.write_text(text[:start] + flipped + text[start + 1 :])
    for target in (tmp_path / "missing.yaml", plain, tampered):
        fast, slow, clicks = _both(["textconv", str(target)], monkeypatch)
        _same(fast, slow)
        assert clicks == 0
        assert fast.code == 0  # textconv never fails a diff
    fast, _, _ = _both(["textconv", str(tampered)], monkeypatch)
    assert "showing the encrypted text" in fast.stderr
    assert fast.stdout == tampered.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["decrypt", "secrets"],  # a directory: click's usage error
        ["textconv", "secrets"],
        ["textconv", "--help"],
        ["textconv"],
        ["textconv", "a", "b"],
        ["decrypt", "--format", "dotenv", "secrets/app.yaml"],
        ["decrypt", "secrets/app.yaml", "--bogus"],
    ],
)
def test_other_forms_go_through_click(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    fast, slow, clicks = _both(args, monkeypatch)
    _same(fast, slow)
    assert clicks == 1


@pytest.mark.parametrize("command", ["decrypt", "textconv"])
def test_errors_match(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    not_vault = tmp_path / "plain.yaml"
    not_vault.write_text("a: 1\n")
    for target in (not_vault, tmp_path / "missing.yaml"):
        fast, slow, clicks = _both([command, str(target)], monkeypatch)
        _same(fast, slow)
        assert clicks == 0
        if command == "decrypt":
            assert fast.code == 5 and fast.stderr.startswith("gitvault: error:")
    vault.key_file.unlink()
    fast, slow, _ = _both([command, str(vault.secret_file)], monkeypatch)
    _same(fast, slow)
    assert fast.code == (3 if command == "decrypt" else 0)


def _state(path: Path) -> bytes | None:
    if path.is_dir():
        return b"<directory>"
    return path.read_bytes() if path.exists() else None


def _restore(path: Path, data: bytes | None) -> None:
    if data == b"<directory>":
        return
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(data)


def _write_both(
    args: list[str], target: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Result, Result, int, bytes | None, bytes | None]:
    """Run a writing command both ways from the same starting file; return both outcomes."""
    before = _state(target)
    calls = {"n": 0}
    real: Callable[[list[str]], int] = cli_mod._run_click

    def counting(a: list[str]) -> int:
        calls["n"] += 1
        return real(a)

    with monkeypatch.context() as m:
        m.setattr(cli_mod, "_run_click", counting)
        fast = run_cli(args)
    after_fast = _state(target)
    _restore(target, before)
    with monkeypatch.context() as m:
        m.setattr(cli_mod, "_fast_write", lambda a: False)
        slow = run_cli(args)
    after_slow = _state(target)
    _restore(target, before)
    return fast, slow, calls["n"], after_fast, after_slow


def _plain(data: bytes | None, tmp_path: Path) -> str | None:
    if data is None:
        return None
    probe = tmp_path / "probe.yaml"
    probe.write_bytes(data)
    r = run_cli(["decrypt", str(probe)])
    return f"{r.code}:{r.stdout}"


@pytest.mark.parametrize(
    "args",
    [
        ["set", "secrets/app.yaml", "db.password", "n3w-value"],
        ["set", "secrets/app.yaml", "db.password", "hunter2hunter2"],  # unchanged
        ["set", "secrets/app.yaml", "api.new_key", "v"],  # added
        ["set", "secrets/new.yaml", "a.b", "created"],  # a new file from the rule
        ["set", "secrets/app.yaml", "db.password.deeper", "x"],  # not a mapping
        ["set", "outside/app.yaml", "a", "b"],  # no rule covers it
        ["set", "secrets/app.yaml", "[bad", "x"],  # bad key path
    ],
)
def test_set_forms(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    target = vault.root / args[1]
    fast, slow, clicks, after_fast, after_slow = _write_both(args, target, monkeypatch)
    _same(fast, slow)
    assert clicks == 0
    assert _plain(after_fast, tmp_path) == _plain(after_slow, tmp_path)
    if fast.code == 0 and after_fast is not None and args[3] != "hunter2hunter2":
        assert args[3] in (_plain(after_fast, tmp_path) or "")


def test_set_keeps_unchanged_ciphertext_the_same_way(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["set", str(vault.secret_file), "db.password", "other-value"]
    _, _, _, after_fast, after_slow = _write_both(args, vault.secret_file, monkeypatch)
    assert after_fast is not None and after_slow is not None
    fast_lines = after_fast.decode().splitlines()
    slow_lines = after_slow.decode().splitlines()
    token = next(line for line in fast_lines if line.startswith("api_token:"))
    assert token in slow_lines and token in vault.secret_file.read_text().splitlines()


@pytest.mark.parametrize(
    "make",
    ["plain", "already-encrypted", "missing", "no-rule"],
)
def test_encrypt_forms(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: str
) -> None:
    if make == "plain":
        target = vault.root / "secrets" / "plain.yaml"
        target.write_text("db:\n    password: pw-1\nlist:\n    - a\n    - 2\n")
    elif make == "already-encrypted":
        target = vault.secret_file
    elif make == "missing":
        target = vault.root / "secrets" / "missing.yaml"
    else:
        target = vault.root / "elsewhere.yaml"
        target.write_text("a: 1\n")
    fast, slow, clicks, _, _ = _write_both(["encrypt", str(target)], target, monkeypatch)
    assert clicks == 0
    assert (fast.code, fast.stderr) == (slow.code, slow.stderr)
    if make == "plain":
        assert fast.code == 0
        assert _plain(fast.stdout.encode(), tmp_path) == _plain(slow.stdout.encode(), tmp_path)
        assert "pw-1" in (_plain(fast.stdout.encode(), tmp_path) or "")
        assert "pw-1" not in fast.stdout
    else:
        assert fast.code != 0 and fast.stdout == slow.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["set", "secrets/app.yaml", "db.password"],  # no VALUE: click's usage error
        ["set", "secrets/app.yaml", "db.password", "-5"],
        ["set", "secrets", "a", "b"],
        ["encrypt", "secrets/app.yaml", "--in-place"],
        ["encrypt", "secrets"],
    ],
)
def test_other_write_forms_go_through_click(
    vault: Vault, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    target = vault.root / args[1]
    fast, slow, clicks, after_fast, after_slow = _write_both(args, target, monkeypatch)
    assert clicks == 1
    assert (fast.code, fast.stderr) == (slow.code, slow.stderr)
    assert after_fast is not None and after_slow is not None


@pytest.mark.parametrize(
    "extra",
    [[], ["--json"], ["--structure-only"], ["--json", "--structure-only"], ["SECRET"], ["secrets"]],
)
def test_verify_forms(vault: Vault, monkeypatch: pytest.MonkeyPatch, extra: list[str]) -> None:
    args = ["verify", *(str(vault.secret_file) if a == "SECRET" else a for a in extra)]
    with monkeypatch.context() as m:
        m.chdir(vault.root)
        fast, slow, clicks = _both(args, monkeypatch)
    _same(fast, slow)
    assert clicks == 0
    assert fast.code == 0 and "secrets/app.yaml" in fast.stdout


def test_verify_failures_and_other_forms_match_click(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = vault.secret_file.read_text()
    start = text.index("ENC[AES256_GCM,data:") + len("ENC[AES256_GCM,data:")
    vault.secret_file.write_text(
        text[:start] + ("A" if text[start] != "A" else "B") + text[start + 1 :]
    )
    with monkeypatch.context() as m:
        m.chdir(vault.root)
        fast, slow, clicks = _both(["verify"], monkeypatch)
        _same(fast, slow)
        assert clicks == 0 and fast.code == 1 and "FAIL" in fast.stdout
        vault.key_file.unlink()
        fast, slow, clicks = _both(["verify", "secrets/app.yaml"], monkeypatch)
        _same(fast, slow)
        assert clicks == 0 and fast.code == 3
        for args in (["verify", "--json", "--json"], ["verify", "--since", "HEAD"], ["verify", ""]):
            fast, slow, clicks = _both(args, monkeypatch)
            _same(fast, slow)
            assert clicks == 1


def test_the_real_entry_point_ends_fast_paths_with_the_output_flushed(vault: Vault) -> None:
    """As a process (console script or ``python -m``) the fast paths skip the interpreter's
    teardown: the output must still be complete and the exit code right."""
    from tests.helpers import run_subprocess

    big = run_subprocess(["decrypt", str(vault.secret_file)], cwd=vault.root)
    assert big.returncode == 0 and b"hunter2hunter2" in big.stdout and big.stdout.endswith(b"\n")
    slow = run_subprocess(["decrypt", "--format", "yaml", str(vault.secret_file)], cwd=vault.root)
    assert slow.stdout == big.stdout
    bad = run_subprocess(["decrypt", str(vault.root / "missing.yaml")], cwd=vault.root)
    assert bad.returncode == 5 and bad.stderr.startswith(b"gitvault: error:")
