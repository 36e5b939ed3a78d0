"""Run ``gitvault ARGS`` once a start file appears: a barrier for racing real processes.

    python -m tests.concurrency.launch START_FILE DELAY ARGS...

Everything a writing command needs is imported *before* the barrier (the
interpreter, click, YAML, age, AES-GCM, gitvault's modules), so processes
released together race in the part that matters: read, decrypt, change,
write, commit. The process announces that it is ready by creating
``START_FILE.ready.PID``, then polls for ``START_FILE``, sleeps DELAY seconds
(so a test can sweep one racer's start across the other's critical window),
and from then on it is exactly ``python -m gitvault ARGS``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

_PRELOAD = (
    "click",
    "yaml",
    "pyrage",
    "gitvault.cli.root",
    "gitvault.cli.files",
    "gitvault.cli.team",
    "gitvault.vault",
    "gitvault.sops.file",
    "gitvault.crypto.envelope",
    "gitvault.identities",
    "gitvault.policy",
    "gitvault.team.rekey",
)


def main() -> None:
    start = Path(sys.argv[1])
    delay = float(sys.argv[2])
    args = sys.argv[3:]
    for name in _PRELOAD:
        importlib.import_module(name)
    from gitvault.cli import main as gitvault_main

    Path(f"{start}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not start.exists():
        if time.monotonic() > deadline:
            sys.exit(99)
        time.sleep(0.0005)
    if delay:
        time.sleep(delay)
    gitvault_main(args)


if __name__ == "__main__":
    main()
