"""Errors answered in the form each Azure service uses.

ARM: ``{"error": {"code": ..., "message": ...}}``. Entra ID: ``{"error": ..., "error_description": ...}``.
Log Analytics query API: ``{"error": {"code", "message", "innererror": {...}}}``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ArmError(Exception):
    """Raise anywhere in an ARM or query handler; the app turns it into the service's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
        inner: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details
        self.inner = inner

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        if self.inner:
            error["innererror"] = self.inner
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(resource_type: str, name: str, resource_group: str | None) -> ArmError:
    """ARM's 404 for a missing resource, worded as ARM words it."""
    where = f" under resource group '{resource_group}'" if resource_group else ""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}'{where} was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def bad_request(message: str, code: str = "BadRequest") -> ArmError:
    return ArmError(400, code, message)


def entra_error(status: int, error: str, description: str, codes: list[int] | None = None) -> JSONResponse:
    """Entra ID's OAuth error body (what MSAL and azure-identity parse)."""
    body: dict[str, Any] = {"error": error, "error_description": description}
    if codes:
        body["error_codes"] = codes
    return JSONResponse(body, status_code=status)
