"""``gitvault review``: what a range of commits changes in the vault, for a pull-request comment."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import identity_option, load_ids, write_stdout
from gitvault.errors import CheckFailed, UsageError


def parse_fail_on(text: str | None) -> frozenset[str]:
    """``--fail-on`` as a set of finding kinds (``all``, ``none`` and ``default`` allowed)."""
    from gitvault.review.model import DEFAULT_FAIL_ON, KINDS

    if text is None:
        return frozenset(DEFAULT_FAIL_ON)
    kinds: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part or part == "none":
            continue
        if part == "all":
            kinds |= set(KINDS)
        elif part == "default":
            kinds |= set(DEFAULT_FAIL_ON)
        elif part in KINDS:
            kinds.add(part)
        else:
            raise UsageError(
                f"unknown finding kind {part[:40]!r} in --fail-on",
                hint="kinds: " + ", ".join(KINDS) + " (or all, none, default)",
            )
    return frozenset(kinds)


@click.command()
@click.argument("revisions", required=False, metavar="[BASE..HEAD]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown for a pull-request comment, or the gitvault.review/v1 JSON model.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--fail-on",
    "fail_on",
    metavar="KINDS",
    default=None,
    help="Comma-separated finding kinds that make the exit code 1 "
    "(default: leak,plaintext,selection,recipients,freshness,bad-signature,trailer-mismatch,"
    "mac,schema; also: access-expansion, policy, unsigned, overdue, rollback, substitution; "
    "all; none).",
)
@click.option("--no-scan", is_flag=True, help="Skip the leak scan of the range's added lines.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here."
)
@identity_option
def review(
    revisions: str | None,
    fmt: str,
    as_json: bool,
    fail_on: str | None,
    no_scan: bool,
    output: Path | None,
    identity: Path | None,
) -> None:
    """Summarise what a range changes in the vault, without plaintext.

    Reports vault files added and removed; keys added, rotated, removed and
    re-keyed; who gains or loses read access (from the files' recipients and
    the policy, expansions called out); policy changes; Gitvault-* trailers
    that disagree with the tree; leaks in the added lines; unsigned commits and
    signatures that do not verify against the policy's signing keys;
    rollbacks and substitutions; rotation ages at HEAD. With an identity it
    also checks MACs and schemas at HEAD. No identity is needed otherwise.

    The range is judged as a whole too (a merge that brings back an old vault
    file is a rollback) and by the policy at the merge base: a range cannot
    loosen the scan excludes, signing keys, rotation periods or encryption
    selection it is judged by; its policy changes are findings (kind policy).

    BASE..HEAD: commits in HEAD not in BASE; files and the policy are compared
    between the merge base of BASE and HEAD and HEAD. BASE...HEAD and a single
    BASE (to HEAD) work too. Default: the default branch (origin/HEAD, else
    origin/main, origin/master, main, master) to HEAD.

    Exits 1 when a finding of a --fail-on kind is present (after printing).

    \b
    Example:
      gitvault review                                  # this branch vs the default branch
      gitvault review origin/main..HEAD --format json
      gitvault review "$BASE_SHA..$HEAD_SHA" --fail-on all > comment.md
    """
    from gitvault.review.collect import collect
    from gitvault.review.render_json import render_json
    from gitvault.review.render_markdown import render_markdown

    kinds = parse_fail_on(fail_on)
    if as_json:
        fmt = "json"
    ids = load_ids(identity)
    result = collect(Path.cwd(), revisions, identities=ids, scan=not no_scan)
    text = render_json(result, kinds) if fmt == "json" else render_markdown(result, kinds)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        write_stdout(text)
    failing = result.failing(kinds)
    if failing:
        found = sorted({f.kind for f in failing})
        raise CheckFailed(
            f"review found {len(failing)} problem(s): {', '.join(found)}",
            hint="see the report; --fail-on chooses which kinds fail",
        )
