"""The agent's configuration file: parsed once, validated once, then immutable.

The file is YAML (docs/agent.md has the reference). Relative paths are taken
from the configuration file's directory, never from the current directory,
so a systemd unit and a shell script read the same files. Unknown fields are
errors: a misspelt ``require_signed_by`` must not silently turn a check off.

Errors are :class:`~gitvault.errors.BadInput` (exit 5) naming the field; the
file holds no secret, but messages still quote field names only.

This module holds the typed configuration and reads its sections; the
checks of single fields (durations, paths, modes …) are in
:mod:`gitvault.agent.fields`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitvault.agent import fields
from gitvault.errors import BadInput

FORMATS = ("json", "dotenv", "env", "yaml", "template")
MAX_CONFIG_BYTES = 256 * 1024
MAX_OUTPUTS = 256
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Notify:
    """How to tell a service its output changed (one of signal, command, child)."""

    signal: int | None = None  # with pid or pidfile
    pid: int | None = None
    pidfile: Path | None = None
    command: tuple[str, ...] = ()
    child: str | None = None  # "restart" or a signal name, for `agent -- CMD`
    delay: float = 0.0  # wait this long after the switch before notifying
    splay: float = 0.0  # plus a random 0..splay (spreads a fleet's reloads)
    timeout: float = 30.0  # for a reload command; for a restarted child: stop window


@dataclass(frozen=True)
class Health:
    """A command that proves the service works with the new output (exit 0)."""

    command: tuple[str, ...]
    timeout: float = 10.0
    attempts: int = 3
    interval: float = 1.0


@dataclass(frozen=True)
class Output:
    name: str
    path: Path
    format: str
    files: tuple[str, ...]
    keys: tuple[str, ...] | None = None
    template: Path | None = None
    mode: int = 0o600
    group: str = ""
    notify: Notify | None = None
    health: Health | None = None
    allow_env: tuple[str, ...] = ()
    previous: bool = True
    dotenv_dialect: str = "portable"  # as `export --dotenv-dialect`

    @property
    def switch_group(self) -> str:
        """Outputs with the same group switch together; an ungrouped one alone."""
        return self.group or "output:" + self.name


@dataclass(frozen=True)
class Trigger:
    host: str
    port: int
    token_file: Path


@dataclass(frozen=True)
class Config:
    path: Path
    remote: str
    branch: str
    checkout: Path
    outputs: tuple[Output, ...]
    interval: float = 30.0
    jitter: float = 0.1
    identity: Path | None = None
    require_signed_by: tuple[str, ...] = ()
    signed_since: str | None = None
    status: Path | None = None
    log: Path | None = None
    trigger: Trigger | None = None
    fetch_timeout: float = 120.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        """Every vault file some output reads (sorted, unique)."""
        return tuple(sorted({f for o in self.outputs for f in o.files}))

    def groups(self) -> dict[str, list[Output]]:
        out: dict[str, list[Output]] = {}
        for o in self.outputs:
            out.setdefault(o.switch_group, []).append(o)
        return out


# ------------------------------------------------------------------ parsing


def _notify(value: object, base: Path, what: str) -> Notify:
    m = fields.mapping(
        value,
        what,
        {"signal", "pid", "pidfile", "command", "child", "delay", "splay", "timeout"},
    )
    kinds = [k for k in ("signal", "command", "child") if k in m]
    if len(kinds) != 1:
        raise BadInput(f"{what}: give exactly one of signal (with pid/pidfile), command, child")
    delay = fields.parse_duration(m.get("delay", 0), f"{what}.delay")
    splay = fields.parse_duration(m.get("splay", 0), f"{what}.splay")
    timeout = fields.parse_duration(m.get("timeout", "30s"), f"{what}.timeout")
    if kinds == ["signal"]:
        if ("pid" in m) == ("pidfile" in m):
            raise BadInput(f"{what}: a signal needs exactly one of pid, pidfile")
        pid = m.get("pid")
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid <= 1):
            raise BadInput(f"{what}.pid: expected a process id above 1")
        pidfile = fields.path(m["pidfile"], base, f"{what}.pidfile") if "pidfile" in m else None
        sig = fields.signal_number(m["signal"], f"{what}.signal")
        return Notify(
            signal=sig, pid=pid, pidfile=pidfile, delay=delay, splay=splay, timeout=timeout
        )
    if "pid" in m or "pidfile" in m:
        raise BadInput(f"{what}: pid/pidfile only go with signal")
    if kinds == ["command"]:
        command = fields.strings(m["command"], f"{what}.command")
        return Notify(command=command, delay=delay, splay=splay, timeout=timeout)
    child = str(m["child"]).strip()
    if child.lower() != "restart":
        fields.signal_number(child, f"{what}.child")
    return Notify(child=child, delay=delay, splay=splay, timeout=timeout)


def _health(value: object, what: str) -> Health:
    m = fields.mapping(value, what, {"command", "timeout", "attempts", "interval"})
    if "command" not in m:
        raise BadInput(f"{what}: a health check needs a command")
    attempts = m.get("attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise BadInput(f"{what}.attempts: expected a number from 1 to 100")
    return Health(
        command=fields.strings(m["command"], f"{what}.command"),
        timeout=fields.parse_duration(m.get("timeout", "10s"), f"{what}.timeout"),
        attempts=attempts,
        interval=fields.parse_duration(m.get("interval", "1s"), f"{what}.interval"),
    )


_OUTPUT_FIELDS = {
    "name",
    "path",
    "format",
    "files",
    "keys",
    "template",
    "mode",
    "group",
    "notify",
    "health",
    "allow_env",
    "previous",
    "dotenv_dialect",
}


def _output(value: object, base: Path, index: int) -> Output:
    what = f"outputs[{index}]"
    m = fields.mapping(value, what, _OUTPUT_FIELDS)
    name = fields.string(m.get("name"), f"{what}.name")
    if _NAME.fullmatch(name) is None:
        raise BadInput(f"{what}.name: letters, digits, '.', '_', '-' (at most 64)")
    what = f"output {name}"
    fmt = fields.string(m.get("format", "json"), f"{what}.format")
    if fmt not in FORMATS:
        raise BadInput(f"{what}.format: one of {', '.join(FORMATS)}")
    files = tuple(
        fields.repo_path(f, f"{what}.files")
        for f in fields.strings(m.get("files"), f"{what}.files")
    )
    template = None
    if fmt == "template":
        template = fields.path(m.get("template"), base, f"{what}.template")
    elif "template" in m:
        raise BadInput(f"{what}.template: only for format: template")
    keys = fields.strings(m["keys"], f"{what}.keys") if "keys" in m else None
    previous = m.get("previous", True)
    if not isinstance(previous, bool):
        raise BadInput(f"{what}.previous: expected true or false")
    dialect = m.get("dotenv_dialect", "portable")
    if dialect not in ("portable", "python-dotenv"):
        raise BadInput(f"{what}.dotenv_dialect: portable or python-dotenv")
    if "dotenv_dialect" in m and fmt != "dotenv":
        raise BadInput(f"{what}.dotenv_dialect: only for format: dotenv")
    group = m.get("group", "")
    if group != "" and (not isinstance(group, str) or _NAME.fullmatch(group) is None):
        raise BadInput(f"{what}.group: letters, digits, '.', '_', '-'")
    return Output(
        name=name,
        path=fields.path(m.get("path"), base, f"{what}.path"),
        format=fmt,
        files=files,
        keys=keys,
        template=template,
        mode=fields.mode(m.get("mode", "0600"), f"{what}.mode"),
        group=group,
        notify=_notify(m["notify"], base, f"{what}.notify") if "notify" in m else None,
        health=_health(m["health"], f"{what}.health") if "health" in m else None,
        allow_env=fields.strings(m["allow_env"], f"{what}.allow_env") if "allow_env" in m else (),
        previous=previous,
        dotenv_dialect=dialect,
    )


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _trigger(value: object, base: Path) -> Trigger:
    m = fields.mapping(value, "trigger", {"listen", "token_file"})
    listen = fields.string(m.get("listen"), "trigger.listen")
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadInput("trigger.listen: expected HOST:PORT, e.g. 127.0.0.1:8787")
    if host not in _LOOPBACK and not host.startswith("127."):
        raise BadInput("trigger.listen: the trigger binds only a loopback address (127.0.0.1, ::1)")
    return Trigger(
        host="127.0.0.1" if host == "localhost" else host,
        port=int(port_text),
        token_file=fields.path(m.get("token_file"), base, "trigger.token_file"),
    )


_TOP_FIELDS = {
    "remote",
    "branch",
    "checkout",
    "interval",
    "jitter",
    "identity",
    "require_signed_by",
    "signed_since",
    "status",
    "log",
    "trigger",
    "outputs",
    "fetch_timeout",
}


def parse(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed configuration document (``path`` names it and anchors paths)."""
    base = path.parent
    m = fields.mapping(data, "config", _TOP_FIELDS)
    remote = fields.string(m.get("remote"), "remote")
    if remote.startswith("-") or remote.startswith("ext::"):
        raise BadInput("remote: not a repository URL or path")
    if "://" not in remote and ":" not in remote.split("/")[0]:
        remote = str(fields.path(remote, base, "remote"))
    branch = fields.string(m.get("branch", "main"), "branch")
    if branch.startswith("-") or ".." in branch or any(c in branch for c in " ~^:?*[\\"):
        raise BadInput("branch: not a branch name")
    raw_outputs = m.get("outputs")
    if not isinstance(raw_outputs, list) or not raw_outputs:
        raise BadInput("outputs: expected a non-empty list")
    if len(raw_outputs) > MAX_OUTPUTS:
        raise BadInput(f"outputs: at most {MAX_OUTPUTS}")
    outputs = tuple(_output(o, base, i) for i, o in enumerate(raw_outputs))
    names = [o.name for o in outputs]
    paths = [o.path.absolute() for o in outputs]
    if len(set(names)) != len(names):
        raise BadInput("outputs: two outputs have the same name")
    if len(set(paths)) != len(paths):
        raise BadInput("outputs: two outputs write the same path")
    jitter = m.get("jitter", 0.1)
    if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 1:
        raise BadInput("jitter: a fraction of the interval from 0 to 1")
    interval = fields.parse_duration(m.get("interval", "30s"), "interval")
    if interval < 0.1:
        raise BadInput("interval: at least 100ms")
    signed_since = m.get("signed_since")
    if signed_since is not None:
        signed_since = fields.string(signed_since, "signed_since")
    checkout = fields.path(m.get("checkout"), base, "checkout")
    for o in outputs:
        if o.path.absolute().is_relative_to(checkout.absolute()):
            raise BadInput(f"output {o.name}: outputs must not be inside the agent's checkout")
    return Config(
        path=path,
        remote=remote,
        branch=branch,
        checkout=checkout,
        outputs=outputs,
        interval=interval,
        jitter=float(jitter),
        identity=fields.path(m["identity"], base, "identity") if "identity" in m else None,
        require_signed_by=(
            fields.strings(m["require_signed_by"], "require_signed_by")
            if "require_signed_by" in m
            else ()
        ),
        signed_since=signed_since,
        status=fields.path(m["status"], base, "status") if "status" in m else None,
        log=fields.path(m["log"], base, "log") if "log" in m else None,
        trigger=_trigger(m["trigger"], base) if "trigger" in m else None,
        fetch_timeout=fields.parse_duration(m.get("fetch_timeout", "120s"), "fetch_timeout"),
    )


def load(path: Path) -> Config:
    """Read, parse and validate the configuration file at ``path``."""
    from gitvault.fsutil import read_input
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    path = path.absolute()
    data = read_input(path, limit=MAX_CONFIG_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    docs = load_documents(text, str(path))
    if len(docs) != 1:
        raise BadInput(f"{path}: expected one YAML document")
    value = to_python(docs[0])
    if not isinstance(value, Mapping):
        raise BadInput(f"{path}: expected a mapping")
    try:
        return parse(value, path)
    except BadInput as err:
        raise BadInput(f"{path}: {err.message}", hint=err.hint) from None
