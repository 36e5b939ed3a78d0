#!/bin/sh
# Deploy step with gitvault: one verified `gitvault agent --once`, then restart the app.
#
#   usage: deploy.sh CONFIG [COMMAND ARGS…]
#   e.g.   deploy.sh /etc/gitvault/agent.yaml systemctl restart example-app
#
# `gitvault agent --once` fetches the branch named in CONFIG, accepts the new
# tip only if it is a fast-forward that passes verify and the trust checks,
# renders the outputs atomically (nothing is written when nothing changed) and
# exits: 0 applied or already current · 1 the update was refused (the last good
# outputs stay) · 6 git/fetch error · 3/4/5 could not decrypt/render · 7 a
# notify or health command failed and the previous rendering was restored.
#
# Anything but 0 stops the deploy before COMMAND runs: the app keeps running on
# the last good outputs. Set GITVAULT_DEPLOY_ALLOW_STALE=1 to deploy anyway when
# only the fetch failed (exit 6) and outputs from an earlier run exist.
# $GITVAULT is the command to run (default: gitvault). No value is ever printed:
# --json reports names, commits and states only.
set -eu

if [ "$#" -lt 1 ]; then
    echo "usage: deploy.sh CONFIG [COMMAND ARGS…]" >&2
    exit 2
fi
config="$1"
shift
GITVAULT="${GITVAULT:-gitvault}"

set +e
$GITVAULT agent --config "$config" --once --json
code=$?
set -e

case "$code" in
    0) echo "deploy.sh: secrets are current" >&2 ;;
    6)
        if [ "${GITVAULT_DEPLOY_ALLOW_STALE:-0}" = 1 ]; then
            echo "deploy.sh: warning: fetch failed; deploying with the last good outputs" >&2
        else
            echo "deploy.sh: error: fetching the vault failed (exit 6); not deploying" >&2
            exit "$code"
        fi
        ;;
    *)
        echo "deploy.sh: error: gitvault agent --once exited $code; not deploying" \
             "(the last good outputs are unchanged)" >&2
        exit "$code"
        ;;
esac

if [ "$#" -gt 0 ]; then
    "$@"
fi
