"""A team working on one vault with real git: the harness of the lifecycle scenario.

People (alice, bob, carol) and CI identities each have their own HOME, git
identity (``user.name``/``user.email``) and age key, made by ``gitvault keygen``
in that HOME exactly as the README shows. Their clones of one bare origin run
real git: ``push``, ``pull`` with merges, and the drivers and pre-commit hook
that ``gitvault init`` installs. git runs those as ``gitvault …`` and
``python -m gitvault``; a wrapper on PATH and ``PYTHONPATH`` make both run
*this* checkout.

Every command is run with that person's whole environment, never the test
process's, so a step cannot pass by borrowing someone else's key or git name.

Failures name the step. By default the first failed expectation of a step stops
it (the strict form the suite runs). With ``GITVAULT_SCENARIO_CONTINUE=1`` a step
records every failed expectation, carries on, and fails at its end with the
whole list; ``GITVAULT_SCENARIO_TRANSCRIPT=FILE`` appends every command, its
exit code and its stderr to FILE. Both are for reading a broken run, not for CI.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import Result, run_cli

ROOT = Path(__file__).resolve().parents[2]
UNCAUGHT = -1  # the exit code recorded for an exception that escaped the CLI
CONTINUE_VAR = "GITVAULT_SCENARIO_CONTINUE"
TRANSCRIPT_VAR = "GITVAULT_SCENARIO_TRANSCRIPT"

# Variables that would let a command find an identity, an editor or a config
# other than the one the step means: always unset, then set per person.
_UNSET = (
    "GITVAULT_AGE_KEY",
    "GITVAULT_AGE_KEY_FILE",
    "SOPS_AGE_KEY",
    "SOPS_AGE_KEY_FILE",
    "SOPS_AGE_KEY_CMD",
    "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    "SOPS_AGE_RECIPIENTS",
    "VISUAL",
    "EDITOR",
    "GITHUB_ACTIONS",
    "GITVAULT_DEBUG",
    "XDG_CONFIG_HOME",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_DATE",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GITVAULT_AUDIT_LOG",
)

# Review finding kinds that mean "the vault is not what its members wrote" or
# "something is broken": none may appear after an ordinary step. Access
# expansions, unsigned commits and overdue keys are expected in a team that
# adds people and does not sign.
TRUST_KINDS = frozenset(
    {
        "leak",
        "plaintext",
        "recipients",
        "freshness",
        "rollback",
        "substitution",
        "bad-signature",
        "trailer-mismatch",
        "mac",
        "schema",
    }
)

# Log events that mean "this commit changed the key's value or existence":
# a clean merge must never carry one (the change belongs to the side's commit).
VALUE_EVENTS = frozenset({"added", "rotated", "removed"})

EDITOR_SCRIPT = """\
import json, os, sys
# A scripted editor: SCENARIO_EDIT is {"write": TEXT} or {"replace": [[OLD, NEW], ...]}.
spec = json.loads(os.environ["SCENARIO_EDIT"])
path = sys.argv[-1]
if "write" in spec:
    text = spec["write"]
else:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for old, new in spec["replace"]:
        if old not in text:
            sys.exit("scenario editor: %r not in the buffer" % old)
        text = text.replace(old, new)
with open(path, "w", encoding="utf-8") as handle:
    handle.write(text)
"""


def is_note(text: str) -> bool:
    """A verdict issue 9 allows as a note, not a failure: a writer the checks cannot identify.

    ("the checks judge by what can be known and say 'unverified writer' as a
    note, not a failure"): a team that signs nothing and records no e-mails
    still gets a quiet gate.
    """
    return "unverified writer" in text.lower()


@dataclass
class Person:
    """Someone (or some CI job) with a HOME, a git identity and an age identity."""

    name: str  # the name the policy gives them
    full_name: str
    email: str
    home: Path
    bin_dir: Path
    public: str = ""
    ci_key: Path | None = None  # CI: the key travels in GITVAULT_AGE_KEY, not in HOME

    @property
    def key_file(self) -> Path:
        return self.ci_key or self.home / ".config" / "gitvault" / "keys.txt"

    def env(self) -> dict[str, str | None]:
        """The whole environment this person's commands run with (None = unset)."""
        env: dict[str, str | None] = {var: None for var in _UNSET}
        pythonpath = os.environ.get("PYTHONPATH")
        env.update(
            HOME=str(self.home),
            GIT_CONFIG_GLOBAL=str(self.home / ".gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            PATH=f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONPATH=f"{ROOT}{os.pathsep}{pythonpath}" if pythonpath else str(ROOT),
        )
        if self.ci_key is not None:
            env["GITVAULT_AGE_KEY"] = self.ci_key.read_text(encoding="utf-8")
        return env


@dataclass
class Clone:
    """One person's clone of the origin."""

    who: Person
    path: Path

    def gv(
        self, *args: str, input: str | None = None, extra: Mapping[str, str] | None = None
    ) -> Result:
        env = self.who.env()
        env.update(extra or {})
        try:
            return run_cli(list(args), input=input, env=env, cwd=self.path)
        except Exception:  # escaped the CLI's error mapping: what a user sees as a traceback
            return Result(
                UNCAUGHT, "", "Traceback (in-process):\n" + traceback.format_exc(limit=-3)
            )

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a real process in the clone with the owner's environment."""
        env = dict(os.environ)
        for key, value in self.who.env().items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return subprocess.run(
            argv, cwd=self.path, env=env, text=True, capture_output=True, check=False
        )

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["git", *args])

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def show(self, spec: str) -> str:
        return self.git("show", spec).stdout


def short(text: str, lines: int = 12) -> str:
    """The first lines of a command's output, for a failure message."""
    kept = text.strip().splitlines()
    more = f"\n    … ({len(kept) - lines} more lines)" if len(kept) > lines else ""
    return "\n".join("    " + line for line in kept[:lines]) + more


class StepFailed(AssertionError):
    """A step's expectations did not hold."""


class Step:
    """One labelled step: runs commands and checks expectations, naming the step."""

    def __init__(self, scenario: Scenario, label: str) -> None:
        self.scenario = scenario
        self.label = label
        self.failures: list[str] = []
        self.keep_going = os.environ.get(CONTINUE_VAR) == "1"

    # -- expectations ---------------------------------------------------------

    def fail(self, message: str) -> None:
        text = f"[step {self.label}] {message}"
        self.scenario.transcribe(f"  FAIL {message.splitlines()[0]}")
        if not self.keep_going:
            raise StepFailed(text)
        self.failures.append(text)

    def check(self, condition: object, message: str) -> bool:
        if not condition:
            self.fail(message)
        return bool(condition)

    # -- commands -------------------------------------------------------------

    def gv(
        self,
        clone: Clone,
        *args: str,
        expect: int | None = 0,
        input: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Result:
        """Run ``gitvault ARGS`` as the clone's owner; check the exit code when given."""
        started = time.monotonic()
        result = clone.gv(*args, input=input, extra=extra)
        took = time.monotonic() - started
        command = f"{clone.who.name}$ gitvault {' '.join(args)}"
        self.scenario.transcribe(f"{command}  -> exit {result.code} ({took:.1f} s)", result.stderr)
        self.check(
            "Traceback" not in result.output,
            f"{command} printed a traceback:\n{short(result.output, 30)}",
        )
        if expect is not None:
            self.check(
                result.code == expect,
                f"{command} exited {result.code}, expected {expect}:\n{short(result.output)}",
            )
        return result

    def gv_process(
        self, clone: Clone, *args: str, expect: int | None = 0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m gitvault ARGS`` as a real process (for ``exec``'s child output)."""
        proc = clone.run([sys.executable, "-m", "gitvault", *args])
        command = f"{clone.who.name}$ gitvault {' '.join(args)}"
        self.scenario.transcribe(f"{command}  -> exit {proc.returncode}", proc.stderr)
        self.check(
            "Traceback" not in proc.stderr,
            f"{command} printed a traceback:\n{short(proc.stderr, 30)}",
        )
        if expect is not None:
            self.check(
                proc.returncode == expect,
                f"{command} exited {proc.returncode}, expected {expect}:\n{short(proc.stderr)}",
            )
        return proc

    def git(
        self, clone: Clone, *args: str, expect: int | None = 0
    ) -> subprocess.CompletedProcess[str]:
        proc = clone.git(*args)
        command = f"{clone.who.name}$ git {' '.join(args)}"
        self.scenario.transcribe(f"{command}  -> exit {proc.returncode}", proc.stderr)
        self.check(
            "Traceback" not in proc.stdout + proc.stderr,
            f"{command} printed a traceback (from a hook or driver):\n"
            f"{short(proc.stdout + proc.stderr, 30)}",
        )
        if expect is not None:
            self.check(
                proc.returncode == expect,
                f"{command} exited {proc.returncode}, expected {expect}:\n"
                f"{short(proc.stdout + proc.stderr)}",
            )
        return proc

    def json_of(self, result: Result, command: str) -> dict[str, Any]:
        try:
            data = json.loads(result.stdout)
        except ValueError:
            self.fail(
                f"{command}: stdout is not JSON (exit {result.code}):\n{short(result.output)}"
            )
            return {}
        if not isinstance(data, dict):
            self.fail(f"{command}: JSON is not an object")
            return {}
        return data

    # -- the checks after every step -------------------------------------------

    def clean_tree(self, clone: Clone) -> None:
        status = clone.git("status", "--porcelain").stdout
        self.check(
            status == "",
            f"{clone.who.name}'s work tree is not clean after the step:\n{short(status)}",
        )

    def verify_clean(self, clone: Clone, *paths: str) -> None:
        """``verify`` with the clone owner's identity: exit 0, no finding, every MAC checked."""
        result = self.gv(clone, "verify", "--json", *paths, expect=None)
        command = f"{clone.who.name}$ gitvault verify --json {' '.join(paths)}".rstrip()
        data = self.json_of(result, command)
        found: list[str] = []
        for report in data.get("files", []):
            name = report.get("file")
            found += [f"{name}: problem: {p}" for p in report.get("problems", [])]
            found += [
                f"{name}: warning: {w}" for w in report.get("warnings", []) if not is_note(str(w))
            ]
            mac = report.get("checks", {}).get("mac")
            if mac != "ok":
                found.append(f"{name}: mac: {mac}")
        history = data.get("history") or {}
        found += [f"history problem: {p}" for p in history.get("problems", [])]
        found += [
            f"history finding: {f.get('kind')} {f.get('file')} @ {str(f.get('commit'))[:12]}: "
            f"{f.get('reason')}"
            for f in history.get("findings", [])
            if not is_note(f"{f.get('kind')} {f.get('reason')}")
        ]
        if not data.get("files"):
            found.append("no vault file was checked")
        self.check(
            result.code == 0 and not found,
            f"{command} exited {result.code} with findings:\n"
            f"{short(chr(10).join(found) or result.stderr, 20)}\n  stderr:\n{short(result.stderr, 4)}",
        )

    def review_clean(self, clone: Clone, base: str) -> dict[str, Any]:
        """``review BASE..HEAD``: exit 0 and no trust finding."""
        head = clone.head()
        result = self.gv(clone, "review", f"{base}..{head}", "--json", expect=None)
        command = f"{clone.who.name}$ gitvault review {base[:12]}..{head[:12]}"
        data = self.json_of(result, command)
        bad = [
            f"{f.get('kind')}: {f.get('message')}"
            for f in data.get("findings", [])
            if f.get("fails")
            or (f.get("kind") in TRUST_KINDS and not is_note(str(f.get("message"))))
        ]
        self.check(
            result.code == 0 and not bad,
            f"{command} exited {result.code} with trust findings:\n"
            f"{short(chr(10).join(bad) or result.stderr, 20)}",
        )
        return data

    def log_clean(self, clone: Clone) -> dict[str, Any]:
        """``log``: exit 0, nothing unreadable, every commit's trailers agree."""
        result = self.gv(clone, "log", "--json", expect=None)
        command = f"{clone.who.name}$ gitvault log --json"
        data = self.json_of(result, command)
        bad = [f"unreadable: {p}" for p in data.get("problems", [])]
        for commit in data.get("commits", []):
            bad += [f"{commit.get('commit', '')[:12]} {p}" for p in commit.get("problems", [])]
        self.check(
            result.code == 0 and not bad and "error" not in result.stderr,
            f"{command} exited {result.code} and reports problems:\n"
            f"{short(chr(10).join(bad) or result.stderr, 20)}",
        )
        return data

    def after(self, clone: Clone, base: str, *paths: str, committed: bool = True) -> dict[str, Any]:
        """verify, review base..HEAD, log, and a clean tree; returns the log."""
        self.verify_clean(clone, *paths)
        self.review_clean(clone, base)
        log = self.log_clean(clone)
        if committed:
            self.clean_tree(clone)
        return log

    # -- attribution -------------------------------------------------------------

    def expect_event(
        self,
        log: Mapping[str, Any],
        *,
        file: str,
        key: str | None,
        kind: str,
        by: Person,
        commits: Iterable[str] | None = None,
    ) -> None:
        """The log shows ``kind`` for ``file:key`` by ``by`` (in one of ``commits``)."""
        wanted = set(commits) if commits is not None else None
        events = [
            e
            for e in log.get("events", [])
            if e.get("file") == file
            and e.get("key") == key
            and (wanted is None or e.get("commit") in wanted)
        ]
        good = [e for e in events if e.get("kind") == kind and e.get("author_email") == by.email]
        seen = ", ".join(
            f"{e.get('kind')} by {e.get('author_email')} @ {str(e.get('commit'))[:12]}"
            for e in events
        )
        self.check(
            good,
            f"log: expected {kind} of {file}:{key} by {by.email}; saw: {seen or 'no event'}",
        )

    def no_value_events_in(
        self, log: Mapping[str, Any], clone: Clone, commit: str, why: str
    ) -> None:
        """No added/rotated/removed event is recorded for the merge ``commit``.

        Skipped (the step has already failed) when ``commit`` is not a merge.
        """
        if len(clone.git("rev-list", "--parents", "-n", "1", commit).stdout.split()) < 3:
            return
        events = [
            f"{e.get('kind')} {e.get('file')}:{e.get('key')} by {e.get('author_email')}"
            for e in log.get("events", [])
            if e.get("commit") == commit and e.get("kind") in VALUE_EVENTS
        ]
        self.check(not events, f"log: {why} {commit[:12]} is recorded as: {'; '.join(events)}")

    def no_rotation_in(self, log: Mapping[str, Any], commit: str, why: str) -> None:
        """A re-key commit shows ``rekeyed``, never ``rotated``."""
        events = [
            f"{e.get('file')}:{e.get('key')}"
            for e in log.get("events", [])
            if e.get("commit") == commit and e.get("kind") == "rotated"
        ]
        self.check(not events, f"log: {why} {commit[:12]} is recorded as rotating {events}")


@dataclass
class Scenario:
    """The team, its clones and the state the steps hand to each other."""

    base: Path
    origin: Path
    bin_dir: Path
    editor: Path
    people: dict[str, Person] = field(default_factory=dict)
    clones: dict[str, Clone] = field(default_factory=dict)
    ci: dict[str, Person] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)
    marks: dict[str, str] = field(default_factory=dict)  # commit ids the steps remember

    def transcribe(self, line: str, stderr: str = "") -> None:
        target = os.environ.get(TRANSCRIPT_VAR)
        if not target:
            return
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            for err in stderr.strip().splitlines()[:8]:
                handle.write(f"      | {err}\n")

    @contextmanager
    def step(self, label: str, after: str | None) -> Iterator[Step]:
        """Run one step; ``after`` is the step that must have run before in this process."""
        if after is not None and after not in self.done:
            raise StepFailed(
                f"[step {label}] needs step {after!r} to have run first in this process "
                "(run tests/scenarios/test_lifecycle.py as a whole, in order, without xdist)"
            )
        self.transcribe(f"\n=== step {label}")
        step = Step(self, label)
        try:
            yield step
        except StepFailed:
            raise
        except Exception as exc:  # a later expectation broke on an earlier failure's state
            if step.failures:
                raise StepFailed("\n".join([*step.failures, f"then: {exc!r}"])) from exc
            raise
        finally:
            self.done.append(label)
        if step.failures:
            raise StepFailed("\n".join(step.failures))

    def person(self, name: str, full_name: str) -> Person:
        home = self.base / "home" / name
        home.mkdir(parents=True)
        (home / ".gitconfig").write_text(
            f"[user]\n\tname = {full_name}\n\temail = {name}@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n"
            "[commit]\n\tgpgsign = false\n"
            "[pull]\n\trebase = false\n"
            "[advice]\n\tdetachedHead = false\n",
            encoding="utf-8",
        )
        who = Person(name, full_name, f"{name}@example.invalid", home, self.bin_dir)
        self.people[name] = who
        return who

    def edit_env(self, spec: Mapping[str, Any]) -> dict[str, str]:
        """Environment for ``gitvault edit`` with the scripted editor doing ``spec``."""
        return {
            "EDITOR": f"{sys.executable} {self.editor}",
            "SCENARIO_EDIT": json.dumps(spec),
        }


def make_scenario(base: Path) -> Scenario:
    """An empty bare origin, the gitvault wrapper and the scripted editor under ``base``."""
    bin_dir = base / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "gitvault"
    wrapper.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" '
        f'exec "{sys.executable}" -m gitvault "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    editor = base / "editor.py"
    editor.write_text(EDITOR_SCRIPT, encoding="utf-8")
    origin = base / "origin.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(origin)],
        check=True,
        capture_output=True,
    )
    return Scenario(base=base, origin=origin, bin_dir=bin_dir, editor=editor)


def public_key(key_file: Path) -> str:
    """The ``# public key:`` line of an age key file."""
    for line in key_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("# public key: "):
            return line.removeprefix("# public key: ").strip()
    raise AssertionError(f"{key_file}: no public key line")
