"""Secret-scanning benchmark: gitvault vs betterleaks vs kingfisher vs detect-secrets on one corpus.

Measures, on the corpus made by ``corpus.py``:
- throughput (MB/s) of gitvault's scanner (in-process scan phase, and the CLI wall time),
  detect-secrets and kingfisher (wall time of their CLIs);
- recall on the planted secrets, decoys flagged, and findings on lines with neither;
- the pre-commit hook on a 200-file / 2 MB staged change (median of several runs);
- agreement with CredSweeper's own samples (``../shared/data/credsweeper-samples``).

This is a benchmark, not a test: it prints a table and asserts nothing.

Usage:
  python bench/scan/corpus.py
  python bench/scan/run.py [--tools gitvault,betterleaks,kingfisher,detect-secrets] [--runs 3]
  python bench/scan/examples.py build && python bench/scan/examples.py score  # labelled examples
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
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CREDSWEEPER = REPO.parent / "shared" / "data" / "credsweeper-samples"
# The gitvault tree under test (``--tree``): this checkout by default, another one to
# measure "before" figures with the same benchmark code.
TREE = REPO


def _tree_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(TREE)}


def _child_cpu() -> float:
    """CPU seconds (user + system) used by finished child processes so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
PEM_KINDS = {"private-key-rsa", "private-key-openssh"}


def corpus_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# --- runners: each returns (seconds, set of (relpath, line)) --------------------------------


def run_gitvault(
    corpus: Path, runs: int
) -> tuple[float, float, set[tuple[str, int]], str, float]:
    """In-process scan phase (best of ``runs``, warm rule cache), CLI wall and CPU time.

    CPU time is reported next to wall time because the machine is shared: wall time moves
    with other people's jobs, the CPU seconds the process itself used much less.
    """
    sys.path.insert(0, str(TREE))
    from gitvault.scan import ScanOptions, scan_paths

    scan_paths([corpus / "config" / "json"], ScanOptions(), base=corpus)  # warm the db cache
    times = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = scan_paths([corpus], ScanOptions(check_file_names=False), base=corpus)
        times.append(time.perf_counter() - t0)
    assert result is not None
    cmd = [sys.executable, "-m", "gitvault", "scan", "--format", "json", "-o", os.devnull]
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = _child_cpu(), time.perf_counter()
        subprocess.run(
            [*cmd, str(corpus)], cwd=corpus, capture_output=True, check=False, env=_tree_env()
        )
        walls.append(time.perf_counter() - t0)
        cpus.append(_child_cpu() - c0)
    hits = {(f.path, f.line) for f in result.findings}
    return min(times), min(walls), hits, result.engine, min(cpus)


def run_kingfisher(corpus: Path) -> tuple[float, set[tuple[str, int]]]:
    exe = shutil.which("kingfisher")
    if exe is None:
        raise FileNotFoundError("kingfisher")
    # First run compiles and caches its Vectorscan database; time the second (cached) run.
    cmd = [
        exe,
        "scan",
        str(corpus),
        "--no-validate",
        "--no-dedup",
        "--format",
        "json",
        "--git-history",
        "none",
    ]
    subprocess.run(cmd, capture_output=True, check=False)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False, text=True)
    elapsed = time.perf_counter() - t0
    first = proc.stdout.split("\n", 1)[0]
    doc = json.loads(first) if first.strip() else {"findings": []}
    hits = set()
    for item in doc.get("findings", []):
        f = item["finding"]
        rel = os.path.relpath(os.path.abspath(f["path"]), corpus)
        hits.add((rel, int(f["line"])))
    return elapsed, hits


def run_detect_secrets(corpus: Path) -> tuple[float, set[tuple[str, int]]]:
    exe = shutil.which("detect-secrets")
    if exe is None:
        raise FileNotFoundError("detect-secrets")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [exe, "scan", "--all-files", "."], cwd=corpus, capture_output=True, check=False, text=True
    )
    elapsed = time.perf_counter() - t0
    doc = json.loads(proc.stdout)
    hits = {(path, int(s["line_number"])) for path, items in doc["results"].items() for s in items}
    return elapsed, hits


def run_betterleaks(corpus: Path) -> tuple[float, set[tuple[str, int]]]:
    """betterleaks (gitleaks' successor, default config) over a directory, whole process."""
    exe = shutil.which("betterleaks")
    if exe is None:
        raise FileNotFoundError("betterleaks")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        t0 = time.perf_counter()
        subprocess.run(
            [exe, ".", "-o", str(report), "--no-banner", "--exit-code", "0"],
            cwd=corpus,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - t0
        doc = json.loads(report.read_text()) if report.is_file() else {"findings": []}
    hits = set()
    for f in doc.get("findings") or []:
        loc = f["location"]
        # Findings inside archives carry no line; they count for their file only.
        hits.add((os.path.normpath(loc["path"]), int(loc.get("start_line") or 0)))
    return elapsed, hits


def _gitvault_hits(corpus: Path) -> set[tuple[str, int]]:
    sys.path.insert(0, str(TREE))
    from gitvault.scan import ScanOptions, scan_paths

    res = scan_paths([corpus], ScanOptions(check_file_names=False), base=corpus)
    return {(f.path, f.line) for f in res.findings}


# Each returns the (relative path, line) pairs a tool reports for a directory.
RUNNERS = {
    "gitvault": _gitvault_hits,
    "betterleaks": lambda d: run_betterleaks(d)[1],
    "kingfisher": lambda d: run_kingfisher(d)[1],
    "detect-secrets": lambda d: run_detect_secrets(d)[1],
}


# --- quality against the manifest -------------------------------------------------------------


def score(manifest: list[dict[str, object]], hits: set[tuple[str, int]]) -> dict[str, object]:
    secret_lines: set[tuple[str, int]] = set()
    decoy_lines: set[tuple[str, int]] = set()
    found = 0
    secrets = [m for m in manifest if m["type"] == "secret"]
    missed: dict[str, int] = {}
    for m in secrets:
        path, line = str(m["path"]), int(m["line"])  # type: ignore[call-overload]
        # A PEM block may be reported on its BEGIN line or the body line after it.
        span = range(line, line + 3) if m["kind"] in PEM_KINDS else range(line, line + 1)
        keys = {(path, ln) for ln in span}
        secret_lines |= keys
        if keys & hits:
            found += 1
        else:
            missed[str(m["kind"])] = missed.get(str(m["kind"]), 0) + 1
    flagged = 0
    for m in manifest:
        if m["type"] == "decoy":
            key = (str(m["path"]), int(m["line"]))  # type: ignore[call-overload]
            decoy_lines.add(key)
            flagged += key in hits
    other = len(hits - secret_lines - decoy_lines)
    return {
        "recall": found / len(secrets),
        "found": found,
        "secrets": len(secrets),
        "decoys_flagged": flagged,
        "decoys": sum(1 for m in manifest if m["type"] == "decoy"),
        "other": other,
        "missed": missed,
        "other_examples": sorted(hits - secret_lines - decoy_lines)[:5],
    }


# --- pre-commit hook on a 200-file / 2 MB staged change ----------------------------------------


def hook_benchmark(corpus: Path, runs: int) -> dict[str, float]:
    files = sorted(p for p in (corpus / "src").rglob("*") if p.is_file())
    picked: list[Path] = []
    total = 0
    for p in files:
        size = p.stat().st_size
        if 5_000 <= size <= 20_000:
            picked.append(p)
            total += size
        if len(picked) == 200:
            break
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        env = {**_tree_env(), "GIT_CONFIG_NOSYSTEM": "1", "HOME": tmp}
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid"]
        subprocess.run([*git, "init", "-q"], cwd=repo, check=True, env=env)
        subprocess.run(
            [*git, "commit", "-q", "--allow-empty", "-m", "root"], cwd=repo, check=True, env=env
        )
        for i, p in enumerate(picked):
            target = repo / f"pkg{i % 10}" / f"{i}_{p.name}"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(p, target)
        subprocess.run([*git, "add", "-A"], cwd=repo, check=True, env=env)
        staged = sum(
            p.stat().st_size for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts
        )
        cmd = [sys.executable, "-m", "gitvault", "hook", "pre-commit"]
        subprocess.run(cmd, cwd=repo, capture_output=True, env=env, check=False)  # warm cache
        times, cpus = [], []
        for _ in range(max(runs, 5)):
            c0, t0 = _child_cpu(), time.perf_counter()
            subprocess.run(cmd, cwd=repo, capture_output=True, env=env, check=False)
            times.append(time.perf_counter() - t0)
            cpus.append(_child_cpu() - c0)
        # The whole `git commit` with the installed hook, once.
        subprocess.run(
            [*cmd[:3], "hooks", "install"], cwd=repo, capture_output=True, env=env, check=True
        )
        t0 = time.perf_counter()
        proc = subprocess.run(
            [*git, "commit", "-q", "-m", "bench"],
            cwd=repo,
            capture_output=True,
            env=env,
            check=False,
        )
        commit = time.perf_counter() - t0
    return {
        "files": float(len(picked)),
        "bytes": float(staged),
        "hook_median_s": statistics.median(times),
        "hook_median_cpu_s": statistics.median(cpus),
        "git_commit_s": commit,
        "commit_ok": float(proc.returncode == 0),
    }


# --- CredSweeper samples ---------------------------------------------------------------------


def credsweeper_agreement(tools: Iterable[str]) -> dict[str, dict[str, object]]:
    if not CREDSWEEPER.is_dir():
        return {}
    expected_doc = json.loads((CREDSWEEPER / "expected-output.json").read_text())
    expected: set[tuple[str, int]] = set()
    for item in expected_doc:
        for ld in item["line_data_list"]:
            rel = ld["path"].split("tests/samples/", 1)[-1]
            expected.add((rel, int(ld["line_num"])))
    samples = CREDSWEEPER / "samples"
    out: dict[str, dict[str, object]] = {}
    for tool in tools:
        if tool == "gitvault":
            from gitvault.scan import ScanOptions, scan_paths

            res = scan_paths([samples], ScanOptions(check_file_names=False), base=samples)
            ours = {(f.path, f.line) for f in res.findings}
        elif tool == "kingfisher":
            _, ours = run_kingfisher(samples)
        elif tool == "betterleaks":
            _, ours = run_betterleaks(samples)
        else:
            _, ours = run_detect_secrets(samples)
        both = expected & ours
        exp_files = {p for p, _ in expected}
        our_files = {p for p, _ in ours}
        out[tool] = {
            "files_credsweeper": len(exp_files),
            "files_agree": len(exp_files & our_files),
            "files_only_tool": len(our_files - exp_files),
            "credsweeper": len(expected),
            "found": len(ours),
            "agree": len(both),
            "only_credsweeper": len(expected - ours),
            "only_tool": len(ours - expected),
            "recall_vs_credsweeper": len(both) / len(expected) if expected else 0.0,
            "precision_vs_credsweeper": len(both) / len(ours) if ours else 0.0,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=REPO / "bench/out/scan-corpus")
    parser.add_argument("--tree", type=Path, help="gitvault checkout to measure (default: here)")
    parser.add_argument("--tools", default="gitvault,betterleaks,kingfisher,detect-secrets")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-hook", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write the numbers here.")
    args = parser.parse_args()
    global TREE
    if args.tree:
        TREE = args.tree.resolve()
    corpus = args.corpus.resolve()
    manifest_path = corpus.with_name(corpus.name + "-manifest.json")
    if not manifest_path.is_file():
        sys.exit("no corpus: run python bench/scan/corpus.py first")
    manifest = json.loads(manifest_path.read_text())
    size = corpus_bytes(corpus)
    tools = [t for t in args.tools.split(",") if t]
    rows: dict[str, dict[str, object]] = {}
    for tool in tools:
        try:
            if tool == "gitvault":
                secs, cli, hits, engine, cli_cpu = run_gitvault(corpus, args.runs)
                rows[tool] = {
                    "seconds": secs,
                    "cli_seconds": cli,
                    "cli_cpu_seconds": cli_cpu,
                    "engine": engine,
                    **score(manifest, hits),
                }
            elif tool == "kingfisher":
                secs, hits = run_kingfisher(corpus)
                rows[tool] = {"seconds": secs, **score(manifest, hits)}
            elif tool == "betterleaks":
                secs, hits = run_betterleaks(corpus)
                rows[tool] = {"seconds": secs, **score(manifest, hits)}
            elif tool == "detect-secrets":
                secs, hits = run_detect_secrets(corpus)
                rows[tool] = {"seconds": secs, **score(manifest, hits)}
        except FileNotFoundError as exc:
            print(f"skipping {tool}: {exc} not installed")
    print(f"corpus {corpus} {size / 1e6:.1f} MB, {len(manifest)} manifest entries")
    print(f"{'scanner':16} {'wall s':>8} {'MB/s':>8} {'recall':>8} {'decoys':>8} {'other':>7}")
    for tool, r in rows.items():
        mbs = size / 1e6 / float(r["seconds"])  # type: ignore[arg-type]
        print(
            f"{tool:16} {float(r['seconds']):8.2f} {mbs:8.1f} {float(r['recall']) * 100:7.1f}% "  # type: ignore[arg-type]
            f"{r['decoys_flagged']:>4}/{r['decoys']:<3} {r['other']:>7}"
        )
        if tool == "gitvault":
            cli_s, cpu_s = float(r["cli_seconds"]), float(r["cli_cpu_seconds"])  # type: ignore[arg-type]
            print(
                f"{'  gitvault CLI':16} {cli_s:8.2f} {size / 1e6 / cli_s:8.1f}  "
                f"(whole process, engine {r['engine']}; CPU {cpu_s:.2f} s = "
                f"{size / 1e6 / cpu_s:.1f} MB/s of CPU time)"
            )
        if r["missed"]:
            print(f"{'':16} missed: {r['missed']}")
        if r["other_examples"]:
            print(f"{'':16} e.g. other: {r['other_examples'][:3]}")
    hook = None if args.no_hook else hook_benchmark(corpus, args.runs)
    if hook:
        print(
            f"pre-commit hook: {int(hook['files'])} files / {hook['bytes'] / 1e6:.2f} MB staged: "
            f"median {hook['hook_median_s']:.3f} s wall, {hook['hook_median_cpu_s']:.3f} s CPU; "
            f"whole `git commit` {hook['git_commit_s']:.3f} s"
        )
    agreement = credsweeper_agreement(tools)
    for tool, a in agreement.items():
        print(
            f"credsweeper samples, {tool}: {a['agree']}/{a['credsweeper']} CredSweeper lines found "
            f"({float(a['recall_vs_credsweeper']) * 100:.1f}%), {a['only_tool']} lines only {tool} "  # type: ignore[arg-type]
            f"flags ({a['found']} total); "
            f"files: {a['files_agree']}/{a['files_credsweeper']} agree, "
            f"{a['files_only_tool']} only {tool}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"size": size, "rows": rows, "hook": hook, "credsweeper": agreement},
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
