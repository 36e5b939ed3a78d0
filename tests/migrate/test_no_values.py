"""No value is ever written by migrate outside the vault's ciphertext, nor printed.

And hostile or broken input (plans, paths, URLs) gets one error line, its exit
code, and changes nothing.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.helpers import Result, run_cli
from tests.migrate.conftest import Env, git


def _files_under(*roots: Path) -> list[Path]:
    out = []
    for root in roots:
        if not root.exists():
            continue
        for dirpath, _dirs, files in os.walk(root):
            out += [Path(dirpath) / f for f in files]
    return out


def _holds_any(data: bytes, values: set[str]) -> list[str]:
    return [v for v in values if v.encode() in data]


def test_plan_and_every_written_file_hold_no_value(migration: Env) -> None:
    env = migration
    env.repos[:] = env.repos[:2] + env.repos[10:11]  # two local clones and one URL
    outputs: list[Result] = []
    outputs.append(
        run_cli(["migrate", "find", *[g.source for g in env.repos], "--plan", str(env.plan)])
    )
    outputs.append(
        run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    )
    outputs.append(run_cli(["migrate", "code", "--plan", str(env.plan), "--json"]))
    outputs.append(
        run_cli(["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir)])
    )
    outputs.append(run_cli(["migrate", "status", "--plan", str(env.plan)]))
    outputs.append(run_cli(["due"], cwd=env.vault))
    for r in outputs:
        assert r.code == 0, r.output
        assert _holds_any(r.output.encode(), env.distinct) == []
    # The plan: 0600 in a 0700 folder, and no value in it.
    assert stat.S_IMODE(env.plan.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.plan.parent.stat().st_mode) == 0o700
    assert _holds_any(env.plan.read_bytes(), env.distinct) == []
    # Nothing we wrote holds a value: plan folder, mirrors (after the purge), the
    # vault's work tree and every object in its .git, tmpfs leftovers.
    shm = [p for p in Path("/dev/shm").glob("gitvault*")] if Path("/dev/shm").is_dir() else []
    written = _files_under(env.plan.parent, env.workdir, *shm)
    written += [p for p in _files_under(env.vault) if ".git" not in p.parts]
    assert written
    for path in written:
        assert _holds_any(path.read_bytes(), env.distinct) == [], path
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=env.vault,
        capture_output=True,
        check=True,
    ).stdout
    assert _holds_any(objects, env.distinct) == []


def test_plan_inside_a_repository_is_refused(migration: Env) -> None:
    env = migration
    inside = env.repos[0].path / "plan.json"
    r = run_cli(["migrate", "find", env.repos[0].source, "--plan", str(inside)])
    assert r.code == 5
    assert "outside every git work tree" in r.stderr
    assert not inside.exists()


def test_malformed_plans(migration: Env) -> None:
    env = migration
    env.plan.parent.mkdir(parents=True)
    for text in ("{", "[]", '{"schema": "other"}', '{"schema": "gitvault.migrate-plan/v1"}'):
        env.plan.write_text(text)
        r = run_cli(["migrate", "status", "--plan", str(env.plan)])
        assert r.code == 5, r.output
        assert r.stderr.startswith("gitvault: error: ")
        assert "Traceback" not in r.output


def test_duplicate_destination_is_refused_before_writing(migration: Env) -> None:
    env = migration
    env.repos[:] = env.repos[:1]
    assert run_cli(["migrate", "find", env.repos[0].source, "--plan", str(env.plan)]).code == 0
    raw = json.loads(env.plan.read_text())
    raw["secrets"][1]["destination"] = dict(raw["secrets"][0]["destination"])
    env.plan.write_text(json.dumps(raw))
    head = git(env.vault, "rev-parse", "HEAD")
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 5 and "both go to" in r.stderr
    assert git(env.vault, "rev-parse", "HEAD") == head
    assert not (env.vault / "secrets").exists()


def test_location_that_lost_its_value_stops_import(migration: Env) -> None:
    """A plan pointing elsewhere (edited, or the source changed) never imports other bytes."""
    env = migration
    env.repos[:] = env.repos[:1]
    assert run_cli(["migrate", "find", env.repos[0].source, "--plan", str(env.plan)]).code == 0
    raw = json.loads(env.plan.read_text())
    for loc in raw["secrets"][0]["locations"]:
        loc["column"] += 1
    raw["secrets"][1]["locations"] = [
        {**raw["secrets"][1]["locations"][0], "commit": None, "path": "../../../etc/passwd"}
    ]
    env.plan.write_text(json.dumps(raw))
    r = run_cli(["migrate", "import", "--plan", str(env.plan), "--vault", str(env.vault)])
    assert r.code == 5, r.output
    assert "holds the value any more" in r.stderr
    assert not (env.vault / "secrets").exists()


def test_hostile_sources(migration: Env, tmp_path: Path) -> None:
    env = migration
    marker = tmp_path / "pwned"
    for source in (
        "--upload-pack=touch " + str(marker),
        f"ext::sh -c touch% {marker}",
        str(tmp_path / "missing"),
        str(tmp_path),  # a folder that is not a repository
    ):
        r = run_cli(["migrate", "find", "--plan", str(env.plan), "--", source])
        assert r.code in (5, 6), (source, r.output)
        assert r.stderr.startswith("gitvault: error: ")
        assert not marker.exists()
        assert not env.plan.exists()


def test_code_apply_replaces_config_literals_only(migration: Env) -> None:
    env = migration
    env.repos[:] = env.repos[2:3]
    g = env.repos[0]
    assert run_cli(["migrate", "find", g.source, "--plan", str(env.plan)]).code == 0
    r = run_cli(["migrate", "code", "--plan", str(env.plan), "--json"])
    lines = json.loads(r.stdout)["lines"]
    kinds = {(x["path"], x["kind"]) for x in lines}
    assert ("src/client.py", "code") in kinds
    assert ("config/settings.yaml", "yaml") in kinds
    assert ("config/app.json", "json") in kinds
    # Source code is never rewritten.
    before = (g.path / "src/client.py").read_bytes()
    r = run_cli(["migrate", "code", "--plan", str(env.plan), "--apply", "svc02:src/client.py"])
    assert r.code == 5 and (g.path / "src/client.py").read_bytes() == before
    r = run_cli(
        [
            "migrate",
            "code",
            "--plan",
            str(env.plan),
            "--apply",
            "svc02:config/settings.yaml",
            "--apply",
            "svc02:config/app.json",
            "--json",
        ]
    )
    assert r.code == 0, r.output
    result = json.loads(r.stdout)
    assert [a["replaced"] for a in result["applied"]] == [1, 1]
    settings = (g.path / "config/settings.yaml").read_text()
    app = json.loads((g.path / "config/app.json").read_text())
    assert g.values["yaml_stripe"] not in settings and "api_key: ${API_KEY}" in settings
    assert app["github_token"] == "${GITHUB_TOKEN}" and app["name"] == "svc02"
    assert {x["path"] for x in result["lines"]} == {"src/client.py"}
    # Applying again changes nothing.
    r = run_cli(["migrate", "code", "--plan", str(env.plan), "--apply", "svc02:config/app.json"])
    assert r.code == 0 and "0 literal(s) replaced" in r.stderr


def test_rewrite_never_replaces_a_folder_it_did_not_make(migration: Env) -> None:
    """A --workdir that already holds '<id>.git' (say, the user's own bare repository)."""
    env = migration
    env.repos[:] = env.repos[:1]
    assert run_cli(["migrate", "find", env.repos[0].source, "--plan", str(env.plan)]).code == 0
    theirs = env.workdir / "svc00.git"
    theirs.mkdir(parents=True)
    (theirs / "precious").write_text("not ours\n")
    for _ in range(2):  # a refused run must not make the next one allowed
        r = run_cli(["migrate", "rewrite", "--plan", str(env.plan), "--workdir", str(env.workdir)])
        assert r.code == 5 and "not a mirror this plan made" in r.stderr
        assert (theirs / "precious").read_text() == "not ours\n"
