#!/bin/sh
# gitvault rotation "verify" command, alternating-users strategy.
#
# Proves, before gitvault commits the switch:
#   1. the new role logs in with the new password (and is who it says);
#   2. it does NOT log in with a wrong password (else pg_hba.conf trusts it and
#      step 1 proved nothing);
#   3. $PGROTATE_CHECK_SQL, when set, runs as the new role (e.g. a SELECT on the
#      application's tables: both roles must hold the same grants);
#   4. the previous role still logs in with its password: consumers that have not
#      switched yet keep working until the next rotation.
#
# Reads (environment only): GITVAULT_NEW_VALUE, GITVAULT_OLD_VALUE,
# GITVAULT_HAS_OLD_VALUE; PGROTATE_CHECK_SQL (optional); PGHOST PGPORT … for the
# server. The database is the URI's, else $PGROTATE_DATABASE, $PGDATABASE, postgres.
set -eu

: "${GITVAULT_NEW_VALUE:?is not set: run this through gitvault rotate}"
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${GITVAULT_PYTHON:-python3}"

field() { "$PYTHON" "$here/alternating.py" "$1" "$2"; }

database_of() {
    db="$(field database "$1")"
    printf '%s' "${db:-${PGROTATE_DATABASE:-${PGDATABASE:-postgres}}}"
}

# The password travels in PGPASSWORD (environment), never on the command line;
# PGPASSFILE=/dev/null so a ~/.pgpass entry cannot be what makes the login work.
login() { # user password database sql
    PGUSER="$1" PGPASSWORD="$2" PGDATABASE="$3" PGPASSFILE=/dev/null \
        psql --no-psqlrc --no-password --quiet --tuples-only --no-align -c "$4" 2>&1
}

new_user="$(field user GITVAULT_NEW_VALUE)"
new_password="$(field password GITVAULT_NEW_VALUE)"
new_db="$(database_of GITVAULT_NEW_VALUE)"

if ! who="$(login "$new_user" "$new_password" "$new_db" 'SELECT current_user')"; then
    echo "alternating-verify.sh: login as $new_user with the new password failed: $who" >&2
    exit 1
fi
if [ "$who" != "$new_user" ]; then
    echo "alternating-verify.sh: logged in as '$who', expected '$new_user'" >&2
    exit 1
fi
wrong="wrong-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
if login "$new_user" "$wrong" "$new_db" 'SELECT 1' >/dev/null; then
    echo "alternating-verify.sh: $new_user logs in with a wrong password: is pg_hba.conf set to trust?" >&2
    exit 1
fi
if [ -n "${PGROTATE_CHECK_SQL:-}" ]; then
    if ! out="$(login "$new_user" "$new_password" "$new_db" "$PGROTATE_CHECK_SQL")"; then
        echo "alternating-verify.sh: the check query failed as $new_user: $out" >&2
        exit 1
    fi
fi
if [ "${GITVAULT_HAS_OLD_VALUE:-0}" = 1 ] && [ -n "${GITVAULT_OLD_VALUE:-}" ]; then
    old_user="$(field user GITVAULT_OLD_VALUE)"
    old_password="$(field password GITVAULT_OLD_VALUE)"
    old_db="$(database_of GITVAULT_OLD_VALUE)"
    if [ "$old_user" = "$new_user" ]; then
        echo "alternating-verify.sh: the new value names the active role $new_user: not alternating" >&2
        exit 1
    fi
    if ! out="$(login "$old_user" "$old_password" "$old_db" 'SELECT 1')"; then
        echo "alternating-verify.sh: the previous role $old_user no longer logs in:" \
             "consumers that have not switched would fail: $out" >&2
        exit 1
    fi
fi
echo "alternating-verify.sh: $new_user logs in with the new password; the previous role still works"
