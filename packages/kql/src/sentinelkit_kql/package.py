"""Microsoft's parser, fetched from the npm registry on first use, pinned and verified, cached.

The parser is the JavaScript build of Kusto.Language in the npm package
``@kusto/language-service-next`` (MIT). Nothing of it is in this repository: the tarball comes from
the npm registry (or a file the user provides), must match the ``dist.integrity`` npm published for
that version, and only its two runtime files are kept, in the user's cache. The files are checked
again against pinned SHA-256 digests whenever they are loaded, so a damaged cache is noticed.

The cache is ``$SENTINELKIT_CACHE_DIR`` (else ``$XDG_CACHE_HOME/sentinelkit``, else
``~/.cache/sentinelkit``), folder ``kql/<version>``. It is written atomically: files go to a temporary
folder that is renamed into place once complete, so an interrupted download never counts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from .errors import PackageError

NAME = "@kusto/language-service-next"
VERSION = "12.4.1"
#: npm's ``dist.integrity`` for this version (checked against https://registry.npmjs.org on 2026-12-07).
INTEGRITY = "sha512-8Ybwi1DVxnFZ8+mnw38ruXjSGIxA2jwx1HeqjStvMa5kSHzHPtEYm5n7et1fwgn5KDUZJzsSNjuRroiI+j8brA=="
#: The files the parser needs, with the SHA-256 of each as found in that tarball.
FILES = {
    "bridge.min.js": "5edc505e5634daf2922197797740180d587d15b5f0f505c95ad7b5dd6b5daae8",
    "Kusto.Language.Bridge.min.js": "3a96a4ac1bff095ba49d6606e7d591f5d00519b529c51a6850032f62b0960a86",
    "package.json": "9e1916744e84f2159ac31c02731704b73472586385b0dc788473048090b1e0c5",
}
DEFAULT_REGISTRY = "https://registry.npmjs.org"
#: Environment: a local copy of the tarball (used instead of the registry), or another npm registry.
TARBALL_ENV = "SENTINELKIT_KQL_TARBALL"
REGISTRY_ENV = "SENTINELKIT_KQL_REGISTRY"
TARBALL_NAME = f"language-service-next-{VERSION}.tgz"
MAX_TARBALL_BYTES = 64 * 1024 * 1024


def _offline_help() -> str:
    return (f"To install it without the registry: on a machine that can reach it, run "
            f"`python -m sentinelkit_kql fetch` and copy the folder it prints to the same place here, or "
            f"get the tarball (`npm pack {NAME}@{VERSION}`, or {tarball_url()}) and set "
            f"{TARBALL_ENV}=/path/to/{TARBALL_NAME} (its checksum is verified).")


def cache_root() -> Path:
    """``$SENTINELKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/sentinelkit``, else ``~/.cache/sentinelkit``."""
    explicit = os.environ.get("SENTINELKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sentinelkit"


def package_dir(cache_dir: Path | None = None) -> Path:
    """Where this version's files live (whether or not they are there yet)."""
    return (cache_dir or cache_root()) / "kql" / VERSION


def tarball_url(registry: str | None = None) -> str:
    base = (registry or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY).rstrip("/")
    return f"{base}/{NAME}/-/{TARBALL_NAME}"


def integrity_of(data: bytes) -> str:
    """The npm ``dist.integrity`` string of ``data`` (``sha512-`` + base64)."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(directory: Path) -> None:
    """Raise :class:`PackageError` unless every file is present with its pinned digest."""
    for name, expected in FILES.items():
        path = directory / name
        if not path.is_file():
            raise PackageError(f"{path} is missing: the cached copy of Microsoft's KQL parser is incomplete. "
                               f"Delete {directory} and run `python -m sentinelkit_kql fetch`.")
        actual = _sha256(path)
        if actual != expected:
            raise PackageError(f"{path} does not match {NAME} {VERSION} (sha256 {actual}, expected {expected}): "
                               f"the cache was modified. Delete {directory} and run `python -m sentinelkit_kql fetch`.")


def installed(cache_dir: Path | None = None) -> Path | None:
    """The folder of the cached parser when a complete, unmodified copy is there."""
    directory = package_dir(cache_dir)
    if not directory.is_dir():
        return None
    verify(directory)
    return directory


def download(url: str | None = None, *, timeout: float = 30.0) -> bytes:
    """The tarball's bytes from the registry, verified against the pinned integrity."""
    import urllib.error
    import urllib.request

    url = url or tarball_url()
    request = urllib.request.Request(url, headers={"Accept": "application/octet-stream",
                                                   "User-Agent": "sentinelkit-kql"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            data: bytes = response.read(MAX_TARBALL_BYTES + 1)
        if len(data) < declared:
            raise PackageError(f"Could not download {NAME} {VERSION} (Microsoft's KQL parser) from {url}: the "
                               f"connection closed after {len(data)} of {declared} bytes. {_offline_help()}")
    except urllib.error.HTTPError as e:
        raise PackageError(f"Could not download {NAME} {VERSION} (Microsoft's KQL parser) from {url}: "
                           f"HTTP {e.code} {e.reason}. {_offline_help()}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise PackageError(f"Could not download {NAME} {VERSION} (Microsoft's KQL parser) from {url}: "
                           f"{reason}. {_offline_help()}") from None
    if len(data) > MAX_TARBALL_BYTES:
        raise PackageError(f"{url} sent more than {MAX_TARBALL_BYTES} bytes; that is not {NAME} {VERSION}.")
    _check_integrity(data, url)
    return data


def _check_integrity(data: bytes, source: str) -> None:
    actual = integrity_of(data)
    if actual != INTEGRITY:
        raise PackageError(f"{source} is not {NAME} {VERSION}: its checksum is {actual}, npm published "
                           f"{INTEGRITY}. It was not used and nothing was cached. {_offline_help()}")


def read_tarball(path: Path) -> bytes:
    """A local tarball's bytes, verified against the pinned integrity."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PackageError(f"Cannot read the tarball {path} (from {TARBALL_ENV} or --tarball): "
                           f"{e.strerror or e}.") from None
    _check_integrity(data, str(path))
    return data


def install(data: bytes, cache_dir: Path | None = None) -> Path:
    """Extract the parser's files from a verified tarball into the cache, atomically."""
    import tarfile

    _check_integrity(data, "the tarball")
    target = package_dir(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{VERSION}-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for name in FILES:
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    raise PackageError(f"the tarball of {NAME} {VERSION} has no {name}")
                (staging / name).write_bytes(member.read())
        verify(staging)
        if target.exists():  # another process finished first, or a damaged copy: keep a good one
            try:
                verify(target)
                return target
            except PackageError:
                shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            verify(target)  # another process renamed its complete copy into place first
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure(cache_dir: Path | None = None, *, tarball: Path | None = None, allow_download: bool = True,
           timeout: float = 30.0) -> Path:
    """The folder holding Microsoft's parser: from the cache, else a local tarball, else the registry.

    ``tarball`` (or ``$SENTINELKIT_KQL_TARBALL``) installs from a local file; otherwise the tarball is
    downloaded from ``$SENTINELKIT_KQL_REGISTRY`` (default https://registry.npmjs.org) unless
    ``allow_download`` is False. Raises :class:`PackageError` with what to do when none works.
    """
    directory = package_dir(cache_dir)
    if directory.is_dir():
        try:
            verify(directory)
            return directory
        except PackageError:
            shutil.rmtree(directory, ignore_errors=True)  # damaged: replace it below
    source = tarball or (Path(os.environ[TARBALL_ENV]) if os.environ.get(TARBALL_ENV) else None)
    if source is not None:
        return install(read_tarball(source), cache_dir)
    if not allow_download:
        raise PackageError(f"{NAME} {VERSION} (Microsoft's KQL parser) is not in {directory} and downloading "
                           f"is off. {_offline_help()}")
    return install(download(timeout=timeout), cache_dir)
