"""The one exception tree of gitvault and the one table of exit codes.

Every failure the user can cause or meet is a :class:`GitvaultError` subclass that
carries its exit code and an optional hint. The CLI entry point is the only place
that turns them into ``gitvault: error: …`` lines and process exit codes.

This module must never import anything from the rest of the package, and no
message built here may contain a secret value: callers pass key paths, file
names and counts, never plaintext.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes (DESIGN §5). The README documents this same table."""

    OK = 0
    CHECK_FAILED = 1  # findings, overdue keys, verify/review failures, hook blocked
    USAGE = 2  # bad command line
    ACCESS_DENIED = 3  # no identity can decrypt
    INTEGRITY = 4  # MAC mismatch, tampered or malformed ciphertext
    BAD_INPUT = 5  # malformed YAML, invalid policy, not a vault file, path outside repo
    GIT = 6  # git failed or the repository is in a state we refuse to work in
    ROTATION_FAILED = 7  # apply/verify (agent: notify/health) failed and was rolled back
    INTERRUPTED = 130  # Ctrl-C / SIGTERM


class GitvaultError(Exception):
    """Base of every error gitvault reports to the user.

    ``message`` is one line, lowercase, no trailing period, never a secret.
    ``hint`` optionally says what to do next.
    """

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class CheckFailed(GitvaultError):
    """A check ran and found problems (verify, due --fail, scan findings, hooks)."""

    exit_code = ExitCode.CHECK_FAILED


class UsageError(GitvaultError):
    """The command line is wrong in a way click itself could not tell."""

    exit_code = ExitCode.USAGE


class AccessDenied(GitvaultError):
    """No available identity can unwrap the data key of a file."""

    exit_code = ExitCode.ACCESS_DENIED


class IntegrityError(GitvaultError):
    """A MAC mismatch, tampered ciphertext or malformed encrypted value.

    Deliberately uninformative about *which* byte was wrong: every integrity
    failure of a value looks the same from outside.
    """

    exit_code = ExitCode.INTEGRITY


class BadInput(GitvaultError):
    """Malformed YAML, an invalid policy, a file that is not a vault file, a bad path."""

    exit_code = ExitCode.BAD_INPUT


class GitError(GitvaultError):
    """git failed, or the repository is in a state gitvault will not write to."""

    exit_code = ExitCode.GIT


class RotationFailed(GitvaultError):
    """An apply/verify command failed; what could be rolled back was rolled back."""

    exit_code = ExitCode.ROTATION_FAILED


class Interrupted(GitvaultError):
    """The user pressed Ctrl-C or the process received SIGTERM."""

    exit_code = ExitCode.INTERRUPTED
