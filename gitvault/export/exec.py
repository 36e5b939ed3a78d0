"""``gitvault exec``: run a child with the values in its environment only.

The values reach the child as environment variables (never arguments, never
our stdout). With ``files=True`` each value is also written to a 0600 file
``NAME`` in a private 0700 directory and its path passed as ``NAME_FILE``, for
programs that read secrets from files. The directory comes from
:func:`gitvault.fsutil.private_dir`, the one mechanism gitvault uses for
plaintext on disk (``edit`` uses it too): on tmpfs (``$XDG_RUNTIME_DIR`` or
``/dev/shm``) when there is one, never in the work tree or the system temp
directory; removed when the child ends, whatever the reason; and a directory
left by a run that was killed (SIGKILL, power loss) is removed by the next run.

The identity variables (``GITVAULT_AGE_KEY``, ``SOPS_AGE_KEY``, …) are removed
from the child's environment: the child gets the values, not the key to every
other file the identity can read.

SIGTERM, SIGINT and SIGHUP received while the child runs are forwarded to it
and we keep waiting, so the child decides how to stop and its exit code is
ours; a child that died of signal N gives 128 + N, like a shell.

Sizes are checked before the child is started (:func:`check_sizes`): Linux
refuses one ``NAME=value`` string over 128 KiB (``MAX_ARG_STRLEN``) and a whole
argument list plus environment over ``ARG_MAX`` with ``E2BIG``; either becomes
one line naming the key and exit 5 instead of a traceback.

This module must never print or log a value; the only output of ``exec`` is
the child's own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from gitvault import fsutil
from gitvault.errors import BadInput
from gitvault.export.model import Variable, require_env_safe
from gitvault.identities import IDENTITY_VARIABLES

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
FILE_SUFFIX = "_FILE"
# Linux's MAX_ARG_STRLEN (32 pages of 4 KiB): the longest single argv/envp string.
MAX_ENTRY_BYTES = 32 * 4096
# What execve needs beside the strings: one pointer per entry, and some headroom
# for the auxiliary vector and the file name the kernel copies onto the stack.
_POINTER = 8
_HEADROOM = 8 * 1024


def _arg_max() -> int:
    """The system's limit on argv + envp (``sysconf(ARG_MAX)``), 2 MiB if unknown."""
    try:
        value = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError):
        value = -1
    return value if value > 0 else 2 * 1024 * 1024


def _entry_size(name: str, text: str) -> int:
    return (
        len(name.encode("utf-8", "surrogatepass")) + len(text.encode("utf-8", "surrogatepass")) + 2
    )


def check_sizes(
    argv: Sequence[str], variables: Sequence[Variable], base: Mapping[str, str]
) -> None:
    """Raise :class:`BadInput` when the child's environment cannot be passed to ``execve``.

    One value too long for an environment variable is named (file and key,
    never the value); a total over the system's ``ARG_MAX`` names the largest
    values, so the user knows what to move to a file.
    """
    hint = "write large values to a file instead: gitvault export PATH -f json -o FILE"
    for variable in variables:
        size = _entry_size(variable.name, variable.text)
        if size > MAX_ENTRY_BYTES:
            raise BadInput(
                f"{variable.origin} is {size // 1024} KiB; one environment variable holds "
                f"at most {MAX_ENTRY_BYTES // 1024} KiB",
                hint=hint,
            )
    env = child_environment(base, variables, {})
    total = sum(_entry_size(k, v) + _POINTER for k, v in env.items())
    # --files adds one short path per value; count it generously.
    total += sum(len(v.name) + len(FILE_SUFFIX) + 256 for v in variables)
    total += sum(len(a.encode("utf-8", "surrogatepass")) + 1 + _POINTER for a in argv)
    limit = _arg_max() - _HEADROOM
    if total > limit:
        largest = sorted(variables, key=lambda v: -len(v.text))[:3]
        raise BadInput(
            f"the command's environment would be {total // 1024} KiB, over the system's "
            f"{limit // 1024} KiB; largest values: " + ", ".join(v.origin for v in largest),
            hint=hint,
        )


def write_value_files(directory: Path, variables: Sequence[Variable]) -> dict[str, str]:
    """Write each value to ``directory/NAME`` (0600, exclusive); return ``NAME_FILE`` vars."""
    paths: dict[str, str] = {}
    for variable in variables:
        path = directory / variable.name
        fsutil.write_private(path, variable.text.encode("utf-8", "surrogatepass"))
        paths[variable.name + FILE_SUFFIX] = str(path)
    return paths


def check_file_names(variables: Sequence[Variable]) -> None:
    """Raise :class:`BadInput` if some ``NAME_FILE`` would shadow an exported name."""
    names = {v.name: v for v in variables}
    for variable in variables:
        other = names.get(variable.name + FILE_SUFFIX)
        if other is not None:
            raise BadInput(
                f"variable {other.name} comes from both {other.origin} and the "
                f"--files path of {variable.origin}",
                hint="rename one key, or run without --files",
            )


def child_environment(
    base: Mapping[str, str], variables: Sequence[Variable], files: Mapping[str, str]
) -> dict[str, str]:
    """``base`` without identity variables, plus the values and ``NAME_FILE`` paths."""
    env = {k: v for k, v in base.items() if k not in IDENTITY_VARIABLES}
    env.update({v.name: v.text for v in variables})
    env.update(files)
    return env


def exit_status(returncode: int) -> int:
    """A shell-style status: the child's code, or 128 + N when signal N killed it."""
    return 128 - returncode if returncode < 0 else returncode


def run_child(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Start ``argv`` with ``env``, forward signals until it ends, return its status.

    Raises FileNotFoundError / PermissionError when ``argv[0]`` cannot be run.
    """
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)  # arrived before the child existed
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        try:
            child = subprocess.Popen(list(argv), env=dict(env))
        except OSError as exc:
            if exc.errno != errno.E2BIG:
                raise
            # check_sizes estimates; the kernel has the last word. Still one line, exit 5.
            raise BadInput(
                "the command's arguments and environment are too large for the system"
            ) from None
        for signum in pending:
            child.send_signal(signum)
        while True:
            try:
                return exit_status(child.wait())
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(
    argv: Sequence[str],
    variables: Sequence[Variable],
    *,
    files: bool = False,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``argv`` with ``variables`` in its environment; return its exit status."""
    if not argv:
        raise BadInput("no command to run", hint="gitvault exec PATH… -- CMD…")
    require_env_safe(variables)
    base_env = os.environ if environ is None else environ
    check_sizes(argv, variables, base_env)
    if not files:
        return run_child(argv, child_environment(base_env, variables, {}))
    check_file_names(variables)
    with fsutil.private_dir() as directory:
        paths = write_value_files(directory, variables)
        return run_child(argv, child_environment(base_env, variables, paths))
