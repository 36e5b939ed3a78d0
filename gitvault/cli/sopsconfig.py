"""``gitvault sops-config``: .sops.yaml creation rules generated from the policy."""

from __future__ import annotations

from pathlib import Path

import click

from gitvault.cli.common import emit_json, json_option, say, write_stdout
from gitvault.errors import BadInput, CheckFailed


@click.command("sops-config")
@click.option("--write", "do_write", is_flag=True, help="Write .sops.yaml at the vault root.")
@click.option("--check", is_flag=True, help="Exit 1 when .sops.yaml disagrees with the policy.")
@click.option(
    "--force", is_flag=True, help="Replace creation_rules that gitvault did not write (--write)."
)
@json_option
def sops_config(do_write: bool, check: bool, force: bool, as_json: bool) -> None:
    """Generate .sops.yaml creation rules equivalent to the policy.

    Each policy rule becomes a creation rule in the same order: its path glob
    as an anchored path_regex, its readers as age keys, its selection options
    as they are. Teammates on plain sops then encrypt new files to exactly the
    policy's recipients. Other content of .sops.yaml (stores:, comments) is
    kept; creation rules gitvault did not write are only replaced with
    --force. `gitvault verify` reports a .sops.yaml that has drifted.

    \b
    Example:
      gitvault sops-config              # print the generated file
      gitvault sops-config --write
      gitvault sops-config --check      # exit 1 on drift (CI)
    """
    from gitvault import policy, sopsrules

    root = policy.find_root(Path.cwd())
    if root is None:
        raise BadInput(
            "no .gitvault.yaml here or in any parent directory", hint="run `gitvault init`"
        )
    pol = policy.load(root)
    if check:
        problems = sopsrules.config_problems(pol)
        missing = problems is None
        problems = problems or []
        if missing:
            problems = ["no .sops.yaml: plain sops cannot create files for the policy's rules"]
        if as_json:
            emit_json(
                {"schema": "gitvault.sops-config/v1", "ok": not problems, "problems": problems}
            )
        else:
            for p in problems:
                say(f".sops.yaml: {p}")
        if problems:
            raise CheckFailed(f".sops.yaml disagrees with the policy ({len(problems)} problem(s))")
        return
    plan = sopsrules.plan(pol, force=force)
    if do_write:
        sopsrules.write(plan)
    if as_json:
        emit_json(
            {
                "schema": "gitvault.sops-config/v1",
                "path": str(plan.path),
                "written": do_write and plan.changed,
                "changed": plan.changed,
                "creation_rules": sopsrules.creation_rules(pol),
            }
        )
    elif do_write:
        what = "created" if plan.created else "updated" if plan.changed else "already up to date"
        say(f"{plan.path.name}: {what}")
    else:
        write_stdout(plan.text)
