"""Generate the secret-scanning benchmark corpus and its ground truth.

About 20 MB of realistic text: the CPython standard library (Python source,
test packages left out), the npm CLI's JavaScript when node is installed, and
generated YAML / JSON / .env / INI / Python / JS configuration full of digests,
UUIDs, integrity strings and git SHAs. Into it go planted secrets of 21 kinds
(10 each) and 40 decoys that look like secrets but are not (documented example
keys, ``${VAR}`` references, ``<your-api-key-here>``, ``ghp_xxxx…``, ``changeme``,
UUIDs, sha256 digests, git SHAs). ``<out>-manifest.json`` (beside the corpus, not
in it) records the file and line
of each planted secret and decoy.

All planted values are random strings invented here; none is a real credential.

Usage: python bench/scan/corpus.py [--out bench/out/scan-corpus] [--seed 7]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import shutil
import string
import sysconfig
import uuid
from collections.abc import Callable
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TARGET_BYTES = 20 * 1024 * 1024
STDLIB_BYTES = 9 * 1024 * 1024
JS_BYTES = 6 * 1024 * 1024


class Corpus:
    """Accumulates files and the manifest of what was planted where."""

    def __init__(self, out: Path, rng: random.Random) -> None:
        self.out = out
        self.rng = rng
        self.manifest: list[dict[str, object]] = []
        self.total = 0

    def s(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def write(self, rel: str, lines: list[str]) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(lines) + "\n"
        path.write_text(text, encoding="utf-8")
        self.total += len(text.encode())

    def record(self, rel: str, line: int, kind: str, label: str) -> None:
        self.manifest.append({"path": rel, "line": line, "kind": kind, "type": label})


# --- planted secrets: each returns (lines, offset of the secret line) in a syntax -------------


def _assign(c: Corpus, name: str, value: str, syntax: str) -> str:
    return {
        "py": f'{name.upper()} = "{value}"',
        "js": f"const {name} = '{value}';",
        "yaml": f"  {name}: {value}",
        "json": f'  "{name}": "{value}",',
        "env": f"{name.upper()}={value}",
        "ini": f"{name} = {value}",
    }[syntax]


def _secret_values(c: Corpus) -> dict[str, Callable[[], tuple[str, str]]]:
    """kind -> function giving (variable name, value)."""
    s = c.s
    return {
        "aws-access-key-id": lambda: ("aws_access_key_id", "AKIA" + s(16, B32)),
        "aws-secret-access-key": lambda: ("aws_secret_access_key", s(40, ALNUM + "/+")),
        "github-pat": lambda: ("github_token", "ghp_" + s(36)),
        "github-fine-grained-pat": lambda: ("gh_token", f"github_pat_{s(22)}_{s(59)}"),
        "gitlab-pat": lambda: ("gitlab_token", "glpat-" + s(20, ALNUM + "_-")),
        "slack-bot-token": lambda: (
            "slack_bot_token",
            f"xoxb-{s(11, string.digits)}-{s(13, string.digits)}-{s(24)}",
        ),
        "slack-webhook-url": lambda: (
            "slack_webhook",
            f"https://hooks.slack.com/services/T{s(10, B32)}/B{s(10, B32)}/{s(24)}",
        ),
        "stripe-secret-key": lambda: ("stripe_key", "sk_live_" + s(48)),
        "sendgrid-api-key": lambda: (
            "sendgrid_key",
            f"SG.{s(22, ALNUM + '_-')}.{s(43, ALNUM + '_-')}",
        ),
        "twilio-api-key": lambda: ("twilio_key_sid", "SK" + s(32, HEX)),
        "npm-token": lambda: ("npm_token", "npm_" + s(36)),
        "pypi-token": lambda: ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + s(70, ALNUM + "_-")),
        "openai-api-key": lambda: ("openai_key", f"sk-proj-{s(20)}T3BlbkFJ{s(30)}"),
        "anthropic-api-key": lambda: ("anthropic_key", f"sk-ant-api03-{s(93, ALNUM + '_-')}AA"),
        "gcp-api-key": lambda: ("maps_key", "AIza" + s(35, ALNUM + "_-")),
        "jwt": lambda: ("session_jwt", _jwt(c)),
        "url-with-password": lambda: (
            "database_url",
            f"postgres://app_{s(4).lower()}:{s(16)}@db-{s(5).lower()}.internal:5432/app",
        ),
        "generic-password": lambda: ("db_password", _password(c)),
        "generic-api-key": lambda: ("api_key", s(32)),
    }


def _jwt(c: Corpus) -> str:
    def b64(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = b64({"alg": "HS256", "typ": "JWT"})
    body = b64({"sub": c.s(8), "iat": c.rng.randint(1_600_000_000, 1_800_000_000)})
    return f"{head}.{body}.{c.s(43, ALNUM + '_-')}"


def _password(c: Corpus) -> str:
    symbols = "!#%&*+-=?@^_"
    chars = [
        c.rng.choice(string.ascii_uppercase),
        c.rng.choice(string.digits),
        c.rng.choice(symbols),
    ]
    chars += [c.rng.choice(ALNUM + symbols) for _ in range(c.rng.randint(9, 15))]
    c.rng.shuffle(chars)
    return "".join(chars)


def _pem(c: Corpus, label: str, first: str = "") -> list[str]:
    body = [first + c.s(64 - len(first), ALNUM + "+/")] + [c.s(64, ALNUM + "+/") for _ in range(8)]
    return [
        f"-----BEGIN {label}-----",
        *body,
        c.s(20, ALNUM + "+/") + "==",
        f"-----END {label}-----",
    ]


# --- filler: realistic config text with digests, UUIDs, integrity strings -----------------------


def _digest(c: Corpus) -> str:
    return hashlib.sha256(c.s(16).encode()).hexdigest()


def _sha1(c: Corpus) -> str:
    return hashlib.sha1(c.s(16).encode()).hexdigest()


def _integrity(c: Corpus) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(c.s(16).encode()).digest()).decode()


def filler(c: Corpus, syntax: str, n: int) -> list[str]:
    """``n`` lines of non-secret configuration in a given syntax."""
    rng = c.rng
    words = [
        "service",
        "cache",
        "worker",
        "gateway",
        "queue",
        "billing",
        "search",
        "auth",
        "report",
    ]
    out: list[str] = []
    for i in range(n):
        w = rng.choice(words)
        pick = rng.randrange(10)
        if syntax == "json":
            entries = [
                f'  "node_modules/{w}-{i}": {{"version": "1.{i % 30}.{rng.randrange(20)}", '
                f'"resolved": "https://registry.npmjs.org/{w}/-/{w}-1.{i % 30}.0.tgz", '
                f'"integrity": "{_integrity(c)}"}},',
                f'  "{w}_id": "{uuid.UUID(int=rng.getrandbits(128), version=4)}",',
                f'  "checksum": "{_digest(c)}",',
                f'  "commit": "{_sha1(c)}",',
                f'  "{w}_timeout_ms": {rng.randrange(100, 90000)},',
            ]
        elif syntax == "yaml":
            entries = [
                f"    image: ghcr.io/acme/{w}@sha256:{_digest(c)}",
                f"  {w}_request_id: {uuid.UUID(int=rng.getrandbits(128), version=4)}",
                f"  revision: {_sha1(c)}",
                f"  replicas: {rng.randrange(1, 9)}",
                f"  - name: {w.upper()}_URL\n    value: https://{w}.internal:8443/v1",
            ]
        elif syntax == "env":
            entries = [
                f"{w.upper()}_HOST={w}.internal",
                f"{w.upper()}_PORT={rng.randrange(1024, 65535)}",
                f"{w.upper()}_BUILD_SHA={_sha1(c)}",
                f"{w.upper()}_TRACE_ID={uuid.UUID(int=rng.getrandbits(128), version=4)}",
                f"LOG_LEVEL={rng.choice(['debug', 'info', 'warn'])}",
            ]
        elif syntax == "ini":
            entries = [
                f"[{w}-{i}]",
                f"host = {w}.internal",
                f"checksum = sha256:{_digest(c)}",
                f"instance_uuid = {uuid.UUID(int=rng.getrandbits(128), version=4)}",
                f"timeout = {rng.randrange(1, 120)}",
            ]
        elif syntax == "py":
            entries = [
                f'{w.upper()}_DIGEST = "{_digest(c)}"',
                f'{w.upper()}_REVISION = "{_sha1(c)}"',
                f'{w.upper()}_NS = uuid.UUID("{uuid.UUID(int=rng.getrandbits(128), version=4)}")',
                f"def handle_{w}_{i}(request, retries={rng.randrange(5)}):\n"
                f"    return dispatch(request, '{w}')",
                f"# {w} settings are loaded from the environment at start-up",
            ]
        else:  # js
            entries = [
                f"export const {w}Integrity = '{_integrity(c)}';",
                f"const {w}Id = '{uuid.UUID(int=rng.getrandbits(128), version=4)}';",
                f"module.exports.{w}Commit = '{_sha1(c)}';",
                f"function {w}Handler{i}(req, res) {{ return res.json({{ ok: true, n: {i} }}); }}",
                f"// {w}: retry {rng.randrange(5)} times before giving up",
            ]
        out.extend(entries[pick % len(entries)].split("\n"))
    return out


EXT = {"py": "py", "js": "js", "yaml": "yaml", "json": "json", "env": "env", "ini": "ini"}
SYNTAXES = ("py", "js", "yaml", "json", "env", "ini")


def _env_name(idx: int) -> str:
    # .env files are named like real ones (config/app.env); `.env` itself would be a
    # file-name finding in hooks, but `scan PATH` judges content only.
    return f"config/service-{idx}.env"


def plant(c: Corpus) -> None:
    """Generated config files with planted secrets and decoys among filler lines."""
    values = _secret_values(c)
    kinds = [*values, "private-key-rsa", "private-key-openssh"]
    assert len(kinds) == 21
    jobs: list[tuple[str, str]] = [
        (k, SYNTAXES[(i + j) % 6]) for i, k in enumerate(kinds) for j in range(10)
    ]
    decoys = _decoys(c)
    c.rng.shuffle(jobs)
    file_idx = 0
    pending_decoys = list(decoys)
    gen_bytes = TARGET_BYTES - c.total
    per_file_lines = 400
    files_needed = max(len(jobs) // 2 + 1, 1)
    approx_line = 75
    filler_files = max(gen_bytes // (per_file_lines * approx_line) - files_needed, 0)
    # Files with secrets: two planted secrets (and maybe a decoy) each, at random lines.
    while jobs or pending_decoys:
        syntax = SYNTAXES[file_idx % 6]
        rel = (
            _env_name(file_idx)
            if syntax == "env"
            else f"config/{syntax}/settings_{file_idx}.{EXT[syntax]}"
        )
        lines = filler(c, syntax, per_file_lines)
        inserts: list[tuple[list[str], str, str]] = []
        for _ in range(2):
            if not jobs:
                break
            kind, _syn = jobs.pop()
            if kind == "private-key-rsa":
                block = _pem(c, "RSA PRIVATE KEY", "MIIEpAIBAAKCAQEA")
                inserts.append((_embed_block(block, syntax, "tls_key"), kind, "secret"))
            elif kind == "private-key-openssh":
                block = _pem(
                    c,
                    "OPENSSH PRIVATE KEY",
                    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
                )
                inserts.append((_embed_block(block, syntax, "deploy_key"), kind, "secret"))
            else:
                name, value = values[kind]()
                inserts.append(([_assign(c, name, value, syntax)], kind, "secret"))
        if pending_decoys and c.rng.random() < 0.6:
            dkind, dline = pending_decoys.pop()
            inserts.append(([_decoy_line(dline, syntax)], dkind, "decoy"))
        positions = sorted(c.rng.sample(range(10, len(lines) - 10), len(inserts)), reverse=True)
        for pos, (block_lines, _kind, _label) in zip(positions, inserts, strict=True):
            lines[pos:pos] = block_lines
        # Record line numbers after all inserts are placed (top to bottom).
        line_no = 0
        placed = sorted(zip(positions, inserts, strict=True))
        shift = 0
        for pos, (block_lines, kind, label) in placed:
            line_no = pos + shift + 1
            # A PEM block's finding may be reported on its BEGIN or first body line.
            key_line = line_no + next(
                (i for i, ln in enumerate(block_lines) if "-----BEGIN" in ln), 0
            )
            c.record(rel, key_line, kind, label)
            shift += len(block_lines)
        c.write(rel, lines)
        file_idx += 1
    for i in range(filler_files):
        if c.total >= TARGET_BYTES:
            break
        syntax = SYNTAXES[i % 6]
        rel = (
            f"config/{syntax}/filler_{i}.{EXT[syntax]}"
            if syntax != "env"
            else f"config/filler-{i}.env"
        )
        c.write(rel, filler(c, syntax, per_file_lines))


def _embed_block(block: list[str], syntax: str, name: str) -> list[str]:
    if syntax in ("yaml",):
        return [f"  {name}: |"] + ["    " + ln for ln in block]
    if syntax in ("json", "js", "py"):
        joined = "\\n".join(block)
        return [
            {
                "json": f'  "{name}": "{joined}",',
                "js": f'const {name} = "{joined}";',
                "py": f'{name.upper()} = "{joined}"',
            }[syntax]
        ]
    return block  # env/ini: a pasted key file


def _decoys(c: Corpus) -> list[tuple[str, str]]:
    """40 decoys of 8 kinds: (kind, NAME=value template)."""
    kinds = [
        ("aws-example-key", "aws_access_key_id|AKIAIOSFODNN7EXAMPLE"),
        ("aws-example-secret", "aws_secret_access_key|wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("env-reference", "db_password|${DB_PASSWORD}"),
        ("angle-placeholder", "api_key|<your-api-key-here>"),
        ("x-token", "github_token|ghp_" + "x" * 36),
        ("changeme", "admin_password|changeme"),
        ("uuid", f"client_secret_id|{uuid.UUID(int=c.rng.getrandbits(128), version=4)}"),
        ("sha256", f"token_sha256|{_digest(c)}"),
        ("git-sha", f"deploy_token_commit|{_sha1(c)}"),
    ]
    out = []
    for i in range(40):
        kind, template = kinds[i % len(kinds)]
        if kind in ("uuid", "sha256", "git-sha"):
            fresh = {
                "uuid": f"client_secret_id|{uuid.UUID(int=c.rng.getrandbits(128), version=4)}",
                "sha256": f"token_sha256|{_digest(c)}",
                "git-sha": f"deploy_token_commit|{_sha1(c)}",
            }[kind]
            template = fresh
        out.append((kind, template))
    return out


def _decoy_line(template: str, syntax: str) -> str:
    name, value = template.split("|", 1)
    return {
        "py": f'{name.upper()} = "{value}"',
        "js": f"const {name} = '{value}';",
        "yaml": f"  {name}: {value}",
        "json": f'  "{name}": "{value}",',
        "env": f"{name.upper()}={value}",
        "ini": f"{name} = {value}",
    }[syntax]


def copy_tree(
    c: Corpus, src: Path, dest: str, suffixes: tuple[str, ...], budget: int, skip: tuple[str, ...]
) -> None:
    """Copy real source files (in a stable order) until ``budget`` bytes are copied."""
    used = 0
    for path in sorted(src.rglob("*")):
        if used >= budget:
            return
        rel = path.relative_to(src)
        if not path.is_file() or path.suffix not in suffixes or any(p in skip for p in rel.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        target = c.out / dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        used += len(text.encode())
        c.total += len(text.encode())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/scan-corpus"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    c = Corpus(args.out, random.Random(args.seed))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skip = ("test", "tests", "idlelib", "site-packages", "lib2to3", "__pycache__", "ensurepip")
    copy_tree(c, stdlib, "src/python", (".py",), STDLIB_BYTES, skip)
    for npm in (Path("/usr/lib/node_modules/npm"), Path("/usr/local/lib/node_modules/npm")):
        if npm.is_dir():
            copy_tree(c, npm, "src/js", (".js",), JS_BYTES, ("test", "tap-snapshots", "docs"))
            break
    plant(c)
    manifest = args.out.with_name(args.out.name + "-manifest.json")
    manifest.write_text(json.dumps(c.manifest, indent=1))
    secrets = sum(1 for m in c.manifest if m["type"] == "secret")
    decoys = sum(1 for m in c.manifest if m["type"] == "decoy")
    print(f"corpus: {args.out} {c.total / 1e6:.1f} MB, {secrets} secrets, {decoys} decoys")


if __name__ == "__main__":
    main()
