"""Who gains or loses access, and what changed in the policy, between two policies.

Access is computed per vault file, from the rules (the first matching rule's
readers) at each end, so a rule rewritten with another glob, a group that
gained a member and a recipient whose key changed all show up the same way:
*name* gains read access to *the rule's path* (listing the files at HEAD).
A recipient is identified by name *and* key: a new key under an old name is
a gain too (someone else may hold it). Rules that cover no file yet are
compared with the base rule of the same path.

Pure: takes parsed policies and file lists, returns dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gitvault.history.policies import PolicyHistory
from gitvault.review.model import AccessChange, PolicyChange

if TYPE_CHECKING:
    from gitvault.policy import Policy, Rule


def _norm(key: str) -> str:
    from gitvault.policy import normalize_key

    return normalize_key(key)


def _readers(pol: Policy | None, rule: Rule | None) -> set[tuple[str, str]]:
    if pol is None or rule is None:
        return set()
    return {(n, _norm(pol.recipients[n].key)) for n in pol.reader_names(rule)}


def access_changes(
    policies: PolicyHistory,
    base: Policy | None,
    head: Policy | None,
    base_files: Sequence[str],
    head_files: Sequence[str],
) -> list[AccessChange]:
    """Read access gained (files at HEAD) and lost (files at the base), grouped by rule."""
    gained: dict[tuple[str, str], list[str]] = {}
    lost: dict[tuple[str, str], list[str]] = {}
    for path in head_files:
        rule = policies.rule(head, path)
        if rule is None:
            continue
        before = _readers(base, policies.rule(base, path))
        for name, _key in sorted(_readers(head, rule) - before):
            gained.setdefault((name, rule.path), []).append(path)
    for path in base_files:
        rule = policies.rule(base, path)
        if rule is None:
            continue
        after = _readers(head, policies.rule(head, path))
        for name, _key in sorted(_readers(base, rule) - after):
            lost.setdefault((name, rule.path), []).append(path)
    if head is not None:
        covered = set()
        for p in head_files:
            rule = policies.rule(head, p)
            if rule is not None:
                covered.add(rule.path)
        base_rules = {r.path: r for r in base.rules} if base is not None else {}
        for rule in head.rules:
            if rule.path in covered:
                continue
            before = _readers(base, base_rules.get(rule.path))
            for name, _key in sorted(_readers(head, rule) - before):
                gained.setdefault((name, rule.path), [])
    out = [
        AccessChange(name, "gained", scope, "policy", tuple(files))
        for (name, scope), files in sorted(gained.items())
    ]
    out += [
        AccessChange(name, "lost", scope, "policy", tuple(files))
        for (name, scope), files in sorted(lost.items())
    ]
    return out


def _joined(names: Iterable[str]) -> str:
    return ", ".join(names) or "nobody"


def policy_changes(base: Policy | None, head: Policy | None) -> list[PolicyChange]:
    """Differences in recipients, signing keys, emails, groups and rules."""
    if base is None and head is None:
        return []
    if base is None:
        assert head is not None
        return [PolicyChange("policy-added", ".gitvault.yaml", f"{len(head.rules)} rule(s)")]
    if head is None:
        return [PolicyChange("policy-removed", ".gitvault.yaml", "vault files lose their rules")]
    out: list[PolicyChange] = []
    for name in sorted(set(head.recipients) - set(base.recipients)):
        out.append(PolicyChange("recipient-added", name, _short(head.recipients[name].key)))
    for name in sorted(set(base.recipients) - set(head.recipients)):
        out.append(PolicyChange("recipient-removed", name))
    for name in sorted(set(base.recipients) & set(head.recipients)):
        old, new = base.recipients[name], head.recipients[name]
        if _norm(old.key) != _norm(new.key):
            out.append(
                PolicyChange(
                    "recipient-key",
                    name,
                    f"{_short(old.key)} -> {_short(new.key)}: the new key reads what {name} reads",
                    expansion=True,
                )
            )
        added = [
            k for k in new.signing_keys if _norm(k) not in {_norm(o) for o in old.signing_keys}
        ]
        removed = [
            k for k in old.signing_keys if _norm(k) not in {_norm(n) for n in new.signing_keys}
        ]
        if added or removed:
            detail = " ".join([f"+{_short(k)}" for k in added] + [f"-{_short(k)}" for k in removed])
            out.append(PolicyChange("signing-keys", name, detail, expansion=bool(added)))
        if (old.email or "") != (new.email or ""):
            out.append(
                PolicyChange(
                    "email",
                    name,
                    f"{old.email or '(none)'} -> {new.email or '(none)'}",
                    expansion=bool(new.email),
                )
            )
    for name in sorted(set(head.recipients) - set(base.recipients)):
        new = head.recipients[name]
        if new.signing_keys:
            detail = " ".join(f"+{_short(k)}" for k in new.signing_keys)
            out.append(PolicyChange("signing-keys", name, detail, expansion=True))
    for group in sorted(set(head.groups) - set(base.groups)):
        out.append(PolicyChange("group-added", group, _joined(head.groups[group])))
    for group in sorted(set(base.groups) - set(head.groups)):
        out.append(PolicyChange("group-removed", group))
    for group in sorted(set(base.groups) & set(head.groups)):
        came = [m for m in head.groups[group] if m not in base.groups[group]]
        went = [m for m in base.groups[group] if m not in head.groups[group]]
        if came or went:
            detail = " ".join([f"+{m}" for m in came] + [f"-{m}" for m in went])
            out.append(PolicyChange("group-members", group, detail, expansion=bool(came)))
    out += _rule_changes(base, head)
    return out


def _rule_changes(base: Policy, head: Policy) -> list[PolicyChange]:
    out: list[PolicyChange] = []
    before = {r.path: r for r in base.rules}
    after = {r.path: r for r in head.rules}
    for path, rule in after.items():
        if path not in before:
            out.append(
                PolicyChange(
                    "rule-added",
                    path,
                    f"rules[{rule.index}]: readable by {_joined(head.reader_names(rule))}",
                )
            )
    for path, rule in before.items():
        if path not in after:
            out.append(PolicyChange("rule-removed", path, f"was rules[{rule.index}]"))
    for path in [p for p in after if p in before]:
        old, new = before[path], after[path]
        diffs = []
        if old.recipients != new.recipients:
            diffs.append(
                f"recipients [{', '.join(old.recipients)}] -> [{', '.join(new.recipients)}]"
            )
        for attr in ("schema", "rotate_after", "grace"):
            if getattr(old, attr) != getattr(new, attr):
                diffs.append(f"{attr} {getattr(old, attr) or '-'} -> {getattr(new, attr) or '-'}")
        if old.selection != new.selection:
            diffs.append("which values are encrypted changed")
        if old.keys != new.keys:
            diffs.append("per-key settings changed")
        if old.index != new.index:
            diffs.append(f"moved rules[{old.index}] -> rules[{new.index}] (first match wins)")
        if diffs:
            out.append(PolicyChange("rule-changed", path, "; ".join(diffs)))
    return out


def _short(key: str) -> str:
    from gitvault.crypto.envelope import short_recipient

    return short_recipient(key)
