"""Getting Microsoft's parser: from a registry (a local one here), from a local tarball, from the cache;
a wrong checksum, a broken or unreachable registry each give a clear error and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from kql_testkit import Registry, files_under
from sentinelkit_kql import PackageError, package


def test_download_from_the_registry_installs_the_verified_files(npm_tarball: Path, registry: Registry,
                                                                empty_cache: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    registry.body = npm_tarball.read_bytes()
    monkeypatch.setenv(package.REGISTRY_ENV, registry.url)
    directory = package.ensure()
    assert registry.requests == [f"/@kusto/language-service-next/-/language-service-next-{package.VERSION}.tgz"]
    assert directory == empty_cache / "kql" / package.VERSION
    assert files_under(empty_cache) == ["kql", "kql/12.4.1", "kql/12.4.1/Kusto.Language.Bridge.min.js",
                                        "kql/12.4.1/bridge.min.js", "kql/12.4.1/package.json"]
    assert '"license":  "MIT"' in (directory / "package.json").read_text()
    # the second time it comes from the cache
    assert package.ensure() == directory and len(registry.requests) == 1


def test_a_tarball_with_the_wrong_checksum_is_refused_and_nothing_is_cached(
        npm_tarball: Path, registry: Registry, empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(npm_tarball.read_bytes())
    data[1000] ^= 0xFF
    registry.body = bytes(data)
    monkeypatch.setenv(package.REGISTRY_ENV, registry.url)
    with pytest.raises(PackageError) as caught:
        package.ensure()
    message = str(caught.value)
    assert f"{registry.url}/@kusto/language-service-next/-/language-service-next-12.4.1.tgz is not " \
           f"@kusto/language-service-next 12.4.1: its checksum is sha512-" in message
    assert f"npm published {package.INTEGRITY}. It was not used and nothing was cached." in message
    assert files_under(empty_cache) in ([], ["kql"])


def test_an_unreachable_registry_says_how_to_install_offline(closed_port_url: str, empty_cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(package.REGISTRY_ENV, closed_port_url)
    with pytest.raises(PackageError) as caught:
        package.ensure()
    message = str(caught.value)
    assert message.startswith(f"Could not download @kusto/language-service-next 12.4.1 (Microsoft's KQL parser) from "
                              f"{closed_port_url}/@kusto/language-service-next/-/language-service-next-12.4.1.tgz: ")
    assert "Connection refused" in message
    assert "npm pack @kusto/language-service-next@12.4.1" in message
    assert "set SENTINELKIT_KQL_TARBALL=/path/to/language-service-next-12.4.1.tgz (its checksum is verified)" in message
    assert "python -m sentinelkit_kql fetch" in message
    assert files_under(empty_cache) == []


def test_a_registry_error_status_is_reported(registry: Registry, empty_cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    registry.status, registry.body = 404, b'{"error":"Not found"}'
    monkeypatch.setenv(package.REGISTRY_ENV, registry.url)
    with pytest.raises(PackageError, match=r"language-service-next-12.4.1.tgz: HTTP 404 Not Found\. To install it"):
        package.ensure()
    assert files_under(empty_cache) == []


def test_an_interrupted_download_leaves_no_partial_cache(npm_tarball: Path, registry: Registry, empty_cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    registry.body, registry.truncate = npm_tarball.read_bytes(), True
    monkeypatch.setenv(package.REGISTRY_ENV, registry.url)
    with pytest.raises(PackageError, match="Could not download"):
        package.ensure()
    assert files_under(empty_cache) == []


def test_a_local_tarball_installs_without_the_network(npm_tarball: Path, closed_port_url: str, empty_cache: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(package.REGISTRY_ENV, closed_port_url)  # would fail if it were used
    monkeypatch.setenv(package.TARBALL_ENV, str(npm_tarball))
    assert package.ensure() == empty_cache / "kql" / "12.4.1"
    package.verify(empty_cache / "kql" / "12.4.1")


def test_a_wrong_local_tarball_is_refused(tmp_path: Path, npm_tarball: Path, empty_cache: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "language-service-next-12.4.1.tgz"
    wrong.write_bytes(npm_tarball.read_bytes()[:-10])
    monkeypatch.setenv(package.TARBALL_ENV, str(wrong))
    with pytest.raises(PackageError, match=f"{wrong} is not @kusto/language-service-next 12.4.1: its checksum is"):
        package.ensure()
    monkeypatch.setenv(package.TARBALL_ENV, str(tmp_path / "missing.tgz"))
    with pytest.raises(PackageError, match="Cannot read the tarball .*missing.tgz .*No such file or directory"):
        package.ensure()
    assert files_under(empty_cache) in ([], ["kql"])


def test_a_damaged_cache_is_noticed_and_replaced(npm_tarball: Path, empty_cache: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    directory = package.install(npm_tarball.read_bytes())
    (directory / "bridge.min.js").write_text("// tampered")
    with pytest.raises(PackageError, match="bridge.min.js does not match @kusto/language-service-next 12.4.1 .*"
                                           "the cache was modified. Delete .* and run `python -m sentinelkit_kql fetch`"):
        package.installed()
    monkeypatch.setenv(package.TARBALL_ENV, str(npm_tarball))
    assert package.ensure() == directory
    package.verify(directory)
    assert files_under(empty_cache / "kql") == ["12.4.1", "12.4.1/Kusto.Language.Bridge.min.js",
                                                "12.4.1/bridge.min.js", "12.4.1/package.json"]


def test_no_download_when_downloading_is_off(empty_cache: Path) -> None:
    with pytest.raises(PackageError, match="is not in .*kql/12.4.1 and downloading is off. To install it"):
        package.ensure(allow_download=False)


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SENTINELKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert package.package_dir() == tmp_path / "xdg" / "sentinelkit" / "kql" / "12.4.1"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert package.package_dir() == tmp_path / "home" / ".cache" / "sentinelkit" / "kql" / "12.4.1"
    monkeypatch.setenv("SENTINELKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert package.package_dir() == tmp_path / "mine" / "kql" / "12.4.1"


def test_the_pinned_integrity_is_npms(npm_tarball: Path) -> None:
    assert package.integrity_of(npm_tarball.read_bytes()) == package.INTEGRITY
