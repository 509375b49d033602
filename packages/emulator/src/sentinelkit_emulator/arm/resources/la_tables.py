"""Log Analytics tables (``{workspace}/tables/{tableName}``), api 2026-03-01 ``Tables.json``.

PUT and PATCH are long-running (202 + Azure-AsyncOperation). The rules enforced are the ones users
meet: custom tables end in ``_CL`` and need a ``TimeGenerated`` datetime column; other names must be
Azure tables the workspace has; Azure tables can't be deleted; Basic only for DCR-based custom
tables and the Azure tables Microsoft lists; Auxiliary only at creation; one plan switch per table per
week (the plan set at creation does not count); a plan switch keeps the total retention (data past the
new interactive period becomes long-term retention); analytics retention 4-730 days, total 4-4383 and
not below analytics; ``-1`` resets either to its default. A table whose previous change is still
running (``provisioningState`` ``Updating``) refuses the next write with 409 ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from starlette.responses import Response

from ...errors import ArmError
from ...store import Resource, Store
from ..kinds import Ctx, ResourceKind, register, utc_now
from .la_catalog import (
    COLUMN_HINTS,
    COLUMN_TYPES,
    LOG_MANAGEMENT,
    RESERVED_COLUMNS,
    SystemTable,
    canonical_column_type,
    system_table,
    tables_for,
)
from .tracked import nested_not_found, properties_of

TABLE_API_VERSIONS = frozenset(
    {"2020-08-01", "2021-12-01-preview", "2022-10-01", "2023-09-01", "2025-02-01", "2025-07-01", "2026-03-01"}
)
PLANS = ("Analytics", "Basic", "Auxiliary")
#: interactive retention the service fixes for Basic and Auxiliary tables
LOW_COST_RETENTION_DAYS = 30
RETENTION_RANGE = (4, 730)
TOTAL_RETENTION_RANGE = (4, 4383)
DEFAULT_WORKSPACE_RETENTION = 30
#: a table's plan may be switched once per week
PLAN_SWITCH_INTERVAL = dt.timedelta(days=7)
#: provisioning states of a table whose previous write has not finished
BUSY_STATES = frozenset({"Updating", "InProgress", "Deleting"})

_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}_CL$")
_COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,44}$")
_TENANT_COLUMN = {"name": "TenantId", "type": "guid", "isDefaultDisplay": False, "isHidden": False}


def invalid(message: str) -> ArmError:
    """The Log Analytics RP's 400 for a request it refuses."""
    return ArmError(400, "InvalidParameter", message)


def column(name: str, typ: str, description: str | None = None, hint: str | None = None) -> dict[str, Any]:
    col: dict[str, Any] = {"name": name, "type": typ}
    if description:
        col["description"] = description
    if hint:
        col["dataTypeHint"] = hint
    col.update({"isDefaultDisplay": False, "isHidden": False})
    return col


def workspace_retention(workspace: Resource | None) -> int:
    value = ((workspace or {}).get("properties") or {}).get("retentionInDays")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_WORKSPACE_RETENTION


# -- building stored tables (used by the kind, the workspace kind and the scenario seeder) ----------


def system_table_resource(workspace: Resource, table: SystemTable, *, retention: int | None = None,
                          total: int | None = None, plan: str = "Analytics", modified: str | None = None) -> Resource:
    """A Microsoft table of ``workspace`` as the service stores it (retention None = workspace default)."""
    ws_days = workspace_retention(workspace)
    props = _retention_props(plan, retention if retention is not None else ws_days, retention is None,
                             total, total is None)
    props["plan"] = plan
    if modified:
        props["lastPlanModifiedDate"] = modified
    props["schema"] = {
        "name": table.name,
        "displayName": table.name,
        "description": table.description,
        "tableType": "Microsoft",
        "tableSubType": "DataCollectionRuleBased" if table.basic else "Any",
        "columns": [],
        "standardColumns": [dict(_TENANT_COLUMN)] + [column(n, t) for n, t in table.columns],
        "solutions": list(table.solutions),
        "categories": list(table.categories),
        "labels": [],
        "source": "microsoft",
    }
    props["provisioningState"] = "Succeeded"
    return {"id": f"{workspace['id']}/tables/{table.name}", "name": table.name,
            "type": TableKind.type_name, "properties": props}


def custom_table_resource(workspace: Resource, name: str, columns: list[dict[str, Any]], *,
                          plan: str = "Analytics", retention: int | None = None, total: int | None = None,
                          description: str = "", sub_type: str = "DataCollectionRuleBased",
                          modified: str | None = None) -> Resource:
    """A custom ``_CL`` table; ``columns`` are ``column(...)`` dicts including ``TimeGenerated``."""
    ws_days = workspace_retention(workspace)
    if plan == "Analytics":
        props = _retention_props(plan, retention if retention is not None else ws_days, retention is None,
                                 total, total is None)
    else:
        days = retention if retention is not None else LOW_COST_RETENTION_DAYS
        props = _retention_props(plan, days, False, total, total is None)
    props["plan"] = plan
    if modified:
        props["lastPlanModifiedDate"] = modified
    props["schema"] = {
        "name": name,
        "displayName": name,
        "description": description,
        "tableType": "CustomLog",
        "tableSubType": sub_type,
        "columns": [dict(c) for c in columns],
        "standardColumns": [dict(_TENANT_COLUMN)],
        "solutions": [LOG_MANAGEMENT],
        "categories": [],
        "labels": [],
        "source": "customer",
    }
    props["provisioningState"] = "Succeeded"
    return {"id": f"{workspace['id']}/tables/{name}", "name": name, "type": TableKind.type_name, "properties": props}


def _retention_props(plan: str, retention: int, retention_default: bool, total: int | None,
                     total_default: bool) -> dict[str, Any]:
    total_days = retention if total is None else max(total, retention)
    return {
        "retentionInDays": retention,
        "totalRetentionInDays": total_days,
        "archiveRetentionInDays": total_days - retention,
        "retentionInDaysAsDefault": retention_default and plan == "Analytics",
        "totalRetentionInDaysAsDefault": total_default,
    }


def add_solution_tables(store: Store, workspace: Resource, *, sentinel: bool) -> int:
    """Give ``workspace`` the Azure tables it lacks (e.g. Sentinel's once Sentinel is onboarded).

    For other kinds' hooks: onboarding Sentinel on a workspace created through the API should call
    this with ``sentinel=True`` so that SecurityIncident & co. appear in its table list.
    """
    added = 0
    for table in tables_for(sentinel):
        if store.get(f"{workspace['id']}/tables/{table.name}") is None:
            store.put(system_table_resource(workspace, table))
            added += 1
    return added


def apply_workspace_retention(ctx: Ctx, workspace: Resource) -> None:
    """Tables whose retention follows the workspace default take its new value."""
    days = workspace_retention(workspace)
    for table in ctx.store.children(f"{workspace['id']}/tables"):
        props = table.get("properties", {})
        if not props.get("retentionInDaysAsDefault") or props.get("plan", "Analytics") != "Analytics":
            continue
        props["retentionInDays"] = days
        if props.get("totalRetentionInDaysAsDefault") or props.get("totalRetentionInDays", 0) < days:
            props["totalRetentionInDays"] = days
        props["archiveRetentionInDays"] = props["totalRetentionInDays"] - days
        ctx.store.put(table)


# -- validation helpers ----------------------------------------------------------------------------


def _int_in(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"'{field}' must be an integer; got {value!r}.")
    if value == -1:
        return -1
    if not low <= value <= high:
        raise invalid(f"'{field}' value {value} is invalid: it must be between {low} and {high} days, or -1 for "
                      "the default.")
    return value


def _canonical_plan(value: Any) -> str:
    for plan in PLANS:
        if isinstance(value, str) and plan.lower() == value.lower():
            return plan
    raise invalid(f"Table plan '{value}' is invalid. Allowed values are: {', '.join(PLANS)}.")


def _checked_columns(table: str, raw: Any, *, require_time: bool, custom_field_only: bool) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise invalid(f"'schema.columns' of table '{table}' must be an array of columns.")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, col in enumerate(raw):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str) or not col.get("name"):
            raise invalid(f"Column {i} of table '{table}' has no name.")
        name = col["name"]
        if not _COLUMN_NAME.match(name):
            raise invalid(f"Column name '{name}' is invalid: it must start with a letter and contain only letters, "
                          "digits and '_' (at most 45 characters).")
        if name.lower() in RESERVED_COLUMNS:
            raise invalid(f"Column name '{name}' is reserved by Azure Monitor and can't be used in a custom schema.")
        if custom_field_only and not name.endswith("_CF"):
            raise invalid(f"Table '{table}' is an Azure table: only custom columns whose names end with '_CF' can "
                          f"be added to it ('{name}').")
        if name.lower() in seen:
            raise invalid(f"Column '{name}' appears more than once in the schema of table '{table}'.")
        seen.add(name.lower())
        typ = canonical_column_type(col.get("type", ""))
        if typ is None:
            raise invalid(f"Column '{name}' has invalid type '{col.get('type')}'. Allowed types are: "
                          f"{', '.join(COLUMN_TYPES)}.")
        hint = col.get("dataTypeHint")
        if hint is not None and hint not in COLUMN_HINTS:
            raise invalid(f"Column '{name}' has invalid dataTypeHint '{hint}'. Allowed values are: "
                          f"{', '.join(COLUMN_HINTS)}.")
        out.append(column(name, typ, col.get("description"), hint) | (
            {"displayName": col["displayName"]} if isinstance(col.get("displayName"), str) else {}))
    if require_time and not any(c["name"] == "TimeGenerated" and c["type"] == "dateTime" for c in out):
        raise invalid(f"The schema of table '{table}' must contain a 'TimeGenerated' column of type 'datetime'.")
    return out


def refuse_if_busy(name: str, table: Resource) -> None:
    """409 while the table's previous write is still running: the service does not queue table changes."""
    state = (table.get("properties") or {}).get("provisioningState")
    if state in BUSY_STATES:
        raise ArmError(409, "Conflict", f"Table '{name}' is being changed by another operation (provisioningState "
                                        f"'{state}'). Wait until it has finished, then retry.")


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _check_plan_switch_interval(name: str, existing: Resource) -> None:
    """One plan switch per table per week; the plan chosen when the table was created is not a switch."""
    last = existing["properties"].get("lastPlanModifiedDate")
    switched = _parse_time(last)
    if switched is None or last == (existing.get("systemData") or {}).get("createdAt"):
        return  # never switched since the table was created (TableKind.stamp makes the two equal)
    allowed = switched + PLAN_SWITCH_INTERVAL
    if dt.datetime.now(dt.UTC) < allowed:
        raise invalid(f"The plan of table '{name}' was changed on {switched:%Y-%m-%d %H:%M} UTC; a table's plan can be "
                      f"switched once a week. Try again after {allowed:%Y-%m-%d %H:%M} UTC.")


def _keep_types(table: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    before = {c["name"].lower(): c["type"] for c in old}
    for c in new:
        was = before.get(c["name"].lower())
        if was is not None and was != c["type"]:
            raise invalid(f"The type of column '{c['name']}' in table '{table}' can't be changed from '{was}' to "
                          f"'{c['type']}'.")


@register
class TableKind(ResourceKind):
    type_name = "Microsoft.OperationalInsights/workspaces/tables"
    template = "{workspace}/tables/{tableName}"
    api_versions = TABLE_API_VERSIONS
    operation = "Microsoft.OperationalInsights/workspaces/tables"
    parent_template = "{workspace}"
    parent_type = "Microsoft.OperationalInsights/workspaces"
    methods = frozenset({"GET", "PUT", "PATCH", "DELETE"})
    has_etag = False
    system_data = True
    page_size = 100_000  # Tables_ListByWorkspace has no nextLink: one page holds every table
    lro_provider = "Microsoft.OperationalInsights"
    lro_methods = frozenset({"PUT", "PATCH"})
    actions: ClassVar[dict[str, tuple[str, bool]]] = {"migrate": ("migrate", True),
                                                      "cancelSearch": ("cancel_search", True)}

    def not_found(self, ctx: Ctx) -> ArmError:
        return nested_not_found(ctx, "workspaceName", "Microsoft.OperationalInsights/workspaces", "tables")

    def stamp(self, ctx: Ctx, resource: Resource, existing: Resource | None) -> Resource:
        """A new table's plan dates from its creation: the same instant as ``systemData.createdAt``."""
        out = super().stamp(ctx, resource, existing)
        if existing is None:
            out["properties"]["lastPlanModifiedDate"] = out["systemData"]["createdAt"]
        return out

    def patch(self, ctx: Ctx, body: dict[str, Any], existing: Resource) -> Resource:
        """Build already keeps what the body leaves out; it must see only what was sent (read-only rules)."""
        return self.build(ctx, body, existing)

    def build(self, ctx: Ctx, body: dict[str, Any], existing: Resource | None) -> Resource:
        name = ctx.name
        workspace = ctx.parent()
        props = properties_of(body)
        old = (existing or {}).get("properties", {})
        schema_in = props.get("schema") or {}
        if not isinstance(schema_in, dict):
            raise invalid("'schema' must be an object.")
        if schema_in.get("name") and str(schema_in["name"]).lower() != name.lower():
            raise invalid(f"The schema name '{schema_in['name']}' must match the table name '{name}'.")
        if existing is not None:
            refuse_if_busy(name, existing)
        table_type = self._table_type(ctx, name, existing)

        plan = _canonical_plan(props["plan"]) if props.get("plan") is not None else old.get("plan", "Analytics")
        old_plan = old.get("plan")
        schema = self._schema(ctx, name, table_type, schema_in, props, old)
        self._check_plan(name, table_type, schema.get("tableSubType", "Any"), plan, old_plan)
        if existing is not None and old_plan is not None and plan != old_plan:
            _check_plan_switch_interval(name, existing)

        out_props: dict[str, Any] = self._retention(props, old, plan, old_plan, workspace)
        out_props["plan"] = plan
        if existing is None or plan != old_plan:
            out_props["lastPlanModifiedDate"] = utc_now()
        elif old.get("lastPlanModifiedDate"):
            out_props["lastPlanModifiedDate"] = old["lastPlanModifiedDate"]
        for key in ("searchResults", "restoredLogs", "resultStatistics"):
            if key in schema:
                out_props[key] = schema.pop(key)
            elif key in old:
                out_props[key] = old[key]
        out_props["schema"] = schema
        out_props["provisioningState"] = "Succeeded"
        return {"properties": out_props}

    # -- pieces of build -----------------------------------------------------------------------
    def _table_type(self, ctx: Ctx, name: str, existing: Resource | None) -> str:
        if existing is not None:
            return str(existing["properties"]["schema"].get("tableType", "CustomLog"))
        if name.endswith("_CL"):
            if not _CUSTOM_NAME.match(name):
                raise invalid(f"Table name '{name}' is invalid: a custom table name starts with a letter, contains "
                              "only letters, digits and '_', is at most 63 characters long and ends with '_CL'.")
            return "CustomLog"
        if name.endswith("_SRCH"):
            return "SearchResults"
        if name.endswith("_RST"):
            return "RestoredLogs"
        known = system_table(name)
        if known is not None:
            missing = ", ".join(s for s in known.solutions if s != LOG_MANAGEMENT)
            raise invalid(f"Table '{name}' is not available in workspace '{ctx.params['workspaceName']}': it belongs "
                          f"to a solution that isn't enabled there ({missing}).")
        raise invalid(f"Table name '{name}' is invalid. Custom log table names must end with '_CL'; search job "
                      "results end with '_SRCH' and restored logs with '_RST'. Other names must be existing Azure "
                      "tables.")

    def _schema(self, ctx: Ctx, name: str, table_type: str, schema_in: dict[str, Any], props: dict[str, Any],
                old: dict[str, Any]) -> dict[str, Any]:
        old_schema = dict(old.get("schema") or {})
        columns_in = schema_in.get("columns")
        if table_type == "Microsoft":
            schema = old_schema
            if columns_in is not None:
                added = _checked_columns(name, columns_in, require_time=False, custom_field_only=True)
                _keep_types(name, schema.get("columns", []), added)
                schema["columns"] = added
            return schema
        if table_type == "CustomLog":
            if columns_in is None and not old_schema:
                raise invalid(f"The schema of new table '{name}' must define its columns, including 'TimeGenerated'.")
            schema = old_schema or {
                "name": name, "displayName": name, "tableType": "CustomLog",
                "tableSubType": "DataCollectionRuleBased", "standardColumns": [dict(_TENANT_COLUMN)],
                "solutions": [LOG_MANAGEMENT], "categories": [], "labels": [], "source": "customer",
            }
            if columns_in is not None:
                cols = _checked_columns(name, columns_in, require_time=True, custom_field_only=False)
                _keep_types(name, schema.get("columns", []), cols)
                schema["columns"] = cols
            for key in ("description", "displayName"):
                if isinstance(schema_in.get(key), str):
                    schema[key] = schema_in[key]
            schema.setdefault("description", "")
            return schema
        return self._job_schema(ctx, name, table_type, props, old_schema)

    def _job_schema(self, ctx: Ctx, name: str, table_type: str, props: dict[str, Any],
                    old_schema: dict[str, Any]) -> dict[str, Any]:
        """Search job (``_SRCH``) and restore (``_RST``) tables copy the columns of their source table."""
        if old_schema:
            return old_schema
        if table_type == "SearchResults":
            job = props.get("searchResults")
            if not isinstance(job, dict) or not job.get("query"):
                raise invalid(f"Search job table '{name}' requires 'properties.searchResults.query'.")
            m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", str(job["query"]))
            source_name = m.group(1) if m else ""
            extra = {"searchResults": {**job, "sourceTable": source_name},
                     "resultStatistics": {"progress": 1.0, "ingestedRecords": 0, "scannedGb": 0.0}}
        else:
            job = props.get("restoredLogs")
            if not isinstance(job, dict) or not job.get("sourceTable"):
                raise invalid(f"Restore table '{name}' requires 'properties.restoredLogs.sourceTable'.")
            for key in ("startRestoreTime", "endRestoreTime"):
                if not job.get(key):
                    raise invalid(f"Restore table '{name}' requires 'properties.restoredLogs.{key}'.")
            source_name = str(job["sourceTable"])
            extra = {"restoredLogs": dict(job)}
        source = ctx.store.get(f"{ctx.parent_id}/tables/{source_name}")
        if source is None:
            raise invalid(f"Source table '{source_name}' of '{name}' was not found in workspace "
                          f"'{ctx.params['workspaceName']}'.")
        src = source["properties"]["schema"]
        columns = [dict(c) for c in src.get("standardColumns", []) + src.get("columns", [])
                   if c["name"] != "TenantId"]
        return {"name": name, "displayName": name, "description": "", "tableType": table_type,
                "tableSubType": "Any", "columns": columns, "standardColumns": [dict(_TENANT_COLUMN)],
                "solutions": [LOG_MANAGEMENT], "categories": [], "labels": [], "source": "customer", **extra}

    def _check_plan(self, name: str, table_type: str, sub_type: str, plan: str, old_plan: str | None) -> None:
        if old_plan is not None and plan != old_plan and "Auxiliary" in (plan, old_plan):
            raise invalid(f"The plan of table '{name}' can't be changed from '{old_plan}' to '{plan}': the Auxiliary "
                          "plan is set when a custom table is created and can't be switched afterwards.")
        if plan == "Analytics":
            return
        if table_type in ("SearchResults", "RestoredLogs"):
            raise invalid(f"Table '{name}' ({table_type}) only supports the Analytics plan.")
        if plan == "Auxiliary" and table_type != "CustomLog":
            raise invalid(f"The Auxiliary plan is only available when creating a custom table ('{name}').")
        if plan == "Basic":
            known = system_table(name)
            if table_type == "Microsoft" and not (known and known.basic):
                raise invalid(f"Table '{name}' doesn't support the Basic plan. Basic is available for custom tables "
                              "based on data collection rules and for the Azure tables listed as supporting it.")
            if table_type == "CustomLog" and sub_type == "Classic":
                raise invalid(f"Table '{name}' was created with the HTTP Data Collector API (tableSubType Classic) "
                              "and can't use the Basic plan. Migrate it to a DCR-based table first.")

    def _retention(self, props: dict[str, Any], old: dict[str, Any], plan: str, old_plan: str | None,
                   workspace: Resource | None) -> dict[str, Any]:
        ws_days = workspace_retention(workspace)
        sent = props.get("retentionInDays")
        if plan == "Analytics":
            if sent is None:
                if old and old_plan == "Analytics":
                    days, days_default = int(old["retentionInDays"]), bool(old.get("retentionInDaysAsDefault"))
                else:
                    days, days_default = ws_days, True
            else:
                value = _int_in(sent, "retentionInDays", *RETENTION_RANGE)
                days, days_default = (ws_days, True) if value == -1 else (value, False)
        else:
            fixed = int(old["retentionInDays"]) if old_plan == plan and old else LOW_COST_RETENTION_DAYS
            if sent is not None and sent not in (-1, fixed):
                raise invalid(f"'retentionInDays' can't be set on a table with the {plan} plan: its interactive "
                              f"retention is fixed at {fixed} days. Set 'totalRetentionInDays' instead.")
            days, days_default = fixed, False
        sent_total = props.get("totalRetentionInDays")
        if sent_total is None:
            if old and old_plan is not None and plan != old_plan:
                # a plan switch keeps the total retention: what passes the new interactive period is long-term
                total = max(int(old["totalRetentionInDays"]), days)
                total_default = total == days and bool(old.get("totalRetentionInDaysAsDefault"))
            elif old and not old.get("totalRetentionInDaysAsDefault"):
                total, total_default = max(int(old["totalRetentionInDays"]), days), False
            else:
                total, total_default = days, True
        else:
            value = _int_in(sent_total, "totalRetentionInDays", *TOTAL_RETENTION_RANGE)
            if value == -1:
                total, total_default = days, True
            elif value < days:
                raise invalid(f"'totalRetentionInDays' ({value}) must be greater than or equal to the table's "
                              f"retention in days ({days}).")
            else:
                total, total_default = value, False
        return {
            "retentionInDays": days,
            "totalRetentionInDays": total,
            "archiveRetentionInDays": total - days,
            "retentionInDaysAsDefault": days_default,
            "totalRetentionInDaysAsDefault": total_default,
        }

    # -- delete and actions ----------------------------------------------------------------------
    def before_delete(self, ctx: Ctx, resource: Resource) -> None:
        refuse_if_busy(ctx.name, resource)
        if resource["properties"]["schema"].get("tableType") == "Microsoft":
            raise invalid(f"Table '{ctx.name}' is an Azure table (tableType 'Microsoft') and can't be deleted. Only "
                          "custom (_CL), search results (_SRCH) and restored (_RST) tables can be deleted.")

    def _existing(self, ctx: Ctx) -> Resource:
        assert ctx.item_id is not None
        table: Resource | None = ctx.store.get(ctx.item_id)
        if table is None:
            raise self.not_found(ctx)
        return table

    async def migrate(self, ctx: Ctx) -> Response:
        """Tables_Migrate: a Classic (Data Collector API) table becomes DCR-based."""
        table = self._existing(ctx)
        schema = table["properties"]["schema"]
        if schema.get("tableSubType") != "Classic":
            raise invalid(f"Table '{ctx.name}' has tableSubType '{schema.get('tableSubType')}'; only Classic tables "
                          "can be migrated.")
        schema["tableSubType"] = "DataCollectionRuleBased"
        ctx.store.put(table)
        ctx.rt.changed()
        return Response(status_code=200)

    async def cancel_search(self, ctx: Ctx) -> Response:
        """Tables_CancelSearch: only search job tables have a search to cancel (ours finish at once)."""
        table = self._existing(ctx)
        if table["properties"]["schema"].get("tableType") != "SearchResults":
            raise invalid(f"Table '{ctx.name}' is not a search job results table.")
        return Response(status_code=200)
