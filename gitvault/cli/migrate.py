"""``gitvault migrate``: from hard-coded secrets in many repositories to a clean history.

Thin wrappers over :mod:`gitvault.migrate`: parse, call one function, render
text or ``--json``. Progress goes to stderr; the plan file holds no value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gitvault.cli.common import emit_json, hint, identity_option, load_ids, say, write_report
from gitvault.errors import CheckFailed

PLAN_HELP = "The plan file (default: ~/.local/state/gitvault/migrate/plan.json; never in a repo)."


def _plan_path(plan: Path | None) -> Path:
    from gitvault.migrate.plan import default_plan_path

    return plan if plan is not None else default_plan_path()


def _plan_option(func: Any) -> Any:
    return click.option(
        "--plan", "plan_file", type=click.Path(path_type=Path, dir_okay=False), help=PLAN_HELP
    )(func)


def _json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(
        func
    )


def _progress(message: str) -> None:
    say(message)


@click.group()
def migrate() -> None:
    """Move hard-coded secrets into the vault and out of every repository's history.

    \b
    The path a security lead follows (docs/migration.md):
      gitvault migrate find ../api ../web https://git.example.com/ops.git
      $EDITOR ~/.local/state/gitvault/migrate/plan.json   # review destinations
      gitvault migrate import --vault ../vault
      gitvault due                                         # every import is overdue
      gitvault rotate --due                                # rotate them
      gitvault migrate code                                # lines to change
      gitvault migrate rewrite --workdir ~/purge           # mirrors, filter-repo, re-scan
      gitvault migrate status
    """


@migrate.command()
@click.argument("repos", nargs=-1)
@_plan_option
@click.option(
    "--dest-dir",
    default="secrets/migrated",
    show_default=True,
    help="Vault folder proposed for new files (one file per repository).",
)
@_json_option
def find(repos: tuple[str, ...], plan_file: Path | None, dest_dir: str, as_json: bool) -> None:
    """Scan repositories (work tree and every ref's history) and write the plan.

    REPOS are local paths or clone URLs (cloned bare into ~/.cache/gitvault/migrate).
    Running it again re-scans the plan's repositories plus any new ones and keeps
    your edits (destinations, "skip").

    \b
    Example:
      gitvault migrate find ../api ../web https://git.example.com/ops.git
      gitvault migrate find --plan /secure/plan.json ../api --json
    """
    from gitvault.errors import UsageError
    from gitvault.migrate import plan as plan_mod
    from gitvault.migrate.find import find as run_find

    path = _plan_path(plan_file)
    plan_mod.check_location(path)
    existing = plan_mod.load(path) if path.exists() else None
    if not repos and existing is None:
        raise UsageError("name at least one repository (a path or a clone URL)")
    plan, report = run_find(repos, existing, dest_dir=dest_dir, progress=_progress)
    plan_mod.save(plan, path)
    if as_json:
        payload = report.to_json()
        payload["plan"] = str(path)
        emit_json(payload)
        return
    lines = [f"{'REPO':<24} {'COMMITS':>8} {'REFS':>5} {'FINDINGS':>9}  OTHER REFS"]
    for r in report.repos:
        other = ", ".join(r.other_refs[:3]) + (" …" if len(r.other_refs) > 3 else "")
        lines.append(f"{r.id:<24} {r.commits:>8} {r.refs:>5} {r.findings:>9}  {other or '-'}")
    lines.append("")
    for rule, n in sorted(report.by_rule.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {n:>6}  {rule}")
    lines.append(
        f"\n{report.secrets} distinct secret(s) in {report.findings} finding(s) "
        f"across {len(report.repos)} repositories"
    )
    lines.append(f'plan: {path} (0600; review destinations, set "skip": true to leave one out)')
    write_report("\n".join(lines) + "\n")


@migrate.command(name="import")
@_plan_option
@click.option(
    "--vault",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="The vault repository (holds .gitvault.yaml).",
)
@identity_option
@_json_option
def import_(plan_file: Path | None, vault: Path, identity: Path | None, as_json: bool) -> None:
    """Put each planned value into the vault file and key the plan names, in one commit.

    Values are read again from where they were found and checked against the
    plan. Every imported value is marked exposed (a Gitvault-Exposed trailer):
    `due` and `review` list it as overdue until it is rotated. A key that
    already holds another value is never overwritten.

    \b
    Example:
      gitvault migrate import --vault ../vault
    """
    from gitvault.migrate import plan as plan_mod
    from gitvault.migrate.vaultwrite import import_plan

    path = _plan_path(plan_file)
    plan = plan_mod.load(path)
    report = import_plan(
        plan,
        vault,
        load_ids(identity),
        checkpoint=lambda: plan_mod.save(plan, path),
        progress=_progress,
    )
    plan_mod.save(plan, path)
    if as_json:
        emit_json(report.to_json())
        return
    lines = [f"{sid:<6} {what:<8} {file}:{key}" for sid, file, key, what in report.outcomes]
    for rel, names in report.recipients.items():
        lines.append(f"{rel}: readable by {', '.join(names)}")
    write_report("\n".join(lines) + "\n")
    if report.unmarked:
        hint(
            f"{len(report.unmarked)} key(s) already held the leaked value before the migration "
            "and are not marked exposed: rotate them (" + ", ".join(report.unmarked[:5]) + ")"
        )
    kept = [o for o in report.outcomes if o[3] == "kept"]
    if kept:
        hint(f"{len(kept)} key(s) already held another value and were kept as they are")
    hint("every imported value is exposed: rotate them now (gitvault due; gitvault rotate --due)")


@migrate.command()
@_plan_option
@click.option(
    "--apply",
    "apply_files",
    multiple=True,
    metavar="REPO:FILE",
    help="Replace the literals in this .env/YAML/JSON file by ${NAME} (repeatable).",
)
@_json_option
def code(plan_file: Path | None, apply_files: tuple[str, ...], as_json: bool) -> None:
    """List every line that still holds a planned value; optionally fix config files.

    Source code is only listed. For .env, YAML and JSON files --apply REPO:FILE
    replaces each literal by ${NAME}, where NAME is the variable `gitvault exec`
    sets from the vault key (docs/migration.md shows how each format reads it).

    \b
    Example:
      gitvault migrate code
      gitvault migrate code --apply api:config/.env --apply api:deploy/values.yaml
    """
    from gitvault.errors import UsageError
    from gitvault.migrate import code as code_mod
    from gitvault.migrate import plan as plan_mod

    path = _plan_path(plan_file)
    plan = plan_mod.load(path)
    applied: list[dict[str, Any]] = []
    for spec in apply_files:
        repo_id, sep, rel = spec.partition(":")
        if not sep or not rel:
            raise UsageError(f"--apply takes REPO:FILE (got {spec[:80]!r})")
        count = code_mod.apply(plan, repo_id, rel)
        applied.append({"repo": repo_id, "path": rel, "replaced": count})
        say(f"{repo_id}:{rel}: {count} literal(s) replaced")
    if applied:
        plan_mod.save(plan, path)
    lines = code_mod.lines_to_change(plan)
    if as_json:
        emit_json(
            {
                "schema": "gitvault.migrate-code/v1",
                "applied": applied,
                "lines": [x.to_json() for x in lines],
            }
        )
        return
    out = [
        f"{x.repo}:{x.path}:{x.line}:{x.column}  {x.rule}  {x.secret}  "
        + (f"-> ${{{x.reference}}}" if x.kind != "code" else f"(code: read ${x.reference})")
        for x in lines
    ]
    out.append(f"\n{len(lines)} line(s) still hold a planned value")
    write_report("\n".join(out) + "\n")


@migrate.command()
@_plan_option
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the mirror clones go (default: beside the plan, in mirrors/).",
)
@click.option("--repo", "only", multiple=True, metavar="ID", help="Only this repository id.")
@_json_option
def rewrite(
    plan_file: Path | None, workdir: Path | None, only: tuple[str, ...], as_json: bool
) -> None:
    """Purge every planned value from a mirror clone of each repository, then prove it.

    Your own clones are never changed. Each mirror is rewritten with the real
    git filter-repo, then every object in it is searched for every value.
    Exit 1 when a value survived somewhere.

    \b
    Example:
      gitvault migrate rewrite --workdir ~/purge
    """
    from gitvault.migrate import plan as plan_mod
    from gitvault.migrate.rewrite import rewrite as run_rewrite

    path = _plan_path(plan_file)
    plan = plan_mod.load(path)
    target = workdir if workdir is not None else path.absolute().parent / "mirrors"
    report = run_rewrite(
        plan,
        target.absolute(),
        checkpoint=lambda: plan_mod.save(plan, path),
        only=only,
        progress=_progress,
    )
    plan_mod.save(plan, path)
    if as_json:
        emit_json(report.to_json())
    else:
        lines = []
        for r in report.results:
            lines.append(f"{r.repo}: {r.status} — {r.mirror} ({r.refs} refs)")
            for s in r.survivors:
                lines.append(f"    survivor: {s.kind} {s.object} holds {', '.join(s.secrets)}")
        lines.append("\nThen, in this order:")
        lines += [f"  {i}. {step}" for i, step in enumerate(report.steps, start=1)]
        lines.append("\nFor the host's purge request (first commit that held each secret):")
        lines += [
            f"  {p['secret']}: {p['repo']} {p['first_commit']} {p['path']}" for p in report.purge
        ]
        lines.append("")
        lines += [f"warning: {w}" for w in report.warnings]
        write_report("\n".join(lines) + "\n")
    if not report.clean:
        raise CheckFailed(
            "some values survived the rewrite (see survivors)",
            hint="git filter-repo leaves binary files alone: remove those with --invert-paths",
        )


@migrate.command(name="status")
@_plan_option
@_json_option
def status_(plan_file: Path | None, as_json: bool) -> None:
    """Where each step stands: find, import, rotate, code, rewrite.

    \b
    Example:
      gitvault migrate status --json
    """
    from gitvault.migrate import plan as plan_mod
    from gitvault.migrate.status import exposed_count, status

    plan = plan_mod.load(_plan_path(plan_file))
    result = status(plan, exposed_in=exposed_count)
    if as_json:
        emit_json(result)
        return
    lines = []
    for name, step in result["steps"].items():
        details = ", ".join(
            f"{k}={v}" for k, v in step.items() if k != "state" and not isinstance(v, (list, dict))
        )
        lines.append(f"{name:<8} {step['state']:<12} {details}")
    lines.append(f"\nnext: {result['next'] or 'nothing: the migration is complete'}")
    write_report("\n".join(lines) + "\n")
