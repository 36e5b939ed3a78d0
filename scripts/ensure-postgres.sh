#!/bin/sh
# Make sure PostgreSQL's server binaries (initdb, pg_ctl) and psql are installed.
#
# The rotation tests start a throwaway server in a temporary directory; this
# script installs PostgreSQL with apt-get (Debian/Ubuntu) when initdb is not
# found on PATH or under /usr/lib/postgresql/*/bin. It changes nothing when they
# are already there. .ci/run calls it before the tests.
set -eu

find_initdb() {
    command -v initdb 2>/dev/null && return 0
    ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

if [ -n "$(find_initdb)" ] && command -v psql >/dev/null 2>&1; then
    echo "ensure-postgres: found $(find_initdb)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: error: PostgreSQL is missing and apt-get is not available;" \
         "install PostgreSQL (initdb, pg_ctl, psql) by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "ensure-postgres: installing PostgreSQL with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null

if [ -z "$(find_initdb)" ]; then
    echo "ensure-postgres: error: initdb still not found after installing" >&2
    exit 1
fi
echo "ensure-postgres: installed $(find_initdb)"
