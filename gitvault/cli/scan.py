"""``gitvault scan``: find leaked secrets in files, the staged change or history."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gitvault.cli.common import say
from gitvault.errors import CheckFailed, GitError, UsageError


def _root_or_none(cwd: Path) -> Path | None:
    from gitvault.scan.gitdiff import repo_root

    try:
        return repo_root(cwd)
    except GitError:
        return None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True, help="Scan the lines the staged change adds.")
@click.option(
    "--history",
    "history",
    is_flag=False,
    flag_value="--all",
    default=None,
    metavar="[RANGE]",
    help="Scan the lines each commit adds; RANGE like main..HEAD (default: all refs).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here."
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Baseline of accepted fingerprints (default: .gitvault-baseline.json at the repo root).",
)
@click.option("--baseline-update", is_flag=True, help="Add every current finding to the baseline.")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Skip matching paths.")
@click.option("--no-vault-values", is_flag=True, help="Do not look for the vault's own values.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "hyperscan", "python"]),
    default="auto",
    show_default=True,
    help="Matching engine (python is the fallback without Hyperscan).",
)
def scan(
    paths: tuple[Path, ...],
    staged: bool,
    history: str | None,
    fmt: str,
    as_json: bool,
    output: Path | None,
    baseline: Path | None,
    baseline_update: bool,
    excludes: tuple[str, ...],
    no_vault_values: bool,
    engine: str,
) -> None:
    """Find leaked secrets: provider tokens, private keys, passwords, vault values.

    With no PATHS and no --staged/--history, scans the current directory. Exits
    1 when anything is found. A line is accepted with a `gitvault:allow`
    comment (also `gitleaks:allow`, `pragma: allowlist secret`); reviewed
    findings go into the baseline with --baseline-update.

    \b
    Examples:
      gitvault scan                          # the work tree
      gitvault scan --staged                 # what the next commit adds
      gitvault scan --history origin/main..HEAD
      gitvault scan --format sarif -o gitvault.sarif
    """
    from gitvault.hooks import vaultlink
    from gitvault.scan import (
        ScanOptions,
        load_baseline,
        merge_baseline,
        render_json,
        render_sarif,
        render_text,
        scan_history,
        scan_paths,
        scan_staged,
    )
    from gitvault.scan.baseline import DEFAULT_NAME
    from gitvault.scan.rules import all_rules

    if as_json:
        fmt = "json"
    if (staged or history) and paths:
        raise UsageError("give PATHS, --staged or --history, not several")
    if staged and history:
        raise UsageError("give --staged or --history, not both")
    cwd = Path.cwd()
    root = _root_or_none(cwd)
    if (staged or history) and root is None:
        raise GitError("not inside a git repository", hint="--staged and --history need one")
    base = root if root is not None else cwd
    baseline_path = baseline if baseline is not None else base / DEFAULT_NAME
    policy = vaultlink.load_policy(base) if vaultlink.has_policy(base) else None
    options = ScanOptions(
        excludes=(*vaultlink.policy_excludes(base, policy), *excludes),
        baseline=frozenset() if baseline_update else load_baseline(baseline_path),
        known_values=() if no_vault_values else vaultlink.known_values(base),
        engine=engine,
        check_file_names=staged or bool(history),
    )
    if staged:
        assert root is not None
        result = scan_staged(root, options)
    elif history:
        assert root is not None
        revs = ["--all"] if history == "--all" else history.split()
        result = scan_history(root, revs, options)
    else:
        result = scan_paths(list(paths) or [cwd], options, base=base)

    if baseline_update:
        added = merge_baseline(baseline_path, result.findings)
        say(
            f"baseline {baseline_path.name}: {added} new fingerprint(s), "
            f"{len(result.findings)} current"
        )
        return

    if fmt == "json":
        text = render_json(result)
    elif fmt == "sarif":
        text = render_sarif(result, all_rules())
    else:
        text = render_text(result)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if result.findings:
        raise CheckFailed(
            f"{len(result.findings)} secret finding(s)",
            hint="remove and rotate them, mark test values with `gitvault:allow`, "
            "or accept reviewed ones with --baseline-update",
        )
