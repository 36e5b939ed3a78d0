"""Crash injection: run the real CLI as a process and SIGKILL it at random moments.

Each test drives one command many times (a fixed seed, so a failure replays),
kills it after a random delay, and then checks what a crash must never break:

- every vault file is a whole version, old or new: it decrypts with its MAC;
- a value an external system holds is never lost: the fake "external system"
  (a directory the apply script writes, atomically) holds a value that is in
  the file, or in the journal ``gitvault recover`` works from;
- no plaintext is left anywhere in the work tree, the journal directory or the
  temp directory after the next run;
- the next run works (``gitvault recover``, then the command again).

Delays are spread over the length of one whole, unkilled run, measured first;
a slow pre-commit hook and slow apply/verify scripts widen the windows that
matter (a commit in progress, a command in flight).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import git

SEED = 20261128
TRIALS = int(os.environ.get("GITVAULT_CRASH_TRIALS", "12"))
F = "secrets/app.yaml"
OLD_PASSWORD = "hunter2hunter2"
OLD_TOKEN = "tok-abc-123"


@dataclass
class Lab:
    """A vault repository, its environment and the fake external system."""

    root: Path
    env: dict[str, str]
    ext: Path  # the external system: one file per key, the value it holds
    tmp: Path  # TMPDIR of every gitvault process
    rng: random.Random
    seen: set[str] = field(default_factory=set)  # every value that ever existed

    def gv(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "gitvault", *args],
            cwd=self.root,
            env=self.env,
            input=input,
            capture_output=True,
            check=False,
        )
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )

    def spawn(self, args: Sequence[str], input: bytes | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitvault", *args],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if input is not None and proc.stdin is not None:
            proc.stdin.write(input)
        if proc.stdin is not None:
            proc.stdin.close()
        return proc

    def timed_run(self, args: Sequence[str], input: bytes | None = None) -> float:
        """One whole run; its length (to spread the kills) — asserts that it works."""
        started = time.monotonic()
        r = self.gv(*args, input=input)
        assert r.returncode == 0, r.stderr
        return time.monotonic() - started

    def kill_during(
        self, args: Sequence[str], length: float, input: bytes | None = None
    ) -> int | None:
        """Start ``args``, SIGKILL it (or its whole process group) at a random moment."""
        proc = self.spawn(args, input)
        time.sleep(self.rng.uniform(0.0, length * 1.1))
        whole_group = self.rng.random() < 0.5  # power loss vs. the OOM killer picking us
        try:
            if whole_group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        code = proc.wait()
        if not whole_group:
            # Children (git, a hook) may outlive us; let them finish as they would.
            _wait_group(proc.pid)
        self.wait_quiet()
        return None if code == -signal.SIGKILL else code

    def wait_quiet(self) -> None:
        """Wait until no command of a killed run is still running (an apply in its
        own process group outlives a SIGKILL of gitvault, as in real life)."""
        from gitvault import journal

        directory = self.root / ".git" / "gitvault" / "journal"
        for _ in range(400):
            paths = list(directory.glob("*.journal")) if directory.is_dir() else []
            if not any(journal.Journal.read(p).alive for p in paths if p.exists()):
                return
            time.sleep(0.05)
        raise AssertionError("a killed run's command is still running after 20 s")

    def value(self, key: str, path: str = F) -> str:
        """The key's value in the work-tree file; the file must decrypt with its MAC."""
        return _extract((self.root / path).read_bytes(), path, key)

    def head_value(self, key: str, path: str = F) -> str:
        data = git(self.root, "show", f"HEAD:{path}").stdout.encode()
        return _extract(data, path, key)

    def external(self, key: str) -> str | None:
        path = self.ext / key
        return path.read_text() if path.exists() else None

    def journal_values(self, key: str, path: str = F) -> set[str]:
        """Every value of ``key`` that any pending journal holds (decrypted here)."""
        from gitvault import journal
        from gitvault.identities import load_identities
        from gitvault.keypath import get, parse
        from gitvault.sops.file import open_file, parse_vault

        ids = load_identities(None)
        found: set[str] = set()
        for record in journal.pending(self.root / ".git"):
            payload = record.payload(ids.keys)
            blobs = [
                journal.decode(v[side])
                for rel, v in payload["files"].items()
                if rel == path
                for side in ("old", "new")
            ]
            for section in ("commit", "disk"):
                text = (payload.get(section) or {}).get(path)
                if text:
                    blobs.append(journal.decode(text))
            for data in blobs:
                plain = open_file(parse_vault(data, path), ids.keys)
                found.add(str(get(plain.documents[0], parse(key))))
        return found

    def pending(self) -> bool:
        directory = self.root / ".git" / "gitvault" / "journal"
        return directory.is_dir() and any(directory.glob("*.journal"))

    def assert_no_plaintext(self, values: set[str]) -> None:
        """No value in any file of the work tree (outside .git objects) or the temp dir."""
        places = [p for p in self.root.rglob("*") if ".git" not in p.relative_to(self.root).parts]
        places += list((self.root / ".git" / "gitvault").rglob("*"))
        leftovers = [p.name for p in (self.root / ".git" / "gitvault" / "journal").glob(".*")]
        assert leftovers == [], f"journal temp files left behind: {leftovers}"
        places += list(self.tmp.rglob("*"))
        for path in places:
            if not path.is_file():
                continue
            data = path.read_bytes()
            for value in values:
                assert value.encode() not in data, f"plaintext left in {path}"


def _extract(data: bytes, path: str, key: str) -> str:
    """Decrypt in-process (MAC verified, or an exception fails the test)."""
    from gitvault import vault
    from gitvault.identities import load_identities

    plain = vault.decrypt(vault.read_vault(Path(path), data), load_identities(None))
    return vault.extract(plain, key)


def _wait_group(pgid: int) -> None:
    for _ in range(200):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def lab(repo: Path, hermetic_env: Path, tmp_path: Path) -> Iterator[Lab]:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    ext = tmp_path / "external"
    ext.mkdir()
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)
    env["XDG_RUNTIME_DIR"] = str(tmp)
    # Run another checkout's gitvault as the subject (to measure a baseline).
    if os.environ.get("GITVAULT_CRASH_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["GITVAULT_CRASH_PYTHONPATH"]
    lab = Lab(repo, env, ext, tmp, random.Random(SEED))
    assert lab.gv("keygen").returncode == 0
    assert lab.gv("init", "--no-hooks", "--name", "alice").returncode == 0
    (repo / "secrets").mkdir()
    secret = repo / F
    secret.write_text(
        f"db:\n    password: {OLD_PASSWORD}\n    port: 5432\napi_token: {OLD_TOKEN}\n"
    )
    assert lab.gv("encrypt", F, "--in-place").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    (ext / "db.password").write_text(OLD_PASSWORD)
    (ext / "api_token").write_text(OLD_TOKEN)
    lab.seen |= {OLD_PASSWORD, OLD_TOKEN}
    yield lab


def slow_hook(root: Path, seconds: float) -> None:
    """A pre-commit hook that takes its time (a linter, a signing prompt)."""
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nsleep {seconds}\n")
    hook.chmod(0o755)


def script(directory: Path, name: str, body: str) -> str:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body.strip("\n") + "\n")
    path.chmod(0o755)
    return str(path)
