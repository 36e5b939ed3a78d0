"""The YAML path stays as lean as before: decrypting a YAML file imports no other store."""

from __future__ import annotations

import subprocess
import sys

from tests.formats.conftest import FormatVault


def _imported(fv: FormatVault, name: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gitvault", "decrypt", f"secrets/{name}"],
        cwd=fv.root,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-500:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_yaml_decrypt_imports_no_other_store(fvault: FormatVault) -> None:
    fvault.gv_encrypt("app.yaml", b"a: 1\nb: hello\n")
    mods = _imported(fvault, "app.yaml")
    assert "gitvault.sops.value" in mods  # the measurement works (the fused pass skips sops.file)
    assert not {m for m in mods if m.startswith("gitvault.sops.stores")}, sorted(mods)


def test_json_decrypt_imports_only_its_store(fvault: FormatVault) -> None:
    fvault.gv_encrypt("app.json", b'{"a": 1}')
    mods = _imported(fvault, "app.json")
    assert "gitvault.sops.stores.json" in mods
    assert "gitvault.sops.stores.dotenv" not in mods and "gitvault.sops.stores.ini" not in mods
