"""The emulator's own certificate authority and server certificate (azure-core refuses plain HTTP)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path  # PEM of the CA: what clients trust
    trust_path: Path  # the CA after the machine's trusted CAs: for shell-wide REQUESTS_CA_BUNDLE/SSL_CERT_FILE
    cert_path: Path  # server certificate chain
    key_path: Path


def make_tls(data_dir: Path) -> TlsFiles:
    """A fresh CA and a certificate for 127.0.0.1 and localhost, written under ``data_dir``."""
    ca = trustme.CA(organization_name="sentinelkit emulator")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TlsFiles(data_dir / "ca.pem", data_dir / "trust.pem", data_dir / "server.pem", data_dir / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_path))
    files.trust_path.write_bytes(_machine_trust() + ca.cert_pem.bytes())
    server.private_key_pem.write_to_path(str(files.key_path))
    with open(files.cert_path, "wb") as fh:
        for blob in server.cert_chain_pems:
            fh.write(blob.bytes())
    return files


def _machine_trust() -> bytes:
    """The CAs this machine trusts (PEM), so that a shell whose ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE`` name
    the emulator's bundle still reaches PyPI and every other HTTPS site (requests lets those variables
    override pip's own ``--cert``)."""
    found = ssl.get_default_verify_paths().cafile
    if found is None:
        try:
            import certifi
        except ImportError:  # no bundle file on this machine: the emulator's CA alone
            return b""
        found = certifi.where()
    text = Path(found).read_bytes()
    return text if text.endswith(b"\n") else text + b"\n"
