"""The emulator's own certificate authority and server certificate (azure-core refuses plain HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_path: Path  # PEM of the CA: what clients trust
    cert_path: Path  # server certificate chain
    key_path: Path


def make_tls(data_dir: Path) -> TlsFiles:
    """A fresh CA and a certificate for 127.0.0.1 and localhost, written under ``data_dir``."""
    ca = trustme.CA(organization_name="sentinelkit emulator")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    files = TlsFiles(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_path))
    server.private_key_pem.write_to_path(str(files.key_path))
    with open(files.cert_path, "wb") as fh:
        for blob in server.cert_chain_pems:
            fh.write(blob.bytes())
    return files
