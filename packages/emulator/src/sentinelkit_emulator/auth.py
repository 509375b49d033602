"""Bearer-token checks shared by the ARM and Log Analytics query front doors."""

from __future__ import annotations

from starlette.requests import Request

from .errors import ArmError
from .runtime import runtime
from .tokens import Caller, TokenError


def authenticate(request: Request, audiences: tuple[str, ...]) -> Caller:
    """Return the verified caller or raise a 401 :class:`ArmError` worded as ARM words it."""
    rt = runtime(request)
    header = request.headers.get("authorization", "")
    challenge = {
        "WWW-Authenticate": f'Bearer authorization_uri="{rt.base_url}/common/oauth2/authorize", '
        'error="invalid_token", error_description="The authentication failed because of missing '
        "'Authorization' header.\""
    }
    if not header:
        raise ArmError(
            401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
            headers=challenge,
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401, "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            headers=challenge,
        )
    try:
        return rt.issuer.verify(token.strip(), audiences)
    except TokenError as exc:
        raise ArmError(401, exc.code, exc.message, headers=challenge) from exc
