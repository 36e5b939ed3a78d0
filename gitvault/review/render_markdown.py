"""The review as GitHub-flavoured Markdown, ready to post as a pull-request comment.

Layout: a title, the verdict, a summary table, the findings, then one section
per topic (keys, access, policy, freshness, commits, rotation ages, checks,
leaks). Tables are capped (:data:`MAX_ROWS`) so a huge range stays under
GitHub's comment limit; the JSON output is never capped.

Everything that comes from the repository (file names, key paths, commit
subjects, author names) goes through :func:`escape`: Markdown and HTML are
neutralised, ``@`` cannot mention anyone, ``|`` cannot break a table and a
newline cannot start a new block. No value is ever rendered: the model holds
none.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from gitvault.review.model import KINDS, Review

MAX_ROWS = 100
_SPECIAL = re.compile(r"([\\`*_{}\[\]!|~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def escape(text: object) -> str:
    """``text`` as inert Markdown: no formatting, links, HTML, mentions or table breaks."""
    s = _CONTROL.sub(" ", str(text))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _SPECIAL.sub(r"\\\1", s)
    # A zero-width space after "@" keeps GitHub from mentioning (and notifying) anyone.
    return s.replace("@", "@\u200b")


def _short(commit: str | None) -> str:
    return f"`{commit[:12]}`" if commit else "-"


def _date(epoch: int | None) -> str:
    return "-" if epoch is None else time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _span(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 86400}d" if seconds >= 86400 else f"{sign}{seconds // 3600}h"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = list(rows)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        out.append(f"\n_… and {len(rows) - MAX_ROWS} more rows (see `--format json`)._")
    return out


def _ok(good: bool, text: str, bad_mark: str = "❌") -> str:
    return f"{'✅' if good else bad_mark} {text}"


def _signature(state: str, signer: str | None) -> str:
    if state == "verified":
        return f"✅ verified: {escape(signer)}"
    return {
        "unsigned": "⚠️ unsigned",
        "foreign": "❌ key not in policy",
        "bad": "❌ bad signature",
    }.get(state, f"❌ {escape(state)}")


def _change(kind: str, value_changed: bool | None) -> str:
    if kind != "rekeyed":
        return kind
    return {True: "re-keyed, value changed", False: "re-keyed, value unchanged"}.get(
        value_changed,  # type: ignore[arg-type]
        "re-keyed (value unknown)",
    )


# Finding kinds about the vault files at HEAD (the "Files at HEAD" row).
_FILE_KINDS = ("plaintext", "selection", "recipients", "mac", "schema")


def _summary(review: Review, failing: frozenset[str]) -> list[str]:
    def has(*kinds: str) -> int:
        return sum(1 for f in review.findings if f.kind in kinds)

    def mark(count: int, kinds: Sequence[str], text_ok: str, text_bad: str) -> str:
        if not count:
            return _ok(True, text_ok)
        present = {f.kind for f in review.findings if f.kind in kinds}
        fails = bool(present & failing)
        return f"{'❌' if fails else '⚠️'} {text_bad}"

    keys = review.keys
    counts = {k: sum(1 for c in keys if c.change == k) for k in ("added", "rotated", "removed")}
    rekeyed = sum(1 for c in keys if c.change == "rekeyed")
    vault_commits = [c for c in review.commits if c.vault]
    verified = sum(1 for c in vault_commits if c.signature == "verified")
    gains = [a for a in review.access if a.change == "gained"]
    fresh = has("rollback", "substitution")
    rows = [
        (
            "Vault files",
            f"{len(review.files)} changed"
            + "".join(
                f", {n} {s}"
                for s in ("added", "removed")
                if (n := sum(1 for f in review.files if f.status == s))
            ),
        ),
        (
            "Keys",
            f"{counts['rotated']} rotated, {counts['added']} added, "
            f"{counts['removed']} removed, {rekeyed} re-keyed",
        ),
        (
            "Access",
            mark(
                len(gains),
                ["access-expansion"],
                "no one gains read access",
                f"**{len(gains)} access expansion(s)**",
            ),
        ),
        (
            "Policy",
            mark(
                has("policy"),
                ["policy"],
                "unchanged",
                f"**{has('policy')} change(s)** (judged by the base's policy)",
            ),
        ),
        (
            "Freshness and authorship",
            mark(
                fresh,
                ["rollback", "substitution"],
                "no rollback or substitution",
                f"**{fresh} rollback/substitution finding(s)**",
            ),
        ),
        (
            "Signatures",
            mark(
                has("unsigned", "bad-signature"),
                ["unsigned", "bad-signature"],
                f"{verified} of {len(vault_commits)} vault commit(s) verified",
                f"{verified} of {len(vault_commits)} vault commit(s) verified",
            ),
        ),
        (
            "Trailers",
            mark(
                has("trailer-mismatch"),
                ["trailer-mismatch"],
                "agree with the tree",
                f"{has('trailer-mismatch')} disagreement(s)",
            ),
        ),
        (
            "Leaks",
            "not scanned (--no-scan)"
            if not review.scanned
            else mark(has("leak"), ["leak"], "none found", f"**{has('leak')} finding(s)**"),
        ),
        (
            "Files at HEAD",
            mark(
                has(*_FILE_KINDS),
                _FILE_KINDS,
                "valid, encrypted to the policy's readers"
                + ("" if review.identity else "; MAC and schema not checked (no identity)"),
                f"{has(*_FILE_KINDS)} problem(s)",
            ),
        ),
        (
            "Rotation",
            mark(
                has("overdue"), ["overdue"], "nothing overdue", f"{has('overdue')} key(s) overdue"
            ),
        ),
    ]
    return _table(("Check", "Result"), rows)


def render_markdown(review: Review, fail_on: frozenset[str]) -> str:
    """The whole comment."""
    failing = review.failing(fail_on)
    kinds_failing = frozenset(fail_on) | (
        {"rollback", "substitution"} if "freshness" in fail_on else set()
    )
    lines = [
        f"### gitvault review: {_short(review.base)}..{_short(review.head)}",
        "",
        f"Range {escape(review.base_name)}..{escape(review.head_name)}: "
        f"{len(review.commits)} commit(s), {sum(1 for c in review.commits if c.vault)} "
        "touching the vault. No values are shown.",
        "",
    ]
    if failing:
        lines.append(f"**❌ {len(failing)} finding(s) fail this review** ")
    else:
        lines.append("**✅ nothing fails this review** ")
    lines.append(f"(fails on: {escape(', '.join(sorted(fail_on)) or 'nothing')})")
    lines += ["", *_summary(review, kinds_failing), ""]
    if review.findings:
        lines += ["#### Findings", ""]
        for f in review.findings[:MAX_ROWS]:
            mark = "❌" if f.kind in kinds_failing else "⚠️"
            lines.append(f"- {mark} **{escape(f.kind)}**: {escape(f.message)}")
        if len(review.findings) > MAX_ROWS:
            lines.append(f"- … and {len(review.findings) - MAX_ROWS} more (see `--format json`)")
        lines.append("")
    lines += _access_section(review)
    lines += _keys_section(review)
    lines += _files_section(review)
    lines += _policy_section(review)
    lines += _freshness_section(review)
    lines += _commits_section(review)
    lines += _ages_section(review)
    lines += _checks_section(review)
    lines += _leaks_section(review)
    if review.problems:
        lines += ["#### Could not be read", ""]
        lines += [f"- {escape(p)}" for p in review.problems[:MAX_ROWS]]
        lines.append("")
    # Every name is escaped as Markdown above; this last pass makes sure no
    # control character (ESC, CR, bidi override) reaches a terminal that shows
    # the comment, whatever a future row forgets. U+200B is ours (see escape).
    from gitvault.safetext import printable_lines

    return printable_lines("\n".join(lines).rstrip("\n") + "\n", keep="\n\u200b")


def _access_section(review: Review) -> list[str]:
    gains = [a for a in review.access if a.change == "gained"]
    losses = [a for a in review.access if a.change == "lost"]
    if not gains and not losses:
        return []
    out = ["#### Access", ""]
    if gains:
        out += ["> [!WARNING]", "> **Access expansion: these people gain read access**", ">"]
        for a in gains[:MAX_ROWS]:
            what = f"{len(a.files)} file(s) at HEAD" if a.source == "policy" else "its recipients"
            out.append(
                f"> - **{escape(a.name)}** gains read access to {escape(a.scope)} "
                f"({what}; from the {a.source})"
            )
        out.append("")
    if losses:
        out += _table(
            ("Loses access", "Scope", "Source"),
            ((escape(a.name), escape(a.scope), a.source) for a in losses),
        )
        out += [
            "",
            "_Losing access does not un-share what was read: rotate values they could read "
            "(`gitvault offboard`)._",
            "",
        ]
    return out


def _keys_section(review: Review) -> list[str]:
    if not review.keys:
        return []
    signers = {c.commit: c for c in review.commits}
    rolled = {
        (f.file, f.commit, k) for f in review.freshness if f.kind == "rollback" for k in f.keys
    }
    rows = []
    for k in review.keys:
        c = signers.get(k.commit)
        note = " ⚠️ rolled back" if (k.file, k.commit, k.key) in rolled else ""
        rows.append(
            (
                escape(k.file),
                escape(k.key),
                escape(_change(k.change, k.value_changed)) + note,
                _short(k.commit),
                escape(k.author),
                _signature(c.signature, c.signer) if c else "-",
            )
        )
    return [
        "#### Keys changed",
        "",
        *_table(("File", "Key", "Change", "Commit", "Author", "Signature"), rows),
        "",
    ]


def _files_section(review: Review) -> list[str]:
    if not review.files:
        return []
    rows = [
        (
            escape(f.path),
            f.status,
            escape(", ".join(f.readers_head) or "-"),
            escape(" ".join([*(f"+{n}" for n in f.gained), *(f"-{n}" for n in f.lost)]) or "-"),
        )
        for f in review.files
    ]
    return [
        "#### Vault files",
        "",
        *_table(("File", "Status", "Readers at HEAD (from the file)", "Recipients changed"), rows),
        "",
    ]


def _policy_section(review: Review) -> list[str]:
    if not review.policy:
        return []
    rows = [
        (
            ("⚠️ " if p.expansion else "") + escape(p.what),
            escape(p.subject),
            escape(p.detail) or "-",
        )
        for p in review.policy
    ]
    return ["#### Policy changes", "", *_table(("Change", "About", "Detail"), rows), ""]


def _freshness_section(review: Review) -> list[str]:
    if not review.freshness:
        return []
    rows = [
        (
            f"**{f.kind}**",
            escape(f.file),
            _short(f.commit),
            escape(f.author),
            escape(f.reason),
            "yes" if f.current else "no",
        )
        for f in review.freshness
    ]
    return [
        "#### Freshness and authorship",
        "",
        *_table(("Finding", "File", "Commit", "Author", "Why", "Still at HEAD"), rows),
        "",
    ]


def _commits_section(review: Review) -> list[str]:
    if not review.commits:
        return []
    rows = []
    for c in review.commits:
        trailers = {None: "-", True: "✅", False: "❌ mismatch"}[c.trailers_agree]
        rows.append(
            (
                _short(c.commit),
                escape(c.subject[:80]),
                escape(c.author),
                _signature(c.signature, c.signer) if c.vault else escape(c.signature),
                trailers,
            )
        )
    return [
        "<details><summary>Commits</summary>",
        "",
        *_table(("Commit", "Subject", "Author", "Signature", "Trailers"), rows),
        "",
        "</details>",
        "",
    ]


def _ages_section(review: Review) -> list[str]:
    if not review.ages:
        return []
    marks = {"overdue": "❌ overdue", "due-soon": "⚠️ due soon", "ok": "✅ ok"}
    rows = [
        (
            escape(a.file),
            escape(a.key),
            _date(a.last_change),
            _span(a.age_seconds),
            _span(a.period_seconds),
            "❌ exposed, not rotated" if a.exposed else marks.get(a.status, a.status),
        )
        for a in review.ages
    ]
    return [
        "<details><summary>Rotation ages at HEAD</summary>",
        "",
        *_table(("File", "Key", "Last change", "Age", "Period", "Status"), rows),
        "",
        "</details>",
        "",
    ]


def _checks_section(review: Review) -> list[str]:
    if not review.checks:
        return []
    rows = [
        (
            escape(c.file),
            escape(", ".join(f"{k}: {v}" for k, v in c.checks.items())),
            escape("; ".join(c.problems)) or "-",
        )
        for c in review.checks
    ]
    return ["#### Files at HEAD", "", *_table(("File", "Checks", "Problems"), rows), ""]


def _leaks_section(review: Review) -> list[str]:
    if not review.leaks:
        return []
    rows = [
        (
            escape(leak.path) + (f":{leak.line}" if leak.line else ""),
            escape(leak.rule),
            escape(leak.description),
            _short(leak.commit),
            f"`{leak.fingerprint}`",
        )
        for leak in review.leaks
    ]
    return [
        "#### Leaks in the range",
        "",
        *_table(("Where", "Rule", "What", "Commit", "Fingerprint"), rows),
        "",
        "_Remove the value from history and rotate it; see `gitvault scan --history`._",
        "",
    ]


def kinds_help() -> str:
    """One line per finding kind (for --help and docs)."""
    return "\n".join(f"{k}: {v}" for k, v in KINDS.items())
