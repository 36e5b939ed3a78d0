#!/bin/sh
# gitvault rotation "verify" command: prove the role can log in with the new password.
#
# Reads (environment only):
#   GITVAULT_NEW_VALUE   the password that must now work
#   GITVAULT_OLD_VALUE, GITVAULT_HAS_OLD_VALUE   the password that must no longer work
#   PGROTATE_ROLE        the role to log in as
#   PGROTATE_DATABASE    database to connect to (default: $PGDATABASE, then "postgres")
#   PGHOST PGPORT PGSSLMODE …   where the server is
#
# The old password is tried too: if it still logs in, the server is not
# checking passwords for this connection (a "trust" rule in pg_hba.conf), and a
# successful login with the new one would prove nothing.
set -eu

: "${GITVAULT_NEW_VALUE:?is not set: run this through gitvault rotate}"
: "${PGROTATE_ROLE:?is not set: name the role whose password rotates}"
database="${PGROTATE_DATABASE:-${PGDATABASE:-postgres}}"

login() {
    # The password travels in PGPASSWORD (environment), never on the command line.
    # PGPASSFILE=/dev/null: a ~/.pgpass entry must not be what makes the login work.
    PGPASSWORD="$1" PGPASSFILE=/dev/null PGUSER="$PGROTATE_ROLE" PGDATABASE="$database" \
        psql --no-psqlrc --no-password --quiet --tuples-only --no-align \
        -c 'SELECT current_user' 2>&1
}

if ! who="$(login "$GITVAULT_NEW_VALUE")"; then
    echo "verify.sh: login as $PGROTATE_ROLE with the new password failed: $who" >&2
    exit 1
fi
if [ "$who" != "$PGROTATE_ROLE" ]; then
    echo "verify.sh: logged in as '$who', expected '$PGROTATE_ROLE'" >&2
    exit 1
fi
if [ "${GITVAULT_HAS_OLD_VALUE:-0}" = 1 ] && [ "$GITVAULT_OLD_VALUE" != "$GITVAULT_NEW_VALUE" ]; then
    if login "$GITVAULT_OLD_VALUE" >/dev/null; then
        echo "verify.sh: the old password still logs in: is pg_hba.conf set to trust?" >&2
        exit 1
    fi
fi
echo "verify.sh: $PGROTATE_ROLE logs in with the new password"
