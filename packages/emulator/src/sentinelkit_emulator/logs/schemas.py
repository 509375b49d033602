"""Column schemas of the Log Analytics tables the emulator serves, with Azure Monitor's real names.

A query against a table must see the columns the real table has (so that ``project`` and ``where``
fail or succeed as they would in Azure), even when no row was ever seeded. Schemas are ordered
``column -> KQL type``; every table has ``TenantId`` (the workspace GUID), ``TimeGenerated`` and
``Type`` (the table name) as real tables do. Custom (``_CL``) tables take their columns from the
ARM table resource (``properties.schema.columns``), which is what the Tables API returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store

#: ``column -> KQL type``, in the table's column order.
Schema = dict[str, str]

#: The scalar types of the query API (``logsColumnType`` in the data-plane spec).
KQL_TYPES = frozenset({"string", "int", "long", "real", "bool", "datetime", "dynamic", "guid", "timespan", "decimal"})

#: DuckDB column types that store each KQL type.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "long": "BIGINT",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "dynamic": "JSON",
    "guid": "UUID",
    "timespan": "INTERVAL",
    "decimal": "DECIMAL(38,18)",
}

#: Types the Tables API (ARM) uses in ``properties.schema.columns[].type`` -> KQL types.
ARM_COLUMN_TYPES: dict[str, str] = {
    "string": "string",
    "int": "int",
    "long": "long",
    "real": "real",
    "boolean": "bool",
    "bool": "bool",
    "datetime": "datetime",
    "guid": "guid",
    "dynamic": "dynamic",
    "timespan": "timespan",
    "decimal": "decimal",
}


def _table(name: str, columns: str) -> Schema:
    """Build a schema from ``"Name:type Name:type ..."`` (``:s`` etc. abbreviations keep this file short)."""
    short = {"s": "string", "i": "int", "l": "long", "r": "real", "b": "bool", "t": "datetime", "d": "dynamic",
             "g": "guid", "ts": "timespan"}
    schema: Schema = {"TenantId": "string", "TimeGenerated": "datetime"}
    for item in columns.split():
        col, _, typ = item.partition(":")
        schema[col] = short.get(typ, typ)
    schema["Type"] = "string"
    assert all(t in KQL_TYPES for t in schema.values()), name
    return schema


#: The standard tables (https://learn.microsoft.com/azure/azure-monitor/reference/tables/), trimmed to the
#: columns Sentinel queries use. Hidden ``_``-columns (``_ResourceId``, ``_BilledSize``...) are left out.
STANDARD_TABLES: dict[str, Schema] = {
    "SentinelHealth": _table("SentinelHealth", """
        OperationName:s SentinelResourceId:s SentinelResourceName:s Status:s Description:s Reason:s
        WorkspaceId:s SentinelResourceType:s SentinelResourceKind:s RecordId:s ExtendedProperties:d"""),
    "SentinelAudit": _table("SentinelAudit", """
        OperationName:s SentinelResourceId:s SentinelResourceName:s Status:s Description:s WorkspaceId:s
        SentinelResourceType:s SentinelResourceKind:s CorrelationId:s ExtendedProperties:d RecordId:s"""),
    "SecurityIncident": _table("SecurityIncident", """
        IncidentName:s Title:s Description:s Severity:s Status:s Classification:s ClassificationComment:s
        ClassificationReason:s Owner:d ProviderName:s ProviderIncidentId:s FirstActivityTime:t
        LastActivityTime:t FirstModifiedTime:t LastModifiedTime:t CreatedTime:t ClosedTime:t
        IncidentNumber:i RelatedAnalyticRuleIds:d AlertIds:d BookmarkIds:d Comments:d Tasks:d Labels:d
        IncidentUrl:s AdditionalData:d ModifiedBy:s SourceSystem:s"""),
    "SecurityAlert": _table("SecurityAlert", """
        DisplayName:s AlertName:s AlertSeverity:s Description:s ProviderName:s VendorName:s
        VendorOriginalId:s SystemAlertId:s ResourceId:s SourceComputerId:s AlertType:s ConfidenceLevel:s
        ConfidenceScore:r IsIncident:b StartTime:t EndTime:t ProcessingEndTime:t RemediationSteps:s
        ExtendedProperties:s Entities:s SourceSystem:s WorkspaceSubscriptionId:s WorkspaceResourceGroup:s
        ExtendedLinks:s ProductName:s ProductComponentName:s AlertLink:s Status:s CompromisedEntity:s
        Tactics:s Techniques:s SubTechniques:s"""),
    "Heartbeat": _table("Heartbeat", """
        SourceSystem:s MG:s ManagementGroupName:s SourceComputerId:s ComputerIP:s Computer:s Category:s
        OSType:s OSName:s OSMajorVersion:s OSMinorVersion:s Version:s SCAgentChannel:s IsGatewayInstalled:b
        RemoteIPLongitude:r RemoteIPLatitude:r RemoteIPCountry:s SubscriptionId:s ResourceGroup:s
        ResourceProvider:s Resource:s ResourceId:s ResourceType:s ComputerEnvironment:s Solutions:s
        VMUUID:s ComputerPrivateIPs:d"""),
    "Usage": _table("Usage", """
        Computer:s SourceSystem:s StartTime:t EndTime:t ResourceUri:s LinkedResourceUri:s DataType:s
        Solution:s BatchesWithinSla:l BatchesOutsideSla:l BatchesCapped:l TotalBatches:l
        AvgLatencyInSeconds:r Quantity:r QuantityUnit:s IsBillable:b MeterId:s LinkedMeterId:s"""),
    "SigninLogs": _table("SigninLogs", """
        SourceSystem:s ResourceId:s OperationName:s OperationVersion:s Category:s ResultType:s
        ResultSignature:s ResultDescription:s DurationMs:l CorrelationId:s Resource:s ResourceGroup:s
        ResourceProvider:s Identity:s Level:s Location:s AlternateSignInName:s AppDisplayName:s AppId:s
        AuthenticationDetails:s AuthenticationRequirement:s ClientAppUsed:s ConditionalAccessPolicies:d
        ConditionalAccessStatus:s CreatedDateTime:t DeviceDetail:d Id:s IPAddress:s IsInteractive:b
        IsRisky:b LocationDetails:d MfaDetail:d NetworkLocationDetails:s OriginalRequestId:s
        ResourceDisplayName:s ResourceIdentity:s RiskDetail:s RiskEventTypes:s RiskEventTypes_V2:s
        RiskLevelAggregated:s RiskLevelDuringSignIn:s RiskState:s ServicePrincipalId:s Status:d
        TokenIssuerType:s UserAgent:s UserDisplayName:s UserId:s UserPrincipalName:s UserType:s
        HomeTenantId:s ResourceTenantId:s"""),
    "AzureActivity": _table("AzureActivity", """
        SourceSystem:s CallerIpAddress:s CategoryValue:s CorrelationId:s Authorization:s Authorization_d:d
        Claims:s Claims_d:d Level:s OperationNameValue:s Properties:s Properties_d:d Caller:s EventDataId:s
        EventSubmissionTimestamp:t HTTPRequest:s OperationId:s ResourceGroup:s ResourceProviderValue:s
        ActivityStatusValue:s ActivitySubstatusValue:s Hierarchy:s SubscriptionId:s OperationName:s
        ActivityStatus:s ActivitySubstatus:s Category:s ResourceId:s ResourceProvider:s Resource:s"""),
    "SecurityEvent": _table("SecurityEvent", """
        SourceSystem:s Account:s AccountType:s Computer:s EventSourceName:s Channel:s Task:i Level:s
        EventData:s EventID:i Activity:s SourceComputerId:s EventOriginId:s MG:s TimeCollected:t
        ManagementGroupName:s AuthenticationPackageName:s IpAddress:s IpPort:s LogonProcessName:s
        LogonType:i LogonTypeName:s ProcessId:s ProcessName:s NewProcessName:s CommandLine:s
        ParentProcessName:s Status:s SubStatus:s SubjectAccount:s SubjectDomainName:s SubjectLogonId:s
        SubjectUserName:s SubjectUserSid:s TargetAccount:s TargetDomainName:s TargetLogonId:s
        TargetUserName:s TargetUserSid:s WorkstationName:s"""),
    "Syslog": _table("Syslog", """
        SourceSystem:s Computer:s EventTime:t Facility:s HostName:s SeverityLevel:s SyslogMessage:s
        ProcessID:i HostIP:s ProcessName:s MG:s CollectorHostName:s"""),
    "CommonSecurityLog": _table("CommonSecurityLog", """
        DeviceVendor:s DeviceProduct:s DeviceVersion:s DeviceEventClassID:s Activity:s LogSeverity:s
        DeviceAction:s ApplicationProtocol:s DestinationPort:i DestinationIP:s SourcePort:i SourceIP:s
        Protocol:s Computer:s CommunicationDirection:s ReceivedBytes:l SentBytes:l SimplifiedDeviceAction:s
        CollectorHostName:s SourceSystem:s"""),
    "OfficeActivity": _table("OfficeActivity", """
        RecordType:s Operation:s OrganizationId:s UserType:s UserKey:s OfficeWorkload:s ResultStatus:s
        OfficeObjectId:s UserId:s ClientIP:s UserAgent:s Site_Url:s SourceFileName:s SourceFileExtension:s
        SourceRelativeUrl:s OfficeId:s OfficeTenantId:s ElapsedTime:t SourceSystem:s"""),
}

def _with_full_columns(tables: dict[str, Schema]) -> dict[str, Schema]:
    """Complete each table with the full column list Microsoft publishes (``microsoft_tables``).

    The hand-written columns above keep their order (what ``take`` shows first); the rest follow in the
    source's order. Microsoft tables without a hand-written entry are added whole. A column whose name
    differs only in case from an earlier one (AzureDiagnostics has ``clientIp_s`` and ``clientIP_s``) is
    left out: the engine's tables cannot hold both, and a query naming it is told so.
    """
    from .microsoft_tables import microsoft_tables

    out = {name: dict(schema) for name, schema in tables.items()}
    for name, table in microsoft_tables().items():
        schema = out.setdefault(name, {"TenantId": "string", "TimeGenerated": "datetime"})
        known = {c.lower() for c in schema}
        for column, typ in table.columns:
            if column.lower() not in known:
                schema[column] = typ
                known.add(column.lower())
        schema.pop("Type", None)
        schema["Type"] = "string"
    return out


STANDARD_TABLES = _with_full_columns(STANDARD_TABLES)

#: Tables that exist only in workspaces where Microsoft Sentinel is onboarded.
SENTINEL_TABLES = frozenset({"SentinelHealth", "SentinelAudit", "SecurityIncident", "Watchlist"})


def arm_column_type(arm_type: str | None) -> str:
    """Map a Tables-API column type (``dateTime``, ``boolean``...) to its KQL type (unknown -> string)."""
    return ARM_COLUMN_TYPES.get((arm_type or "string").lower(), "string")


def custom_table_schema(resource: Mapping[str, Any]) -> Schema:
    """The schema of a table from its ARM resource (``properties.schema.columns`` of ``{name, type}``).

    ``standardColumns`` (what Azure adds itself, e.g. ``TenantId``) come first, as in ``getschema``.
    """
    props = resource.get("properties") or {}
    schema_def = props.get("schema") or {}
    name = schema_def.get("name") or resource.get("name") or ""
    schema: Schema = {"TenantId": "string", "TimeGenerated": "datetime"}
    for col in list(schema_def.get("standardColumns") or []) + list(schema_def.get("columns") or []):
        col_name = col.get("name")
        if col_name and not col_name.startswith("_") and col_name not in ("TenantId", "Type"):
            schema[col_name] = arm_column_type(col.get("type"))
    schema.pop("Type", None)
    schema["Type"] = "string"
    assert name  # a table resource always has a name
    return schema


def standard_table_schema(name: str, resource: Mapping[str, Any] | None = None) -> Schema:
    """A standard table's schema plus the custom (``_CF``) columns its ARM resource declares."""
    schema = dict(STANDARD_TABLES[name])
    if resource is not None:
        extra = ((resource.get("properties") or {}).get("schema") or {}).get("columns") or []
        for col in extra:
            col_name = col.get("name")
            if col_name and col_name not in schema and not col_name.startswith("_"):
                schema[col_name] = arm_column_type(col.get("type"))
        schema["Type"] = schema.pop("Type")
    return schema


def infer_schema(rows: Iterable[Mapping[str, Any]]) -> Schema:
    """A schema for rows of a table nobody declared: JSON value kinds decide the column types."""
    schema: Schema = {"TenantId": "string", "TimeGenerated": "datetime"}
    for row in rows:
        for key, value in row.items():
            if key in schema or value is None:
                continue
            if isinstance(value, bool):
                schema[key] = "bool"
            elif isinstance(value, int):
                schema[key] = "long"
            elif isinstance(value, float):
                schema[key] = "real"
            elif isinstance(value, (dict, list)):
                schema[key] = "dynamic"
            else:
                schema[key] = "string"
    schema.pop("Type", None)
    schema["Type"] = "string"
    return schema


_SENTINEL_ONBOARDING = "/providers/Microsoft.SecurityInsights/onboardingStates/default"


def workspace_schemas(store: Store, workspace_id: str, customer_id: str) -> dict[str, Schema]:
    """The tables a workspace has, with their columns.

    The Tables API's list (``{workspace}/tables/{name}`` resources) decides which tables exist, as in
    Azure: deleting a custom table through ARM removes it from queries. A workspace whose tables were
    never stored gets every standard table (Sentinel's only where Sentinel is onboarded). Standard
    tables use the richer schemas of :mod:`.schemas`; a table that has rows but no declaration gets a
    schema inferred from them (not ``_CL`` tables: those need their ARM resource).
    """
    declared = sorted(store.children(f"{workspace_id}/tables"), key=lambda r: str(r.get("name")))
    tables: dict[str, Schema] = {}
    if not any(not str(r.get("name", "")).endswith("_CL") for r in declared):
        onboarded = store.get(workspace_id + _SENTINEL_ONBOARDING) is not None
        tables = {name: dict(schema) for name, schema in STANDARD_TABLES.items()
                  if onboarded or name not in SENTINEL_TABLES}
    for resource in declared:
        name = str(resource.get("name") or "")
        if name:
            tables[name] = (standard_table_schema(name, resource) if name in STANDARD_TABLES
                            else custom_table_schema(resource))
    for name, rows in store.workspace_logs(customer_id).items():
        if name in tables or not rows:
            continue
        if name in STANDARD_TABLES:
            tables[name] = dict(STANDARD_TABLES[name])
        elif not name.endswith("_CL"):
            tables[name] = infer_schema(rows[:200])
    return tables


def merge_schemas(per_workspace: Iterable[Mapping[str, Schema]]) -> dict[str, Schema]:
    """Cross-workspace: a table exists if it exists in any workspace; its columns are the union."""
    merged: dict[str, Schema] = {}
    for tables in per_workspace:
        for name, schema in tables.items():
            target = merged.setdefault(name, {})
            for col, typ in schema.items():
                target.setdefault(col, typ)
    for schema in merged.values():  # keep Type last, as getschema shows it
        if "Type" in schema:
            schema["Type"] = schema.pop("Type")
    return merged
