"""Allow ``python -m gitvault``; :func:`run` is also the ``gitvault`` console script.

A Ctrl-C while Python is still importing gitvault must not print a traceback:
until :func:`gitvault.cli.main` takes SIGINT over (and turns it into the usual
``KeyboardInterrupt``, so every ``finally`` runs), an interrupt ends the
process with the same one line and exit code 130 as an interrupted command.
Nothing needs cleaning up at that point: no file has been touched yet.
"""

# `_signal` and `os` are loaded by the interpreter's own
# start-up, so these imports leave no window where Python code runs unguarded.
import _signal
import os


def _early_interrupt(signum: int, frame: object) -> None:
    os.write(2, b"gitvault: error: interrupted\n")
    os._exit(130)


# Only when SIGINT has its default meaning: a parent that ignores it (nohup, a
# background job) keeps it ignored.
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _early_interrupt)


def run() -> None:
    """The console entry point: import the CLI under the early handler, then run it."""
    from gitvault.cli import main

    main(exit_now=True)


if __name__ == "__main__":
    run()
