"""A compose file's services run as processes, without a container engine: the same commands, with Debian's
``redis-server`` and ``nginx`` and the installed ``sentinelkit`` standing for the images.

Each exposed container port gets a free 127.0.0.1 port; ``service:port`` references (e.g.
``redis://redis:6379/0``), a service's own ``0.0.0.0:port`` and bare port arguments are rewritten to it;
container paths of bind mounts become the files they mount; nginx's ``/etc/nginx/templates/*.template``
are rendered from the environment as nginx's image does. CI starts deploy/compose.yaml this way
(tests/test_deploy.py), and so can anyone::

    python -m sentinelkit_devkit.compose deploy/compose.yaml --env-file deploy/sentinelkit.env
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentinelkit_devkit.process import SENTINELKIT, child_env
from sentinelkit_devkit.services import (
    NGINX_MAIN,
    binary,
    free_port,
    nginx_prefix,
    render_template,
    stop,
    wait_for_port,
)


@dataclass
class Service:
    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    expose: list[int] = field(default_factory=list)
    mounts: dict[str, Path] = field(default_factory=dict)  # container path → host path
    env_files: list[Path] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)


def load(compose_file: Path) -> dict[str, Service]:
    import yaml

    data = yaml.safe_load(compose_file.read_text())
    base = compose_file.parent
    services: dict[str, Service] = {}
    for name, spec in (data.get("services") or {}).items():
        mounts = {}
        for volume in spec.get("volumes") or []:
            host, container = str(volume).split(":")[:2]
            mounts[container] = (base / host).resolve()
        depends = spec.get("depends_on") or []
        services[name] = Service(
            name=name, command=[str(a) for a in spec.get("command") or []],
            environment={str(k): str(v) for k, v in (spec.get("environment") or {}).items()},
            expose=[int(p) for p in spec.get("expose") or []], mounts=mounts,
            env_files=[(base / f).resolve() for f in spec.get("env_file") or []],
            depends_on=list(depends if isinstance(depends, list) else depends.keys()))
    return services


def service_args(args: list[str]) -> list[str]:
    """nginx's own arguments (``-g "daemon off;"``), without a ``-c``/``-p`` of the image's paths."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-c", "-p"):
            skip = True
        else:
            out.append(arg)
    return out


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


class ComposeProcesses:
    """The services of ``compose_file`` as processes; ``port(service, container_port)`` is where one listens."""

    def __init__(self, compose_file: Path, folder: Path) -> None:
        self.services = load(compose_file)
        self.folder = folder
        self.ports = {(s.name, p): free_port() for s in self.services.values() for p in s.expose}
        self.procs: list[subprocess.Popen[str]] = []

    def port(self, service: str, container_port: int) -> int:
        return self.ports[(service, container_port)]

    def _localize(self, text: str, own: Service, *, argument: bool = False) -> str:
        """A value of ``own`` on this machine: other services at their 127.0.0.1 ports; its own port alone is
        the mapped port as a command argument (``--port 6379``), a loopback address in the environment
        (nginx's ``listen ${NGINX_PORT}``); mounted container paths are the host files."""
        for (name, port), mapped in self.ports.items():
            text = text.replace(f"{name}:{port}", f"127.0.0.1:{mapped}")
        for port in own.expose:
            mapped = self.port(own.name, port)
            text = text.replace(f"0.0.0.0:{port}", f"127.0.0.1:{mapped}")
            if text == str(port):
                text = str(mapped) if argument else f"127.0.0.1:{mapped}"
        for container, host in own.mounts.items():
            text = text.replace(container, str(host))
        return text

    def _order(self) -> list[Service]:
        done: list[Service] = []
        while len(done) < len(self.services):
            ready = [s for s in self.services.values() if s not in done and all(
                self.services[d] in done for d in s.depends_on)]
            if not ready:
                raise ValueError("depends_on has a cycle")
            done.extend(ready)
        return done

    def start(self, *, env_file_values: dict[str, str] | None = None, environment: dict[str, str] | None = None,
              mounts: dict[str, Path] | None = None) -> ComposeProcesses:
        """Start every service (in ``depends_on`` order), each listening when this returns. ``env_file_values``
        stand for the services' env files; ``environment`` is laid over every sentinelkit service's; ``mounts``
        replaces the host side of bind mounts (``"./sentinelkit.toml": Path(...)``)."""
        try:
            for service in self._order():
                self._start(service, env_file_values, environment or {}, mounts or {})
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, service: Service, env_file_values: dict[str, str] | None, extra: dict[str, str],
               mounts: dict[str, Path]) -> None:
        for container, host in list(service.mounts.items()):
            for original, replacement in mounts.items():
                if host.name == Path(original).name:
                    service.mounts[container] = replacement
        env: dict[str, str] = {}
        for path in service.env_files:
            env.update(env_file_values if env_file_values is not None else read_env_file(path))
        env.update({k: self._localize(v, service) for k, v in service.environment.items()})
        argv = [self._localize(a, service, argument=True) for a in service.command]
        program = argv[0]
        log = open(self.folder / f"{service.name}.log", "w")  # noqa: SIM115  # the child keeps it
        if program == "sentinelkit":
            argv = [*SENTINELKIT, *argv[1:]]
            env.update(extra)
            full = child_env(env)
        elif program == "nginx":
            argv = self._nginx(service, env)
            full = {**os.environ, **env}
        else:
            exe = binary(program)
            if exe is None:
                raise FileNotFoundError(f"{program} (service {service.name}) is not installed: apt-get install it")
            argv = [exe, *argv[1:], *(["--bind", "127.0.0.1"] if program == "redis-server" else [])]
            full = {**os.environ, **env}
        proc = subprocess.Popen(argv, env=full, stdout=log, stderr=subprocess.STDOUT, text=True,
                                cwd=self.folder)
        self.procs.append(proc)
        for port in service.expose:
            wait_for_port(self.port(service.name, port), proc)

    def _nginx(self, service: Service, env: dict[str, str]) -> list[str]:
        """Render the templates as nginx's image does, inside a main configuration of its own (pid, temp paths)."""
        exe = binary("nginx")
        if exe is None:
            raise FileNotFoundError("nginx (service nginx) is not installed: apt-get install nginx")
        prefix = self.folder / service.name
        nginx_prefix(prefix)
        blocks = [render_template(host.read_text(), env) for container, host in service.mounts.items()
                  if container.startswith("/etc/nginx/templates/") and container.endswith(".template")]
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_MAIN.format(prefix=prefix, http="\n".join(blocks)))
        return [exe, "-p", str(prefix), "-c", str(conf), *service_args(service.command[1:])]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc)
        self.procs.clear()

    def __enter__(self) -> ComposeProcesses:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal
    import tempfile

    parser = argparse.ArgumentParser(description="Run a compose file's services as processes (no container engine).")
    parser.add_argument("compose_file", type=Path)
    parser.add_argument("--env-file", type=Path, help="values for the services' env_file (default: the files named)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="sentinelkit-compose-"))
    values = read_env_file(args.env_file) if args.env_file else None
    with ComposeProcesses(args.compose_file, folder) as compose:
        compose.start(env_file_values=values)
        for (name, port), mapped in compose.ports.items():
            print(f"{name}:{port} -> 127.0.0.1:{mapped}", flush=True)
        print(f"logs in {folder}; Ctrl-C stops everything", flush=True)
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
