"""The README's first command runs examples/quickstart.sh: it must keep working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(
        ["sh", str(ROOT / "examples" / "quickstart.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for step in (
        "1. keygen",
        "2. init",
        "3. encrypt",
        "4. edit",
        "5. CI decrypts",
        "6. verify",
        "7. sops",
    ):
        assert step in out
    # CI's identity reads production; the development identity is refused.
    assert "rotated-by-alice" in out
    assert "none of your identities can decrypt" in out
    # sops printed the same document
    assert out.count("password: rotated-by-alice") >= 1
    assert list(tmp_path.iterdir()) == []  # the throwaway directory was removed
