#!/bin/sh
# Rotate an alternating-users credential: switch FILE's KEY to the other role
# with a new password, through `gitvault rotate --stdin` (which runs the key's
# apply/verify commands from the policy, rolls back and exits 7 on failure).
#
#   usage: rotate-alternating.sh FILE KEY [more gitvault rotate options]
#   e.g.   PGROTATE_ROLES="app_a app_b" rotate-alternating.sh secrets/production/db.yaml db.url
#
# Needs an identity that can decrypt FILE (to learn the active role) and
# PGROTATE_ROLES. $GITVAULT (default: gitvault) is the command to run. The
# values pass through pipes and shell variables only, never argv.
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: rotate-alternating.sh FILE KEY [gitvault rotate options]" >&2
    exit 2
fi
file="$1"
key="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${GITVAULT_PYTHON:-python3}"
GITVAULT="${GITVAULT:-gitvault}"

current="$($GITVAULT decrypt "$file" --extract "$key")"
next="$(printf '%s' "$current" | "$PYTHON" "$here/alternating.py" next)"
printf '%s' "$next" | $GITVAULT rotate "$file" "$key" --stdin "$@"
