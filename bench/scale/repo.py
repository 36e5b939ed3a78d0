"""Build a realistic vault repository quickly for the scale benchmark.

``N`` vault files of 10 keys under ``secrets/teamNN/``, a policy with 100
recipients (90 people, 9 admins, the CI identity) in groups, one rule per team
(its members, the admins, CI — ten recipients per file) with ``rotate_after``,
and a history of ``commits`` commits: the first adds every file, each later
one rotates one value of one file (same data key, the other values keep their
ciphertext, as ``gitvault set`` does). Every file is encrypted once with
gitvault's own library code; a rotation re-encrypts one file under its data
key (no age unwrap). The repository is written by one ``git fast-import``, not
thousands of CLI calls. Values are random strings invented here.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
from pathlib import Path

import pyrage

from gitvault.model import from_python
from gitvault.sops.document import IvStash, decrypt_documents, encrypt_documents
from gitvault.sops.file import new_metadata, now_rfc3339, serialize
from gitvault.sops.metadata import Metadata

KEYS_PER_FILE = 10
TEAMS = 50
PEOPLE = 90
ADMINS = 9
START = 1_700_000_000  # author time of the first commit; rotations follow a minute apart
ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(root: Path, *args: str, stdin: bytes | None = None) -> None:
    """Run git quietly in ``root`` with a fixed identity (no user config needed)."""
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=root,
        env=ENV,
        input=stdin,
        check=True,
        capture_output=True,
    )


def _policy(public: dict[str, str]) -> tuple[str, dict[int, list[str]]]:
    people = [n for n in public if n.startswith("user")]
    lines = ["version: 1", "recipients:"] + [f"  {n}: {k}" for n, k in public.items()]
    lines += [
        "groups:",
        "  admins: [" + ", ".join(n for n in public if n.startswith("admin")) + "]",
    ]
    members: dict[int, list[str]] = {}
    for team in range(TEAMS):
        # Each team: 9 people (teams overlap, as people work on several services).
        names = [people[(team * 7 + i) % len(people)] for i in range(9)]
        members[team] = names
        lines.append(f"  team{team:02d}: [{', '.join(names)}]")
    lines.append("rules:")
    for team in range(TEAMS):
        lines += [
            f'  - path: "secrets/team{team:02d}/**"',
            f"    recipients: [team{team:02d}, admins, ci]",
            "    rotate_after: 90d",
        ]
    return "\n".join(lines) + "\n", members


def _recipients(public: dict[str, str], members: list[str]) -> list[str]:
    """The rule's readers in policy order: the team, the admins, CI last."""
    admins = [n for n in public if n.startswith("admin")]
    return [public[n] for n in dict.fromkeys([*members, *admins, "ci"])]


def make_repo(root: Path | str, files: int, commits: int, seed: int = 10) -> str:
    """Write the repository at ``root``; return the CI identity (the key text)."""
    root = Path(root)
    rng = random.Random(seed)
    names = [f"user{i:02d}" for i in range(PEOPLE)] + [f"admin{i}" for i in range(ADMINS)] + ["ci"]
    ids = {name: pyrage.x25519.Identity.generate() for name in names}
    public = {name: str(ident.to_public()) for name, ident in ids.items()}
    policy, members = _policy(public)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    state: list[tuple[str, dict[str, str], bytes, Metadata, IvStash]] = []
    out: list[bytes] = []
    mark = 0

    def blob(data: bytes) -> int:
        nonlocal mark
        mark += 1
        out.append(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
        return mark

    def encrypt(
        index: int, values: dict[str, str], key: bytes, meta: Metadata, stash: IvStash
    ) -> tuple[bytes, Metadata, IvStash]:
        """The file's bytes; unchanged values keep their ciphertext (``stash``)."""
        tree = from_python({f"svc{index}": values})
        docs, new_meta = encrypt_documents(
            [tree], meta, key, lastmodified=now_rfc3339(), stash=stash
        )
        # Decrypting with the known data key (no age) records the IVs for the next version.
        plain = decrypt_documents(docs, new_meta, key, record_ivs=True)
        return serialize(docs, new_meta), new_meta, plain.stash

    entries = [b"M 100644 :%d .gitvault.yaml\n" % blob(policy.encode())]
    for index in range(files):
        team = index % TEAMS
        path = f"secrets/team{team:02d}/app{index:05d}.yaml"
        values = {f"key{k}": secrets.token_urlsafe(18) for k in range(KEYS_PER_FILE)}
        key = os.urandom(32)
        data, meta, stash = encrypt(
            index, values, key, new_metadata(_recipients(public, members[team]), key), {}
        )
        entries.append(b"M 100644 :%d %s\n" % (blob(data), path.encode()))
        state.append((path, values, key, meta, stash))
    when = START

    def commit(message: str, body: list[bytes]) -> None:
        nonlocal when
        text = message.encode()
        head = b"commit refs/heads/main\n"
        who = b"bench <bench@example.invalid> %d +0000\n" % when
        out.append(head + b"author " + who + b"committer " + who)
        out.append(b"data %d\n%s\n" % (len(text), text) + b"".join(body))
        when += 60

    commit("vault", entries)
    for number in range(1, commits):
        index = rng.randrange(files)
        path, values, key, meta, stash = state[index]
        name = f"key{rng.randrange(KEYS_PER_FILE)}"
        values[name] = secrets.token_urlsafe(18)
        data, meta, stash = encrypt(index, values, key, meta, stash)
        state[index] = (path, values, key, meta, stash)
        commit(
            f"set {path}:{name} ({number})\n\nGitvault-Action: set\n"
            f"Gitvault-File: {path}\nGitvault-Keys: {path}: svc{index}.{name}\n",
            [b"M 100644 :%d %s\n" % (blob(data), path.encode())],
        )
    git(root, "fast-import", "--quiet", stdin=b"".join(out))
    git(root, "reset", "-q", "--hard", "main")
    return str(ids["ci"])


if __name__ == "__main__":
    import sys

    print(make_repo(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
