"""The deployment files under deploy/ are exercised, not only written: the container image's build scripts
run here, the compose file's services run as processes (no container engine on CI), and the systemd unit
passes ``systemd-analyze verify``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from sentinelkit_devkit.compose import ComposeProcesses
from sentinelkit_devkit.emulator import emulator_environment
from sentinelkit_devkit.services import binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/container's two build steps: the wheels, then a virtual environment with them (their
    dependencies come from this environment, to stay offline and quick: PIP_INSTALL_ARGS=--no-deps)."""
    folder = tmp_path_factory.mktemp("image")
    env = {**os.environ, "PIP_INSTALL_ARGS": "--no-deps", "PYTHONPATH": sysconfig.get_paths()["purelib"],
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    built = subprocess.run(["bash", str(DEPLOY / "container" / "build-wheels.sh"), str(ROOT), str(folder / "wheels")],
                           capture_output=True, text=True, env=env, timeout=600)
    assert built.returncode == 0, built.stderr
    done = subprocess.run(["bash", str(DEPLOY / "container" / "install.sh"), str(folder / "wheels"),
                           str(folder / "prefix")], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("sentinelkit ")
    return folder / "prefix"


def test_the_image_build_scripts_install_the_server_and_its_packs(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "SENTINELKIT_CONFIG": ""}
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import sentinelkit; print(sentinelkit.__file__)"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert where.stdout.startswith(str(installed))  # the wheel, not this checkout
    tools = subprocess.run([str(installed / "bin" / "sentinelkit"), "tools", "--json"], capture_output=True, text=True,
                           env=env, timeout=300)
    names = {t["name"] for t in __import__("json").loads(tools.stdout)["tools"]}
    assert {"workspace_list", "hosted_status", "incident_close", "dcr_list", "table_list"} <= names
    assert not {n for n in names if n.startswith("emulator")}  # the image serves no emulator or devkit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_the_systemd_unit_verifies(installed: Path, tmp_path: Path) -> None:
    unit = (DEPLOY / "systemd" / "sentinelkit@.service").read_text()
    assert "/opt/sentinelkit/bin/sentinelkit" in unit  # where install.sh puts it in the image
    instance = tmp_path / "sentinelkit@8001.service"
    instance.write_text(unit.replace("/opt/sentinelkit/bin/sentinelkit", str(installed / "bin" / "sentinelkit")))
    done = subprocess.run(["systemd-analyze", "verify", str(instance)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


@pytest.fixture
def compose(emulator: Any, tmp_path: Path) -> Iterator[tuple[ComposeProcesses, str]]:
    if binary("redis-server") is None or binary("nginx") is None:
        pytest.skip("needs redis-server and nginx from Debian (apt-get install redis-server nginx; .ci/run does)")
    services = ComposeProcesses(DEPLOY / "compose.yaml", tmp_path)
    lb = services.port("nginx", 8080)
    env = emulator_environment(emulator.info, tmp_path)
    config = tmp_path / "sentinelkit.toml"  # the emulator's tenants, hosted like deploy/sentinelkit.toml
    config.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text()
                      + f'\n[http]\nstateless = true\nallowed_hosts = ["127.0.0.1:{lb}"]\n')
    services.start(env_file_values=env, mounts={"./sentinelkit.toml": config},
                   environment={"SENTINELKIT_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
                                "SENTINELKIT_CACHE_DIR": str(tmp_path / "schemas")})
    try:
        yield services, f"http://127.0.0.1:{lb}/mcp"
    finally:
        services.stop()


async def test_the_compose_services_run_as_processes(compose: tuple[ComposeProcesses, str]) -> None:
    services, url = compose
    assert set(services.services) == {"redis", "sentinelkit-1", "sentinelkit-2", "nginx"}
    async with Client(url) as client:
        answers = [(await client.call_tool("workspace_list", {"tenant": "fabrikam"})).structured_content
                   for _ in range(2)]
        status = (await client.call_tool("hosted_status", {})).structured_content
    assert answers[0] == answers[1] and answers[0]["count"] >= 1
    assert status["shared_state"]["backend"] == "redis" and status["shared_state"]["available"] is True
    assert status["http"]["stateless"] is True
