"""``POST {IngestionEndpoint}/v2.1/track`` (and ``/v2/track``): Application Insights ingestion.

The body is what Application Insights SDKs and Microsoft's OpenTelemetry exporter send: a JSON array of
envelopes (or one envelope per line), optionally gzip-compressed. Each envelope names its component by
instrumentation key (``iKey``) and carries tags (``ai.operation.id`` ...) and ``data.baseType``; it is
stored as one row of the component's workspace, in the table Application Insights uses:

| baseType | table |
|---|---|
| RequestData | AppRequests |
| RemoteDependencyData | AppDependencies |
| MessageData | AppTraces |
| ExceptionData | AppExceptions |
| MetricData | AppMetrics (one row per metric) |

The answer is the service's: 200 ``{"itemsReceived", "itemsAccepted", "errors": []}``; 206 with an error per
refused item (its ``index``, ``statusCode``, ``message``) when only some are accepted; 400 when none is
(an unknown instrumentation key, an envelope without time or data, a telemetry type not stored here).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..arm.resources.insights_components import component_by_key
from ..logs.engine import format_datetime
from ..runtime import Runtime, runtime

#: tag -> column, common to every table
TAG_COLUMNS = {
    "ai.operation.id": "OperationId", "ai.operation.parentId": "ParentId", "ai.operation.name": "OperationName",
    "ai.operation.syntheticSource": "SyntheticSource", "ai.cloud.role": "AppRoleName",
    "ai.cloud.roleInstance": "AppRoleInstance", "ai.application.ver": "AppVersion",
    "ai.internal.sdkVersion": "SDKVersion", "ai.session.id": "SessionId", "ai.user.id": "UserId",
    "ai.user.authUserId": "UserAuthenticatedId", "ai.user.accountId": "UserAccountId", "ai.location.ip": "ClientIP",
    "ai.device.type": "ClientType", "ai.device.model": "ClientModel", "ai.device.osVersion": "ClientOS",
}
TABLES = {"RequestData": "AppRequests", "RemoteDependencyData": "AppDependencies", "MessageData": "AppTraces",
          "ExceptionData": "AppExceptions", "MetricData": "AppMetrics"}
SEVERITY = {"verbose": 0, "information": 1, "warning": 2, "error": 3, "critical": 4}
_DURATION = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")
MAX_BODY = 64 * 1024 * 1024


class ItemError(ValueError):
    """One envelope the service refuses (400), with why."""


#: the exporters join the connection string's ``IngestionEndpoint`` (which ends with ``/``) and ``/v2.1/track``:
#: Azure's front door takes the doubled slash, and so does the emulator
PATHS = ("/v2.1/track", "/v2/track", "//v2.1/track", "//v2/track")


def routes() -> list[Route]:
    return [Route(path, track, methods=["POST"]) for path in PATHS]


async def track(request: Request) -> JSONResponse:
    raw = await request.body()
    try:
        if request.headers.get("content-encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        envelopes = _envelopes(raw)
    except (OSError, EOFError, ValueError) as exc:
        return JSONResponse({"itemsReceived": 0, "itemsAccepted": 0,
                             "errors": [{"index": 0, "statusCode": 400, "message": f"Invalid request body: {exc}"}]},
                            status_code=400)
    rt = runtime(request)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors = []
    for index, envelope in enumerate(envelopes):
        try:
            customer_id, table, new_rows = to_rows(rt, envelope)
        except ItemError as exc:
            errors.append({"index": index, "statusCode": 400, "message": str(exc)})
            continue
        rows.setdefault((customer_id, table), []).extend(new_rows)
    for (customer_id, table), batch in rows.items():
        rt.store.append_logs(customer_id, table, batch)
    if rows:
        rt.changed()
    accepted = len(envelopes) - len(errors)
    status = 200 if not errors else (206 if accepted else 400)
    return JSONResponse({"itemsReceived": len(envelopes), "itemsAccepted": accepted, "errors": errors},
                        status_code=status)


def _envelopes(raw: bytes) -> list[Any]:
    if len(raw) > MAX_BODY:
        raise ValueError(f"the body is larger than {MAX_BODY // (1024 * 1024)} MB; send smaller batches")
    text = raw.decode("utf-8").strip()
    if not text:
        raise ValueError("the body is empty; send a JSON array of telemetry envelopes")
    if text.startswith("["):
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("expected a JSON array of telemetry envelopes")
        return data
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # one envelope per line


def to_rows(rt: Runtime, envelope: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """The workspace (customerId), table and rows an envelope becomes; ``ItemError`` when it is refused."""
    if not isinstance(envelope, dict):
        raise ItemError("Each telemetry item must be a JSON object")
    key = envelope.get("iKey") or envelope.get("instrumentationKey")
    component = component_by_key(rt.store, key) if isinstance(key, str) else None
    if component is None:
        raise ItemError("Invalid instrumentation key")
    workspace = rt.store.get(component["properties"]["WorkspaceResourceId"])
    if workspace is None:
        raise ItemError("The component's Log Analytics workspace no longer exists")
    data = envelope.get("data")
    base_type = data.get("baseType") if isinstance(data, dict) else None
    base = data.get("baseData") if isinstance(data, dict) else None
    if base_type not in TABLES or not isinstance(base, dict):
        raise ItemError(f"Telemetry type {base_type!r} is not stored by the emulator (it stores "
                        f"{', '.join(TABLES)})" if base_type else "Field 'data.baseType' is required")
    common = _common(envelope, key, component)
    table = TABLES[base_type]
    if base_type == "MetricData":
        return _customer_id(workspace), table, [_metric(common, base, m) for m in base.get("metrics") or []]
    return _customer_id(workspace), table, [{**common, **_FIELDS[base_type](base)}]


def _customer_id(workspace: dict[str, Any]) -> str:
    return str(workspace["properties"]["customerId"])


def _common(envelope: dict[str, Any], key: str, component: dict[str, Any]) -> dict[str, Any]:
    try:
        time = dt.datetime.fromisoformat(str(envelope.get("time")).replace("Z", "+00:00"))
    except ValueError:
        raise ItemError("Field 'time' must be an ISO 8601 date and time") from None
    if time.tzinfo is None:
        time = time.replace(tzinfo=dt.UTC)
    sample_rate = envelope.get("sampleRate")
    count = round(100 / sample_rate) if isinstance(sample_rate, (int, float)) and 0 < sample_rate <= 100 else 1
    row: dict[str, Any] = {"TimeGenerated": format_datetime(time), "IKey": key, "ItemCount": count,
                           "ResourceGUID": component["properties"]["AppId"]}
    tags = envelope.get("tags") if isinstance(envelope.get("tags"), dict) else {}
    for tag, column in TAG_COLUMNS.items():
        if tags.get(tag) is not None:
            row[column] = str(tags[tag])
    return row


def duration_ms(text: Any) -> float | None:
    """``d.hh:mm:ss.fff`` (the envelope's TimeSpan) in milliseconds."""
    m = _DURATION.match(str(text or ""))
    if not m:
        return None
    days, hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), float(m.group(4))
    return round((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000, 3)


def _extras(base: dict[str, Any]) -> dict[str, Any]:
    return {"Properties": base.get("properties") or {}, "Measurements": base.get("measurements") or {}}


def _request(base: dict[str, Any]) -> dict[str, Any]:
    return {"Id": base.get("id"), "Name": base.get("name"), "Url": base.get("url"), "Source": base.get("source"),
            "Success": bool(base.get("success", True)), "ResultCode": str(base.get("responseCode", "")),
            "DurationMs": duration_ms(base.get("duration")), **_extras(base)}


def _dependency(base: dict[str, Any]) -> dict[str, Any]:
    return {"Id": base.get("id"), "Name": base.get("name"), "Data": base.get("data"), "Target": base.get("target"),
            "DependencyType": base.get("type"), "Success": bool(base.get("success", True)),
            "ResultCode": str(base.get("resultCode", "")), "DurationMs": duration_ms(base.get("duration")),
            **_extras(base)}


def _severity(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return SEVERITY.get(str(value or "").lower())


def _message(base: dict[str, Any]) -> dict[str, Any]:
    return {"Message": base.get("message"), "SeverityLevel": _severity(base.get("severityLevel")), **_extras(base)}


def _exception(base: dict[str, Any]) -> dict[str, Any]:
    details = [d for d in base.get("exceptions") or [] if isinstance(d, dict)]
    outer, inner = (details[0], details[-1]) if details else ({}, {})
    return {"ExceptionType": outer.get("typeName"), "Message": outer.get("message"),
            "OuterType": outer.get("typeName"), "OuterMessage": outer.get("message"),
            "InnermostType": inner.get("typeName"), "InnermostMessage": inner.get("message"),
            "ProblemId": base.get("problemId"), "SeverityLevel": _severity(base.get("severityLevel")),
            "Details": details, **_extras(base)}


def _metric(common: dict[str, Any], base: dict[str, Any], metric: Any) -> dict[str, Any]:
    if not isinstance(metric, dict) or not metric.get("name"):
        raise ItemError("Each metric needs a 'name' and a 'value'")
    return {**common, "Name": metric["name"], "Sum": metric.get("value"),
            "ItemCount": int(metric.get("count") or 1), "Min": metric.get("min"), "Max": metric.get("max"),
            "Properties": base.get("properties") or {}}


_FIELDS = {"RequestData": _request, "RemoteDependencyData": _dependency, "MessageData": _message,
           "ExceptionData": _exception}
