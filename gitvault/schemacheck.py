"""The JSON Schema a policy rule attaches to the files it covers, checked before a write.

A rule's ``schema`` names a JSON Schema file in the repository; every write of
a covered file (set, unset, edit, encrypt, import, migrate) checks the
decrypted documents against it before anything is encrypted, and ``verify``
checks it too. Errors name the rule and the key path, never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gitvault import fsutil
from gitvault.errors import BadInput
from gitvault.model import Mapping, to_python

if TYPE_CHECKING:
    from gitvault.policy import Policy, Rule

MAX_SCHEMA_BYTES = 1024 * 1024


def validate_schema(docs: list[Mapping], pol: Policy, rule: Rule, name: str) -> None:
    """Check decrypted documents against the rule's JSON Schema; BadInput on violation."""
    if not rule.schema:
        return
    import json

    import jsonschema

    from gitvault import keypath

    schema_path = (pol.root / rule.schema).resolve()
    field = f"{pol.path.name}: rules[{rule.index}].schema"
    # The policy can come from a pull request: the schema must be a small regular
    # file inside the repository, never /dev/zero or a credentials file elsewhere.
    if not schema_path.is_relative_to(pol.root.resolve()):
        raise BadInput(f"{field}: {rule.schema} is outside the repository")
    try:
        if not schema_path.is_file():
            raise BadInput(f"{field}: {rule.schema} does not exist or is not a regular file")
        if schema_path.stat().st_size > MAX_SCHEMA_BYTES:
            raise BadInput(f"{field}: {rule.schema} is larger than {MAX_SCHEMA_BYTES // 1024} KiB")
        raw = fsutil.read_input(schema_path, limit=MAX_SCHEMA_BYTES, root=pol.root)
        schema = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        raise BadInput(f"{field}: {rule.schema} cannot be read") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{rule.schema}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = keypath.display([str(p) for p in exc.absolute_path]) or "top level"
        raise BadInput(f"{rule.schema}: not a valid JSON Schema (at {where})") from None
    validator = validator_cls(schema)
    for d in docs:
        errors = sorted(validator.iter_errors(to_python(d)), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            where = keypath.display([p for p in err.absolute_path]) or "(document)"
            # The schema's message can quote the offending value: report only
            # which rule failed, never the value.
            raise BadInput(f"{name}: schema {rule.schema}: {where}: fails '{err.validator}' check")


SchemaCheck = Callable[[list[Mapping]], None]


def no_check(docs: list[Mapping]) -> None:
    """The check of a file no schema covers: accepts anything."""
    return None
