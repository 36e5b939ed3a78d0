"""Generate a repository of N commits touching 200 vault-like files (git fast-import).

Each file looks like a SOPS file with 10 keys (random stand-in ciphertext); the
first commit also adds a ``.gitvault.yaml`` whose rule covers ``secrets/**`` with
``rotate_after: 90d``, so the real ``gitvault log`` and ``gitvault due`` run on it.
Commit i changes one key in one or two files (a "rotation": that value, ``mac``
and ``lastmodified`` change), every 250th commit re-keys one file (every value
and the wrapped data key change) and every 97th adds a key. Messages carry gitvault trailers. The
content is random bytes in SOPS's shape, not real ciphertext: the benchmark
measures history walking and parsing, not decryption.

    python bench/history/make_repo.py OUT_DIR [--commits 5000] [--files 200]
"""

from __future__ import annotations

import argparse
import base64
import random
import subprocess
from pathlib import Path

KEYS = 10
START = 1_600_000_000


def enc(rng: random.Random, n: int = 24) -> str:
    def b64(k: int) -> str:
        return base64.b64encode(rng.randbytes(k)).decode()

    return f"ENC[AES256_GCM,data:{b64(n)},iv:{b64(32)},tag:{b64(16)},type:str]"


def render(values: dict[str, str], mac: str, when: int, wrapped: str) -> bytes:
    lines = ["db:"]
    lines += [f"    {k}: {v}" for k, v in values.items()]
    lines += [
        "sops:",
        "    age:",
        "        - recipient: age1examplexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "          enc: |",
        "            -----BEGIN AGE ENCRYPTED FILE-----",
        f"            {wrapped}",
        "            -----END AGE ENCRYPTED FILE-----",
        f'    lastmodified: "{when}"',
        f"    mac: {mac}",
        "    unencrypted_suffix: _unencrypted",
        "    version: 3.9.0",
    ]
    return ("\n".join(lines) + "\n").encode()


POLICY_PATH = ".gitvault.yaml"


def policy_text() -> str:
    """A policy so the real `gitvault log`/`due` know which files are vault files."""
    import pyrage

    recipient = pyrage.x25519.Identity.generate().to_public()
    return (
        "version: 1\n"
        f"recipients:\n  bench: {recipient}\n"
        "rules:\n"
        '  - path: "secrets/**"\n'
        "    recipients: [bench]\n"
        "    rotate_after: 90d\n"
    )


def generate(out: Path, commits: int, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    paths = [f"secrets/env{i % 10}/service{i:03d}.yaml" for i in range(files)]
    state = {p: {f"key{k}": enc(rng) for k in range(KEYS)} for p in paths}
    # Stand-in for each file's age stanza: changes only on a re-key (new data key).
    wrapped = {p: base64.b64encode(rng.randbytes(39)).decode() for p in paths}
    stream = []

    def commit(n: int, message: str, changed: list[str]) -> None:
        when = START + n * 3600
        msg = message.encode()
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\n".encode())
        stream.append(f"author Bench <bench@example.invalid> {when} +0000\n".encode())
        stream.append(f"committer Bench <bench@example.invalid> {when} +0000\n".encode())
        stream.append(f"data {len(msg)}\n".encode() + msg + b"\n")
        if n:
            stream.append(f"from :{n}\n".encode())
        for p in changed:
            if p == POLICY_PATH:
                data = policy_text().encode()
                stream.append(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")
                continue
            data = render(state[p], enc(rng, 32), when, wrapped[p])
            stream.append(f"M 100644 inline {p}\ndata {len(data)}\n".encode() + data + b"\n")

    commit(0, "add vault files\n\nGitvault-Action: init\n", [*paths, POLICY_PATH])
    for n in range(1, commits):
        if n % 250 == 0:
            p = rng.choice(paths)
            state[p] = {k: enc(rng) for k in state[p]}
            wrapped[p] = base64.b64encode(rng.randbytes(39)).decode()
            msg = f"rekey {p}\n\nGitvault-Action: rekey\nGitvault-File: {p}\nGitvault-Rekey: {p}\n"
            commit(n, msg, [p])
            continue
        changed = rng.sample(paths, rng.choice((1, 1, 2)))
        keys = []
        for p in changed:
            key = f"key{len(state[p])}" if n % 97 == 0 else rng.choice(sorted(state[p]))
            state[p][key] = enc(rng)
            keys.append(f"Gitvault-Keys: {p}: db.{key}")
        files_t = "".join(f"Gitvault-File: {p}\n" for p in changed)
        action = "set" if n % 97 == 0 else "rotate"
        msg = f"{action} {n}\n\nGitvault-Action: {action}\n{files_t}" + "\n".join(keys) + "\n"
        commit(n, msg, changed)
    subprocess.run(
        ["git", "-C", str(out), "fast-import", "--quiet"], input=b"".join(stream), check=True
    )
    subprocess.run(["git", "-C", str(out), "checkout", "-q", "-f", "main"], check=True)
    # Pack with deltas, as a long-lived repository would be.
    subprocess.run(["git", "-C", str(out), "gc", "-q"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    generate(args.out, args.commits, args.files)


if __name__ == "__main__":
    main()
