"""Entra ID: Microsoft's azure-identity, unchanged, signs in against the emulator; bad tokens are refused."""

from __future__ import annotations

import asyncio

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential
from azure.identity import aio as identity_aio
from cryptography.hazmat.primitives.asymmetric import rsa

from sentinelkit_emulator import Emulator

ARM_SCOPE = "https://management.azure.com/.default"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_client_secret_sync_token_carries_identity_claims(emulator: Emulator) -> None:
    p = emulator.principal("sentinelkit-mssp")
    cred = ClientSecretCredential(
        p["tenant_id"], p["client_id"], p["client_secret"], authority=emulator.info["authority_url"],
        connection_verify=emulator.info["ca_path"], disable_instance_discovery=True,
    )
    claims = _claims(cred.get_token(ARM_SCOPE).token)
    assert claims["tid"] == p["tenant_id"]
    assert claims["oid"] == p["object_id"]
    assert claims["appid"] == p["client_id"]
    assert claims["aud"] == "https://management.azure.com"
    assert claims["exp"] > claims["iat"]


def test_client_secret_async_and_certificate_sync_and_async(emulator: Emulator) -> None:
    p = emulator.principal("sentinelkit-mssp")
    info = emulator.info
    sync_cert = CertificateCredential(
        p["tenant_id"], p["client_id"], p["certificate_path"], authority=info["authority_url"],
        connection_verify=info["ca_path"], disable_instance_discovery=True,
    )
    assert _claims(sync_cert.get_token(ARM_SCOPE).token)["appid"] == p["client_id"]

    async def run() -> list[dict]:
        async with identity_aio.ClientSecretCredential(
            p["tenant_id"], p["client_id"], p["client_secret"], authority=info["authority_url"],
            connection_verify=info["ca_path"],
        ) as secret_cred, identity_aio.CertificateCredential(
            p["tenant_id"], p["client_id"], p["certificate_path"], authority=info["authority_url"],
            connection_verify=info["ca_path"],
        ) as cert_cred:
            return [_claims((await c.get_token(ARM_SCOPE)).token) for c in (secret_cred, cert_cred)]

    for claims in asyncio.run(run()):
        assert claims["oid"] == p["object_id"]


def test_wrong_secret_is_invalid_client_aadsts7000215(emulator: Emulator) -> None:
    p = emulator.principal("sentinelkit-mssp")
    cred = ClientSecretCredential(
        p["tenant_id"], p["client_id"], "not-the-secret", authority=emulator.info["authority_url"],
        connection_verify=emulator.info["ca_path"], disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        cred.get_token(ARM_SCOPE)
    raw = httpx.post(
        f"{emulator.info['authority_url']}/{p['tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": "nope",
              "scope": ARM_SCOPE},
        verify=emulator.ssl_context(),
    )
    assert raw.status_code == 401 and raw.json()["error"] == "invalid_client"


def test_certificate_not_registered_is_refused(emulator: Emulator, tmp_path) -> None:
    # the reader principal has no certificate: signing with the MSSP app's certificate must fail
    reader = emulator.principal("sentinelkit-reader")
    mssp = emulator.principal("sentinelkit-mssp")
    cred = CertificateCredential(
        reader["tenant_id"], reader["client_id"], mssp["certificate_path"], authority=emulator.info["authority_url"],
        connection_verify=emulator.info["ca_path"], disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        cred.get_token(ARM_SCOPE)


def test_unknown_tenant_and_unknown_app_are_explained(emulator: Emulator) -> None:
    info = emulator.info
    url = f"{info['authority_url']}/no-such-tenant/oauth2/v2.0/token"
    body = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y", "scope": ARM_SCOPE}
    r = httpx.post(url, data=body, verify=emulator.ssl_context())
    assert r.status_code == 400 and "AADSTS90002" in r.json()["error_description"]
    tenant = emulator.tenant("fabrikam")["id"]
    r = httpx.post(f"{info['authority_url']}/{tenant}/oauth2/v2.0/token", data=body, verify=emulator.ssl_context())
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    assert "AADSTS700016" in r.json()["error_description"]


def test_multi_tenant_app_gets_token_in_consented_tenant_only(emulator: Emulator) -> None:
    """The MSSP app is consented in woodgrove (not delegated) but not in fabrikam's directory."""
    p = emulator.principal("sentinelkit-mssp")
    info = emulator.info
    cred = ClientSecretCredential(
        p["tenant_id"], p["client_id"], p["client_secret"], authority=info["authority_url"],
        connection_verify=info["ca_path"], disable_instance_discovery=True, additionally_allowed_tenants=["*"],
    )
    woodgrove = emulator.tenant("woodgrove")["id"]
    assert _claims(cred.get_token(ARM_SCOPE, tenant_id=woodgrove).token)["tid"] == woodgrove
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred.get_token(ARM_SCOPE, tenant_id=emulator.tenant("fabrikam")["id"])


def test_token_endpoint_refuses_unknown_resource(emulator: Emulator) -> None:
    p = emulator.principal("sentinelkit-mssp")
    r = httpx.post(
        f"{emulator.info['authority_url']}/{p['tenant_id']}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": p["client_id"], "client_secret": p["client_secret"],
              "scope": "https://vault.example/.default"},
        verify=emulator.ssl_context(),
    )
    assert r.status_code == 400 and "AADSTS500011" in r.json()["error_description"]


def test_openid_configuration_and_keys(emulator: Emulator) -> None:
    tenant = emulator.tenant("contoso-mssp")["id"]
    base = emulator.info["authority_url"]
    conf = httpx.get(f"{base}/{tenant}/v2.0/.well-known/openid-configuration", verify=emulator.ssl_context()).json()
    assert conf["token_endpoint"] == f"{base}/{tenant}/oauth2/v2.0/token"
    keys = httpx.get(conf["jwks_uri"], verify=emulator.ssl_context()).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA"


def _get_subscriptions(emulator: Emulator, headers: dict[str, str], path: str = "/subscriptions") -> httpx.Response:
    return httpx.get(
        f"{emulator.info['arm_url']}{path}", params={"api-version": "2022-12-01"}, headers=headers,
        verify=emulator.ssl_context(),
    )


def _admin_token(emulator: Emulator, **claims) -> str:
    p = emulator.principal("sentinelkit-mssp")
    return emulator.admin.post("/token", json={"client_id": p["client_id"], **claims}).json()["access_token"]


@pytest.mark.parametrize(
    ("make_header", "code"),
    [
        (lambda emu: {}, "AuthenticationFailed"),
        (lambda emu: {"Authorization": "Basic abc"}, "AuthenticationFailedInvalidHeader"),
        (lambda emu: {"Authorization": "Bearer " + _admin_token(emu, lifetime=-60)}, "ExpiredAuthenticationToken"),
        (lambda emu: {"Authorization": "Bearer " + _admin_token(emu, audience="https://api.loganalytics.io")},
         "InvalidAuthenticationTokenAudience"),
        (lambda emu: {"Authorization": "Bearer " + _forged_token(emu)}, "InvalidAuthenticationToken"),
    ],
    ids=["missing", "not-bearer", "expired", "wrong-audience", "bad-signature"],
)
def test_arm_refuses_bad_tokens_with_401(emulator: Emulator, make_header, code: str) -> None:
    r = _get_subscriptions(emulator, make_header(emulator))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code
    assert "WWW-Authenticate" in r.headers


def _forged_token(emulator: Emulator) -> str:
    """Right claims, signed by a key the emulator never issued."""
    genuine = jwt.decode(_admin_token(emulator), options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(genuine, other_key, algorithm="RS256")


def _verified(emulator: Emulator, token: str, audience: str) -> dict:
    """Checked the way a resource server does: the key from the issuer's JWKS (via its OpenID configuration)."""
    tenant = jwt.decode(token, options={"verify_signature": False})["tid"]
    conf = httpx.get(f"{emulator.info['authority_url']}/{tenant}/v2.0/.well-known/openid-configuration",
                     verify=emulator.ssl_context()).json()
    keys = jwt.PyJWKSet.from_dict(httpx.get(conf["jwks_uri"], verify=emulator.ssl_context()).json())
    key = next(k for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=conf["issuer"])


def test_an_app_registration_issues_app_and_user_tokens_with_its_app_roles(emulator: Emulator) -> None:
    """The hosted server's app (sentinelkit-api): client credentials for its app id URI give the automation
    principal's app roles; a signed-in user's delegated token carries the user's own roles and upn."""
    app = emulator.app()
    assert app["roles"] == ["Sentinel.Reader", "Sentinel.Responder", "Sentinel.Engineer"]
    p = emulator.principal("sentinelkit-mssp")
    cred = ClientSecretCredential(p["tenant_id"], p["client_id"], p["client_secret"],
                                  authority=emulator.info["authority_url"], connection_verify=emulator.info["ca_path"],
                                  disable_instance_discovery=True)
    automation = _verified(emulator, cred.get_token(f"{app['identifier_uri']}/.default").token, app["client_id"])
    assert (automation["roles"], automation["oid"], automation["ver"]) == (["Sentinel.Engineer"], p["object_id"], "2.0")
    assert "upn" not in automation

    reader = emulator.principal("sentinelkit-reader")
    bob = _verified(emulator, emulator.issue_token(client_id=reader["client_id"], audience=app["identifier_uri"],
                                                   user="bob.lead@contoso-mssp.onmicrosoft.com"), app["client_id"])
    assert bob["upn"] == "bob.lead@contoso-mssp.onmicrosoft.com" and bob["roles"] == ["Sentinel.Responder"]
    assert bob["scp"] == "user_impersonation" and bob["oid"] != reader["object_id"]
