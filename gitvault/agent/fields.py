"""Field validators for the agent's configuration file (:mod:`gitvault.agent.config`).

Each takes a parsed YAML value and the field's name (``what``, quoted in the
error) and returns the checked value or raises :class:`~gitvault.errors.BadInput`
(exit 5). Durations and signal names are also read by the notifier.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: object, what: str) -> float:
    """Seconds in ``500ms``, ``30s``, ``5m``, ``1h`` (a bare number is seconds)."""
    if isinstance(text, bool):
        raise BadInput(f"{what}: not a duration")
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = _DURATION.fullmatch(str(text).strip())
        if m is None:
            raise BadInput(f"{what}: invalid duration (use e.g. 500ms, 30s, 5m, 1h)")
        value = float(m.group(1)) * _UNITS[m.group(2)]
    if value < 0 or value > 7 * 86400:
        raise BadInput(f"{what}: duration out of range")
    return value


def signal_number(name: object, what: str) -> int:
    """``HUP``, ``SIGHUP`` or ``1`` -> the signal number."""
    text = str(name).strip().upper()
    if text.isdigit():
        number = int(text)
        if number in {s.value for s in signal.Signals}:
            return number
    else:
        sig = getattr(signal.Signals, text if text.startswith("SIG") else "SIG" + text, None)
        if sig is not None:
            return int(sig)
    raise BadInput(f"{what}: unknown signal {str(name)[:20]!r}")


def mapping(value: object, what: str, allowed: set[str]) -> Mapping[str, Any]:
    """A mapping whose keys are all in ``allowed`` (a misspelt field is an error)."""
    if not isinstance(value, Mapping):
        raise BadInput(f"{what}: expected a mapping")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise BadInput(f"{what}: unknown field {unknown[0][:40]!r}")
    return value


def string(value: object, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what}: expected a non-empty string")
    return value


def strings(value: object, what: str) -> tuple[str, ...]:
    """A list of non-empty strings (a lone string is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadInput(f"{what}: expected a list of strings")
    return tuple(value)


def path(value: object, base: Path, what: str) -> Path:
    """A local path; a relative one is taken from ``base`` (the configuration's directory)."""
    p = Path(string(value, what)).expanduser()
    return p if p.is_absolute() else base / p


def repo_path(value: object, what: str) -> str:
    """A relative POSIX path that stays inside the repository."""
    text = string(value, what)
    parts = Path(text).parts
    if Path(text).is_absolute() or ".." in parts or "\\" in text:
        raise BadInput(f"{what}: must be a path inside the repository")
    return Path(text).as_posix()


def mode(value: object, what: str) -> int:
    """An output file's octal mode: owner-readable, nothing for others."""
    text = str(value)
    try:
        bits = int(text, 8)
    except ValueError:
        raise BadInput(f'{what}: expected an octal mode like "0600"') from None
    if bits & 0o007 or bits & ~0o777:
        raise BadInput(f"{what}: an output must not be readable or writable by others (o=)")
    if not bits & 0o400:
        raise BadInput(f"{what}: the owner must be able to read the output")
    return bits
