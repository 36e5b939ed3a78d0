#!/bin/sh
# gitvault rotation "apply" command, alternating-users strategy.
#
# The vault value is a URI postgresql://USER:PASSWORD@HOST/DB naming the role
# consumers use now. A rotation (rotate-alternating.sh) writes a new value naming
# the OTHER role of $PGROTATE_ROLES with a new password; this script sets that
# password on that role, which no consumer uses at this moment. The role that
# was active keeps its password, so every connection and every consumer that
# has not switched yet keeps working until the next rotation.
#
# Reads (environment only, never argv):
#   GITVAULT_NEW_VALUE, GITVAULT_OLD_VALUE, GITVAULT_HAS_OLD_VALUE, GITVAULT_PHASE
#                      set by gitvault rotate
#   PGROTATE_ROLES     the two roles, e.g. "app_a app_b"; no other role is ever altered
#   PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD/PGPASSFILE …  an ADMIN connection
#                      (superuser or CREATEROLE), as for apply.sh
set -eu

: "${GITVAULT_NEW_VALUE:?is not set: run this through gitvault rotate}"
: "${PGROTATE_ROLES:?is not set: name the two roles, e.g. PGROTATE_ROLES=\"app_a app_b\"}"
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${GITVAULT_PYTHON:-python3}"

if [ "${GITVAULT_PHASE:-apply}" = rollback ]; then
    # Rollback gets the previous (active) credential as the "new" value. apply only
    # ever changed the inactive role, which no consumer uses: nothing to undo.
    echo "alternating-apply.sh: rollback: the active role was not changed"
    exit 0
fi

new_user="$("$PYTHON" "$here/alternating.py" user GITVAULT_NEW_VALUE)"
new_password="$("$PYTHON" "$here/alternating.py" password GITVAULT_NEW_VALUE)"

allowed=0
for role in $PGROTATE_ROLES; do
    [ "$role" = "$new_user" ] && allowed=1
done
if [ "$allowed" != 1 ]; then
    echo "alternating-apply.sh: refusing: role '$new_user' is not one of PGROTATE_ROLES ($PGROTATE_ROLES)" >&2
    exit 1
fi
if [ "${GITVAULT_HAS_OLD_VALUE:-0}" = 1 ] && [ -n "${GITVAULT_OLD_VALUE:-}" ]; then
    old_user="$("$PYTHON" "$here/alternating.py" user GITVAULT_OLD_VALUE)"
    if [ "$old_user" = "$new_user" ]; then
        echo "alternating-apply.sh: refusing: '$new_user' is the active role; changing its" \
             "password would cut off every consumer (use rotate-alternating.sh)" >&2
        exit 1
    fi
fi

GITVAULT_NEW_VALUE="$new_password" PGROTATE_ROLE="$new_user" exec sh "$here/apply.sh"
