"""Redaction of secrets in logs and the audit log: secret-looking keys and secret values in text."""

from __future__ import annotations

import pytest

from sentinelkit.log import REDACTED, redact, redact_text


@pytest.mark.parametrize("key", [
    "authorization", "Authorization", "auth", "bearer", "pwd", "passphrase", "shared_key", "sharedKey",
    "access-key", "accountKey", "workspace_key", "primaryKey", "primarySharedKey", "secondary_key",
    "connection_string", "connectionString", "cookie", "Set-Cookie", "pfx", "pfx_base64", "pem", "client_secret",
    "password", "api_key", "sas_token",
])
def test_secret_keys_are_masked(key: str) -> None:
    assert redact({key: "value-123"}) == {key: REDACTED}


@pytest.mark.parametrize("key", ["workspace", "author", "authority_host", "tool", "tenant", "severity", "owner"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert redact({key: "value"}) == {key: "value"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Authorization: Bearer OpaqueToken-1234", "Authorization: Bearer ***"),
    ("header Basic dXNlcjpwYXNzd29yZA==", "header Basic ***"),
    ("Endpoint=sb://ns/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc+DEF/123=",
     "Endpoint=sb://ns/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=***"),
    ("DefaultEndpointsProtocol=https;AccountName=st;AccountKey=Zm9v+YmFy==;EndpointSuffix=core.windows.net",
     "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=***;EndpointSuffix=core.windows.net"),
    ("key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY----- end", "key: *** end"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq (truncated)", "***"),
    ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----", "***"),
])
def test_secret_values_in_text_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact({"message": text}) == {"message": expected}
    assert redact([text]) == [expected]


@pytest.mark.parametrize("text", [
    "the Basic plan keeps logs for 30 days", "Basic Logs", "send a bearer token in $SENTINELKIT_HTTP_TOKEN",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
])
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact_text(text) == text


def test_certificate_password_is_a_known_secret(tmp_path, monkeypatch) -> None:
    from sentinelkit.credentials import CredentialStore
    from sentinelkit.settings import Settings, TenantConfig

    password = "CertPassw0rd-ABC-98765"
    settings = Settings(tenants={"certs": TenantConfig(tenant_id="00000000-0000-0000-0000-000000000001",
                                                        name="certs", credential="certificate",
                                                        certificate_path=tmp_path / "c.pem",
                                                        certificate_password=password)})
    CredentialStore(settings)
    assert redact_text(f"could not load the certificate with {password}") == "could not load the certificate with ***"
