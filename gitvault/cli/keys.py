"""``gitvault keygen`` and ``gitvault whoami``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gitvault.cli.common import echo, emit_json, identity_option, json_option, say
from gitvault.errors import BadInput


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the identity (default: ~/.config/gitvault/keys.txt; '-' for stdout).",
)
@click.option(
    "--pq",
    is_flag=True,
    help="A post-quantum hybrid identity (ML-KEM-768 + X25519, age-keygen -pq); its "
    "public key is age1pq1… (about 2,000 characters).",
)
def keygen(output: Path | None, pq: bool) -> None:
    """Create a new age identity and print its public key.

    The file uses age-keygen's format and mode 0600; an existing file is never
    overwritten.

    \b
    Example:
      gitvault keygen                 # writes ~/.config/gitvault/keys.txt
      gitvault keygen -o ci-prod.key  # an identity for a CI environment
      gitvault keygen --pq -o pq.key  # post-quantum (sops 3.11 cannot read it)
    """
    from gitvault.fsutil import atomic_write
    from gitvault.identities import default_key_file, generate

    text, public = generate(pq=pq)
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    path = output or default_key_file()
    if path.exists():
        raise BadInput(
            f"{path}: already exists; refusing to overwrite an identity",
            hint="choose another path with -o",
        )
    if output is None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.parent.is_dir():
        raise BadInput(f"{path.parent}: no such directory")
    atomic_write(path, text.encode(), mode=0o600)
    os.chmod(path, 0o600)
    say(f"wrote a new identity to {path}")
    click.echo(public)


@click.command()
@identity_option
@json_option
def whoami(identity: Path | None, as_json: bool) -> None:
    """Show the identities found and which policy recipients they are.

    \b
    Example:
      gitvault whoami
      GITVAULT_AGE_KEY="$(cat ci.key)" gitvault whoami --json
    """
    from gitvault import policy
    from gitvault.identities import load_identities

    ids = load_identities(identity, quiet=True)  # skipped lines are listed below
    root = policy.find_root(Path.cwd())
    pol = policy.load(root) if root is not None else None
    rows = []
    for ident in ids.items:
        name = pol.name_of(ident.recipient) if pol is not None and ident.recipient else None
        rows.append({"source": ident.source, "recipient": ident.recipient, "name": name})
    if as_json:
        emit_json(
            {
                "schema": "gitvault.whoami/v1",
                "identities": rows,
                "tried": list(ids.tried),
                "problems": list(ids.problems),
                "policy": str(pol.path) if pol else None,
            }
        )
        return
    if not rows:
        say("no identity found; tried: " + ", ".join(ids.tried))
        raise click.exceptions.Exit(3)
    for row in rows:
        if not row["recipient"]:
            # A passphrase-protected age identity file: its keys are inside it.
            echo(f"(passphrase-protected, unlocked when a file needs it)  ({row['source']})")
            continue
        who = row["name"] or ("not in the policy" if pol is not None else "no policy here")
        echo(f"{row['recipient']}  {who}  ({row['source']})")
    for problem in ids.problems:
        say(f"skipped: {problem}")
