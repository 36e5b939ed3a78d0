#!/bin/sh
# gitvault rotation "apply" command: set a PostgreSQL role's password.
#
# Reads (environment only, never argv):
#   GITVAULT_NEW_VALUE   the password to install (set by gitvault)
#   PGROTATE_ROLE        the role whose password changes
#   PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD/PGPASSFILE/PGSSLMODE …
#                        libpq's usual variables, for an ADMIN connection
#                        (a superuser or a role with CREATEROLE)
#
# The password never appears in argv, in psql's output, or in the server log:
# we send a SCRAM-SHA-256 verifier computed here (what psql's \password does),
# so even log_statement=all or an error log line shows a salted hash only.
# Passwords with non-ASCII characters would need SASLprep; for those we fall
# back to sending the password itself inside the session (see README).
set -eu

: "${GITVAULT_NEW_VALUE:?is not set: run this through gitvault rotate}"
: "${PGROTATE_ROLE:?is not set: name the role whose password rotates}"
PYTHON="${GITVAULT_PYTHON:-python3}"

# The verifier is computed from the environment; python's argv holds code only.
verifier="$("$PYTHON" - <<'PY'
import base64, hashlib, hmac, os, sys
password = os.environ["GITVAULT_NEW_VALUE"]
if not password.isascii():
    sys.exit(0)  # empty output: the caller falls back to a plain password
salt = os.urandom(16)
iterations = 4096
salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
stored_key = hashlib.sha256(client_key).digest()
server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
b64 = lambda raw: base64.b64encode(raw).decode()
print(f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}")
PY
)"

if [ -n "$verifier" ]; then
    GITVAULT_PG_SECRET="$verifier"
else
    echo "apply.sh: warning: non-ASCII password, sending it to the server as is" >&2
    GITVAULT_PG_SECRET="$GITVAULT_NEW_VALUE"
fi
export GITVAULT_PG_SECRET

# psql 15+ reads an environment variable straight into a psql variable; older
# psql gets it from a backquoted printenv (a builtin-free read of the env: the
# command line holds only the variable's name).
major="$(psql --version | sed -n 's/^psql (PostgreSQL) \([0-9]*\).*/\1/p')"
if [ "${major:-0}" -ge 15 ]; then
    load='\getenv pg_secret GITVAULT_PG_SECRET'
else
    load='\set pg_secret `printenv GITVAULT_PG_SECRET`'
fi

# :"role" and :'pg_secret' make psql quote the identifier and the literal.
psql --no-psqlrc --quiet --no-password -v ON_ERROR_STOP=1 -v role="$PGROTATE_ROLE" <<SQL
$load
ALTER ROLE :"role" PASSWORD :'pg_secret';
SQL
