"""``gitvault init``."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

import click

from gitvault.cli.common import emit_json, hint, identity_option, json_option, say


def _default_name() -> str:
    try:
        out = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, check=False
        )
        if out.stdout.strip():
            return out.stdout.strip().split()[0]
    except OSError:
        pass
    return os.environ.get("USER") or getpass.getuser()


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option(
    "--name", default=None, help="Your recipient name in the policy (default: from git config)."
)
@click.option(
    "--recipient", default=None, help="Public key to name (default: your first identity's)."
)
@click.option(
    "--email",
    default=None,
    help="Your e-mail in the policy, as your commits carry it (default: git config user.email).",
)
@click.option("--no-hooks", is_flag=True, help="Do not install the pre-commit hook.")
@click.option(
    "--sops-config",
    is_flag=True,
    help="Also write .sops.yaml creation rules from the policy, for teammates on plain sops "
    "(see `gitvault sops-config`).",
)
@identity_option
@json_option
def init(
    directory: Path | None,
    name: str | None,
    recipient: str | None,
    email: str | None,
    no_hooks: bool,
    sops_config: bool,
    identity: Path | None,
    as_json: bool,
) -> None:
    """Set up a repository: policy, .gitattributes, git drivers, pre-commit hook.

    Writes .gitvault.yaml (if absent) naming you as the first recipient, adds
    the .gitattributes lines for the diff and merge drivers, configures those
    drivers in the local git config (diff.gitvault.textconv,
    merge.gitvault.driver: every clone runs init once), and installs the
    pre-commit hook unless --no-hooks. Safe to run again: in a clone that
    has the policy and .gitattributes, no tracked file changes.

    The new policy records your e-mail (git config user.email, or --email)
    and, when you sign commits with SSH (gpg.format=ssh), your signing key:
    the history checks use them to recognise your commits. Without
    DIRECTORY, init works on the vault the current directory belongs to (the
    nearest .gitvault.yaml above), else on the current directory. Outside a
    git repository it refuses and writes nothing.

    \b
    Example:
      gitvault keygen && gitvault init
      gitvault init --name alice --recipient age1... --no-hooks
      gitvault init --sops-config          # plain-sops teammates encrypt to the policy too
    """
    from gitvault.identities import load_identities
    from gitvault.init import default_root
    from gitvault.init import init as core
    from gitvault.policy import POLICY_FILE

    if directory is None:
        directory = default_root(Path("."))
    if recipient is None and not (directory / POLICY_FILE).exists():
        ids = load_identities(identity)
        recipient = ids.items[0].recipient if ids.items else None
    result = core(
        directory,
        name=name or _default_name(),
        recipient=recipient,
        install_hooks=not no_hooks,
        email=email,
    )
    sops_yaml: str | None = None
    if sops_config:
        from gitvault import policy, sopsrules

        plan = sopsrules.plan(policy.load(result.root))
        sopsrules.write(plan)
        sops_yaml = "created" if plan.created else "updated" if plan.changed else "unchanged"
    if as_json:
        emit_json(
            {
                "schema": "gitvault.init/v1",
                "root": str(result.root),
                "created_policy": result.created_policy,
                "attributes_added": result.attributes_added,
                "hooks": result.hooks,
                "git_config": result.git_config,
                "in_git": result.in_git,
                "email": result.email,
                "signing_key": result.signing_key,
                "sops_config": sops_yaml,
            }
        )
        return
    if result.created_policy:
        say(f"wrote {directory / '.gitvault.yaml'}")
        if not result.email:
            hint("no e-mail recorded: set git config user.email, or add email: to your entry")
    else:
        say("kept the existing .gitvault.yaml")
    if result.attributes_added:
        say(f"added {len(result.attributes_added)} line(s) to .gitattributes")
    if result.git_config:
        say("configured the diff and merge drivers in .git/config")
    elif not result.in_git:
        say("not a git repository: diff and merge drivers not configured (run init again later)")
    for h in result.hooks:
        say(f"hook: {h}")
    if sops_yaml is not None:
        say(f".sops.yaml: {sops_yaml} (creation rules from the policy)")
