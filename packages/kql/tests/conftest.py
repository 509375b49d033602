"""Fixtures of sentinelkit-kql's tests: Microsoft's parser (the real npm tarball, fetched once per
machine), a loaded validator, Sentinel's table schemas and published queries, and a local registry."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kql_testkit import DATA, Registry
from sentinelkit_kql import KqlValidator, PackageError, Schema, Table, package


@pytest.fixture(scope="session")
def npm_tarball() -> Path:
    """The real tarball of @kusto/language-service-next, verified; downloaded from the npm registry the
    first time on this machine and kept in the user cache (beside the parser's own cache folder)."""
    path = package.cache_root() / "kql" / package.TARBALL_NAME
    try:
        package.read_tarball(path)
    except PackageError:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = package.download(package.tarball_url(package.DEFAULT_REGISTRY))
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return path


@pytest.fixture(scope="session")
def parser_cache(npm_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder with Microsoft's parser installed from the tarball (no network)."""
    cache = tmp_path_factory.mktemp("kql-cache")
    package.install(npm_tarball.read_bytes(), cache)
    return cache


@pytest.fixture(scope="session")
def validator(parser_cache: Path) -> Iterator[KqlValidator]:
    """One loaded validator for the session, with Microsoft's parser required (no silent fallback)."""
    v = KqlValidator(cache_dir=parser_cache, allow_download=False, require_microsoft=True)
    assert v.load() == "microsoft"
    yield v
    v.close()


@pytest.fixture(scope="session")
def sentinel_tables() -> dict[str, Any]:
    return json.loads((DATA / "sentinel_tables.json").read_text())["tables"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def sentinel_schema(sentinel_tables: dict[str, Any]) -> Schema:
    """The workspace of the tests: every table of Sentinel's validation schemas kept here."""
    return Schema([Table(name, [tuple(c) for c in t["columns"]]) for name, t in sentinel_tables.items()])


@pytest.fixture
def registry() -> Iterator[Registry]:
    state = Registry(url="", requests=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body[: len(state.body) // 2] if state.truncate else state.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A registry URL nothing listens on (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``$SENTINELKIT_CACHE_DIR`` at an empty folder, the package's other variables cleared."""
    for name in (package.TARBALL_ENV, package.REGISTRY_ENV, "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SENTINELKIT_CACHE_DIR", str(cache))
    return cache
