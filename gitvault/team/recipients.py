"""``recipients list|add|remove``: read and change who the policy names.

Every change is computed twice: as policy *data* (validated with
:func:`gitvault.policy.from_data` before anything is written, so a change that
would leave a rule with nobody to read it is refused), and as *text*, by the
targeted line edits of :mod:`gitvault.team.policytext`, which keep the file's
comments and layout. The text is re-parsed and must give exactly the data; when
it does not (a layout the line edits do not handle), the whole document is
re-emitted from the parsed model instead: comments kept, sops's 4-space layout.
The result says which of the two happened.

Changing the policy does not change any vault file: the result lists the files
whose recipients now differ from the policy (``gitvault rekey`` fixes them).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitvault import fsutil
from gitvault.errors import BadInput, GitvaultError
from gitvault.policy import POLICY_FILE, Policy, normalize_key

KEPT = "kept"
REEMITTED = "re-emitted"


@dataclass(frozen=True)
class RecipientInfo:
    """One recipient of the policy: key, groups, and the rules that let them read."""

    name: str
    key: str
    groups: tuple[str, ...]
    rules: tuple[str, ...]  # path globs of the rules whose readers include them


@dataclass(frozen=True)
class PolicyEdit:
    """A policy change: the new text and the validated policy it gives."""

    text: str
    policy: Policy
    layout: str  # KEPT (line edits) or REEMITTED (whole document in sops layout)


@dataclass(frozen=True)
class RecipientChange:
    """What ``recipients add|remove`` did."""

    action: str  # "added" | "removed"
    name: str
    policy: Path
    groups: tuple[str, ...]  # groups the name was added to / removed from
    rules: tuple[str, ...]  # rules that named the recipient directly (remove only)
    layout: str
    stale: tuple[str, ...]  # files whose recipients now differ from the policy

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "gitvault.recipients/v1",
            "action": self.action,
            "name": self.name,
            "policy": str(self.policy),
            "groups": list(self.groups),
            "rules": list(self.rules),
            "layout": self.layout,
            "needs_rekey": list(self.stale),
        }


def describe(pol: Policy) -> list[RecipientInfo]:
    """Every recipient with their groups and the rules that let them read, in policy order."""
    out = []
    for name, rec in pol.recipients.items():
        groups = tuple(g for g, members in pol.groups.items() if name in members)
        rules = tuple(r.path for r in pol.rules if name in pol.reader_names(r))
        out.append(RecipientInfo(name, rec.key, groups, rules))
    return out


# ----------------------------------------------------------------- data edits


def _data(pol: Policy) -> dict[str, Any]:
    return copy.deepcopy(pol.raw)


def recipient_value(
    key: str, email: str | None = None, signing_keys: tuple[str, ...] = ()
) -> str | dict[str, Any]:
    """A recipient entry: the bare key, or a mapping when identity facts come with it."""
    if not email and not signing_keys:
        return key
    value: dict[str, Any] = {"key": key}
    if email:
        value["email"] = email
    if signing_keys:
        value["signing_keys"] = list(signing_keys)
    return value


def added_data(
    pol: Policy,
    name: str,
    key: str,
    group: str | None,
    email: str | None = None,
    signing_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The policy data with ``name`` added (and put in ``group``); raises on conflicts."""
    if name in pol.recipients:
        raise BadInput(f"{name} is already a recipient", hint="remove it first to change its key")
    if name in pol.groups:
        raise BadInput(f"{name} is the name of a group")
    owner = pol.name_of(key)
    if owner is not None:
        raise BadInput(f"that key already belongs to recipient {owner}")
    if group is not None and group in pol.recipients:
        raise BadInput(f"{group} is a recipient, not a group")
    data = _data(pol)
    data["recipients"][name] = recipient_value(key, email, signing_keys)
    if group is not None:
        groups = data.setdefault("groups", {})
        if groups is None:
            groups = data["groups"] = {}
        groups.setdefault(group, [])
        groups[group] = [*(groups[group] or []), name]
    return data


def removed_data(pol: Policy, name: str) -> dict[str, Any]:
    """The policy data without ``name`` anywhere; refuses to leave a rule with no reader."""
    if name not in pol.recipients:
        known = ", ".join(pol.recipients) or "none"
        raise BadInput(f"no recipient named {name} (recipients: {known})")
    data = _data(pol)
    del data["recipients"][name]
    for gname, members in (data.get("groups") or {}).items():
        data["groups"][gname] = [m for m in (members or []) if m != name]
    groups = {g: set(m or []) for g, m in (data.get("groups") or {}).items()}
    for i, rule in enumerate(data["rules"]):
        rule["recipients"] = [n for n in rule["recipients"] if n != name]
        readers = {m for n in rule["recipients"] for m in groups.get(n, {n})}
        if not readers:
            raise BadInput(
                f"removing {name} would leave rules[{i}] ({rule['path']}) with no recipients",
                hint="add another recipient to that rule (or its groups) first",
            )
    return data


# ----------------------------------------------------------------- text edits


def _parse(text: str, path: Path) -> Any:
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    docs = load_documents(text, str(path))
    if len(docs) != 1:
        raise BadInput(f"{path}: the policy must be exactly one YAML document")
    return to_python(docs[0])


def _same(text: str | None, data: dict[str, Any], path: Path) -> bool:
    if text is None:
        return False
    try:
        return bool(_parse(text, path) == data)
    except GitvaultError:
        return False


def _model_text(text: str, data: dict[str, Any], path: Path) -> str:
    """Apply ``data``'s recipients, groups and rule readers to the parsed model; re-emit."""
    from gitvault.model import Mapping, from_python
    from gitvault.yamlio import emit_documents, load_documents

    doc = load_documents(text, str(path))[0]
    recipients = doc.get("recipients")
    if isinstance(recipients, Mapping):
        for name in list(recipients.keys()):
            if name not in data["recipients"]:
                recipients.remove(name)
        for name, value in data["recipients"].items():
            if name not in recipients:
                recipients.set(name, from_python(value))
    else:
        doc.set("recipients", from_python(data["recipients"]))
    groups = doc.get("groups")
    if isinstance(groups, Mapping):
        for gname, members in (data.get("groups") or {}).items():
            groups.set(gname, from_python(members))
    elif data.get("groups"):
        _insert_after(doc, "recipients", "groups", from_python(data["groups"]))
    rules = doc.get("rules")
    if isinstance(rules, list):
        live = [r for r in rules if isinstance(r, Mapping)]
        for rule, wanted in zip(live, data["rules"], strict=False):
            rule.set("recipients", from_python(wanted["recipients"]))
    return emit_documents([doc])


def _insert_after(doc: Any, after: str, key: str, value: Any) -> None:
    for i, entry in enumerate(doc.entries):
        if isinstance(entry, tuple) and entry[0] == after:
            doc.entries.insert(i + 1, (key, value))
            return
    doc.entries.append((key, value))


def _policy_text(pol: Policy) -> str:
    """The policy file's text, read with the policy's cap and symlink checks."""
    raw = fsutil.read_input(pol.path, limit=fsutil.MAX_POLICY_BYTES, root=pol.root)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{pol.path}: not UTF-8 text") from None


def edit_text(pol: Policy, data: dict[str, Any], edited: str | None) -> PolicyEdit:
    """Validate ``data``; keep ``edited`` if it parses to exactly ``data``, else re-emit."""
    from gitvault import policy as policy_mod

    new_policy = policy_mod.from_data(data, pol.path)
    if _same(edited, data, pol.path):
        assert edited is not None
        return PolicyEdit(edited, new_policy, KEPT)
    text = _model_text(_policy_text(pol), data, pol.path)
    if not _same(text, data, pol.path):
        raise BadInput(f"{pol.path}: cannot rewrite the policy safely; edit it by hand")
    return PolicyEdit(text, new_policy, REEMITTED)


def add_edit(
    pol: Policy,
    name: str,
    key: str,
    group: str | None,
    email: str | None = None,
    signing_keys: tuple[str, ...] = (),
) -> PolicyEdit:
    from gitvault.team import policytext

    key = key.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]*", name):
        raise BadInput(f"invalid recipient name {name[:40]!r}: use letters, digits, . _ @ -")
    email = email.strip() if email else None
    if email is not None and (not re.fullmatch(r"[^\s@]+@[^\s@]+", email) or len(email) > 254):
        raise BadInput(f"invalid e-mail {email[:60]!r}: write it as your commits carry it")
    signing_keys = tuple(" ".join(k.split()[:2]) for k in signing_keys if k.strip())
    value = recipient_value(key, email, signing_keys)
    data = added_data(pol, name, key, group, email, signing_keys)
    text = _policy_text(pol)
    return edit_text(pol, data, policytext.add_recipient(text, name, value, group))


def remove_edit(pol: Policy, name: str) -> PolicyEdit:
    from gitvault.team import policytext

    data = removed_data(pol, name)
    text = _policy_text(pol)
    return edit_text(pol, data, policytext.remove_recipient(text, name))


# ----------------------------------------------------------------- entry points


def stale_files(pol: Policy) -> list[str]:
    """Covered vault files whose recipients differ from what the policy names now."""
    from gitvault.history.sources import parse_for_history
    from gitvault.verify import covered_files

    out = []
    for rel in covered_files(pol):
        rule = pol.rule_for(rel)
        assert rule is not None
        want = {normalize_key(k) for k in pol.reader_keys(rule)}
        try:
            data = fsutil.read_input(pol.root / rel, root=pol.root)
            view = parse_for_history(data, rel)
        except (GitvaultError, OSError):
            continue  # not a vault file: `verify` reports it
        if {normalize_key(r) for r in view.recipients} != want:
            out.append(rel)
    return out


def add(
    pol: Policy,
    name: str,
    key: str,
    group: str | None = None,
    *,
    email: str | None = None,
    signing_keys: tuple[str, ...] = (),
) -> RecipientChange:
    """Add a recipient (optionally to a group, with their e-mail and signing keys); write it.

    The e-mail (as the person's commits carry it) and SSH signing keys are the
    identity facts the history checks use to recognise the person's commits.
    """
    edit = add_edit(pol, name, key, group, email, signing_keys)
    fsutil.atomic_write(pol.path, edit.text.encode("utf-8"))
    return RecipientChange(
        "added",
        name,
        pol.path,
        (group,) if group else (),
        (),
        edit.layout,
        tuple(stale_files(edit.policy)),
    )


def remove(pol: Policy, name: str) -> RecipientChange:
    """Remove a recipient from the recipients, every group and every rule; write the policy."""
    edit = remove_edit(pol, name)
    groups = tuple(g for g, members in pol.groups.items() if name in members)
    rules = tuple(r.path for r in pol.rules if name in r.recipients)
    fsutil.atomic_write(pol.path, edit.text.encode("utf-8"))
    return RecipientChange(
        "removed", name, pol.path, groups, rules, edit.layout, tuple(stale_files(edit.policy))
    )


__all__ = [
    "KEPT",
    "POLICY_FILE",
    "REEMITTED",
    "PolicyEdit",
    "RecipientChange",
    "RecipientInfo",
    "add",
    "describe",
    "remove",
]
