"""Entra ID's v2.0 endpoints for the client-credentials flow (what azure-identity and MSAL call).

- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (MSAL reads it once per authority)
- ``POST /{tenant}/oauth2/v2.0/token`` with a client secret or a certificate assertion
- ``GET /{tenant}/discovery/v2.0/keys`` (the JWKS the tokens are signed with)
"""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import entra_error
from ..model import Principal, Tenant
from ..runtime import runtime
from ..tokens import KNOWN_RESOURCES, TOKEN_LIFETIME_SECONDS, audience_for_scope

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _trace() -> str:
    return f"Trace ID: {hashlib.sha1(str(time.time_ns()).encode()).hexdigest()[:32]} Timestamp: " + time.strftime(
        "%Y-%m-%d %H:%M:%SZ", time.gmtime()
    )


def _tenant_or_error(request: Request) -> Tenant | Response:
    key = request.path_params["tenant"]
    tenant = runtime(request).store.world.tenant(key)
    if tenant is None:
        return entra_error(
            400,
            "invalid_tenant",
            f"AADSTS90002: Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are "
            f"signing into the correct cloud. {_trace()}",
            [90002],
        )
    return tenant


async def openid_configuration(request: Request) -> Response:
    tenant = _tenant_or_error(request)
    if isinstance(tenant, Response):
        return tenant
    base = runtime(request).base_url
    t = tenant.id
    return JSONResponse(
        {
            "token_endpoint": f"{base}/{t}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{t}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{t}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{t}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{t}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{t}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid", "appid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator.local",
        }
    )


async def keys(request: Request) -> Response:
    return JSONResponse(runtime(request).issuer.jwks())


def _object_id_in(principal: Principal, tenant: Tenant) -> str | None:
    if principal.tenant_id == tenant.id:
        return principal.object_id
    return principal.other_tenants.get(tenant.id)


def _check_assertion(assertion: str, principal: Principal, token_url: str) -> str | None:
    """Verify a certificate-signed client assertion; return an AADSTS message on failure."""
    if not principal.certificate_pem:
        return (
            f"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found.] App Id: {principal.client_id}"
        )
    cert = x509.load_pem_x509_certificate(principal.certificate_pem.encode())
    der = cert.public_bytes(Encoding.DER)
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError as exc:
        return f"AADSTS50027: JWT token is invalid or malformed. ({exc})"
    thumbprints = {
        "x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(),
        "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode(),
    }
    sent = {k: str(header[k]).rstrip("=") for k in thumbprints if k in header}
    if not sent or any(thumbprints[k] != v for k, v in sent.items()):
        return (
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found.] App Id: {principal.client_id}"
        )
    try:
        claims = jwt.decode(
            assertion,
            cert.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            audience=token_url,
            options={"require": ["exp", "aud", "iss", "sub"]},
            leeway=300,
        )
    except jwt.InvalidAudienceError:
        return f"AADSTS700212: No matching federated identity record found for presented assertion audience '{token_url}'."
    except jwt.InvalidTokenError as exc:
        return f"AADSTS700027: Client assertion failed signature validation. ({exc})"
    if claims.get("iss") != principal.client_id or claims.get("sub") != principal.client_id:
        return "AADSTS700023: Client assertion audience claim does not match Realm issuer."
    return None


async def token(request: Request) -> Response:
    tenant = _tenant_or_error(request)
    if isinstance(tenant, Response):
        return tenant
    rt = runtime(request)
    raw = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):  # client_secret_basic
        cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        form.setdefault("client_id", cid)
        form.setdefault("client_secret", secret)

    if form.get("grant_type") != "client_credentials":
        return entra_error(
            400, "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type '{form.get('grant_type', '')}'. "
            f"The emulator supports client_credentials only. {_trace()}", [70003],
        )
    client_id = form.get("client_id", "")
    principal = rt.store.world.principal_by_client_id(client_id) if client_id else None
    object_id = _object_id_in(principal, tenant) if principal else None
    if principal is None or object_id is None:
        return entra_error(
            400, "unauthorized_client",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant.display_name}'. This can happen if the application has not been installed by the "
            f"administrator of the tenant or consented to by any user in the tenant. {_trace()}", [700016],
        )
    token_url = f"{rt.base_url}/{request.path_params['tenant']}/oauth2/v2.0/token"
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return entra_error(400, "invalid_request",
                               f"AADSTS50027: Invalid client_assertion_type. {_trace()}", [50027])
        problem = _check_assertion(form["client_assertion"], principal, token_url)
        if problem:
            return entra_error(401, "invalid_client", f"{problem} {_trace()}", [int(problem[6:12])])
    elif "client_secret" in form:
        if form["client_secret"] != principal.client_secret:
            return entra_error(
                401, "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{client_id}'. {_trace()}",
                [7000215],
            )
    else:
        return entra_error(
            401, "invalid_client",
            "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or "
            f"'client_secret'. {_trace()}", [7000218],
        )

    audience = audience_for_scope(form.get("scope", ""))
    if audience is None:
        return entra_error(
            400, "invalid_scope",
            f"AADSTS1002012: The provided value for scope {form.get('scope', '')} is not valid. Client credential "
            f"flows must have a scope value with /.default suffixed to the resource identifier "
            f"(application ID URI). {_trace()}", [1002012],
        )
    app = rt.store.world.app_for_audience(audience)
    if app is not None and app.tenant_id == tenant.id:  # an API registered here (e.g. the hosted sentinelkit)
        roles = app.assignments.get(object_id, [])
        access_token = rt.issuer.issue(tenant_id=tenant.id, object_id=object_id, app_id=principal.client_id,
                                       audience=app.client_id, extra={"ver": "2.0", **({"roles": roles} if roles else {})})
        return JSONResponse({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS,
                             "ext_expires_in": TOKEN_LIFETIME_SECONDS, "access_token": access_token})
    if audience not in KNOWN_RESOURCES:
        return entra_error(
            400, "invalid_resource",
            f"AADSTS500011: The resource principal named {audience} was not found in the tenant named "
            f"{tenant.display_name}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You might have sent your "
            f"authentication request to the wrong tenant. {_trace()}", [500011],
        )
    access_token = rt.issuer.issue(
        tenant_id=tenant.id, object_id=object_id, app_id=principal.client_id, audience=audience
    )
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": access_token,
        }
    )


def routes() -> list[Route]:
    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
    ]
