"""The topic sections of the review comment, one function each.

Access, keys, files, policy, freshness, commits, rotation ages, checks and
leaks: each returns its Markdown lines (nothing when there is nothing to say),
built with :mod:`gitvault.review.markdown`. No value is ever rendered.
"""

from __future__ import annotations

from gitvault.review import markdown as md
from gitvault.review.markdown import MAX_ROWS, escape
from gitvault.review.model import Review


def access_section(review: Review) -> list[str]:
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
        out += md.table(
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


def keys_section(review: Review) -> list[str]:
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
                escape(md.change(k.change, k.value_changed)) + note,
                md.short(k.commit),
                escape(k.author),
                md.signature(c.signature, c.signer) if c else "-",
            )
        )
    return [
        "#### Keys changed",
        "",
        *md.table(("File", "Key", "Change", "Commit", "Author", "Signature"), rows),
        "",
    ]


def files_section(review: Review) -> list[str]:
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
        *md.table(
            ("File", "Status", "Readers at HEAD (from the file)", "Recipients changed"), rows
        ),
        "",
    ]


def policy_section(review: Review) -> list[str]:
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
    return ["#### Policy changes", "", *md.table(("Change", "About", "Detail"), rows), ""]


def freshness_section(review: Review) -> list[str]:
    if not review.freshness:
        return []
    rows = [
        (
            f"**{f.kind}**",
            escape(f.file),
            md.short(f.commit),
            escape(f.author),
            escape(f.reason),
            "yes" if f.current else "no",
        )
        for f in review.freshness
    ]
    return [
        "#### Freshness and authorship",
        "",
        *md.table(("Finding", "File", "Commit", "Author", "Why", "Still at HEAD"), rows),
        "",
    ]


def commits_section(review: Review) -> list[str]:
    if not review.commits:
        return []
    rows = []
    for c in review.commits:
        trailers = {None: "-", True: "✅", False: "❌ mismatch"}[c.trailers_agree]
        rows.append(
            (
                md.short(c.commit),
                escape(c.subject[:80]),
                escape(c.author),
                md.signature(c.signature, c.signer) if c.vault else escape(c.signature),
                trailers,
            )
        )
    return [
        "<details><summary>Commits</summary>",
        "",
        *md.table(("Commit", "Subject", "Author", "Signature", "Trailers"), rows),
        "",
        "</details>",
        "",
    ]


def ages_section(review: Review) -> list[str]:
    if not review.ages:
        return []
    marks = {"overdue": "❌ overdue", "due-soon": "⚠️ due soon", "ok": "✅ ok"}
    rows = [
        (
            escape(a.file),
            escape(a.key),
            md.date(a.last_change),
            md.span(a.age_seconds),
            md.span(a.period_seconds),
            "❌ exposed, not rotated" if a.exposed else marks.get(a.status, a.status),
        )
        for a in review.ages
    ]
    return [
        "<details><summary>Rotation ages at HEAD</summary>",
        "",
        *md.table(("File", "Key", "Last change", "Age", "Period", "Status"), rows),
        "",
        "</details>",
        "",
    ]


def checks_section(review: Review) -> list[str]:
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
    return ["#### Files at HEAD", "", *md.table(("File", "Checks", "Problems"), rows), ""]


def leaks_section(review: Review) -> list[str]:
    if not review.leaks:
        return []
    rows = [
        (
            escape(leak.path) + (f":{leak.line}" if leak.line else ""),
            escape(leak.rule),
            escape(leak.description),
            md.short(leak.commit),
            f"`{leak.fingerprint}`",
        )
        for leak in review.leaks
    ]
    return [
        "#### Leaks in the range",
        "",
        *md.table(("Where", "Rule", "What", "Commit", "Fingerprint"), rows),
        "",
        "_Remove the value from history and rotate it; see `gitvault scan --history`._",
        "",
    ]
