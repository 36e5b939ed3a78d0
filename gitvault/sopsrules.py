"""``.sops.yaml`` creation rules from the policy, and the check that they still agree.

A teammate on plain sops creates a file with ``sops edit secrets/prod/new.yaml``;
sops picks the first creation rule whose ``path_regex`` matches the path (as
given, relative to the ``.sops.yaml``'s folder) and encrypts to its keys with
its selection options. For that to encrypt to exactly the people the policy
names, the policy's rules are translated one for one, in order:

- ``path`` (a gitvault glob) becomes an anchored ``path_regex`` (Go RE2) that
  matches exactly the same paths (see :func:`glob_to_regex`);
- the rule's readers (groups expanded) become the ``age`` list (age X25519 and
  SSH public keys: sops's age support takes both);
- the selection fields (``encrypted_regex``, ``unencrypted_suffix``, …,
  ``mac_only_encrypted``) are copied as they are.

A path no rule covers matches no creation rule, so sops refuses to create it
("no matching creation rules found"), as gitvault does.

The generated block is spliced into the ``creation_rules:`` key of an
existing file; everything else in it (``stores:``, ``destination_rules:``,
comments) is kept byte for byte. A hand-written ``creation_rules`` is only
replaced on request (``force``). :func:`drift` compares what a ``.sops.yaml``
says with the policy, by meaning (keys compared without SSH comments, in
order), and names each difference; no value is involved anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitvault.errors import BadInput
from gitvault.policy import Policy, normalize_key

MARKER = "# gitvault: creation_rules generated from .gitvault.yaml (gitvault sops-config --write)"
SELECTION_KEYS = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
)
# Key types a creation rule can name besides age; any of them means sops would
# also encrypt to someone the policy does not name.
OTHER_KEY_FIELDS = (
    "pgp",
    "kms",
    "gcp_kms",
    "hckms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "key_groups",
)
_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def _quote(ch: str) -> str:
    """One literal character in RE2 syntax (what Go's regexp.QuoteMeta escapes)."""
    return "\\" + ch if ch in _RE2_SPECIAL else ch


def _class_char(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def glob_to_regex(pattern: str) -> str:
    """An anchored RE2 regex matching exactly the paths the policy glob ``pattern`` matches.

    Built from the glob's own tokens (:mod:`gitvault.policy.glob`): ``*`` and
    ``?`` and classes never match ``/``, ``**`` matches anything, ``**/`` zero
    or more whole directories. ``(?s)`` lets ``.`` match a newline, as the glob
    matcher does.
    """
    from gitvault.policy import glob as g

    out = ["(?s)^"]
    for tok in g.compile_glob(pattern).tokens:
        kind = tok.kind
        if kind == g._LIT:
            out.append(_quote(tok.char))
        elif kind == g._ONE:
            out.append("[^/]")
        elif kind == g._STAR:
            out.append("[^/]*")
        elif kind == g._DSTAR:
            out.append(".*")
        elif kind == g._DIRS:
            out.append("(?:.*/)?")
        else:  # a class: the same set, never "/"
            parts = []
            for lo, hi in tok.ranges:
                # split a range around "/" so a positive class cannot match it
                for a, b in (
                    ((lo, min(hi, ".")), (max(lo, "0"), hi)) if lo <= "/" <= hi else ((lo, hi),)
                ):
                    if a > b:
                        continue
                    parts.append(_class_char(a) if a == b else f"{_class_char(a)}-{_class_char(b)}")
            if tok.negate:
                out.append("[^/" + "".join(parts) + "]")
            elif parts:
                out.append("[" + "".join(parts) + "]")
            else:
                out.append("[^\\x00-\\x{10FFFF}]")  # matches nothing, like a class of only "/"
    out.append("$")
    return "".join(out)


def creation_rules(pol: Policy) -> list[dict[str, Any]]:
    """The ``creation_rules`` equivalent to the policy's rules, in the same order."""
    rules: list[dict[str, Any]] = []
    for rule in pol.rules:
        entry: dict[str, Any] = {"path_regex": glob_to_regex(rule.path)}
        entry["age"] = list(pol.reader_keys(rule))
        for k in SELECTION_KEYS:
            if k in rule.selection:
                entry[k] = rule.selection[k]
        rules.append(entry)
    return rules


def render_block(pol: Policy) -> str:
    """The marker comment and the ``creation_rules:`` block, in sops's YAML layout."""
    from gitvault.yamlio import dump_plain

    return MARKER + "\n" + dump_plain({"creation_rules": creation_rules(pol)})


@dataclass(frozen=True)
class Plan:
    """What writing ``.sops.yaml`` would do: the new text and whether it changes anything."""

    path: Path
    text: str
    changed: bool
    created: bool


def _block_span(lines: list[str]) -> tuple[int, int] | None:
    """Line range of the top-level ``creation_rules:`` entry (with the marker above it)."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("creation_rules:"):
            start = i
            break
    if start is None:
        return None
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t", "-", "#")):
            break
        if line.startswith("#") and line.rstrip("\n") != MARKER:
            # a top-level comment ends the block only if what follows is top level
            nxt = next((ln for ln in lines[end:] if ln.strip() and not ln.startswith("#")), "")
            if not nxt.startswith((" ", "\t", "-")):
                break
        end += 1
    if start > 0 and lines[start - 1].rstrip("\n") == MARKER:
        start -= 1
    return start, end


def plan(pol: Policy, *, force: bool = False) -> Plan:
    """The ``.sops.yaml`` at the policy's root with generated creation rules.

    Raises :class:`BadInput` when the file has hand-written creation rules
    (no gitvault marker) and ``force`` is not given, or cannot be spliced.
    """
    from gitvault.sopsconfig import CONFIG_NAME, MAX_CONFIG_BYTES

    path = pol.root / CONFIG_NAME
    block = render_block(pol)
    if not path.exists() and not path.is_symlink():
        return Plan(path, block, changed=True, created=True)
    from gitvault.fsutil import read_input

    raw = read_input(path, limit=MAX_CONFIG_BYTES, root=pol.root)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    lines = text.splitlines(keepends=True)
    span = _block_span(lines)
    if span is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + block
    else:
        start, end = span
        hand_written = not any(ln.rstrip("\n") == MARKER for ln in lines[start:end])
        if hand_written and not force:
            raise BadInput(
                f"{path}: has creation_rules gitvault did not write",
                hint="compare with `gitvault sops-config`, then replace them with "
                "`gitvault sops-config --write --force`",
            )
        new = "".join(lines[:start]) + block + "".join(lines[end:])
    # What we write must read back as the rules we meant (and keep the rest valid).
    _check_readback(pol, new, path)
    return Plan(path, new, changed=new != text, created=False)


def _check_readback(pol: Policy, text: str, path: Path) -> None:
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    docs = load_documents(text, str(path))
    data = to_python(docs[0]) if docs else {}
    if drift(pol, data):
        raise BadInput(
            f"{path}: cannot place generated creation_rules in this file's layout",
            hint="move creation_rules to a top-level block key, or pass --force",
        )


def write(p: Plan) -> None:
    """Write the planned ``.sops.yaml`` atomically (nothing when unchanged)."""
    from gitvault import fsutil

    if p.changed:
        fsutil.atomic_write(p.path, p.text.encode("utf-8"))


def _as_list(value: object) -> list[str] | None:
    """sops accepts a comma-separated string or a list for key fields."""
    if value is None:
        return []
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    if isinstance(value, list) and all(isinstance(k, str) for k in value):
        return [k.strip() for k in value]
    return None


def drift(pol: Policy, data: object) -> list[str]:
    """How a decoded ``.sops.yaml``'s creation rules differ from the policy's (empty: agree).

    Rules are compared in order (sops, like gitvault, takes the first match):
    the path regex must be the generated one, the age keys the rule's readers
    (SSH keys without their comment), the selection fields the rule's, and no
    other key type may be named.
    """
    if not isinstance(data, dict):
        return [".sops.yaml is not a mapping"]
    rules = data.get("creation_rules")
    if rules is None:
        return ["has no creation_rules: plain sops cannot create files for the policy's rules"]
    if not isinstance(rules, list):
        return ["creation_rules is not a list"]
    want = creation_rules(pol)
    problems: list[str] = []
    for i, expected in enumerate(want):
        where = f"creation_rules[{i}] (policy rules[{i}], {pol.rules[i].path})"
        if i >= len(rules):
            problems.append(f"{where}: missing")
            continue
        have = rules[i]
        if not isinstance(have, dict):
            problems.append(f"{where}: not a mapping")
            continue
        if have.get("path_regex") != expected["path_regex"]:
            problems.append(f"{where}: path_regex differs from the policy's path")
        keys = _as_list(have.get("age"))
        if keys is None:
            problems.append(f"{where}: age is neither a string nor a list of strings")
        else:
            names = {
                normalize_key(k): n
                for n, k in zip(pol.reader_names(pol.rules[i]), expected["age"], strict=True)
            }
            got = {normalize_key(k) for k in keys}
            missing = sorted(n for k, n in names.items() if k not in got)
            extra = sorted(pol.name_of(k) or _short(k) for k in got if k not in names)
            if missing:
                problems.append(f"{where}: does not encrypt to " + ", ".join(missing))
            if extra:
                problems.append(
                    f"{where}: also encrypts to "
                    + ", ".join(extra)
                    + ", whom the policy does not name"
                )
        others = [k for k in OTHER_KEY_FIELDS if have.get(k)]
        if others:
            problems.append(f"{where}: also names {', '.join(others)} keys the policy does not")
        wrong = [k for k in SELECTION_KEYS if (have.get(k) or None) != (expected.get(k) or None)]
        if wrong:
            problems.append(f"{where}: selection differs from the policy rule ({', '.join(wrong)})")
    if len(rules) > len(want):
        problems.append(
            f"creation_rules has {len(rules) - len(want)} rule(s) more than the policy "
            "(sops would encrypt paths the policy does not cover)"
        )
    return problems


def _short(key: str) -> str:
    from gitvault.crypto.envelope import short_recipient

    return short_recipient(key)


def config_problems(pol: Policy) -> list[str] | None:
    """Drift of the root ``.sops.yaml`` from the policy; None when there is no such file.

    A repository without ``.sops.yaml`` has no plain-sops teammates to keep in
    step, so nothing is reported for it.
    """
    from gitvault.sopsconfig import CONFIG_NAME, MAX_CONFIG_BYTES

    path = pol.root / CONFIG_NAME
    if not path.exists() and not path.is_symlink():
        return None
    from gitvault.fsutil import read_input
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    try:
        raw = read_input(path, limit=MAX_CONFIG_BYTES, root=pol.root)
        docs = load_documents(raw.decode("utf-8"), CONFIG_NAME)
    except UnicodeDecodeError:
        return ["not UTF-8 text"]
    except BadInput as err:
        return [err.message.removeprefix(f"{path}: ").removeprefix(f"{CONFIG_NAME}: ")]
    return drift(pol, to_python(docs[0]) if docs else {})
