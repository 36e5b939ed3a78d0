"""Offboarding's per-file state and the rotation of exposed keys (``offboard --rotate``).

:class:`OffboardFile` is one file to re-key for the readers the new policy
names, holding its decrypted documents only while a key of it may rotate;
:func:`plan_job` makes a :class:`RotationJob` (a new generated value) for an
exposed key whose rule has a generator, and :func:`run_commands` runs the
jobs' ``apply``/``verify`` commands as ``rotate`` does. The orchestration is
:mod:`gitvault.team.offboard`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil, keypath
from gitvault.errors import BadInput, Interrupted
from gitvault.rotate import offboard_journal
from gitvault.rotate.engine import FAILED, ROLLBACK_FAILED, ROTATED, Secret
from gitvault.team.offboard_report import NEEDS_HUMAN
from gitvault.team.reencrypt import Loaded, encrypt_under_new_key

if TYPE_CHECKING:
    from gitvault.policy import Policy
    from gitvault.team import exposure as exp


@dataclass
class RotationJob:
    """A new value for one exposed key, and what became of it."""

    file: str  # repository-relative
    key: str
    parts: list[str | int]
    spec: str
    apply: str | None
    verify: str | None
    timeout: float
    new: Secret
    old: Secret | None
    status: str = ROTATED
    reason: str = ""
    verified: bool = False
    applied: bool = False


@dataclass
class OffboardFile:
    """One file to re-key; its decrypted documents only while a key of it may rotate."""

    relpath: str  # relative to the policy root
    path: Path
    original: bytes = field(repr=False)
    recipients: tuple[str, ...]
    repo_rel: str
    data_key: bytes = field(repr=False)
    loaded: Loaded | None = field(default=None, repr=False)
    rendered: bytes | None = field(default=None, repr=False)
    jobs: list[RotationJob] = field(default_factory=list)

    @classmethod
    def of(cls, item: Loaded, repo_rel: str) -> OffboardFile:
        return cls(
            item.relpath,
            item.path,
            item.original,
            item.recipients,
            repo_rel,
            os.urandom(32),
            loaded=item,
        )

    def render(self, use_new: set[str]) -> bytes:
        if self.loaded is None:
            assert self.rendered is not None
            return self.rendered  # no key of it rotates: the bytes rendered once
        docs = self.loaded.plain.documents
        if any(j.key in use_new for j in self.jobs):
            docs = copy.deepcopy(docs)
            for job in self.jobs:
                if job.key in use_new:
                    keypath.set_value(docs[0], job.parts, job.new.reveal())
        return encrypt_under_new_key(
            self.loaded.vault, docs, self.recipients, data_key=self.data_key
        )

    def drop_plaintext(self) -> None:
        """No key of this file rotates: render its new bytes now and forget the documents.

        Offboarding thousands of files then holds their old and new bytes, not
        every decrypted document at once (641 MiB at 10,000 files before).
        """
        if self.loaded is not None and not self.jobs:
            self.rendered = self.render(set())
            self.loaded = None


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


def plan_job(
    new_pol: Policy, state: OffboardFile, rel: str, item: exp.Exposure
) -> tuple[RotationJob | None, str]:
    """A rotation job for an exposed key, or None and why a human must rotate it."""
    from gitvault.history.schedule import key_settings
    from gitvault.model import Mapping as DocMapping
    from gitvault.rotate.engine import parse_timeout
    from gitvault.rotate.generators import parse_generator

    rule = new_pol.rule_for(rel)
    settings = key_settings(rule, item.key) if rule is not None else None
    if settings is None or not settings.generate:
        return None, "no generator in the policy"
    assert state.loaded is not None  # kept for every file whose keys may rotate
    if len(state.loaded.plain.documents) != 1:
        return None, "the file has several YAML documents"
    try:
        generator = parse_generator(settings.generate)
        timeout = parse_timeout(settings.timeout) or 120.0
        parts = keypath.parse(item.key)
        node = keypath.get(state.loaded.plain.documents[0], parts)
    except BadInput as exc:
        return None, exc.message
    if isinstance(node, DocMapping | list):
        return None, "not a single value"
    old = _scalar_text(node)
    new = generator.generate()
    while old is not None and new == old:  # pragma: no cover - astronomically unlikely
        new = generator.generate()
    job = RotationJob(
        file=state.repo_rel,
        key=item.key,
        parts=parts,
        spec=generator.spec,
        apply=settings.apply,
        verify=settings.verify,
        timeout=timeout,
        new=Secret(new),
        old=None if old is None else Secret(old),
    )
    return job, ""


def run_commands(
    jobs: Sequence[RotationJob],
    states: Mapping[str, OffboardFile],
    cwd: Path,
    env: Mapping[str, str] | None,
    record: Any = None,
) -> list[str]:
    """Apply and verify the rotated keys that have commands; returns redacted failure output."""
    from gitvault.rotate.commands import CommandFailed, run_rotation

    details: list[str] = []
    stop = False
    running: RotationJob | None = None
    try:
        for job in jobs:
            if not (job.apply or job.verify):
                continue
            if stop:
                job.status, job.reason = NEEDS_HUMAN, "not run: an earlier rollback failed"
                offboard_journal.phase(record, job.file, job.key, "not-run")
                continue
            running = job
            offboard_journal.phase(record, job.file, job.key, "applying")
            try:
                outcome = run_rotation(
                    file=job.file,
                    key=job.key,
                    new_value=job.new.reveal(),
                    old_value=None if job.old is None else job.old.reveal(),
                    apply=job.apply,
                    verify=job.verify,
                    cwd=cwd,
                    timeout=job.timeout,
                    base_env=env,
                    on_start=None if record is None else record.set_child,
                )
            except CommandFailed as exc:
                job.status = ROLLBACK_FAILED if exc.rollback_failed else FAILED
                job.reason = exc.message
                if exc.details:
                    details.append(exc.details)
                stop = exc.rollback_failed
            except OSError as exc:
                job.status, job.reason = FAILED, f"cannot run the commands ({exc.strerror})"
            else:
                job.applied, job.verified = outcome.applied, outcome.verified
            offboard_journal.phase(record, job.file, job.key, job.status)
            running = None
    except BaseException as exc:
        # Interrupted while a command ran: its system may hold either value, so the
        # files keep the new values of the keys done or running, uncommitted.
        for state in states.values():
            keep = {
                j.key
                for j in state.jobs
                if j.status == ROTATED and (j.applied or j is running or not (j.apply or j.verify))
            }
            fsutil.atomic_write(state.path, state.render(keep))
        offboard_journal.release(record)
        if not isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        where = f"{running.file}:{running.key}" if running else "offboarding"
        raise Interrupted(
            f"interrupted during {where}: files are written, uncommitted",
            hint="check the external systems, then `gitvault recover --finish` or `--undo`",
        ) from None
    return details
