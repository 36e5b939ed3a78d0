"""The policy file ``.gitvault.yaml``: who may read what, how values are checked and rotated.

Loaded once, validated once against the JSON Schema shipped beside this module
(plus the checks a schema cannot express: names that resolve, keys that parse,
globs that compile), then immutable. Errors name the file, the field and what
is wrong, and exit with code 5.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput
from gitvault.policy.glob import Glob, compile_glob
from gitvault.records import field, record

POLICY_FILE = ".gitvault.yaml"
_DURATION = re.compile(r"([0-9]+)([smhdwy])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``90d``, ``12h``, ``2w``, ``1y`` (``m`` is minutes)."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise BadInput(f"invalid duration {text!r}: use a number and one of s, m, h, d, w, y")
    return int(m.group(1)) * _UNITS[m.group(2)]


def glob_to_regex(pattern: str) -> Glob:
    """Compile a path glob (see :mod:`gitvault.policy.glob`): linear time, never a regex.

    The name is historical; the result has the ``fullmatch`` callers use.
    """
    return compile_glob(pattern)


@record(frozen=True)
class KeyPolicy:
    """Per-key settings of a rule (rotation period, generator, apply/verify commands)."""

    path: str
    rotate_after: str | None = None
    grace: str | None = None
    generate: str | None = None
    apply: str | None = None
    verify: str | None = None
    timeout: str | None = None


@record(frozen=True)
class Rule:
    index: int
    path: str
    recipients: tuple[str, ...]  # names as written (recipients or groups)
    schema: str | None = None
    rotate_after: str | None = None
    grace: str | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, KeyPolicy] = field(default_factory=dict)

    @cached_property
    def regex(self) -> Glob:
        """The compiled path glob (checked when the policy was loaded)."""
        return compile_glob(self.path)

    def matches(self, relpath: str) -> bool:
        return self.regex.fullmatch(relpath)

    def key_policy(self, key_path: str) -> KeyPolicy | None:
        return self.keys.get(key_path)


@record(frozen=True)
class Recipient:
    name: str
    key: str
    signing_keys: tuple[str, ...] = ()
    email: str | None = None


@record(frozen=True)
class Policy:
    path: Path
    recipients: dict[str, Recipient]
    groups: dict[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    scan_exclude: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Path:
        return self.path.parent

    def rules_for(self, relpath: str) -> list[Rule]:
        return [r for r in self.rules if r.matches(relpath)]

    def rule_for(self, relpath: str) -> Rule | None:
        """The first matching rule (later matches are reported by ``verify``)."""
        for r in self.rules:
            if r.matches(relpath):
                return r
        return None

    def expand(self, names: tuple[str, ...] | list[str]) -> list[str]:
        """Recipient names behind a list of recipient and group names, in order, unique."""
        out: list[str] = []
        for name in names:
            members = self.groups.get(name, (name,)) if name not in self.recipients else (name,)
            for m in members:
                if m not in out:
                    out.append(m)
        return out

    def reader_names(self, rule: Rule) -> list[str]:
        return self.expand(rule.recipients)

    def reader_keys(self, rule: Rule) -> list[str]:
        return [self.recipients[n].key for n in self.reader_names(rule)]

    def name_of(self, public_key: str) -> str | None:
        norm = normalize_key(public_key)
        for r in self.recipients.values():
            if normalize_key(r.key) == norm:
                return r.name
        return None


def normalize_key(key: str) -> str:
    """Compare SSH keys without their comment; age keys as they are."""
    from gitvault.sops.metadata import recipient_id

    return recipient_id(key)


def _field(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate_data(data: Any, name: str) -> None:
    """Check the decoded policy against the shipped JSON Schema.

    A content that passed before is not checked again (see
    :mod:`gitvault.policy.validcache`): the jsonschema import alone is most of
    a small ``encrypt`` or ``set``.
    """
    from gitvault.policy import validcache

    raw = (Path(__file__).parent / "schema.json").read_bytes()
    marker = validcache.marker(data, raw)
    if validcache.known_valid(marker):
        return
    import json

    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(raw))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors) or errors[0]
        raise BadInput(f"{name}: {_field(err.absolute_path)}: {_short(err)}")
    validcache.remember(marker)


def _short(err: Any) -> str:
    msg = str(err.message)
    if err.validator == "pattern":
        return "has an invalid format"
    if err.validator == "additionalProperties":
        return msg.replace("Additional properties are not allowed", "unknown field").split(
            " were unexpected"
        )[0]
    return msg if len(msg) < 160 else msg[:157] + "..."


def from_data(data: Any, path: Path) -> Policy:
    """Build a validated :class:`Policy` from decoded YAML data."""
    name = str(path)
    validate_data(data, name)
    recipients: dict[str, Recipient] = {}
    for rname, value in data["recipients"].items():
        if isinstance(value, str):
            recipients[rname] = Recipient(rname, value)
        else:
            recipients[rname] = Recipient(
                rname, value["key"], tuple(value.get("signing_keys", ())), value.get("email")
            )
    from gitvault.crypto.envelope import parse_recipient

    for r in recipients.values():
        try:
            parse_recipient(r.key)
        except BadInput as err:
            raise BadInput(f"{name}: recipients.{r.name}: {err.message}") from None
    groups = {g: tuple(members) for g, members in (data.get("groups") or {}).items()}
    for g, members in groups.items():
        if g in recipients:
            raise BadInput(f"{name}: groups.{g}: a group cannot have the name of a recipient")
        for m in members:
            if m not in recipients:
                raise BadInput(f"{name}: groups.{g}: unknown recipient {m!r}")
    rules = []
    for i, raw in enumerate(data["rules"]):
        try:
            compile_glob(raw["path"])
        except BadInput as err:
            raise BadInput(f"{name}: rules[{i}].path: {err.message}") from None
        for n in raw["recipients"]:
            if n not in recipients and n not in groups:
                raise BadInput(f"{name}: rules[{i}].recipients: unknown recipient or group {n!r}")
        selection = {
            k: raw[k]
            for k in (
                "unencrypted_suffix",
                "encrypted_suffix",
                "unencrypted_regex",
                "encrypted_regex",
                "unencrypted_comment_regex",
                "encrypted_comment_regex",
                "mac_only_encrypted",
            )
            if k in raw
        }
        if sum(1 for k in selection if k != "mac_only_encrypted") > 1:
            raise BadInput(
                f"{name}: rules[{i}]: set at most one of the suffix/regex selection fields"
            )
        for k in (
            "unencrypted_regex",
            "encrypted_regex",
            "unencrypted_comment_regex",
            "encrypted_comment_regex",
        ):
            if k in selection:
                from gitvault.sops.document import compile_selection

                try:
                    compile_selection(selection[k])
                except BadInput:
                    raise BadInput(f"{name}: rules[{i}].{k}: invalid regex (RE2 syntax)") from None
        keys = {
            kp: KeyPolicy(kp, **{k: v for k, v in kv.items()})
            for kp, kv in (raw.get("keys") or {}).items()
        }
        rules.append(
            Rule(
                index=i,
                path=raw["path"],
                recipients=tuple(raw["recipients"]),
                schema=raw.get("schema"),
                rotate_after=raw.get("rotate_after"),
                grace=raw.get("grace"),
                selection=selection,
                keys=keys,
            )
        )
    exclude = tuple((data.get("scan") or {}).get("exclude", ()))
    return Policy(path, recipients, groups, tuple(rules), exclude, data)


def load(root: Path) -> Policy:
    """Load ``ROOT/.gitvault.yaml``; :class:`BadInput` when missing or invalid."""
    from gitvault.fsutil import MAX_POLICY_BYTES, read_input
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents
    from gitvault.yamlio.simple import load_simple

    path = root / POLICY_FILE
    if not path.exists() and not path.is_symlink():
        raise BadInput(f"{path}: no policy file", hint="run `gitvault init` first")
    # The policy is as untrusted as any file a branch can change: same checks
    # (no symlink out of the repository, no device, a size cap) as vault files.
    data = read_input(path, limit=MAX_POLICY_BYTES, root=root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    # Nearly every policy is simple block YAML: read without importing PyYAML
    # (most of a small command's start-up). Anything else, or anything wrong,
    # goes to the full parser, which reports it.
    simple = load_simple(text)
    if simple is not None:
        return from_data(simple, path)
    docs = load_documents(text, str(path))
    if len(docs) != 1:
        raise BadInput(f"{path}: the policy must be exactly one YAML document")
    return from_data(to_python(docs[0]), path)


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a policy file."""
    start = start.resolve()
    for d in (start, *start.parents):
        # exists or is a (possibly dangling) link: load() then explains what is wrong
        # with it instead of this walk silently skipping to a parent's policy.
        candidate = d / POLICY_FILE
        if candidate.exists() or candidate.is_symlink():
            return d
    return None
