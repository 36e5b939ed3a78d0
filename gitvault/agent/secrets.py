"""The variables an output delivers: the names and values ``gitvault export`` gives.

Each vault file an output names is decrypted once per cycle from the agent's
work tree (MAC verified, by ``api.decrypt_bytes``), with its grace-period
``NAME_PREVIOUS`` values (``api.previous_values``), and named by the one
naming rule (:func:`gitvault.export.model.collect`), leaving out the values
no MAC covers — exactly what ``export`` does for the same files. The checks
``export`` runs before delivering (recipients, schema) already ran in the
gate, on the same bytes.

Errors name outputs, files and variable names; never a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault.errors import BadInput, GitvaultError

if TYPE_CHECKING:
    from gitvault.agent.config import Output
    from gitvault.export.model import Source, Variable
    from gitvault.identities import Identities
    from gitvault.policy import Policy


@dataclass
class Reader:
    """Decrypts each vault file at most once; remembers what it left out."""

    root: Path
    ids: Identities
    policy: Policy | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    def source(self, label: str, previous: bool) -> Source:
        key = f"{label}\0{int(previous)}"
        if key not in self.sources:
            self.sources[key] = self._read(label, previous)
        return self.sources[key]

    def _read(self, label: str, previous: bool) -> Source:
        from gitvault import api
        from gitvault.export.model import Source
        from gitvault.fsutil import read_input

        if self.policy is None:
            self.policy = api.load_policy(self.root)
        try:
            data = read_input(self.root / label, root=self.root)
            decrypted = api.decrypt_bytes(data, label, self.ids, self.policy)
        except GitvaultError as err:
            if label in err.message:
                raise
            raise type(err)(f"{label}: {err.message}", hint=err.hint) from None
        old: Mapping[Any, Any] = {}
        if previous and self._has_grace(label):
            old = api.previous_values(self.root, label, self.ids)
        return Source(label, list(decrypted.documents), None, old, decrypted.unauthenticated)

    def _has_grace(self, label: str) -> bool:
        rule = self.policy.rule_for(label) if self.policy is not None else None
        return rule is not None and bool(rule.grace or any(k.grace for k in rule.keys.values()))


def variables(reader: Reader, out: Output) -> list[Variable]:
    """The output's variables, in export order; its ``keys`` filter applied."""
    from gitvault.export.model import PREVIOUS_SUFFIX, collect

    sources = [reader.source(f, out.previous) for f in out.files]
    dropped: list[str] = []
    found = collect(sources, authenticated_only=True, dropped=dropped)
    reader.dropped.extend(d for d in dropped if d not in reader.dropped)
    if out.keys is not None:
        wanted = set(out.keys)
        names = {v.name for v in found}
        missing = [k for k in out.keys if k not in names]
        if missing:
            raise BadInput(
                f"output {out.name}: no variable {', '.join(missing[:5])} in "
                + ", ".join(out.files)
            )
        found = [
            v
            for v in found
            if v.name in wanted or (v.previous and v.name.removesuffix(PREVIOUS_SUFFIX) in wanted)
        ]
    if out.format in ("env", "dotenv"):
        check_env_names(reader.policy, out, found)
    return found


def check_env_names(policy: Policy | None, out: Output, found: Sequence[Variable]) -> None:
    """Refuse names that change how programs run, as ``export`` does (exit 5).

    Allowed: the output's ``allow_env``, the policy's top-level
    ``export.allow_env`` and that of the rule covering each file.
    """
    from gitvault.export.envnames import check_names, is_denied

    raw: Mapping[str, Any] = getattr(policy, "raw", None) or {}
    common = [*out.allow_env, *_allow_env_of(raw.get("export"))]
    raw_rules = raw.get("rules") or []
    for v in found:
        if not is_denied(v.name):
            continue
        rule = policy.rule_for(v.file) if policy is not None else None
        index = getattr(rule, "index", None)
        raw_rule = raw_rules[index] if isinstance(index, int) and index < len(raw_rules) else {}
        section = raw_rule.get("export") if isinstance(raw_rule, Mapping) else None
        check_names([(v.name, v.origin)], [*common, *_allow_env_of(section)])


def _allow_env_of(section: Any) -> list[str]:
    if not isinstance(section, Mapping):
        return []
    names = section.get("allow_env") or []
    return [str(n) for n in names] if isinstance(names, list) else []
