"""Real services for tests and benchmarks of hosted mode, started as processes on free 127.0.0.1 ports from
Debian's binaries (``apt-get install redis-server nginx``), never the system's own instances: a
``redis-server``, an nginx round-robin load balancer, and ``sentinelkit serve --http`` replicas."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sentinelkit_devkit.process import SENTINELKIT, child_env

#: nginx's main configuration for a process of its own: pid, logs and temporary files in ``{prefix}``, and
#: ``{http}`` (server blocks) inside ``http``; run with ``-g "daemon off;"``
NGINX_MAIN = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http}
}}
"""


def nginx_prefix(folder: Path) -> None:
    """nginx's folders under ``folder``, writable by its workers (they run as nobody when the master is root)."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(exist_ok=True)
        (folder / sub).chmod(0o777)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def binary(name: str) -> str | None:
    """The path of a Debian service binary (``redis-server``, ``nginx``), also where ``sbin`` is not on PATH."""
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                       if p.exists()), None)


def wait_for_port(port: int, proc: subprocess.Popen[str] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                out = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"{proc.args!r} exited ({proc.returncode}) before listening on {port}: {out}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s") from None
            time.sleep(0.05)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class RedisServer:
    """A ``redis-server`` of its own (no persistence) that a test can stop and start again on the same port."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        exe = binary("redis-server")
        if exe is None:
            raise FileNotFoundError("redis-server is not installed: apt-get install redis-server (.ci/run does)")
        self.exe = exe
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def nginx_balancer(upstreams: Sequence[str], folder: Path, port: int | None = None) -> Iterator[str]:
    """nginx in front of ``upstreams`` (``127.0.0.1:PORT`` each), round-robin, configured by the server block
    of deploy/nginx/sentinelkit.conf.template; yields its base URL."""
    exe = binary("nginx")
    if exe is None:
        raise FileNotFoundError("nginx is not installed: apt-get install nginx (.ci/run does)")
    port = port or free_port()
    nginx_prefix(folder)
    block = render_template(balancer_template(), {
        "NGINX_PORT": f"127.0.0.1:{port}", "SENTINELKIT_UPSTREAMS": " ".join(f"server {u};" for u in upstreams)})
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_MAIN.format(prefix=folder, http=block))
    proc = subprocess.Popen([exe, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def balancer_template() -> str:
    """deploy/nginx/sentinelkit.conf.template (a checkout's), else the same server block packaged here."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "nginx" / "sentinelkit.conf.template"
        if candidate.is_file():
            return candidate.read_text()
    return _BALANCER


def render_template(text: str, values: dict[str, str]) -> str:
    """``${NAME}`` replaced by its value, as nginx's image renders /etc/nginx/templates (envsubst)."""
    import re

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: values.get(m.group(1), m.group(0)), text)


_BALANCER = """\
upstream sentinelkit {
    ${SENTINELKIT_UPSTREAMS}
    keepalive 32;
}
server {
    listen ${NGINX_PORT};
    client_header_timeout 10s;
    client_body_timeout 30s;
    client_max_body_size 4m;
    location / {
        proxy_pass http://sentinelkit;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_buffering off;
        proxy_read_timeout 300s;
    }
}
"""


def start_replica(env: dict[str, str], port: int, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
    """``sentinelkit serve --http 127.0.0.1:PORT`` with ``env`` (e.g. its SENTINELKIT_CONFIG), listening when this
    returns; its stderr (JSON log lines) goes to ``log`` (a file never fills up and blocks it, a pipe can)."""
    import tempfile

    sink = open(log, "w") if log is not None else tempfile.TemporaryFile("w+")  # noqa: SIM115  # closed below
    proc = subprocess.Popen([*SENTINELKIT, "serve", "--http", f"127.0.0.1:{port}", *args], env=child_env(env),
                            stdout=subprocess.DEVNULL, stderr=sink, text=True)
    try:
        wait_for_port(port, proc)
    except BaseException as exc:
        stop(proc)
        if log is None:
            sink.seek(0)
            raise RuntimeError(f"{exc}; its log:\n{sink.read()[-4000:]}") from None
        raise
    finally:
        if log is not None:
            sink.close()
    return proc


@contextmanager
def replicas(env: dict[str, str], count: int, *args: str, logs: Path | None = None) -> Iterator[list[str]]:
    """``count`` replicas; yields their ``127.0.0.1:PORT`` addresses (logs in ``logs/replica-N.log`` if given)."""
    started: list[subprocess.Popen[str]] = []
    addresses: list[str] = []
    try:
        for i in range(count):
            port = free_port()
            started.append(start_replica(env, port, *args, log=logs / f"replica-{i + 1}.log" if logs else None))
            addresses.append(f"127.0.0.1:{port}")
        yield addresses
    finally:
        for proc in started:
            stop(proc)
