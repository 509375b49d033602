"""Errors a tool raises to tell the user what failed, where, and what to do next.

``KitError`` carries a complete, user-facing message; the tool wrapper turns it into an MCP tool
error. ``describe_azure_error`` maps azure-core exceptions (HTTP status, auth, network) to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class KitError(Exception):
    """An expected failure with a message meant for the user (and the model)."""


class WorkspaceNotFound(KitError):
    pass


class AzureError(KitError):
    """An Azure request failed. The class says what kind of failure it is (branch on the class, or on
    ``code``, Azure's own error code such as ``BadRequest`` or ``InvalidPayload``; never on the message
    text); ``status`` is the HTTP status (``None`` when no answer arrived)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 correlation_id: str | None = None, retry_after: float | None = None,
                 inner_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.retry_after = retry_after
        #: the request had been sent more than once (its answer was lost, or it was throttled, then retried)
        self.retried = False
        #: the innermost ``innererror`` code, where Azure nests the precise reason (the Log Analytics
        #: query API answers ``BadArgumentError`` > ``SyntaxError`` > ``SYN0002``, or > ``SemanticError`` >
        #: ``SEM0100``); ``None`` when the error has no inner error
        self.inner_code = inner_code

    def with_message(self, message: str) -> AzureError:
        """The same failure (same class, status and codes) with another sentence, e.g. advice added."""
        return type(self)(message, status=self.status, code=self.code, correlation_id=self.correlation_id,
                          retry_after=self.retry_after, inner_code=self.inner_code)


class BadRequestError(AzureError):
    """400: Azure rejected the request as invalid (``code`` says why)."""


class AuthenticationError(AzureError):
    """401, or no token could be had: the credential was refused."""


class ForbiddenError(AzureError):
    """403: the principal lacks a role on the scope."""


class NotFoundError(AzureError):
    """404: the resource (or its parent) does not exist, or is not visible to the principal."""


class ConflictError(AzureError):
    """409: the request conflicts with the resource's current state."""


class PreconditionFailedError(AzureError):
    """412: the resource changed since it was read (etag mismatch)."""


class ThrottledError(AzureError):
    """429 after the retries: Azure is throttling the tenant (``retry_after`` in seconds when known)."""


class ServiceError(AzureError):
    """5xx after the retries: a failure on Azure's side, usually transient."""


class AzureNetworkError(AzureError):
    """No answer: the endpoint could not be reached or the connection broke."""


class AzureTimeoutError(AzureError):
    """No answer in time."""


#: the name used before the typed errors existed (kept: packs outside this repository catch it)
AzureCallError = AzureError

_BY_STATUS: dict[int, type[AzureError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: ForbiddenError, 404: NotFoundError,
    409: ConflictError, 412: PreconditionFailedError, 429: ThrottledError,
}


def error_class(status: int | None) -> type[AzureError]:
    """The ``AzureError`` subclass for an HTTP status."""
    if status is None:
        return AzureError
    if status >= 500:
        return ServiceError
    return _BY_STATUS.get(status, AzureError)


@dataclass
class Where:
    """The target of a request, for error messages: which tenant, workspace and resource."""

    tenant: str | None = None
    workspace: str | None = None
    resource: str | None = None
    operation: str | None = None

    def describe(self) -> str:
        parts = []
        if self.workspace:
            parts.append(f"workspace {self.workspace}")
        if self.tenant:
            parts.append(f"tenant {self.tenant}")
        where = ", ".join(parts)
        what = self.operation or "request"
        if self.resource:
            what += f" {self.resource}"
        return f"{what} ({where})" if where else what


MAX_DETAILS = 10


def error_details(error: dict[str, Any], *, limit: int = MAX_DETAILS) -> list[str]:
    """The sentences of an ARM/Log Analytics error's ``details[]`` (nested ones too), as
    ``"code: message [target]"``. Azure puts the real reason there: e.g. Azure Monitor answers
    ``InvalidPayload`` "Data collection rule is invalid" with one detail per problem."""
    out: list[str] = []

    def walk(items: Any, depth: int) -> None:
        if not isinstance(items, list) or depth > 3:
            return
        for item in items:
            if len(out) >= limit or not isinstance(item, dict):
                continue
            text = item.get("message")
            inner = item.get("innererror") or item.get("innerError")
            if isinstance(inner, dict) and inner.get("message"):
                text = f"{text} ({inner['message']})" if text else inner["message"]
            if text:
                code = item.get("code")
                target = item.get("target")
                line = f"{code}: {text}" if code else str(text)
                out.append(f"{line} [{target}]" if target else line)
            walk(item.get("details"), depth + 1)

    walk(error.get("details"), 0)
    return out


def _inner_codes(response: Any) -> list[str]:
    """The codes of the nested ``innererror``s, outermost first."""
    try:
        body = response.json()
    except Exception:
        return []
    error = body.get("error", body) if isinstance(body, dict) else None
    codes: list[str] = []
    while isinstance(error, dict) and len(codes) < 10:
        error = error.get("innererror") or error.get("innerError")
        if isinstance(error, dict) and error.get("code"):
            codes.append(str(error["code"]))
    return codes


def _arm_error_codes(response: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, innermost code) of an error answer."""
    codes = _inner_codes(response)
    code, message = _arm_error(response)
    return code, message, codes[-1] if codes else None


def _arm_error(response: Any) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except Exception:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error = body.get("error", body)
    if isinstance(error, dict):
        message = error.get("message")
        inner: dict[str, Any] = error
        depth = 0
        while depth < 10:
            nested = inner.get("innererror") or inner.get("innerError")
            if not isinstance(nested, dict):
                break
            inner, depth = nested, depth + 1
        if depth and inner.get("message"):
            # the innermost error is the precise one (e.g. KQL: SYN0002 ... at line 2, pos 15)
            detail = f"{inner['code']}: {inner['message']}" if inner.get("code") else inner["message"]
            where = ", ".join(f"{k} {inner[k]}" for k in ("line", "pos") if inner.get(k) is not None)
            message = f"{message} ({detail}{'; ' + where if where else ''})"
        details = [d for d in error_details(error) if not message or d not in message]
        if details:
            message = f"{message or 'invalid request'}: {'; '.join(details)}"
        return error.get("code"), message
    if isinstance(error, str):
        return error, body.get("error_description")
    return None, None


def describe_status(status: int, code: str | None, message: str | None, where: Where, retries: int = 0,
                    retry_after: str | None = None) -> str:
    """The sentence for one failed HTTP response."""
    target = where.describe()
    detail = f"{code}: {message}" if code and message else (message or code or "no details")
    if status == 401:
        advice = ("the token was refused: check that the credential belongs to the right tenant and has not "
                  "expired, then run `sentinelkit config check`")
    elif status == 403:
        advice = ("the signed-in principal lacks permission here: grant it a role such as Microsoft Sentinel "
                  "Contributor (writes) or Reader (reads) on this scope, or, for a customer tenant, include it "
                  "in the Lighthouse delegation")
    elif status == 404:
        advice = ("it does not exist or is not visible to this principal: check the name, and list what exists "
                  "first (for workspaces: workspace_list)")
    elif status == 409:
        advice = "it conflicts with the current state (already exists, or an operation is in progress): read it and retry"
    elif status == 412:
        advice = ("it changed since it was read (etag mismatch): read it again, re-apply the change to the new "
                  "version and retry")
    elif status == 429:
        wait = f" after {retry_after} s" if retry_after else " in a minute"
        advice = f"Azure is throttling requests (still after {retries} retries): try again{wait}, or target fewer workspaces"
    elif status >= 500:
        advice = f"Azure had a server-side failure (after {retries} retries): this is usually transient, try again shortly"
    elif status == 400:
        advice = "the request was rejected as invalid: check the arguments against the message"
    else:
        advice = "check the message"
    return f"{target} failed with HTTP {status} ({detail}); {advice}."


def _auth_message(exc: BaseException) -> str:
    """The useful part of an azure-identity failure: the AADSTS code and sentence."""
    text = str(getattr(exc, "message", None) or exc)
    import re

    found = re.search(r"(AADSTS\d+: [^.]*\.)", text)
    return found.group(1) if found else text.splitlines()[0]


def _sign_in_advice(exc: BaseException) -> str:
    """What to do: a credential chain that found nothing to sign in with (no secret or certificate in the
    environment, no Azure CLI sign-in, no managed identity) needs one; a configured credential was refused."""
    if type(exc).__name__ == "CredentialUnavailableError" or "DefaultAzureCredential" in str(exc):
        return ("No usable credential was found: sign in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID "
                "and AZURE_CLIENT_SECRET (a service principal)")
    return "Check AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret or certificate for this tenant"


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def describe_azure_error(exc: BaseException, where: Where, *, retries: int = 0) -> AzureError:
    """Map an azure-core / azure-identity exception to the ``AzureError`` subclass for it, with advice."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    target = where.describe()
    if isinstance(exc, ClientAuthenticationError):  # raised by the credential (token endpoint)
        return AuthenticationError(
            f"{target} failed: could not sign in ({_auth_message(exc)}). {_sign_in_advice(exc)}, then run "
            "`sentinelkit config check`.",
            status=401, code="ClientAuthenticationError",
        )
    if isinstance(exc, HttpResponseError) and exc.response is not None:
        response: Any = exc.response
        code, message, inner_code = _arm_error_codes(response)
        status: int = response.status_code
        retry_after = response.headers.get("Retry-After")
        return error_class(status)(
            describe_status(status, code, message or exc.reason, where, retries, retry_after),
            status=status, code=code, correlation_id=response.headers.get("x-ms-correlation-request-id"),
            retry_after=_seconds(retry_after), inner_code=inner_code,
        )
    if "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError):
        return AzureTimeoutError(
            f"{target} failed: Azure did not answer in time ({type(exc).__name__}). The service may be slow or "
            "overloaded: try again, target fewer workspaces, or raise [retry] timeout in sentinelkit.toml.",
            code="Timeout",
        )
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, OSError)):
        first = str(exc).splitlines()[0] if str(exc) else "timed out"
        return AzureNetworkError(
            f"{target} failed: could not reach Azure ({type(exc).__name__}: {first}). "
            "Check the network, proxy and endpoint settings (SENTINELKIT_ARM_ENDPOINT / SENTINELKIT_LOGS_ENDPOINT), "
            "then try again.",
            code="NetworkError",
        )
    return AzureError(f"{target} failed: {type(exc).__name__}: {exc}")
