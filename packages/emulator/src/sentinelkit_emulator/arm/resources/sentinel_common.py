"""What every Microsoft.SecurityInsights kind shares: api-versions, the onboarding gate, OData listing,
body validation worded like Sentinel's, caller identities and timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from ...errors import ArmError, bad_request, not_found
from ...model import User, World
from ...store import Resource
from ..kinds import Ctx, ResourceKind, fill
from ..odata import ODataError, parse_filter, parse_orderby, sort_items

#: Every api-version the real service answers for its workspace-scoped resources (stable and preview),
#: from the azure-rest-api-specs history. 2025-09-01 is the newest stable, 2025-10-01-preview is what
#: azure-mgmt-securityinsight 2.0.0b4 sends, 2021-10-01 what 1.0.0 sends.
SENTINEL_API_VERSIONS = frozenset(
    {
        "2020-01-01", "2021-04-01", "2021-10-01", "2022-08-01", "2022-11-01", "2023-02-01", "2023-11-01",
        "2024-03-01", "2024-09-01", "2025-03-01", "2025-06-01", "2025-09-01",
        "2019-01-01-preview", "2021-03-01-preview", "2021-09-01-preview", "2021-10-01-preview",
        "2022-01-01-preview", "2022-04-01-preview", "2022-05-01-preview", "2022-06-01-preview",
        "2022-07-01-preview", "2022-08-01-preview", "2022-09-01-preview", "2022-10-01-preview",
        "2022-11-01-preview", "2022-12-01-preview", "2023-02-01-preview", "2023-03-01-preview",
        "2023-04-01-preview", "2023-05-01-preview", "2023-06-01-preview", "2023-07-01-preview",
        "2023-08-01-preview", "2023-09-01-preview", "2023-10-01-preview", "2023-12-01-preview",
        "2024-01-01-preview", "2024-04-01-preview", "2024-10-01-preview", "2025-01-01-preview",
        "2025-04-01-preview", "2025-07-01-preview", "2025-10-01-preview",
    }
)
PROVIDER = "Microsoft.SecurityInsights"
WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"
MAX_TOP = 1000
PORTAL = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident"

SEVERITIES = ("High", "Medium", "Low", "Informational")
TACTICS = (
    "Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation",
    "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration",
    "CommandAndControl", "Impact", "PreAttack", "ImpairProcessControl", "InhibitResponseFunction",
)


# -- time ----------------------------------------------------------------------------------------
def iso(when: datetime) -> str:
    """ARM/.NET style UTC timestamp with 7 fractional digits, e.g. ``2026-11-25T10:00:00.1234560Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: Any) -> timedelta | None:
    """ISO 8601 duration (``PT5H``, ``P1DT2H``, ``P2W``) -> timedelta; None if malformed."""
    if not isinstance(text, str):
        return None
    m = _DURATION_RE.match(text)
    if m is None:
        return None
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return timedelta(weeks=g["w"], days=g["d"], hours=g["h"], minutes=g["m"], seconds=g["s"])


# -- addressing and the onboarding gate ------------------------------------------------------------
def workspace_id_of(params: Mapping[str, str]) -> str:
    return fill("{workspace}", dict(params))


def sentinel_prefix(workspace_id: str) -> str:
    return f"{workspace_id}/providers/{PROVIDER}"


def onboarding_id(workspace_id: str) -> str:
    return f"{sentinel_prefix(workspace_id)}/onboardingStates/default"


def is_onboarded(store: Any, workspace_id: str) -> bool:
    return store.get(onboarding_id(workspace_id)) is not None


def not_onboarded(workspace_name: str) -> ArmError:
    """What Sentinel answers for its APIs on a Log Analytics workspace without Sentinel."""
    return ArmError(
        400,
        "BadRequest",
        f"Workspace '{workspace_name}' is not onboarded to Microsoft Sentinel. Onboard it first with "
        "PUT .../providers/Microsoft.SecurityInsights/onboardingStates/default (see "
        "https://learn.microsoft.com/en-us/rest/api/securityinsights/sentinel-onboarding-states/create).",
    )


def invalid(path: str, problem: str) -> ArmError:
    """Sentinel's model-validation 400, naming the property."""
    return bad_request(f"Invalid data model. [{path.lstrip('.')}: {problem}]")


# -- body validation ------------------------------------------------------------------------------
def properties_of(body: Mapping[str, Any]) -> dict[str, Any]:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise invalid("properties", "required property 'properties' (an object) not found")
    return props


def req_str(props: Mapping[str, Any], key: str, where: str = "properties", *, required: bool = True) -> str | None:
    value = props.get(key)
    if value is None:
        if required:
            raise invalid(f"{where}.{key}", f"required property '{key}' not found")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(f"{where}.{key}", "expected a non-empty string")
    return value


def req_bool(props: Mapping[str, Any], key: str, where: str = "properties", *, required: bool = True) -> bool | None:
    value = props.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        raise invalid(f"{where}.{key}", f"required boolean property '{key}' not found" if value is None
                      else f"expected true or false, got {value!r}")
    return value


def req_int(
    props: Mapping[str, Any], key: str, where: str = "properties", *, required: bool = True,
    low: int | None = None, high: int | None = None,
) -> int | None:
    value = props.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{where}.{key}", f"required integer property '{key}' not found" if value is None
                      else f"expected an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise invalid(f"{where}.{key}", f"{value} is outside the allowed range {low}..{high}")
    return value


def req_enum(
    props: Mapping[str, Any], key: str, allowed: Iterable[str], where: str = "properties", *, required: bool = True
) -> str | None:
    """Enum values match case-insensitively (like Sentinel's) and come back in their canonical case."""
    value = props.get(key)
    options = tuple(allowed)
    if value is None:
        if required:
            raise invalid(f"{where}.{key}", f"required property '{key}' not found; allowed: {', '.join(options)}")
        return None
    canonical = next((o for o in options if isinstance(value, str) and o.lower() == value.lower()), None)
    if canonical is None:
        raise invalid(f"{where}.{key}", f"'{value}' is not a valid value; allowed: {', '.join(options)}")
    return canonical


def enum_list(props: Mapping[str, Any], key: str, allowed: Iterable[str], where: str = "properties") -> list[str] | None:
    values = props.get(key)
    if values is None:
        return None
    if not isinstance(values, list):
        raise invalid(f"{where}.{key}", "expected an array")
    return [req_enum({key: v}, key, allowed, where) or "" for v in values]


def req_duration(
    props: Mapping[str, Any], key: str, where: str = "properties", *, required: bool = True,
    low: timedelta | None = None, high: timedelta | None = None,
) -> timedelta | None:
    raw = props.get(key)
    if raw is None and not required:
        return None
    value = parse_duration(raw)
    if value is None:
        raise invalid(f"{where}.{key}", f"required ISO 8601 duration '{key}' not found" if raw is None
                      else f"'{raw}' is not an ISO 8601 duration such as PT5H or P1D")
    if (low is not None and value < low) or (high is not None and value > high):
        raise invalid(f"{where}.{key}", f"'{raw}' is outside the allowed range {_fmt(low)}..{_fmt(high)}")
    return value


def _fmt(value: timedelta | None) -> str:
    if value is None:
        return "-"
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    return f"P{days}D" if not rest else f"PT{total // 60}M"


# -- people ---------------------------------------------------------------------------------------
def find_user(world: World, info: Mapping[str, Any]) -> User | None:
    """A user matched by any of objectId / userPrincipalName / email / assignedTo (display name)."""
    wanted = {
        "object_id": str(info.get("objectId") or "").lower(),
        "user_principal_name": str(info.get("userPrincipalName") or "").lower(),
        "email": str(info.get("email") or "").lower(),
        "display_name": str(info.get("assignedTo") or "").lower(),
    }
    for user in world.users:
        for attr, value in wanted.items():
            if value and getattr(user, attr).lower() == value:
                return user
    return None


def user_client_info(user: User) -> dict[str, Any]:
    return {
        "objectId": user.object_id,
        "email": user.email,
        "name": user.display_name,
        "userPrincipalName": user.user_principal_name,
    }


def caller_client_info(ctx: Ctx) -> dict[str, Any]:
    """Who made this request, as Sentinel's ClientInfo (a service principal has no email/UPN)."""
    return {"objectId": ctx.caller.object_id, "email": None, "name": ctx.caller_name(), "userPrincipalName": None}


def odata_param(ctx: Ctx, name: str) -> str | None:
    """An OData query option, whatever its case (``$orderby``, ``$orderBy``...)."""
    wanted = name.lower()
    return next((v for k, v in ctx.query.multi_items() if k.lower() == wanted), None)


# -- the base kind --------------------------------------------------------------------------------
class SentinelKind(ResourceKind):
    """A resource under ``{workspace}/providers/Microsoft.SecurityInsights`` (needs Sentinel onboarded)."""

    api_versions = SENTINEL_API_VERSIONS
    parent_template = "{workspace}"
    parent_type = WORKSPACE_TYPE
    body_etag = True
    system_data = True
    delete_status = 200
    #: whether list accepts $filter / $orderby / $top (Sentinel's OData lists)
    odata: ClassVar[bool] = False
    #: ordering when the caller gives no $orderby: (path, descending) pairs
    default_order: ClassVar[tuple[tuple[str, bool], ...]] = ()
    #: value ranks for ordering, e.g. severities by weight rather than alphabetically
    order_ranks: ClassVar[dict[str, dict[str, int]]] = {}
    requires_onboarding: ClassVar[bool] = True

    def check_parent(self, ctx: Ctx) -> None:
        ws_id = workspace_id_of(ctx.params)
        if ctx.store.get(ws_id) is None:
            raise not_found(WORKSPACE_TYPE, ctx.params["workspaceName"], ctx.params.get("resourceGroupName"))
        if self.requires_onboarding and not is_onboarded(ctx.store, ws_id):
            raise not_onboarded(ctx.params["workspaceName"])
        if self.parent_template != "{workspace}":
            super().check_parent(ctx)

    def list_items(self, ctx: Ctx) -> list[Resource]:
        items = ctx.store.children(ctx.collection_id)
        if not self.odata:
            return items
        orderby, filter_ = odata_param(ctx, "$orderby"), odata_param(ctx, "$filter")
        try:
            order = parse_orderby(orderby) if orderby else [(path.split("/"), desc) for path, desc in self.default_order]
            if filter_ is not None:
                keep = parse_filter(filter_)
                items = [r for r in items if keep(self.render(ctx, r))]
        except ODataError as exc:
            raise bad_request(str(exc)) from exc
        return sort_items(items, order, self.order_ranks)

    def page_size_for(self, ctx: Ctx) -> int:
        raw = odata_param(ctx, "$top")
        if raw is None or not self.odata:
            return self.page_size
        try:
            top = int(raw)
        except ValueError:
            raise bad_request(f"The value '{raw}' of the query parameter '$top' is not a valid integer.") from None
        if not 1 <= top <= MAX_TOP:
            raise bad_request(f"The value {top} of the query parameter '$top' is out of range: it must be between "
                              f"1 and {MAX_TOP}.")
        return top
