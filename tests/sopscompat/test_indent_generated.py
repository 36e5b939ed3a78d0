"""Generated documents under a non-default ``.sops.yaml`` indent, against the real sops.

For each document sops (3.11 here) encrypts it under ``stores.yaml.indent: N``;
gitvault, told the same indent by the same ``.sops.yaml``, must rewrite the
file line for line (no churn; ciphertexts aside, which the no-churn test
covers).
"""

from __future__ import annotations

import re

import pyrage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitvault import sopsconfig
from gitvault.sops import file as sopsfile
from tests.compat.sopsenv import AgeKey, make_key, run_sops
from tests.compat.test_sops_interop import _accepted_by_gitvault, document_text


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> AgeKey:
    return make_key(tmp_path_factory.mktemp("indentkey"))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=document_text(), indent=st.sampled_from([2, 3, 6]))
def test_rewrite_under_indent_is_byte_identical(
    text: str, indent: int, key: AgeKey, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not _accepted_by_gitvault(text):
        return  # covered by the interop test: sops refuses those too
    work = tmp_path_factory.mktemp("indent")
    (work / ".sops.yaml").write_text(f"stores:\n  yaml:\n    indent: {indent}\n")
    (work / "p.yaml").write_text(text)
    enc = run_sops(["encrypt", "--age", key.public, "p.yaml"], key, cwd=work).stdout
    assert sopsconfig.yaml_indent(cwd=work) == indent
    ident = pyrage.x25519.Identity.from_str(key.secret)
    plain = sopsfile.open_file(sopsfile.parse_vault(enc, "v"), [ident], record_ivs=True)
    again = sopsfile.reencrypt(
        plain.documents, plain, lastmodified=plain.meta.lastmodified, indent=indent
    )
    # Layout only: two equal comments under one path share a ciphertext after a
    # rewrite (the IV stash is keyed by plaintext and path), which is not about indent.
    if _shape(again.decode()) != _shape(enc.decode()):
        # sops is not always stable itself: a comment right after a list dash
        # ("- # c") is written before the dash, where sops's next read (and ours)
        # files it under the list. Then gitvault must match sops's second write.
        (work / "e.yaml").write_bytes(enc)
        view = run_sops(["decrypt", "e.yaml"], key, cwd=work).stdout
        (work / "p2.yaml").write_bytes(view)
        redo = run_sops(["encrypt", "--age", key.public, "p2.yaml"], key, cwd=work, check=False)
        if redo.returncode != 0:
            # sops 3.11 printed YAML it cannot read itself (comments after a list
            # dash): no fixed point to match; ours must still open in sops.
            (work / "g.yaml").write_bytes(again)
            run_sops(["decrypt", "g.yaml"], key, cwd=work)
            return
        second = redo.stdout
        assert _body(second) != _body(enc)
        assert _body(again) == _body(second)


def _body(data: bytes) -> str:
    """The documents without the ``sops:`` block (another data key, another time)."""
    out, skipping = [], False
    for line in _shape(data.decode()).splitlines():
        if line == "sops:":
            skipping = True
        elif skipping and not line.startswith(" "):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out)


def _shape(text: str) -> str:
    return re.sub(r"ENC\[AES256_GCM,[^\]]*\]", "ENC[…]", text)
