"""Allow ``python -m gitvault``; :func:`run` is also the ``gitvault`` console script.

A Ctrl-C while Python is still importing gitvault must not print a traceback:
until :func:`gitvault.cli.main` takes SIGINT over (and turns it into the usual
``KeyboardInterrupt``, so every ``finally`` runs), an interrupt ends the
process with the same one line and exit code 130 as an interrupted command.
Nothing needs cleaning up at that point: no file has been touched yet.
"""

import os
import signal
from types import FrameType


def _early_interrupt(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"gitvault: error: interrupted\n")
    os._exit(130)


# Only when SIGINT has its default meaning: a parent that ignores it (nohup, a
# background job) keeps it ignored.
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _early_interrupt)


def run() -> None:
    """The console entry point: import the CLI under the early handler, then run it."""
    from gitvault.cli import main

    main()


if __name__ == "__main__":
    run()
