"""What a gitvault command imports before it reads the first byte, and how long that takes.

Runs ``python -X importtime -m gitvault ARGS`` several times for each given
interpreter (a venv's ``bin/python``, e.g. one with this checkout installed and
one with an older commit), and prints per interpreter: the number of modules
imported, the median total import time (sum of the modules' own times), and
the time of the heavy groups (click, PyYAML, jsonschema, json, hashlib,
dataclasses with inspect, cryptography, pyrage, subprocess). A benchmark, not a test.

    python bench/imports.py --python bench/out/venv/bin/python \\
        --python /path/to/old-venv/bin/python -- decrypt secrets/app.yaml

The command runs in the current directory with the current environment (give
it a key, e.g. ``SOPS_AGE_KEY_FILE``); its output is discarded.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections import defaultdict

GROUPS = {
    "click": ("click",),
    "PyYAML": ("yaml", "_yaml"),
    "jsonschema": ("jsonschema", "referencing", "rpds", "attr", "attrs"),
    "json": ("json", "_json"),
    "hashlib": ("hashlib", "_hashlib", "hmac", "_blake2"),
    "dataclasses+inspect": ("dataclasses", "inspect", "ast", "dis", "tokenize", "linecache"),
    "cryptography": ("cryptography", "_cffi_backend"),
    "pyrage": ("pyrage",),
    "subprocess": ("subprocess", "selectors", "threading", "shlex"),
    "pygit2": ("pygit2",),
}


def _group(module: str) -> str | None:
    top = module.split(".")[0]
    for name, tops in GROUPS.items():
        if top in tops:
            return name
    return None


def measure(python: str, args: list[str], runs: int) -> dict[str, object]:
    totals: list[float] = []
    groups: dict[str, list[float]] = defaultdict(list)
    modules: set[str] = set()
    for _ in range(runs):
        proc = subprocess.run(
            [python, "-X", "importtime", "-m", "gitvault", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        total = 0.0
        per_group: dict[str, float] = defaultdict(float)
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "imported package" in line:
                continue
            own, _cumulative, name = line[len("import time:") :].split("|")
            module = name.strip()
            modules.add(module)
            ms = int(own) / 1000
            total += ms
            group = _group(module)
            if group:
                per_group[group] += ms
        totals.append(total)
        for name in GROUPS:
            groups[name].append(per_group.get(name, 0.0))
    return {
        "modules": len(modules),
        "total_ms": statistics.median(totals),
        "groups": {name: statistics.median(v) for name, v in groups.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--python", action="append", required=True, help="an interpreter")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("args", nargs="+", help="the gitvault command line")
    opts = parser.parse_args()
    results = {py: measure(py, opts.args, opts.runs) for py in opts.python}
    width = max(len(p) for p in opts.python)
    print(f"gitvault {' '.join(opts.args)}  (median of {opts.runs} runs, ms of import time)")
    head = f"{'':22}" + "".join(f" {p[-width:]:>{min(width, 28)}}" for p in opts.python)
    print(head)
    rows = [("modules imported", "modules"), ("all imports (ms)", "total_ms")]
    for label, key in rows:
        cells = "".join(f" {results[p][key]:>{min(width, 28)}.1f}" for p in opts.python)  # type: ignore[str-format]
        print(f"{label:22}{cells}")
    for name in GROUPS:
        cells = "".join(
            f" {results[p]['groups'][name]:>{min(width, 28)}.1f}"  # type: ignore[index]
            for p in opts.python
        )
        print(f"  {name:20}{cells}")


if __name__ == "__main__":
    sys.exit(main())
