"""Commit-message trailers: pure text functions, no repository access.

gitvault writes machine-readable trailers (``Gitvault-Action: rotate``,
``Gitvault-File: secrets/prod/db.yaml`` …) into every commit it makes, and the
audit reads them back to compare what a commit *claims* with what its tree
really changed. The parser follows ``git interpret-trailers --parse`` (the
trailer block is the last paragraph, never the subject; continuation lines are
unfolded), and a test checks that both agree.

Wire format of the gitvault trailers (one line each, order as written):

    Gitvault-Action: rotate | set | unset | edit | rekey | offboard | …
    Gitvault-File: <path>                          (repeatable)
    Gitvault-Keys: <path>: <key>, <key>            (one per file)
    Gitvault-Generator: <path>: <key>: <spec>      (one per generated key)
    Gitvault-Verified: <path>: <key>, <key>        (keys whose verify command passed)
    Gitvault-Rekey: <path>                         (new data key, values unchanged)
    Gitvault-Recipients: <path>: <name>, <name>    (recipients after the change)
    Gitvault-Offboarded: <name>                    (a person removed by ``offboard``)
    Gitvault-Exposed: <path>: <key>, <key>         (values known to have leaked: overdue
                                                    until a later commit changes them)

Paths and key paths are percent-encoded for ``%``, ``,``, ``:``, and control
characters, so any name round-trips; ordinary names stay readable.

This module must never see a secret value: trailers carry paths, key paths,
generator specs and recipient names only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gitvault.errors import BadInput

ACTION = "Gitvault-Action"
FILE = "Gitvault-File"
KEYS = "Gitvault-Keys"
GENERATOR = "Gitvault-Generator"
VERIFIED = "Gitvault-Verified"
REKEY = "Gitvault-Rekey"
RECIPIENTS = "Gitvault-Recipients"
OFFBOARDED = "Gitvault-Offboarded"
EXPOSED = "Gitvault-Exposed"

# git's default separators are ":" only; the token is letters, digits and "-".
_TOKEN_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:(.*)$")
# Lines git recognises as trailers even in a mixed block (git's trailer.c).
_GIT_GENERATED = ("Signed-off-by: ", "(cherry picked from commit ")
_DIVIDER = re.compile(r"^---(?:\s|$)")
_NEEDS_QUOTING = re.compile(r"[%,:\x00-\x1f\x7f]|^\s|\s$")


@dataclass(frozen=True)
class Trailer:
    """One ``Token: value`` trailer, value unfolded and stripped."""

    token: str
    value: str


def _check_one_line(what: str, text: str) -> None:
    if "\n" in text or "\r" in text:
        raise BadInput(f"{what} must be one line")


def build_message(subject: str, body: str = "", trailers: Iterable[Trailer] = ()) -> str:
    """Return ``subject``, an optional body and a trailer block, newline-terminated.

    Raises :class:`BadInput` for a multi-line subject or trailer, or a token git
    would not accept; the message then could not be parsed back the same way.
    """
    subject = subject.strip()
    if not subject:
        raise BadInput("commit subject is empty")
    _check_one_line("commit subject", subject)
    parts = [subject]
    if body.strip():
        parts.append(body.strip("\n"))
    lines = []
    for trailer in trailers:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", trailer.token):
            raise BadInput(f"invalid trailer token {trailer.token[:40]!r}")
        _check_one_line(f"trailer {trailer.token}", trailer.value)
        lines.append(f"{trailer.token}: {trailer.value.strip()}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _trailer_block(lines: list[str]) -> list[str]:
    """The lines of the last paragraph if git would treat it as a trailer block."""
    # Cut at a patch divider ("---"), as git does for messages made by format-patch.
    for i, line in enumerate(lines):
        if i > 0 and _DIVIDER.match(line):
            lines = lines[:i]
            break
    lines = [ln for ln in lines if not ln.startswith("#")]
    while lines and not lines[-1].strip():
        lines.pop()
    # The first paragraph is the title and can never hold trailers.
    first_blank = next((i for i, ln in enumerate(lines) if not ln.strip()), None)
    if first_blank is None:
        return []
    start = len(lines)
    while start > first_blank + 1 and lines[start - 1].strip():
        start -= 1
    block = lines[start:]
    if not block:
        return []
    trailer_lines = 0
    other_lines = 0
    git_generated = False
    for line in block:
        if line[:1] in (" ", "\t"):
            continue  # continuation of the previous line
        if _TOKEN_LINE.match(line):
            trailer_lines += 1
            git_generated = git_generated or line.startswith(_GIT_GENERATED)
        elif line.startswith(_GIT_GENERATED):
            trailer_lines += 1
            git_generated = True
        else:
            other_lines += 1
    if trailer_lines and (other_lines == 0 or (git_generated and trailer_lines * 3 >= other_lines)):
        return block
    return []


def parse_trailers(message: str) -> tuple[Trailer, ...]:
    """Parse the trailer block of ``message`` like ``git interpret-trailers --parse``."""
    lines = message.replace("\r\n", "\n").split("\n")
    result: list[list[str]] = []
    in_trailer = False
    for line in _trailer_block(lines):
        if line[:1] in (" ", "\t"):
            if in_trailer:
                result[-1][1] += " " + line.strip()
            continue
        match = _TOKEN_LINE.match(line)
        if match:
            result.append([match.group(1), match.group(2).strip()])
            in_trailer = True
        else:
            in_trailer = False  # a non-trailer line in a mixed block
    return tuple(Trailer(token, value.strip()) for token, value in result)


def quote(text: str) -> str:
    """Percent-encode the characters that would break the trailer wire format."""
    if not _NEEDS_QUOTING.search(text):
        return text
    out: list[str] = []
    for i, ch in enumerate(text):
        edge_space = ch.isspace() and (i == 0 or i == len(text) - 1)
        if ch in "%,:" or ord(ch) < 0x20 or ord(ch) == 0x7F or edge_space:
            out.extend(f"%{b:02X}" for b in ch.encode())
        else:
            out.append(ch)
    return "".join(out)


def unquote(text: str) -> str:
    """Inverse of :func:`quote`."""
    if "%" not in text:
        return text
    raw = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 1 : i + 3]):
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(text[i].encode())
            i += 1
    return raw.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class VaultTrailers:
    """What a gitvault commit says it did; every field is names, never values.

    ``keys``, ``verified`` and ``recipients`` map a file path to key paths or
    names; ``generators`` maps ``(path, key)`` to a generator spec. ``problems``
    lists malformed gitvault trailers found while parsing (the audit reports them).
    """

    action: str | None = None
    files: tuple[str, ...] = ()
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    generators: Mapping[tuple[str, str], str] = field(default_factory=dict)
    verified: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rekeyed: tuple[str, ...] = ()
    recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    offboarded: tuple[str, ...] = ()
    exposed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_gitvault(self) -> bool:
        """True when the message carries a ``Gitvault-Action`` trailer."""
        return self.action is not None

    def to_trailers(self) -> list[Trailer]:
        """Render as trailers in the documented order."""
        if not self.action or not re.fullmatch(r"[a-z][a-z0-9-]*", self.action):
            raise BadInput("gitvault action must be a lowercase word")
        out = [Trailer(ACTION, self.action)]
        out += [Trailer(FILE, quote(path)) for path in self.files]
        out += [Trailer(KEYS, _path_list(path, names)) for path, names in self.keys.items()]
        for (path, key), spec in self.generators.items():
            _check_one_line("generator spec", spec)
            out.append(Trailer(GENERATOR, f"{quote(path)}: {quote(key)}: {spec}"))
        out += [Trailer(VERIFIED, _path_list(p, names)) for p, names in self.verified.items()]
        out += [Trailer(REKEY, quote(path)) for path in self.rekeyed]
        out += [Trailer(RECIPIENTS, _path_list(p, n)) for p, n in self.recipients.items()]
        out += [Trailer(OFFBOARDED, quote(name)) for name in self.offboarded]
        out += [Trailer(EXPOSED, _path_list(p, keys)) for p, keys in self.exposed.items()]
        return out


def _path_list(path: str, names: Sequence[str]) -> str:
    return f"{quote(path)}: " + ", ".join(quote(name) for name in names)


def _split_path_list(value: str) -> tuple[str, tuple[str, ...]] | None:
    path, sep, rest = value.partition(": ")
    if not sep and value.endswith(":"):
        path, sep, rest = value[:-1], ":", ""
    if not sep or not path:
        return None
    names = tuple(unquote(n.strip()) for n in rest.split(",") if n.strip())
    return unquote(path.strip()), names


def build_vault_message(subject: str, trailers: VaultTrailers, body: str = "") -> str:
    """A complete commit message for a gitvault write."""
    return build_message(subject, body, trailers.to_trailers())


def parse_vault_trailers(message: str) -> VaultTrailers:
    """Read the gitvault trailers of ``message``; other trailers are ignored.

    Token matching is case-insensitive, as git's is. Malformed gitvault trailers
    do not raise: they are listed in ``problems`` so the audit can report them.
    """
    return vault_trailers(parse_trailers(message))


def vault_trailers(trailers: Iterable[Trailer]) -> VaultTrailers:
    """Like :func:`parse_vault_trailers`, for trailers already parsed."""
    action: str | None = None
    files: list[str] = []
    keys: dict[str, tuple[str, ...]] = {}
    generators: dict[tuple[str, str], str] = {}
    verified: dict[str, tuple[str, ...]] = {}
    rekeyed: list[str] = []
    recipients: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    offboarded: list[str] = []
    exposed: dict[str, tuple[str, ...]] = {}
    for trailer in trailers:
        token = trailer.token.lower()
        if not token.startswith("gitvault-"):
            continue
        value = trailer.value
        if token == ACTION.lower():
            if action is not None and action != value:
                problems.append("more than one Gitvault-Action trailer")
            action = value
        elif token == FILE.lower():
            files.append(unquote(value))
        elif token == REKEY.lower():
            rekeyed.append(unquote(value))
        elif token == OFFBOARDED.lower():
            offboarded.append(unquote(value))
        elif token in (KEYS.lower(), VERIFIED.lower(), RECIPIENTS.lower(), EXPOSED.lower()):
            parsed = _split_path_list(value)
            if parsed is None:
                problems.append(f"malformed {trailer.token} trailer")
                continue
            target = {KEYS.lower(): keys, VERIFIED.lower(): verified, EXPOSED.lower(): exposed}.get(
                token, recipients
            )
            path, names = parsed
            target[path] = target.get(path, ()) + names
        elif token == GENERATOR.lower():
            parts = value.split(": ", 2)
            if len(parts) != 3 or not all(p.strip() for p in parts):
                problems.append(f"malformed {trailer.token} trailer")
                continue
            generators[(unquote(parts[0].strip()), unquote(parts[1].strip()))] = parts[2].strip()
        else:
            problems.append(f"unknown trailer {trailer.token}")
    return VaultTrailers(
        action=action,
        files=tuple(files),
        keys=keys,
        generators=generators,
        verified=verified,
        rekeyed=tuple(rekeyed),
        recipients=recipients,
        problems=tuple(problems),
        offboarded=tuple(offboarded),
        exposed=exposed,
    )
