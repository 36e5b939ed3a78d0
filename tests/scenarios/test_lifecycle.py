"""The lifecycle of a team's vault, done exactly as README.md and docs/team.md show.

alice, bob and carol (each with their own HOME, ``gitvault keygen`` identity and
git name) and one CI identity per environment share a bare origin through
their own clones. Each test function is one step of their story; they share
one module-scoped team and must run in order (pytest's default), as a whole.

After every step, in the clone of whoever acted (and of whoever pulled):

- ``gitvault verify`` with that person's identity exits 0 with no problem,
  warning or history finding, and every file's MAC was checked;
- ``gitvault review BASE..HEAD`` (BASE: that clone's HEAD before the step)
  exits 0 with no trust finding (rollback, substitution, recipients, MAC, …);
- ``gitvault log`` exits 0, reads every version, finds every commit's
  trailers in agreement, and attributes each change to whoever made it — a
  clean merge is never a rotation by the person who merged;
- ``git status --porcelain`` is empty where the step committed.

Run ``GITVAULT_SCENARIO_CONTINUE=1 GITVAULT_SCENARIO_TRANSCRIPT=/tmp/t.txt
pytest tests/scenarios -p no:cacheprovider`` to see every failed expectation
of every step instead of the first (see tests/scenarios/harness.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from typing import Any

import pytest

from tests.scenarios.harness import Clone, Person, Scenario, Step, make_scenario, public_key

PROD = "secrets/production/app.yaml"
DEV = "secrets/development/app.yaml"
STRIPE = "secrets/development/payments/stripe.yaml"  # created by `edit` in a new folder
S3 = "secrets/development/reports/s3.yaml"  # created by `encrypt -o` in a new folder

# The rules alice writes after `init`, as examples/quickstart.sh does: one rule per
# environment, each readable by the team and that environment's CI identity. Every
# development key has a generator, so offboarding carol can rotate all she read.
RULES = """\
rules:
  - path: "secrets/production/**"
    recipients: [team, ci-production]
    schema: schemas/production.schema.json
    rotate_after: 90d
    keys:
      db.password: {generate: "password:32"}
      api.token: {generate: "token:tok_:32"}
  - path: "secrets/development/**"
    recipients: [team, developers, ci-development]
    keys:
      db.password: {generate: "password:24"}
      stripe.secret_key: {generate: "token:sk_test_:24"}
      stripe.webhook_secret: {generate: "hex:16"}
      s3.access_key_id: {generate: "token:AKIA:16"}
      s3.secret_access_key: {generate: "hex:20"}
"""

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["db", "api"],
    "properties": {
        "db": {
            "type": "object",
            "required": ["user", "password", "port"],
            "properties": {
                "user": {"type": "string"},
                "password": {"type": "string", "minLength": 16},
                "port": {"type": "integer"},
            },
        },
        "api": {"type": "object", "required": ["token"]},
    },
}

PROD_TEXT = """\
db:
    user: app
    password: Initial-prod-password-0001
    port: 5432
api:
    token: tok_initial_token_value_000000001
legacy:
    token: legacy-token-to-be-removed
"""

DEV_TEXT = "db:\n    password: Initial-dev-password-01\n"

STRIPE_TEXT = """\
stripe:
    secret_key: sk_test_initialStripeKey0001
    webhook_secret: 00112233445566778899aabbccddeeff
"""

S3_TEXT = "s3:\n    access_key_id: AKIAEXAMPLEONLY0001\n    secret_access_key: 0123456789abcdef0123456789abcdef01234567\n"


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return make_scenario(tmp_path_factory.mktemp("scenario"))


# -- small helpers -------------------------------------------------------------


def flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"db": {"port": 1}}`` -> ``{"db.port": 1}``."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def values(step: Step, clone: Clone, rel: str) -> dict[str, Any]:
    """The decrypted values of ``rel`` as ``clone``'s owner reads them (flattened)."""
    result = step.gv(clone, "decrypt", rel, "--format", "json")
    if result.code != 0:
        return {}
    return flat(json.loads(result.stdout))


def same_values(step: Step, a: Clone, b: Clone, rel: str) -> dict[str, Any]:
    """Both clones read the same values in ``rel``; returns them."""
    left, right = values(step, a, rel), values(step, b, rel)
    step.check(
        left == right,
        f"{a.who.name} and {b.who.name} read different values in {rel} "
        f"(keys differing: {sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))})",
    )
    return left


def commits_between(clone: Clone, base: str, head: str = "HEAD") -> list[str]:
    out = clone.git("rev-list", f"{base}..{head}").stdout.split()
    return out


def parents(clone: Clone, commit: str) -> list[str]:
    return clone.git("rev-list", "--parents", "-n", "1", commit).stdout.split()[1:]


def policy_at(clone: Clone, rev: str) -> str:
    return clone.show(f"{rev}:.gitvault.yaml")


# -- the story -----------------------------------------------------------------


def test_01_keygen(team: Scenario) -> None:
    """Everyone makes an identity with `gitvault keygen`; alice makes one per CI environment."""
    with team.step("01 keygen", after=None) as step:
        for name, full in (
            ("alice", "Alice Example"),
            ("bob", "Bob Example"),
            ("carol", "Carol Example"),
        ):
            who = team.person(name, full)
            somewhere = Clone(who, who.home)
            step.gv(somewhere, "keygen")
            step.check(who.key_file.is_file(), f"{name}: keygen wrote no {who.key_file}")
            if who.key_file.is_file():
                mode = who.key_file.stat().st_mode & 0o777
                step.check(mode == 0o600, f"{name}: {who.key_file} has mode {mode:o}, not 600")
                who.public = public_key(who.key_file)
        alice = team.people["alice"]
        ci_dir = team.base / "ci-keys"
        ci_dir.mkdir()
        for env in ("production", "development"):
            key = ci_dir / f"ci-{env}.key"
            step.gv(Clone(alice, team.base), "keygen", "-o", str(key))
            ci_home = team.base / "home" / f"ci-{env}"
            ci_home.mkdir(parents=True)
            (ci_home / ".gitconfig").write_text(
                f"[user]\n\tname = CI {env}\n\temail = ci-{env}@example.invalid\n"
                "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
                encoding="utf-8",
            )
            team.ci[env] = Person(
                f"ci-{env}",
                f"CI {env}",
                f"ci-{env}@example.invalid",
                ci_home,
                team.bin_dir,
                public=public_key(key),
                ci_key=key,
            )


def test_02_alice_inits_the_vault(team: Scenario) -> None:
    """alice: git init, `gitvault init --name alice`, CI recipients, rules, first files, push."""
    with team.step("02 init (alice)", after="01 keygen") as step:
        alice = team.people["alice"]
        path = team.base / "alice"
        path.mkdir()
        me = Clone(alice, path)
        team.clones["alice"] = me
        step.git(me, "init", "-q")
        step.git(me, "remote", "add", "origin", str(team.origin))
        r = step.gv(me, "init", "--name", "alice")
        step.check(
            (path / ".git" / "hooks" / "pre-commit").is_file(), "init installed no pre-commit hook"
        )
        step.check(
            me.git("config", "--local", "merge.gitvault.driver").stdout.strip()
            == "gitvault merge-driver %O %A %B %P",
            f"init did not configure the merge driver:\n{r.output}",
        )
        for env in ("production", "development"):
            step.gv(me, "recipients", "add", f"ci-{env}", team.ci[env].public)
        # The rules are edited by hand, as examples/quickstart.sh does.
        policy = path / ".gitvault.yaml"
        text = policy.read_text(encoding="utf-8")
        text = text.replace("  team: [alice]\n", "  team: [alice]\n  developers: [alice]\n", 1)
        text = re.sub(r"rules:\n.*", RULES, text, flags=re.S)
        policy.write_text(text, encoding="utf-8")
        (path / "schemas").mkdir()
        (path / "schemas" / "production.schema.json").write_text(
            json.dumps(SCHEMA, indent=2) + "\n"
        )
        step.git(me, "add", "-A")
        step.git(me, "commit", "-qm", "Set up gitvault")
        team.marks["policy-commit"] = me.head()
        step.git(me, "push", "-q", "-u", "origin", "main")  # the policy first: the team can clone

        step.gv(me, "edit", PROD, extra=team.edit_env({"write": PROD_TEXT}))
        step.gv(me, "edit", DEV, extra=team.edit_env({"write": DEV_TEXT}))
        step.check(
            values(step, me, PROD).get("db.password") == "Initial-prod-password-0001",
            f"{PROD} does not hold what the editor wrote",
        )
        step.git(me, "add", "-A")
        step.git(me, "commit", "-qm", "Add the first secrets")  # through the pre-commit hook
        step.git(me, "push", "-q")
        log = step.after(me, team.marks["policy-commit"])
        step.expect_event(log, file=PROD, key="db.password", kind="added", by=alice)
        step.expect_event(log, file=DEV, key="db.password", kind="added", by=alice)


def test_03_bob_clones_and_inits(team: Scenario) -> None:
    """bob clones and runs `gitvault init` once (git never takes drivers from a clone)."""
    with team.step("03 clone + init (bob)", after="02 init (alice)") as step:
        bob = team.people["bob"]
        step.git(Clone(bob, team.base), "clone", "-q", str(team.origin), "bob")
        me = Clone(bob, team.base / "bob")
        team.clones["bob"] = me
        step.gv(me, "init")
        step.clean_tree(me)  # the committed .gitattributes and policy stay as they are
        step.check(
            me.git("config", "--local", "merge.gitvault.driver").stdout.strip()
            == "gitvault merge-driver %O %A %B %P",
            "init in bob's clone did not configure the merge driver",
        )
        # bob is not a recipient yet: access denied, exit 3 (README: exit codes).
        step.gv(me, "decrypt", PROD, expect=3)
        step.review_clean(me, team.marks["policy-commit"])
        step.log_clean(me)


def test_04_alice_adds_bob_and_rekeys(team: Scenario) -> None:
    """`recipients add bob KEY --group team` then `rekey --commit`; push; bob pulls."""
    with team.step("04 recipients add bob + rekey --commit", after="03 clone + init (bob)") as step:
        alice, bob = team.people["alice"], team.people["bob"]
        me, theirs = team.clones["alice"], team.clones["bob"]
        base = me.head()
        step.gv(me, "recipients", "add", "bob", bob.public, "--group", "team")
        step.gv(me, "rekey", "--commit")
        step.clean_tree(me)
        step.check(
            bob.public in policy_at(me, "HEAD"),
            "rekey --commit left the policy change out of the commit: HEAD's policy does not name bob",
        )
        step.git(me, "push", "-q")
        rekey = me.head()
        log = step.after(me, base)
        step.no_rotation_in(log, rekey, "the re-key")
        step.expect_event(
            log, file=PROD, key="db.password", kind="rekeyed", by=alice, commits=[rekey]
        )

        bob_base = theirs.head()
        step.git(theirs, "pull", "-q", "--no-edit")
        step.after(theirs, bob_base)
        same_values(step, me, theirs, PROD)


def test_05_carol_joins(team: Scenario) -> None:
    """carol clones and inits; bob adds her to `developers` with `rekey --recipients-only`; she rotates a dev key."""
    with team.step(
        "05 carol joins (added by bob)", after="04 recipients add bob + rekey --commit"
    ) as step:
        carol = team.people["carol"]
        step.git(Clone(carol, team.base), "clone", "-q", str(team.origin), "carol")
        mine = Clone(carol, team.base / "carol")
        team.clones["carol"] = mine
        step.gv(mine, "init")
        step.clean_tree(mine)

        by_bob = team.clones["bob"]
        base = by_bob.head()
        step.gv(by_bob, "recipients", "add", "carol", carol.public, "--group", "developers")
        step.gv(by_bob, "rekey", "--recipients-only", "--commit")
        step.clean_tree(by_bob)
        step.check(carol.public in policy_at(by_bob, "HEAD"), "HEAD's policy does not name carol")
        step.git(by_bob, "push", "-q")
        step.after(by_bob, base)

        carol_base = mine.head()
        step.git(mine, "pull", "-q", "--no-edit")
        step.after(mine, carol_base, "secrets/development")
        step.gv(mine, "decrypt", PROD, expect=3)  # production is not hers
        before = values(step, mine, DEV).get("db.password")
        step.gv(mine, "set", DEV, "db.password", "--generate", "password:24", "--commit")
        step.clean_tree(mine)
        rotated = mine.head()
        step.check(
            values(step, mine, DEV).get("db.password") != before, "set --generate changed nothing"
        )
        step.git(mine, "push", "-q")
        log = step.after(mine, carol_base, "secrets/development")
        step.expect_event(
            log, file=DEV, key="db.password", kind="rotated", by=carol, commits=[rotated]
        )

        alice_clone = team.clones["alice"]
        alice_base = alice_clone.head()
        step.git(alice_clone, "pull", "-q", "--no-edit")
        log = step.after(alice_clone, alice_base)
        step.expect_event(
            log, file=DEV, key="db.password", kind="rotated", by=carol, commits=[rotated]
        )
        same_values(step, alice_clone, mine, DEV)


def test_06_edit_into_new_folders(team: Scenario) -> None:
    """bob `edit --commit`s a file in a new folder; alice edits, `encrypt -o`s into a new folder, pulls."""
    with team.step("06 edit into new folders", after="05 carol joins (added by bob)") as step:
        alice, bob = team.people["alice"], team.people["bob"]
        me, other = team.clones["bob"], team.clones["alice"]
        step.git(me, "pull", "-q", "--no-edit")
        base = me.head()
        step.gv(
            me,
            "edit",
            STRIPE,
            "--commit",
            "-m",
            "Add the payment provider's keys",
            extra=team.edit_env({"write": STRIPE_TEXT}),
        )
        step.clean_tree(me)
        step.check(
            values(step, me, STRIPE).get("stripe.secret_key") == "sk_test_initialStripeKey0001",
            f"{STRIPE} does not hold what bob typed",
        )
        stripe_commit = me.head()
        step.git(me, "push", "-q")
        log = step.after(me, base)
        step.expect_event(log, file=STRIPE, key="stripe.secret_key", kind="added", by=bob)

        alice_base = other.head()
        step.gv(
            other,
            "edit",
            PROD,
            extra=team.edit_env({"replace": [["user: app\n", "user: app_rw\n"]]}),
        )
        step.check(
            values(step, other, PROD).get("db.user") == "app_rw", "alice's edit did not land"
        )
        step.git(other, "commit", "-qam", "Rename the database user")  # the hook runs
        user_commit = other.head()
        plain = team.base / "s3-plain.yaml"  # outside every repository
        plain.write_text(S3_TEXT, encoding="utf-8")
        step.gv(other, "encrypt", str(plain), "-o", S3)
        plain.unlink()
        step.git(other, "add", S3)
        step.git(other, "commit", "-qm", "Add the report bucket's keys")
        s3_commit = other.head()
        step.git(other, "pull", "-q", "--no-edit")  # bob's new file: a merge commit by alice
        merge = other.head()
        step.check(len(parents(other, merge)) == 2, "alice's pull made no merge commit")
        step.git(other, "push", "-q")
        log = step.after(other, alice_base)
        step.expect_event(
            log, file=STRIPE, key="stripe.secret_key", kind="added", by=bob, commits=[stripe_commit]
        )
        step.expect_event(
            log, file=PROD, key="db.user", kind="rotated", by=alice, commits=[user_commit]
        )
        step.expect_event(
            log, file=S3, key="s3.secret_access_key", kind="added", by=alice, commits=[s3_commit]
        )
        step.no_value_events_in(log, other, merge, "alice's clean merge")

        step.git(me, "pull", "-q", "--no-edit")
        step.after(me, base)
        for rel in (PROD, STRIPE, S3):
            same_values(step, me, other, rel)


def test_07_set_and_unset_with_commit(team: Scenario) -> None:
    """alice: `set --generate`, `set --stdin`, `set --type int`, `unset`, each with --commit; bob pulls."""
    with team.step("07 set/unset --commit", after="06 edit into new folders") as step:
        alice = team.people["alice"]
        me, other = team.clones["alice"], team.clones["bob"]
        base = me.head()
        made: dict[str, str] = {}
        step.gv(me, "set", PROD, "db.password", "--generate", "password:32", "--commit")
        made["db.password"] = me.head()
        step.gv(
            me,
            "set",
            PROD,
            "api.token",
            "--stdin",
            "--commit",
            input="tok_set_by_alice_from_stdin_0002",
        )
        made["api.token"] = me.head()
        step.gv(me, "set", PROD, "db.port", "5433", "--type", "int", "--commit")
        made["db.port"] = me.head()
        step.gv(me, "unset", PROD, "legacy.token", "--commit")
        made["legacy.token"] = me.head()
        step.clean_tree(me)
        now = values(step, me, PROD)
        step.check(
            now.get("api.token") == "tok_set_by_alice_from_stdin_0002", "set --stdin did not land"
        )
        step.check(now.get("db.port") == 5433, f"set --type int stored {now.get('db.port')!r}")
        step.check("legacy.token" not in now, "unset left legacy.token in place")
        step.check(len(set(made.values())) == 4, "each --commit should make its own commit")
        step.git(me, "push", "-q")
        log = step.after(me, base)
        for key in ("db.password", "api.token", "db.port"):
            step.expect_event(
                log, file=PROD, key=key, kind="rotated", by=alice, commits=[made[key]]
            )
        step.expect_event(
            log,
            file=PROD,
            key="legacy.token",
            kind="removed",
            by=alice,
            commits=[made["legacy.token"]],
        )

        other_base = other.head()
        step.git(other, "pull", "-q", "--no-edit")
        step.after(other, other_base)
        same_values(step, me, other, PROD)


def test_08_parallel_per_key_edits_merge(team: Scenario) -> None:
    """alice and bob each change a different key of one file; bob pulls (merge driver), pushes."""
    with team.step("08 parallel per-key edits + merge", after="07 set/unset --commit") as step:
        alice, bob = team.people["alice"], team.people["bob"]
        a, b = team.clones["alice"], team.clones["bob"]
        base = b.head()
        step.check(a.head() == base, "alice and bob should start from the same commit")
        step.gv(a, "set", PROD, "db.password", "--generate", "password:32", "--commit")
        alice_commit = a.head()
        alice_password = values(step, a, PROD).get("db.password")
        step.git(a, "push", "-q")
        step.gv(
            b,
            "set",
            PROD,
            "api.token",
            "--stdin",
            "--commit",
            input="tok_set_by_bob_in_parallel_0003",
        )
        bob_commit = b.head()
        step.git(b, "pull", "-q", "--no-edit")  # the merge driver merges per key
        merge = b.head()
        step.check(len(parents(b, merge)) == 2, "bob's pull made no merge commit")
        step.check(
            not (b.path / ".git" / "MERGE_HEAD").exists(), "the merge stopped with a conflict"
        )
        merged = values(step, b, PROD)
        step.check(
            merged.get("db.password") == alice_password, "the merge lost alice's db.password"
        )
        step.check(
            merged.get("api.token") == "tok_set_by_bob_in_parallel_0003",
            "the merge lost bob's api.token",
        )
        log = step.after(b, base)
        step.expect_event(
            log, file=PROD, key="db.password", kind="rotated", by=alice, commits=[alice_commit]
        )
        step.expect_event(
            log, file=PROD, key="api.token", kind="rotated", by=bob, commits=[bob_commit]
        )
        step.no_value_events_in(log, b, merge, "bob's clean merge")
        step.git(b, "push", "-q")

        step.git(a, "pull", "-q", "--no-edit")
        log = step.after(a, base)
        step.no_value_events_in(log, a, merge, "bob's clean merge (seen from alice's clone)")
        same_values(step, a, b, PROD)


def test_09_merge_across_a_rekey(team: Scenario) -> None:
    """alice re-keys and pushes; bob sets a value on the old data key, pulls, then sets again."""
    with team.step("09 merge across a re-key", after="08 parallel per-key edits + merge") as step:
        alice, bob = team.people["alice"], team.people["bob"]
        a, b = team.clones["alice"], team.clones["bob"]
        base = b.head()
        step.gv(a, "rekey", "--commit", "-m", "Scheduled re-key")
        rekey = a.head()
        step.clean_tree(a)
        step.git(a, "push", "-q")
        step.gv(b, "set", PROD, "db.user", "--stdin", "--commit", input="app_ro")
        bob_commit = b.head()
        step.git(b, "pull", "-q", "--no-edit")
        merge = b.head()
        step.check(len(parents(b, merge)) == 2, "bob's pull made no merge commit")
        step.check(
            not (b.path / ".git" / "MERGE_HEAD").exists(), "the merge stopped with a conflict"
        )
        merged = values(step, b, PROD)
        step.check(merged.get("db.user") == "app_ro", "the merge lost bob's db.user")
        log = step.after(b, base)
        step.expect_event(
            log, file=PROD, key="db.user", kind="rotated", by=bob, commits=[bob_commit]
        )
        step.expect_event(
            log, file=PROD, key="db.password", kind="rekeyed", by=alice, commits=[rekey]
        )
        step.no_rotation_in(log, rekey, "alice's re-key")
        step.no_value_events_in(log, b, merge, "bob's clean merge across the re-key")
        # bob's next write goes through his own pre-commit hook.
        step.gv(
            b,
            "set",
            PROD,
            "api.token",
            "--stdin",
            "--commit",
            input="tok_after_the_rekey_merge_0004",
        )
        after_merge = b.head()
        step.clean_tree(b)
        step.git(b, "push", "-q")
        log = step.after(b, base)
        step.expect_event(
            log, file=PROD, key="api.token", kind="rotated", by=bob, commits=[after_merge]
        )

        step.git(a, "pull", "-q", "--no-edit")
        step.after(a, rekey)
        same_values(step, a, b, PROD)


def test_10_offboard_carol(team: Scenario) -> None:
    """alice removes carol from the policy (docs/team.md), then `offboard carol --rotate --commit`."""
    with team.step("10 offboard carol --rotate --commit", after="09 merge across a re-key") as step:
        alice, carol = team.people["alice"], team.people["carol"]
        a = team.clones["alice"]
        base = a.head()
        team.marks["before-offboard"] = base
        before = {rel: values(step, a, rel) for rel in (DEV, STRIPE, S3)}
        step.gv(a, "recipients", "remove", "carol")
        step.gv(a, "offboard", "carol", "--rotate", "--commit")
        offboard = a.head()
        step.check(offboard != base, "offboard --commit made no commit")
        step.clean_tree(a)
        step.check(
            carol.public not in policy_at(a, "HEAD"), "HEAD's policy still names carol's key"
        )
        message = a.git("log", "-1", "--format=%B").stdout
        step.check(
            "Gitvault-Offboarded: carol" in message,
            f"the commit has no offboard trailer:\n{message}",
        )
        for rel, old in before.items():
            new = values(step, a, rel)
            same = sorted(k for k in old if k in new and new[k] == old[k])
            step.check(not same, f"offboarding left values carol read unchanged in {rel}: {same}")
        step.git(a, "push", "-q")
        log = step.after(a, base)
        step.expect_event(
            log, file=DEV, key="db.password", kind="rotated", by=alice, commits=[offboard]
        )

        b = team.clones["bob"]
        b_base = b.head()
        step.git(b, "pull", "-q", "--no-edit")
        step.after(b, b_base)
        same_values(step, a, b, DEV)

        c = team.clones["carol"]
        step.git(c, "pull", "-q", "--no-edit")
        step.gv(c, "decrypt", DEV, expect=3)
        step.gv(c, "decrypt", STRIPE, expect=3)


def test_11_ci_deploys(team: Scenario) -> None:
    """Each CI environment, with only its own identity in GITVAULT_AGE_KEY: verify, export, exec, review."""
    with team.step(
        "11 CI: verify, export, exec", after="10 offboard carol --rotate --commit"
    ) as step:
        a = team.clones["alice"]
        prod_ci, dev_ci = team.ci["production"], team.ci["development"]
        step.git(Clone(prod_ci, team.base), "clone", "-q", str(team.origin), "ci")
        path = team.base / "ci"
        prod, dev = Clone(prod_ci, path), Clone(dev_ci, path)
        step.check(prod.head() == a.head(), "the CI clone is not at alice's HEAD")

        step.verify_clean(prod, "secrets/production")
        step.review_clean(prod, team.marks["before-offboard"])  # the deploy's change set
        expected = values(step, a, PROD)
        r = step.gv(prod, "export", "secrets/production", "--format", "json")
        if r.code == 0:
            exported = json.loads(r.stdout)
            step.check(
                exported.get("DB_PASSWORD") == expected.get("db.password")
                and exported.get("API_TOKEN") == expected.get("api.token")
                and exported.get("DB_PORT") == expected.get("db.port"),
                f"export does not give alice's values (names: {sorted(exported)})",
            )
        r = step.gv(prod, "export", "secrets/production", "--format", "env")
        step.check(
            r.code != 0
            or f"export DB_PASSWORD={shlex.quote(str(expected.get('db.password')))}" in r.stdout
            or f"export DB_PASSWORD='{expected.get('db.password')}'" in r.stdout,
            "export --format env does not give DB_PASSWORD",
        )
        digest = "import hashlib, os; print(hashlib.sha256(os.environ['DB_PASSWORD'].encode()).hexdigest())"
        proc = step.gv_process(
            prod, "exec", "secrets/production", "--", sys.executable, "-c", digest
        )
        want = hashlib.sha256(str(expected.get("db.password")).encode()).hexdigest()
        step.check(
            proc.returncode != 0 or proc.stdout.strip() == want,
            "exec did not give the child alice's DB_PASSWORD",
        )
        # The production identity cannot read development: access denied, exit 3.
        step.gv(prod, "export", "secrets/development", expect=3)

        step.verify_clean(dev, "secrets/development")
        r = step.gv(dev, "export", "secrets/development", "--format", "json")
        if r.code == 0:
            exported = json.loads(r.stdout)
            step.check(
                exported.get("STRIPE_SECRET_KEY")
                == values(step, a, STRIPE).get("stripe.secret_key"),
                "the development export does not give the current stripe key",
            )
        step.gv(dev, "export", "secrets/production", expect=3)
        step.clean_tree(prod)
