"""The fused ``encrypt`` of a plaintext YAML file against the general path.

With randomness, the clock and the age stanzas fixed, the fused bytes equal
the general path's; the real sops reads what it writes; anything outside the
simple block-mapping subset is refused (None) and encrypted by the general path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault import vault
from gitvault.model import Mapping
from gitvault.sops.fused import encrypt as fused
from gitvault.sops.fused.encrypt import encrypt_yaml
from gitvault.yamlio import emit_documents
from tests.fused.conftest import Fixed, Vault
from tests.fused.helpers import ANY_KEY, SCALAR, SIMPLE_KEY, deep, tree
from tests.helpers import run_cli

HYP = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PLAIN = """\
db:
    password: hunter2
    port: 5432
    ratio: 1.50
    enabled: true
    empty: ""
    nothing: null
    when: 2024-01-02T03:04:05Z
    token: "quoted: value"
    deeper:
        key-with_dash: "ünïcode ✓ with spaces"
api: ENC[looks-encrypted-but-is-not]
"""


def both(
    fixed: Fixed, vault_dir: Vault, text: str, name: str = "plain.yaml"
) -> tuple[bytes | None, bytes]:
    """(fused, general) for the same plaintext, with the same randomness."""
    path = vault_dir.root / name
    path.write_text(text)
    loc = vault.locate(path)
    pol = vault.load_policy_for(loc)
    rule = vault.rule_for(pol, loc)
    fixed.restart()
    fast = encrypt_yaml(text.encode(), str(path), pol, rule, vault.file_indent(str(path)))
    fixed.restart()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused, "encrypt_yaml", lambda *a: None)
        general = vault.encrypt_plaintext(text.encode(), str(path), pol, rule)
    return fast, general


def test_fused_encrypt_is_taken_and_identical(vault_dir: Vault, fixed: Fixed) -> None:
    fixed.fake_age()
    fast, general = both(fixed, vault_dir, PLAIN)
    assert fast is not None
    assert fast == general


def test_sops_and_gitvault_read_what_it_writes(vault_dir: Vault) -> None:
    src = vault_dir.root / "app.yaml"
    src.write_text(PLAIN)
    result = run_cli(["encrypt", "--in-place", str(src)])
    assert result.code == 0, result.stderr
    assert b"hunter2" not in src.read_bytes()
    shown = subprocess.run(["sops", "decrypt", str(src)], capture_output=True, check=True).stdout
    ref = vault_dir.root / "ref.yaml"
    ref.write_text(PLAIN)
    ref.write_bytes(
        subprocess.run(
            ["sops", "encrypt", "--age", vault_dir.public, str(ref)],
            capture_output=True,
            check=True,
        ).stdout
    )
    general = subprocess.run(["sops", "decrypt", str(ref)], capture_output=True, check=True).stdout
    assert shown == general
    assert run_cli(["decrypt", str(src)]).stdout == general.decode()


@HYP
@given(doc=tree(ANY_KEY, SCALAR))
def test_generated_documents_identical_or_refused(
    vault_dir: Vault, fixed: Fixed, doc: Mapping
) -> None:
    fixed.fake_age()
    fast, general = both(fixed, vault_dir, emit_documents([doc]))
    assert fast is None or fast == general


@HYP
@given(doc=tree(SIMPLE_KEY, SCALAR))
def test_generated_documents_two_space_input(vault_dir: Vault, fixed: Fixed, doc: Mapping) -> None:
    fixed.fake_age()
    fast, general = both(fixed, vault_dir, emit_documents([doc], indent=2))
    assert fast is None or fast == general


# What the canonical reader takes as the emitter writes it (plain ASCII without spaces;
# strings with spaces are emitted plain, which that reader leaves to the full parser).
SIMPLE_VALUE = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9_./=@-]{0,30}", fullmatch=True),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.booleans(),
    st.none(),
    st.just(""),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)


@HYP
@given(doc=tree(SIMPLE_KEY, SIMPLE_VALUE))
def test_simple_plain_values_are_taken(vault_dir: Vault, fixed: Fixed, doc: Mapping) -> None:
    fixed.fake_age()
    fast, general = both(fixed, vault_dir, emit_documents([doc]))
    assert fast is not None
    assert fast == general


@pytest.mark.parametrize("step", [2, 3, 4])
def test_sops_yaml_indent_and_deep_nesting(vault_dir: Vault, fixed: Fixed, step: int) -> None:
    fixed.fake_age()
    (vault_dir.root / ".sops.yaml").write_text(f"stores:\n    yaml:\n        indent: {step}\n")
    fast, general = both(fixed, vault_dir, emit_documents([deep(40)]))
    assert fast is not None and fast == general
    assert f"\n{' ' * step}leaf38: ENC[" in fast.decode()


@pytest.mark.parametrize(
    "text",
    [
        "# comment\na: b\n",
        "a: b # inline\n",
        "a:\n    - x\n",
        "a: {b: c}\n",
        "a: {}\n",
        "'a': b\n",
        "a: |\n    text\n",
        "a: 'single'\n",
        'a: "esc\\"aped"\n',
        "a: 1\n---\nb: 2\n",
        "a_unencrypted: v\n",
        "sops: x\n",
        "a: &x 1\nb: *x\n",
        "\n",
        "a: b\n\nc: d\n",
    ],
)
def test_refused_shapes(vault_dir: Vault, fixed: Fixed, text: str) -> None:
    fixed.fake_age()
    path = vault_dir.root / "plain.yaml"
    path.write_text(text)
    loc = vault.locate(path)
    pol = vault.load_policy_for(loc)
    assert encrypt_yaml(text.encode(), str(path), pol, vault.rule_for(pol, loc), None) is None


def test_rule_with_selection_or_schema_is_refused(vault_dir: Vault, fixed: Fixed) -> None:
    fixed.fake_age()
    policy = vault_dir.root / ".gitvault.yaml"
    base = policy.read_text()
    (vault_dir.root / "schema.json").write_text('{"type": "object"}')
    for extra in ("    schema: schema.json\n", '    encrypted_regex: "^pass"\n'):
        policy.write_text(base + extra)
        fast, general = both(fixed, vault_dir, PLAIN)
        assert fast is None
        assert general.startswith(b"db:\n")


def test_cli_encrypt_takes_the_fused_pass(
    vault_dir: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = fused.encrypt_yaml

    def spy(*args: object) -> object:
        out = real(*args)  # type: ignore[arg-type]
        calls.append(out)
        return out

    monkeypatch.setattr(fused, "encrypt_yaml", spy)
    src = vault_dir.root / "app.yaml"
    src.write_text(PLAIN)
    result = run_cli(["encrypt", str(src)])
    assert result.code == 0
    assert calls and calls[0] is not None and result.stdout == calls[0].decode()  # type: ignore[union-attr]
    assert src.read_text() == PLAIN  # stdout only: the plaintext file is untouched


def test_input_errors_keep_their_messages(vault_dir: Vault, tmp_path: Path) -> None:
    bad = vault_dir.root / "bad.yaml"
    bad.write_bytes(b"a: \xff\n")
    result = run_cli(["encrypt", str(bad)])
    assert result.code == 5 and "not UTF-8" in result.stderr
    top = vault_dir.root / "top.yaml"
    top.write_text("sops: x\n")
    result = run_cli(["encrypt", str(top)])
    assert result.code == 5 and "already has a top-level 'sops' key" in result.stderr
