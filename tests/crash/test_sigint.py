"""Ctrl-C while gitvault starts: exit 130 with one line, never a Python traceback."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.crash.conftest import SEED


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if os.environ.get("GITVAULT_CRASH_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["GITVAULT_CRASH_PYTHONPATH"]
    return env


def test_interrupt_while_the_cli_is_imported(tmp_path: Path) -> None:
    """SIGINT after the entry module loaded, before main() runs (importing click, commands)."""
    code = (
        "import os, signal, gitvault.__main__ as m\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "import time; time.sleep(5)\n"
        "m.run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, check=False
    )
    assert proc.returncode == 130
    assert proc.stderr == b"gitvault: error: interrupted\n"


def test_interrupts_at_random_moments_of_start_up(tmp_path: Path) -> None:
    """Whatever Python itself prints before our first line runs is not ours to fix; once
    gitvault's code runs, an interrupt is one line and exit 130."""
    rng = random.Random(SEED)
    ours = 0
    for _ in range(40):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitvault", "--help"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.02, 0.25))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
        text = err.decode(errors="replace")
        assert "gitvault" + os.sep not in text.replace("gitvault: error", ""), text
        if "gitvault: error: interrupted" in text:
            ours += 1
            assert "Traceback" not in text, text
            # (click ends the terminal's "^C" line with a newline first)
            assert text.strip() == "gitvault: error: interrupted", text
            # 130 from our exit; rarely the interpreter re-raises the signal at exit (-2)
            assert proc.returncode in (130, -signal.SIGINT), proc.returncode
    assert ours > 0  # some interrupts did land in our code
