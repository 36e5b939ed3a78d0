"""The review as GitHub-flavoured Markdown, ready to post as a pull-request comment.

Layout: a title, the verdict, a summary table, the findings, then one section
per topic (keys, access, policy, freshness, commits, rotation ages, checks,
leaks). Tables are capped (:data:`~gitvault.review.markdown.MAX_ROWS`) so a huge range stays under
GitHub's comment limit; the JSON output is never capped.

Everything that comes from the repository (file names, key paths, commit
subjects, author names) goes through :func:`escape`: Markdown and HTML are
neutralised, ``@`` cannot mention anyone, ``|`` cannot break a table and a
newline cannot start a new block. No value is ever rendered: the model holds
none.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitvault.review import markdown as md
from gitvault.review import sections
from gitvault.review.markdown import MAX_ROWS, escape
from gitvault.review.model import KINDS, Review

# Finding kinds about the vault files at HEAD (the "Files at HEAD" row).
_FILE_KINDS = ("plaintext", "selection", "recipients", "mac", "schema")


def _summary(review: Review, failing: frozenset[str]) -> list[str]:
    def has(*kinds: str) -> int:
        return sum(1 for f in review.findings if f.kind in kinds)

    def mark(count: int, kinds: Sequence[str], text_ok: str, text_bad: str) -> str:
        if not count:
            return md.ok(True, text_ok)
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
    return md.table(("Check", "Result"), rows)


def render_markdown(review: Review, fail_on: frozenset[str]) -> str:
    """The whole comment."""
    failing = review.failing(fail_on)
    kinds_failing = frozenset(fail_on) | (
        {"rollback", "substitution"} if "freshness" in fail_on else set()
    )
    lines = [
        f"### gitvault review: {md.short(review.base)}..{md.short(review.head)}",
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
    lines += sections.access_section(review)
    lines += sections.keys_section(review)
    lines += sections.files_section(review)
    lines += sections.policy_section(review)
    lines += sections.freshness_section(review)
    lines += sections.commits_section(review)
    lines += sections.ages_section(review)
    lines += sections.checks_section(review)
    lines += sections.leaks_section(review)
    if review.problems:
        lines += ["#### Could not be read", ""]
        lines += [f"- {escape(p)}" for p in review.problems[:MAX_ROWS]]
        lines.append("")
    # Every name is escaped as Markdown above; this last pass makes sure no
    # control character (ESC, CR, bidi override) reaches a terminal that shows
    # the comment, whatever a future row forgets. U+200B is ours (see escape).
    from gitvault.safetext import printable_lines

    return printable_lines("\n".join(lines).rstrip("\n") + "\n", keep="\n\u200b")


def kinds_help() -> str:
    """One line per finding kind (for --help and docs)."""
    return "\n".join(f"{k}: {v}" for k, v in KINDS.items())
