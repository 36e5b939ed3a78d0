"""Test helpers: run the CLI in-process through the real entry point (error mapping included)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from gitvault.cli import main


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    args: list[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
) -> Result:
    """Call ``gitvault ARGS`` in-process; returns exit code, stdout and stderr."""
    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        with runner.isolation(input=input, env=env) as (out, err, _):
            code = 0
            try:
                main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
            return Result(
                code,
                out.getvalue().decode("utf-8", "replace"),
                err.getvalue().decode("utf-8", "replace"),
            )
    finally:
        os.chdir(old)


def run_subprocess(
    args: list[str], *, cwd: Path, input: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m gitvault ARGS`` as a real process."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gitvault", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=full_env,
        check=False,
    )
