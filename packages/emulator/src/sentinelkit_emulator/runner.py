"""Starting the emulator: in this process (``Emulator``, for tests) or as the console script.

Both paths build the same pieces: the state file (if any) and the folder for the emulator's files
(workdir.py), TLS, the store (the scenario, plus the state file's changes), the token issuer, the
app, and a uvicorn server on a socket bound beforehand so that port 0 gives a known free port before
the server starts.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from .app import build_app
from .clientconfig import sentinelkit_config
from .faults import FaultBook
from .model import World
from .runtime import Runtime
from .scenario import WorldSize, build_store
from .scenario.plan import SCENARIOS
from .statefile import StateFile, StateFileError
from .store import Store
from .tls import TlsFiles, make_tls
from .tokens import TokenIssuer
from .workdir import WorkDir


class _QuietShutdown(logging.Filter):
    """Hide uvicorn's complaint about idle keep-alive connections of clients that never closed them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "timeout graceful shutdown exceeded" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietShutdown())

#: the most workspaces a generated world may have
MAX_WORKSPACES = 20_000


def _info(rt: Runtime, scenario: str, tls: TlsFiles, size: WorldSize = None) -> dict[str, Any]:
    """The start-up JSON: where everything is and how to sign in."""
    world = rt.store.world
    base = rt.base_url
    principals_dir = rt.data_dir / "principals"
    principals_dir.mkdir(exist_ok=True)

    def principal_info(p: Any) -> dict[str, Any]:
        out = {
            "name": p.name,
            "client_id": p.client_id,
            "client_secret": p.client_secret,
            "object_id": p.object_id,
            "description": p.description,
        }
        if p.certificate_pem and p.certificate_key_pem:
            path = principals_dir / f"{p.name}.pem"
            path.write_text(p.certificate_key_pem + p.certificate_pem, encoding="utf-8")
            out["certificate_path"] = str(path)
        return out

    tenants = []
    for t in world.tenants:
        principals = [principal_info(p) for p in world.principals if p.tenant_id == t.id]
        subs = [s for s in world.subscriptions if s.tenant_id == t.id]
        tenants.append(
            {
                "id": t.id,
                "name": t.name,
                "display_name": t.display_name,
                "domain": t.domain,
                "role": t.role,
                "subscriptions": [{"id": s.id, "display_name": s.display_name} for s in subs],
                "client_id": principals[0]["client_id"],
                "client_secret": principals[0]["client_secret"],
                "principals": principals,
            }
        )
    workspaces = []
    for res in rt.store.of_type("Microsoft.OperationalInsights/workspaces"):
        sub = world.subscription(res["id"].split("/")[2])
        # a generated world's workspaces all have Sentinel (asking would seed each of them now)
        sentinel = size is not None or rt.store.get(
            res["id"] + "/providers/Microsoft.SecurityInsights/onboardingStates/default") is not None
        workspaces.append(
            {
                "id": res["id"],
                "name": res["name"],
                "tenant_id": sub.tenant_id if sub else None,
                "customer_id": res["properties"]["customerId"],
                "sentinel": sentinel,
            }
        )
    managing = next((t for t in tenants if t["role"] == "managing"), tenants[0])
    names = {p.object_id: p.name for p in world.principals} | {u.object_id: u.user_principal_name for u in world.users}
    apps = [{"name": a.name, "tenant_id": a.tenant_id, "client_id": a.client_id, "identifier_uri": a.identifier_uri,
             "roles": a.roles, "assignments": {names.get(oid, oid): roles for oid, roles in a.assignments.items()}}
            for a in world.apps]
    return {
        "arm_url": base,
        "authority_url": base,
        "logs_url": base,
        "admin_url": f"{base}/_emulator",
        "ca_path": str(tls.ca_path),
        "scenario": scenario,
        **({"world": {"tenants": size[0], "workspaces_per_tenant": size[1]}} if size is not None else {}),
        "managing_tenant_id": managing["id"],
        "tenants": tenants,
        "workspaces": workspaces,
        "apps": apps,
        "env": {
            "AZURE_AUTHORITY_HOST": base,
            "AZURE_TENANT_ID": managing["id"],
            "AZURE_CLIENT_ID": managing["client_id"],
            "AZURE_CLIENT_SECRET": managing["client_secret"],
            "SENTINELKIT_ARM_ENDPOINT": base,
            "SENTINELKIT_LOGS_ENDPOINT": base,
            "SENTINELKIT_CA_BUNDLE": str(tls.ca_path),
            "REQUESTS_CA_BUNDLE": str(tls.trust_path),
            "SSL_CERT_FILE": str(tls.trust_path),
        },
    }


def world_size(tenants: int | None, workspaces_per_tenant: int | None) -> WorldSize:
    """``(tenants, workspaces_per_tenant)`` of a generated world, or None for the scenario as written."""
    if tenants is None and workspaces_per_tenant is None:
        return None
    if tenants is None or workspaces_per_tenant is None:
        raise ValueError("a generated world needs both its number of tenants and of workspaces per tenant "
                         "(--tenants N --workspaces-per-tenant M); give neither for the scenario as written")
    if tenants < 1 or workspaces_per_tenant < 1 or tenants * workspaces_per_tenant > MAX_WORKSPACES:
        raise ValueError(f"a generated world has at least one tenant, one workspace per tenant and at most "
                         f"{MAX_WORKSPACES} workspaces in all (asked: {tenants} tenants x {workspaces_per_tenant})")
    return tenants, workspaces_per_tenant


def scenario_key(scenario: str, size: WorldSize) -> str:
    """What a state file records as its scenario: the name, plus the size of a generated world."""
    return scenario if size is None else f"{scenario}:{size[0]}x{size[1]}"


class Emulator:
    """The emulator in a background thread of this process.

    ``tenants`` and ``workspaces_per_tenant`` generate a world of that size instead of the scenario's own
    six workspaces (``scenario.plan.scaled``): each workspace is seeded at its first use.

    >>> with Emulator() as emu:          # doctest: +SKIP
    ...     emu.info["arm_url"], emu.info["tenants"][0]["client_id"]
    """

    def __init__(
        self,
        *,
        scenario: str = "mssp",
        port: int = 0,
        host: str = "127.0.0.1",
        state_file: str | Path | None = None,
        data_dir: str | Path | None = None,
        tenants: int | None = None,
        workspaces_per_tenant: int | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
        self.scenario = scenario
        self.size = world_size(tenants, workspaces_per_tenant)
        self.host = host
        self.port = port
        self.state_file = Path(state_file) if state_file else None
        self._given_dir = Path(data_dir) if data_dir else None
        self._workdir: WorkDir | None = None
        self._state: StateFile | None = None
        self.info: dict[str, Any] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._http: httpx.Client | None = None

    @property
    def data_dir(self) -> Path:
        """The folder with the CA and the client certificates (see workdir.py); exists once prepared."""
        assert self._workdir is not None, "the emulator is not prepared"
        return self._workdir.path

    # -- building ---------------------------------------------------------------------------------
    def prepare(self) -> uvicorn.Server:
        """Build everything and bind the socket; the server is not running yet.

        Raises ``SystemExit`` with a clear message for a state file that cannot be used; whatever
        failed, nothing it made is left behind.
        """
        try:
            return self._prepare()
        except BaseException:
            self.stop()
            raise

    def _make_workdir(self) -> WorkDir:
        if self._given_dir is not None:
            return WorkDir.given(self._given_dir)
        if self.state_file is not None:
            try:
                return WorkDir.beside(self.state_file)  # we hold the state file: no other emulator uses it
            except FileExistsError as exc:
                raise SystemExit(str(exc)) from None
        return WorkDir.temporary()

    def _prepare(self) -> uvicorn.Server:
        if self.state_file is not None:
            try:
                self._state = StateFile(self.state_file, scenario_key(self.scenario, self.size))
            except StateFileError as exc:
                raise SystemExit(str(exc)) from None
        self._workdir = self._make_workdir()
        tls = make_tls(self.data_dir)
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock = sock
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it; without it every small response waits ~40 ms (Nagle + delayed ACK)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(512)
        port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        base_url = f"https://{host}:{port}"
        scenario, size = self.scenario, self.size

        def build(now: datetime | None, world: World | None) -> Store:
            return build_store(scenario, now=now, world=world, lazy_logs=True, size=size)

        store = self._state.load(build) if self._state is not None else build(None, None)
        world = store.world

        def rebuild() -> Store:
            return build(None, world)

        rt = Runtime(
            store=store,
            issuer=TokenIssuer(base_url),
            faults=FaultBook(),
            base_url=base_url,
            data_dir=self.data_dir,
            build_store=rebuild,
            state_file=self._state,
        )
        self.info = _info(rt, self.scenario, tls, self.size)
        config_path = Path(tls.ca_path).parent / "sentinelkit.toml"  # the data folder: removed with it
        config_path.write_text(sentinelkit_config(self.info), encoding="utf-8")
        config_path.chmod(0o600)  # it holds the tenants' client secrets
        self.info["env"]["SENTINELKIT_CONFIG"] = str(config_path)
        self.runtime = rt
        config = uvicorn.Config(
            build_app(rt, self.info),
            ssl_certfile=str(tls.cert_path),
            ssl_keyfile=str(tls.key_path),
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            lifespan="off",  # nothing to start or flush: changes are committed as they are made
            backlog=512,
        )
        config.load()  # reads the server's key into memory: its file need not outlive this line
        tls.key_path.unlink()
        self._server = uvicorn.Server(config)
        return self._server

    @property
    def sockets(self) -> list[socket.socket]:
        assert self._sock is not None
        return [self._sock]

    # -- in-process lifecycle ---------------------------------------------------------------------
    def start(self) -> Emulator:
        server = self.prepare()
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=self.sockets), name="sentinelkit-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        try:
            while not server.started:
                if not self._thread.is_alive():
                    raise RuntimeError("the emulator stopped during start-up; see the log above")
                if time.monotonic() > deadline:
                    raise TimeoutError("the emulator did not start within 30 s")
                time.sleep(0.01)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._server is not None:
            # every change is committed as it is made: no need to wait for clients' idle keep-alive
            # connections to close (up to timeout_graceful_shutdown)
            self._server.should_exit = self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._workdir is not None:  # before the state file is released: a successor empties it anew
            self._workdir.remove()
            self._workdir = None
        if self._state is not None:
            self._state.close()
            self._state = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin helpers (over HTTP, so that state is only touched on the server's loop) -----------
    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context that trusts this emulator's CA (for httpx and friends)."""
        return ssl.create_default_context(cafile=self.info["ca_path"])

    @property
    def admin(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.info["admin_url"], verify=self.ssl_context(), timeout=30)
        return self._http

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        """Inject a fault; see the README's admin API section for the fields."""
        response = self.admin.post("/faults", json=fault)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.admin.delete("/faults").raise_for_status()

    def faults(self) -> list[dict[str, Any]]:
        """The faults in force with their statistics (``matched``, ``hits``, ``count``, ``expires_in_seconds``)."""
        response = self.admin.get("/faults")
        response.raise_for_status()
        return list(response.json()["value"])

    def remove_fault(self, fault_id: str) -> bool:
        """Remove one fault; False when it is gone already (used up, expired or removed)."""
        response = self.admin.delete(f"/faults/{fault_id}")
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    def traffic(self) -> dict[str, Any]:
        """``{"requests": {...}, "max_in_flight": {...}}`` keyed by ``service:tenant`` (e.g. ``arm:northwind``)."""
        response = self.admin.get("/traffic")
        response.raise_for_status()
        return response.json()

    def reset_traffic(self) -> None:
        self.admin.delete("/traffic").raise_for_status()

    def append_logs(self, workspace: str, table: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Append rows to a table of a workspace (name, customerId or ARM id), as if ingested; the table must
        exist and have every column the rows name. Answers ``{"appended", "rows"}`` (rows now in the table)."""
        response = self.admin.post("/logs", json={"workspace": workspace, "table": table, "rows": rows})
        if response.status_code == 400:
            raise ValueError(response.json()["error"]["message"])
        response.raise_for_status()
        return dict(response.json())

    def set_query_limits(self, *, max_rows: int | None = None, max_bytes: int | None = None) -> dict[str, int]:
        """Lower the query API's answer limits (500,000 rows, 64 MB) until the next reset: answers beyond them are
        cut and carry a PartialError, as Azure's are."""
        given = {k: v for k, v in (("max_rows", max_rows), ("max_bytes", max_bytes)) if v is not None}
        response = self.admin.put("/query-limits", json=given)
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        """Back to the scenario's initial state; faults cleared."""
        self.admin.post("/reset").raise_for_status()

    def tenant(self, name: str) -> dict[str, Any]:
        """The start-up JSON's entry for a tenant, by short name or id."""
        for t in self.info["tenants"]:
            if name in (t["name"], t["id"]):
                return t
        raise KeyError(name)

    def subscription_id(self, tenant: str) -> str:
        """The (first) subscription of a tenant, by short name or id."""
        return str(self.tenant(tenant)["subscriptions"][0]["id"])

    def workspace(self, name: str) -> dict[str, Any]:
        """The start-up JSON's entry for a workspace (id, name, tenant_id, customer_id, sentinel)."""
        for w in self.info["workspaces"]:
            if name in (w["name"], w["id"], w["customer_id"]):
                return w
        raise KeyError(name)

    def app(self, name: str = "sentinelkit-api") -> dict[str, Any]:
        """An app registration exposing an API (the hosted sentinelkit server's): client id, roles, who holds them."""
        for a in self.info.get("apps", []):
            if a["name"] == name:
                return dict(a)
        raise KeyError(name)

    def issue_token(self, **claims: Any) -> str:
        """``POST /_emulator/token``: a signed token with chosen claims (see the README)."""
        response = self.admin.post("/token", json=claims)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def principal(self, name: str) -> dict[str, Any]:
        for t in self.info["tenants"]:
            for p in t["principals"]:
                if p["name"] == name:
                    return {**p, "tenant_id": t["id"]}
        raise KeyError(name)
