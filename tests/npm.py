"""Real JavaScript tools from npm that some tests read gitvault's output with.

They are installed once into ``.cache/node`` of the checkout (``scripts/test.sh``
does it up front; a developer running pytest directly gets them on first use).
Nothing is mocked: a missing npm is a failed test, never a skipped one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / ".cache" / "node"
# name -> pinned version: what scripts/test.sh installs too.
PACKAGES = {"dotenv": "16.6.1", "age-encryption": "0.3.1", "cctv-age": "0.2.0"}


def module_dir(name: str) -> Path:
    """The installed package directory of ``name`` (installing the pinned set if needed)."""
    path = PREFIX / "node_modules" / name
    if not (path / "package.json").is_file():
        npm = shutil.which("npm")
        assert npm, "npm is needed for this test (scripts/test.sh installs nodejs and npm)"
        specs = [f"{n}@{v}" for n, v in PACKAGES.items()]
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX), *specs],
            check=True,
            capture_output=True,
        )
    return path


def run_module(script: str, *args: str) -> str:
    """Run an ES-module ``script`` with node (``process.argv[1]`` is the first of ``args``)."""
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script, "--", *args],
        capture_output=True,
        check=True,
        cwd=PREFIX,
    )
    return out.stdout.decode()


def entry(name: str) -> str:
    """The ``import()`` URL of a package's entry point."""
    pkg = module_dir(name)
    main = json.loads((pkg / "package.json").read_text()).get("main", "index.js")
    return (pkg / main).resolve().as_uri()
