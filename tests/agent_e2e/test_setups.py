"""The documented set-ups of examples/agent/: systemd units and the Kubernetes sidecar.

The units are checked by systemd itself (`systemd-analyze verify`) where it is
installed, and always by a parse of the keys the set-up depends on; the
manifest by a parse of what makes it safe (memory-backed shared volume,
read-only in the app, identity only in the agent). The agent configurations
they embed are parsed by the agent's own configuration loader.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agent_e2e.conftest import DB_FILE, FIRST, ROOT, Roles, gv, make_delivery, run_git

SETUPS = ROOT / "examples" / "agent"
SYSTEMD = SETUPS / "systemd"


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file as {section: {key: [values in order]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def agent_config(data: dict[str, Any], where: Path) -> Any:
    from gitvault.agent import config

    return config.parse(data, where)


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # Reported as a skip, not a pass; the parse checks below still run.
        pytest.skip("systemd-analyze is not installed (package systemd)")
    # verify checks that ExecStart= binaries exist: point it at the real gitvault.
    gitvault = shutil.which("gitvault") or sys.executable
    for src in SYSTEMD.glob("*.service"):
        text = src.read_text().replace("/usr/local/bin/gitvault", gitvault)
        (tmp_path / src.name).write_text(text)
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    assert len(units) == 2
    proc = subprocess.run([analyze, "verify", *units], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # no warning either (unknown keys, typos)


def test_systemd_agent_unit_and_config_agree() -> None:
    agent = unit(SYSTEMD / "gitvault-agent.service")["Service"]
    app = unit(SYSTEMD / "example-app.service")["Service"]
    cfg = agent_config(
        yaml.safe_load((SYSTEMD / "agent.yaml").read_text()), Path("/etc/gitvault/agent.yaml")
    )

    assert agent["ExecStart"] == ["/usr/local/bin/gitvault agent --config /etc/gitvault/agent.yaml"]
    # the identity reaches the agent through systemd credentials, at the path the config names
    name, _, source = agent["LoadCredential"][0].partition(":")
    assert cfg.identity == Path(f"/run/credentials/gitvault-agent.service/{name}")
    assert source.startswith("/etc/gitvault/")
    # outputs in the runtime directory (kept across restarts), the checkout in the state directory
    runtime = Path("/run") / agent["RuntimeDirectory"][0]
    assert agent["RuntimeDirectoryPreserve"] == ["yes"]
    assert all(o.path.parent == runtime for o in cfg.outputs)
    assert cfg.status is not None and cfg.status.parent == runtime
    assert cfg.checkout.is_relative_to(Path("/var/lib") / agent["StateDirectory"][0])
    assert agent["StateDirectoryMode"] == ["0700"]
    # the app's group reads outputs (0640), never others; the app reads what the agent writes
    assert agent["Group"] == app["Group"] == ["example-app"]
    assert all(o.mode == 0o640 for o in cfg.outputs)
    db = next(o for o in cfg.outputs if o.name == "db")
    assert f"--credentials {db.path}" in app["ExecStart"][0]
    # notify: reload the app unit, which turns it into SIGHUP for the service
    assert db.notify is not None and db.notify.command == (
        "systemctl",
        "try-reload-or-restart",
        "example-app.service",
    )
    assert app["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    rules = (SYSTEMD / "50-gitvault-agent.rules").read_text()
    assert '"example-app.service"' in rules and '"reload-or-try-restart"' in rules
    assert f'subject.user == "{agent["User"][0]}"' in rules
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert agent[key] == [value], key


def containers(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in [*pod.get("initContainers", []), *pod["containers"]]}


def mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in container.get("volumeMounts", [])}


def test_kubernetes_sidecar_shares_a_memory_volume_read_only_for_the_app() -> None:
    docs = list(yaml.safe_load_all((SETUPS / "kubernetes" / "sidecar.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ConfigMap", "Deployment"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    c = containers(pod)
    agent, app = c["gitvault-agent"], c["app"]

    shared = volumes["app-secrets"]
    assert shared["emptyDir"]["medium"] == "Memory"
    assert mounts(agent)["app-secrets"].get("readOnly", False) is False
    assert mounts(app)["app-secrets"]["readOnly"] is True
    assert mounts(agent)["app-secrets"]["mountPath"] == mounts(app)["app-secrets"]["mountPath"]
    # the identity, the config and the checkout are the agent's alone
    assert "secret" in volumes["agent-identity"]
    for private in ("agent-identity", "agent-state", "agent-config"):
        assert private in mounts(agent) and private not in mounts(app)
    assert mounts(agent)["agent-identity"]["readOnly"] is True
    # native sidecar: starts before the app, keeps running; the app cannot see its processes
    assert agent["restartPolicy"] == "Always"
    assert pod.get("shareProcessNamespace", False) is False
    assert pod["automountServiceAccountToken"] is False
    for container in (agent, app):
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]

    # the embedded agent configuration is valid and writes into the shared volume
    config_path = Path(mounts(agent)["agent-config"]["mountPath"])
    cfg = agent_config(yaml.safe_load(kinds["ConfigMap"]["data"]["agent.yaml"]), config_path)
    shared_dir = Path(mounts(app)["app-secrets"]["mountPath"])
    assert cfg.outputs and all(o.path.parent == shared_dir for o in cfg.outputs)
    assert cfg.identity is not None
    assert cfg.identity.parent == Path(mounts(agent)["agent-identity"]["mountPath"])
    assert cfg.checkout.is_relative_to(Path(mounts(agent)["agent-state"]["mountPath"]))
    # the app reads the output the agent writes, and the startup probe waits for it
    db = next(o for o in cfg.outputs if o.name == "db")
    args = app["args"]
    assert args[args.index("--credentials") + 1] == str(db.path)
    assert str(db.path) in agent["startupProbe"]["exec"]["command"]


def test_deploy_script_renders_then_deploys_and_stops_on_a_refused_update(
    tmp_path: Path,
) -> None:
    d = make_delivery(tmp_path, None, Roles("g", "app_a", "app_b"))
    config = d.agent_config(notify=False)
    marker = tmp_path / "deployed"
    deploy = [
        "sh",
        str(SETUPS / "deploy.sh"),
        str(config),
        "sh",
        "-c",
        f"echo deployed >> {marker}",
    ]
    env = {**os.environ, "GITVAULT": f"{sys.executable} -m gitvault", "PYTHONPATH": str(ROOT)}

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            deploy, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True
        )

    first = run()
    assert first.returncode == 0, first.stderr
    assert marker.read_text() == "deployed\n"
    assert json.loads(d.output.read_text()) == {
        "DB_URL": "postgresql://app_a:" + FIRST + "@/postgres"
    }
    report = json.loads(first.stdout)
    assert report["exit_code"] == 0

    # an ordinary update: rendered, deployed again
    second_url = "postgresql://app_b:second-Passw0rd-deploy@/postgres"
    r = gv(
        "set",
        DB_FILE,
        "db.url",
        "--stdin",
        "--commit",
        cwd=d.writer,
        env=d.writer_env(),
        input=second_url,
    )
    assert r.returncode == 0, r.stderr
    run_git(d.writer, "push", "-q", "origin", "main")
    assert run().returncode == 0
    assert marker.read_text() == "deployed\n" * 2
    assert json.loads(d.output.read_text())["DB_URL"] == second_url

    # history rewritten on the origin (not a fast-forward): refused, nothing deployed
    run_git(d.writer, "reset", "-q", "--hard", "HEAD~1")
    r = gv(
        "set",
        DB_FILE,
        "db.url",
        "--stdin",
        "--commit",
        cwd=d.writer,
        env=d.writer_env(),
        input="postgresql://app_a:forced-Passw0rd@/postgres",
    )
    assert r.returncode == 0, r.stderr
    run_git(d.writer, "push", "-q", "--force", "origin", "main")
    refused = run()
    assert refused.returncode == 1, refused.stderr
    assert "not deploying" in refused.stderr
    assert marker.read_text() == "deployed\n" * 2
    assert json.loads(d.output.read_text())["DB_URL"] == second_url  # last good values kept
    assert "forced-Passw0rd" not in refused.stdout + refused.stderr

    # the origin is gone: exit 6 stops the deploy unless stale outputs are allowed
    (tmp_path / "origin.git").rename(tmp_path / "origin-moved.git")
    gone = run()
    assert gone.returncode == 6 and "fetching the vault failed" in gone.stderr
    assert marker.read_text() == "deployed\n" * 2
    stale = run(GITVAULT_DEPLOY_ALLOW_STALE="1")
    assert stale.returncode == 0, stale.stderr
    assert marker.read_text() == "deployed\n" * 3
    assert json.loads(d.output.read_text())["DB_URL"] == second_url
