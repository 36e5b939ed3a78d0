"""gitvault agent: push -> reloaded service, idle memory, CPU per fetch (DESIGN §10, §12).

Sets up everything real in a temporary directory: a throwaway PostgreSQL
(initdb + pg_ctl, Unix socket only), two login roles (the alternating pair), a
bare origin, a writer's clone with a policy, the agent (`gitvault agent`,
following the origin every --interval seconds, SIGHUP to the service on
change) and the example service (examples/postgres-rotation/service.py, a pool
of connections). Then, --rotations times: set a new password on the inactive
role (psql, as admin), `gitvault set db.url --commit`, `git push`; the clock
starts when `git push` returns and stops when the service answers as the new
role (polled every 10 ms). Afterwards the agent idles for --idle seconds:
its resident memory (VmRSS, VmHWM) and the CPU time it used per idle cycle
(a fetch that finds nothing new, counted from its JSON-lines log).

A benchmark, not a test: it prints figures and checks nothing but that every
rotation arrived. Budget (DESIGN §10): push -> reloaded within one interval
+ 2 s; idle agent <= 60 MiB.

    python bench/agent/run.py [--rotations 20] [--interval 1] [--idle 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "examples" / "postgres-rotation" / "service.py"
DB_FILE = "secrets/production/db.yaml"
ADMIN = "gvadmin"
TICKS = os.sysconf("SC_CLK_TCK")


def sh(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=input, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} failed: {proc.stderr.strip()[-400:]}")
    return proc.stdout


# ------------------------------------------------------------------ PostgreSQL


class Postgres:
    """A throwaway server; the admin logs in over the socket, app roles need a password."""

    def __init__(self, base: Path) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        found = shutil.which("initdb") or (candidates[-1] if candidates else None)
        if found is None:
            raise SystemExit("bench: initdb not found; run scripts/ensure-postgres.sh")
        self.bindir = Path(found).resolve().parent
        self.base = base
        base.chmod(0o755)
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = next(
                (pwd.getpwnam(n) for n in ("postgres", "gitvault-pg") if _has_user(n)), None
            )
            if user is None:
                raise SystemExit("bench: running as root needs a 'postgres' system user")
            os.chown(base, user.pw_uid, user.pw_gid)
            self.as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.port = 6433 + os.getpid() % 1000
        self.data = base / "data"
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            ADMIN,
            "--auth-local=scram-sha-256",
            "--auth-host=reject",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        )
        (self.data / "pg_hba.conf").write_text(
            f"local all {ADMIN} trust\nlocal all all scram-sha-256\n"
        )
        options = f"-c listen_addresses='' -k {base} -p {self.port} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(base / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def _run(self, *args: str) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "HOME": str(self.base),
        }
        proc = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.base,
            env=env,
            text=True,
            capture_output=True,
            **self.as_user,
        )
        if proc.returncode != 0:
            raise SystemExit(f"bench: {args[0]} failed: {proc.stderr.strip()[-400:]}")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=str(self.base), PGPORT=str(self.port), PGDATABASE="postgres")
        return env

    def admin(self, sql: str) -> None:
        """Run SQL as the admin; it goes to psql on stdin (it may hold a password), not argv."""
        sh(
            ["psql", "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
            self.base,
            {**self.env(), "PGUSER": ADMIN},
            input=sql,
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# ------------------------------------------------------------------ the vault


def gitvault(*args: str, cwd: Path, env: dict[str, str], input: str | None = None) -> str:
    return sh(
        [sys.executable, "-m", "gitvault", *args], cwd, {**env, "PYTHONPATH": str(ROOT)}, input
    )


def url(user: str, password: str) -> str:
    return f"postgresql://{user}:{password}@/postgres"


def setup_vault(base: Path, first_url: str, env: dict[str, str]) -> tuple[Path, Path, Path]:
    """(origin, writer, ci identity): a policy for alice + ci-production, db.url pushed."""
    keys = base / "keys"
    keys.mkdir()
    pub = {
        n: gitvault("keygen", "-o", str(keys / f"{n}.txt"), cwd=base, env=env).split()[-1]
        for n in ("alice", "ci-production")
    }
    origin, writer = base / "origin.git", base / "writer"
    sh(["git", "init", "-q", "--bare", str(origin)], base, env)
    sh(["git", "clone", "-q", str(origin), str(writer)], base, env)
    sh(["git", "checkout", "-q", "-b", "main"], writer, env)  # whatever init.defaultBranch says
    (writer / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  alice: {pub['alice']}\n"
        f"  ci-production: {pub['ci-production']}\n"
        'rules:\n  - path: "secrets/production/**"\n    recipients: [alice, ci-production]\n'
    )
    env["GITVAULT_AGE_KEY_FILE"] = str(keys / "alice.txt")
    gitvault("init", "--no-hooks", "--name", "alice", cwd=writer, env=env)
    (writer / DB_FILE).parent.mkdir(parents=True)
    (writer / DB_FILE).write_text(f"db:\n    url: {first_url}\n")
    gitvault("encrypt", DB_FILE, "--in-place", cwd=writer, env=env)
    sh(["git", "add", "-A"], writer, env)
    sh(["git", "commit", "-q", "-m", "first credential"], writer, env)
    sh(["git", "push", "-q", "origin", "HEAD:main"], writer, env)
    return origin, writer, keys / "ci-production.txt"


def agent_config(base: Path, origin: Path, ci_key: Path, interval: float, notify: bool) -> Path:
    output: dict[str, Any] = {
        "name": "db",
        "path": str(base / "run" / "db.json"),
        "format": "json",
        "files": [DB_FILE],
        "keys": ["DB_URL"],
    }
    if notify:
        output["notify"] = {"signal": "HUP", "pidfile": str(base / "run" / "service.pid")}
    cfg = {
        "remote": str(origin),
        "branch": "main",
        "checkout": str(base / "agent" / "checkout"),
        "interval": f"{interval}s",
        "jitter": 0.1,
        "identity": str(ci_key),
        "status": str(base / "agent" / "status.json"),
        "outputs": [output],
    }
    path = base / "agent" / ("agent.yaml" if notify else "bootstrap.yaml")
    path.write_text(json.dumps(cfg))
    return path


# ------------------------------------------------------------------ processes


def proc_stat(pid: int) -> tuple[float, int, int]:
    """(CPU seconds incl. waited-for children, VmRSS KiB, VmHWM KiB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = sum(int(x) for x in fields[11:15]) / TICKS  # utime stime cutime cstime
    status = Path(f"/proc/{pid}/status").read_text()
    kib = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS", "VmHWM"))
    }
    return cpu, kib["VmRSS"], kib["VmHWM"]


def get(address: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def cycles(log: Path) -> int:
    n = 0
    for line in log.read_text().splitlines():
        try:
            if json.loads(line).get("event") == "cycle":
                n += 1
        except json.JSONDecodeError:
            continue
    return n


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rotations", type=int, default=20)
    ap.add_argument("--interval", type=float, default=1.0, help="the agent's fetch interval (s)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle agent to measure")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="gitvault-bench-agent-"))
    # Its own directory, not under the 0700 temp dir: the server user must enter it.
    pg = Postgres(Path(tempfile.mkdtemp(prefix="gitvault-bench-pg-")))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(base),
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        }
        (base / "agent").mkdir()
        (base / "run").mkdir()
        roles = ("bench_app_a", "bench_app_b")
        passwords = {roles[0]: secrets.token_urlsafe(24)}
        pg.admin(
            f"CREATE ROLE bench_app NOLOGIN; CREATE ROLE {roles[0]} LOGIN IN ROLE bench_app "
            f"PASSWORD '{passwords[roles[0]]}'; CREATE ROLE {roles[1]} LOGIN IN ROLE bench_app"
        )
        origin, writer, ci_key = setup_vault(base, url(roles[0], passwords[roles[0]]), env)
        gitvault(
            "agent",
            "--config",
            str(agent_config(base, origin, ci_key, args.interval, False)),
            "--once",
            cwd=base,
            env=env,
        )

        svc_env = {**pg.env(), "PYTHONPATH": str(ROOT)}
        svc = subprocess.Popen(
            [
                sys.executable,
                str(SERVICE),
                "--credentials",
                str(base / "run" / "db.json"),
                "--pidfile",
                str(base / "run" / "service.pid"),
            ],
            env=svc_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        procs.append(svc)
        address = svc.stdout.readline().decode().split()[-1]  # type: ignore[union-attr]
        log = base / "agent.log"
        with log.open("w") as fh:
            agent = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gitvault",
                    "agent",
                    "--config",
                    str(agent_config(base, origin, ci_key, args.interval, True)),
                ],
                env={**env, "PYTHONPATH": str(ROOT)},
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        procs.append(agent)
        time.sleep(max(2.0, 2 * args.interval))  # first cycles: import, clone, nothing new

        latencies: list[float] = []
        cpu_before, _, _ = proc_stat(agent.pid)
        cycles_before = cycles(log)
        active = 0
        for i in range(args.rotations):
            active = 1 - active
            user = roles[active]
            password = secrets.token_urlsafe(24)
            pg.admin(f"ALTER ROLE {user} PASSWORD '{password}'")  # the inactive role
            gitvault(
                "set",
                DB_FILE,
                "db.url",
                "--stdin",
                "--commit",
                cwd=writer,
                env=env,
                input=url(user, password),
            )
            sh(["git", "push", "-q", "origin", "main"], writer, env)
            pushed = time.monotonic()
            while get(address, "/status")["user"] != user:
                if time.monotonic() - pushed > 60:
                    raise SystemExit(f"bench: rotation {i + 1} did not reach the service in 60 s")
                time.sleep(0.01)
            latencies.append(time.monotonic() - pushed)
            print(
                f"rotation {i + 1:2d}: push -> service as {user}: {latencies[-1]:.3f} s", flush=True
            )
        cpu_rot, _, _ = proc_stat(agent.pid)
        cycles_rot = cycles(log) - cycles_before

        time.sleep(2 * args.interval)
        cpu_idle0, _, _ = proc_stat(agent.pid)
        cycles_idle0 = cycles(log)
        time.sleep(args.idle)
        cpu_idle1, rss, hwm = proc_stat(agent.pid)
        idle_cycles = cycles(log) - cycles_idle0
        figures = {
            "rotations": args.rotations,
            "interval_s": args.interval,
            "push_to_reload_median_s": round(statistics.median(latencies), 3),
            "push_to_reload_p95_s": round(pct(latencies, 0.95), 3),
            "push_to_reload_max_s": round(max(latencies), 3),
            "budget_s": args.interval + 2.0,
            "idle_agent_rss_mib": round(rss / 1024, 1),
            "agent_peak_rss_mib": round(hwm / 1024, 1),
            "idle_cycles": idle_cycles,
            "cpu_per_idle_fetch_ms": round(1000 * (cpu_idle1 - cpu_idle0) / max(idle_cycles, 1), 1),
            "cpu_per_cycle_during_rotations_ms": round(
                1000 * (cpu_rot - cpu_before) / max(cycles_rot, 1), 1
            ),
            "cycles_during_rotations": cycles_rot,
            "cpu_per_applied_update_ms": round(1000 * (cpu_rot - cpu_before) / args.rotations, 1),
            "load_average": os.getloadavg()[0],
        }
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(pg.base, ignore_errors=True)


if __name__ == "__main__":
    main()
