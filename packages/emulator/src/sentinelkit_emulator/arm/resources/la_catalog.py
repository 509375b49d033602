"""The Microsoft (system) tables a Log Analytics workspace offers, with their key columns.

Real workspaces list several hundred Microsoft tables; the emulator carries the ones Sentinel, its health checks
and Microsoft's published Sentinel content touch. The catalog decides three rules the Tables API enforces:
a name without ``_CL`` can only be one of these tables, Microsoft tables cannot be deleted, and only some
of them may move to the Basic plan. It also says which data source brings a table (a workspace without
the Defender XDR connector has no ``Device*`` tables). Columns are the full lists Microsoft publishes
where the emulator has them (``logs/tables``), else a representative subset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Solutions that bring tables: every workspace has LogManagement; Sentinel adds SecurityInsights.
LOG_MANAGEMENT = "LogManagement"
SECURITY_INSIGHTS = "SecurityInsights"

#: Column types of the Tables API (``ColumnTypeEnum``); matched case-insensitively on input.
COLUMN_TYPES = ("string", "int", "long", "real", "boolean", "dateTime", "guid", "dynamic")
#: Column data type hints (``ColumnDataTypeHintEnum``).
COLUMN_HINTS = ("uri", "guid", "armPath", "ip")
#: Columns the service adds itself; a custom schema may not declare them.
RESERVED_COLUMNS = frozenset(
    {"tenantid", "type", "_resourceid", "_subscriptionid", "_itemid", "_billedsize", "_isbillable",
     "_timereceived", "_internal_workspaceresourceid", "sourcesystem", "mg", "managementgroupname"}
)


@dataclass(frozen=True)
class SystemTable:
    name: str
    columns: tuple[tuple[str, str], ...]
    solutions: tuple[str, ...]
    categories: tuple[str, ...]
    description: str
    #: whether the table may use the Basic plan (DCR-based Azure tables on Microsoft's list)
    basic: bool = False
    #: the data sources, any one of which brings the table (empty: its solution alone does); see SOURCES
    sources: tuple[str, ...] = ()

    @property
    def sentinel_only(self) -> bool:
        """Present only when Microsoft Sentinel (SecurityInsights) is enabled on the workspace."""
        return LOG_MANAGEMENT not in self.solutions


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in spec.split():
        name, _, typ = item.partition(":")
        pairs.append((name, typ or "string"))
    return tuple(pairs)


_ARM_TYPES = {"string": "string", "int": "int", "long": "long", "real": "real", "bool": "boolean",
              "datetime": "dateTime", "dynamic": "dynamic", "guid": "guid", "timespan": "string", "decimal": "real"}


def _full_columns(name: str, columns: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The listed columns, completed with the full list Microsoft publishes for the table (if we have it)."""
    from ...logs.microsoft_tables import microsoft_tables

    table = microsoft_tables().get(name)
    if table is None:
        return columns
    known = {c for c, _ in columns}
    extra = tuple((c, _ARM_TYPES[t]) for c, t in table.columns if c not in known)
    return columns + extra


def _t(name: str, solutions: str, categories: str, description: str, columns: str, basic: bool = False,
       sources: tuple[str, ...] = ()) -> SystemTable:
    return SystemTable(name, _full_columns(name, _cols(columns)), tuple(solutions.split(",")),
                       tuple(categories.split(",")), description, basic, sources)


#: Data sources that bring tables: Sentinel data connector kinds (as ARM names them) and two sources
#: that are no data connector resource: Windows DNS servers' agent logs and Sentinel's UEBA setting.
DEFENDER_XDR = "MicrosoftThreatProtection"
AWS_CLOUDTRAIL = "AmazonWebServicesCloudTrail"
DNS = "DNS"
UEBA = "Ueba"
SOURCES = (DEFENDER_XDR, AWS_CLOUDTRAIL, DNS, UEBA)


def _xdr(name: str, description: str) -> SystemTable:
    """A Defender XDR table (advanced hunting, streamed to Sentinel by the Microsoft Defender XDR connector)."""
    return _t(name, _SI, "Security", description, "TimeGenerated:dateTime", sources=(DEFENDER_XDR,))


_LM = LOG_MANAGEMENT
_SI = SECURITY_INSIGHTS

SYSTEM_TABLES: tuple[SystemTable, ...] = (
    _t("Heartbeat", _LM, "Virtual Machines,Resources", "Records logged by Log Analytics agents once per minute to "
       "report on agent health.",
       "TimeGenerated:dateTime SourceSystem Computer ComputerIP Category OSType OSName OSMajorVersion OSMinorVersion "
       "Version SCAgentChannel IsGatewayInstalled:boolean ComputerEnvironment ResourceId ResourceGroup SubscriptionId "
       "Resource ResourceProvider ResourceType RemoteIPCountry Solutions VMUUID ComputerPrivateIPs:dynamic"),
    _t("Usage", _LM, "Resources", "Hourly usage data for each table in the workspace.",
       "TimeGenerated:dateTime StartTime:dateTime EndTime:dateTime DataType Solution Quantity:real QuantityUnit "
       "IsBillable:boolean MeterId LinkedMeterId SourceSystem ResourceUri"),
    _t("AzureActivity", _LM, "Azure Resources,Audit,Security", "Entries from the Azure Activity log that provides "
       "insight into any subscription-level or management group level events.",
       "TimeGenerated:dateTime OperationNameValue Level ActivityStatusValue ActivitySubstatusValue Caller "
       "CallerIpAddress CorrelationId ResourceGroup ResourceProviderValue SubscriptionId CategoryValue "
       "Properties Properties_d:dynamic Authorization Claims HTTPRequest EventSubmissionTimestamp:dateTime "
       "OperationId _ResourceId"),
    _t("SigninLogs", _LM, "Security,Audit", "Microsoft Entra sign-in logs.",
       "TimeGenerated:dateTime OperationName Category ResultType ResultDescription UserPrincipalName UserDisplayName "
       "UserId AppDisplayName AppId IPAddress Location ClientAppUsed ConditionalAccessStatus AuthenticationRequirement "
       "RiskLevelDuringSignIn RiskState DeviceDetail:dynamic LocationDetails:dynamic Status:dynamic CorrelationId"),
    _t("AADNonInteractiveUserSignInLogs", _LM, "Security,Audit", "Microsoft Entra non-interactive user sign-ins.",
       "TimeGenerated:dateTime OperationName Category ResultType ResultDescription UserPrincipalName UserId "
       "AppDisplayName AppId IPAddress Location ClientAppUsed DeviceDetail LocationDetails Status CorrelationId"),
    _t("AADManagedIdentitySignInLogs", _LM, "Security,Audit", "Microsoft Entra managed identity sign-ins.",
       "TimeGenerated:dateTime OperationName Category ResultType ResultDescription ServicePrincipalName "
       "ServicePrincipalId ResourceDisplayName ResourceIdentity IPAddress Location CorrelationId", basic=True),
    _t("AuditLogs", _LM, "Security,Audit", "Audit log for Microsoft Entra ID.",
       "TimeGenerated:dateTime OperationName Category Result ResultReason ActivityDisplayName "
       "ActivityDateTime:dateTime InitiatedBy:dynamic TargetResources:dynamic AdditionalDetails:dynamic "
       "CorrelationId LoggedByService Identity"),
    _t("Syslog", _LM, "Virtual Machines,Security", "Syslog events on Linux computers using the Log Analytics agent "
       "or the Azure Monitor Agent.",
       "TimeGenerated:dateTime Computer HostName HostIP Facility SeverityLevel SyslogMessage ProcessName "
       "ProcessID:int EventTime:dateTime SourceSystem CollectorHostName _ResourceId"),
    _t("Event", _LM, "Virtual Machines", "Events from Windows event logs on Windows computers using the Log "
       "Analytics agent or the Azure Monitor Agent.",
       "TimeGenerated:dateTime Source EventLog Computer EventLevel:int EventLevelName EventID:int UserName "
       "RenderedDescription EventData ParameterXml SourceSystem _ResourceId"),
    _t("WindowsEvent", _LM, "Virtual Machines,Security", "Windows events collected by the Azure Monitor Agent.",
       "TimeGenerated:dateTime Computer Provider Channel EventID:int EventLevel:int EventLevelName Task:int "
       "Data:dynamic EventOriginId _ResourceId"),
    _t("Perf", _LM, "Virtual Machines,Containers", "Performance counters from Windows and Linux agents.",
       "TimeGenerated:dateTime Computer ObjectName CounterName InstanceName CounterValue:real CounterPath "
       "SourceSystem _ResourceId"),
    _t("InsightsMetrics", _LM, "Virtual Machines,Containers", "Table that stores metrics.",
       "TimeGenerated:dateTime Computer Origin Namespace Name Val:real Tags AgentId _ResourceId"),
    _t("AzureDiagnostics", _LM, "Azure Resources", "Stores resource logs for Azure services that use Azure "
       "Diagnostics mode.",
       "TimeGenerated:dateTime ResourceId Category OperationName ResultType ResultDescription ResourceProvider "
       "ResourceType Resource SubscriptionId ResourceGroup CorrelationId DurationMs:real CallerIPAddress"),
    _t("AzureMetrics", _LM, "Azure Resources", "Metric data emitted by Azure services that measure their health "
       "and performance.",
       "TimeGenerated:dateTime ResourceId MetricName Total:real Count:real Maximum:real Minimum:real Average:real "
       "TimeGrain UnitName SubscriptionId ResourceGroup Resource ResourceProvider"),
    _t("Operation", _LM, "Resources", "Details of operations in the Log Analytics workspace.",
       "TimeGenerated:dateTime OperationStatus OperationCategory OperationKey Detail Solution Computer "
       "CorrelationId _ResourceId"),
    _t("ContainerLogV2", _LM, "Containers", "Kubernetes container logs in V2 schema.",
       "TimeGenerated:dateTime Computer ContainerId ContainerName PodName PodNamespace LogMessage:dynamic LogSource "
       "KubernetesMetadata:dynamic LogLevel _ResourceId", basic=True),
    _t("AppTraces", _LM, "Applications", "Traces from applications instrumented with Application Insights.",
       "TimeGenerated:dateTime Message SeverityLevel:int AppRoleName AppRoleInstance OperationId OperationName "
       "Properties:dynamic ResourceGUID _ResourceId", basic=True),
    _t("StorageBlobLogs", _LM, "Azure Resources", "Storage blob service logs.",
       "TimeGenerated:dateTime AccountName OperationName StatusCode StatusText DurationMs:long CallerIpAddress Uri "
       "AuthenticationType RequesterObjectId ResponseBodySize:long Category _ResourceId", basic=True),
    # -- Microsoft Sentinel (SecurityInsights) ----------------------------------------------------------
    _t("SecurityIncident", _SI, "Security", "Microsoft Sentinel incidents, one row per incident change.",
       "TimeGenerated:dateTime IncidentName Title Description Severity Status Classification ClassificationComment "
       "ClassificationReason Owner:dynamic ProviderName ProviderIncidentId FirstActivityTime:dateTime "
       "LastActivityTime:dateTime FirstModifiedTime:dateTime LastModifiedTime:dateTime CreatedTime:dateTime "
       "ClosedTime:dateTime IncidentNumber:int RelatedAnalyticRuleIds:dynamic AlertIds:dynamic BookmarkIds:dynamic "
       "Comments:dynamic Tasks:dynamic Labels:dynamic IncidentUrl AdditionalData:dynamic ModifiedBy SourceSystem"),
    _t("SecurityAlert", "Security,SecurityCenterFree,SecurityInsights", "Security", "Security alerts from Microsoft "
       "Sentinel analytics rules and connected products.",
       "TimeGenerated:dateTime DisplayName AlertName AlertSeverity Description ProviderName VendorName "
       "VendorOriginalId SystemAlertId ResourceId SourceComputerId AlertType ConfidenceLevel ConfidenceScore:real "
       "IsIncident:boolean StartTime:dateTime EndTime:dateTime ProcessingEndTime:dateTime RemediationSteps "
       "ExtendedProperties Entities SourceSystem WorkspaceSubscriptionId WorkspaceResourceGroup ExtendedLinks "
       "ProductName ProductComponentName AlertLink Status CompromisedEntity Tactics Techniques SubTechniques"),
    _t("SentinelHealth", _SI, "Security", "Health events of Microsoft Sentinel resources (rules, connectors, "
       "automation).",
       "TimeGenerated:dateTime OperationName SentinelResourceId SentinelResourceName Status Description WorkspaceId "
       "RecordId SentinelResourceType SentinelResourceKind Reason ExtendedProperties:dynamic"),
    _t("SentinelAudit", _SI, "Security,Audit", "Audit events of Microsoft Sentinel resources.",
       "TimeGenerated:dateTime OperationName SentinelResourceId SentinelResourceName Status Description WorkspaceId "
       "SentinelResourceType SentinelResourceKind CorrelationId ExtendedProperties:dynamic"),
    _t("SecurityEvent", "Security,SecurityInsights", "Security,Virtual Machines", "Security events collected from "
       "windows machines by Azure Security Center or Azure Sentinel.",
       "TimeGenerated:dateTime Computer EventID:int Activity Account AccountType SubjectUserName TargetUserName "
       "TargetDomainName LogonType:int IpAddress WorkstationName Process CommandLine NewProcessName ParentProcessName "
       "EventSourceName Channel Level EventData Task:int _ResourceId"),
    _t("CommonSecurityLog", "Security,SecurityInsights", "Security", "Syslog messages using the Common Event Format "
       "(CEF).",
       "TimeGenerated:dateTime DeviceVendor DeviceProduct DeviceVersion DeviceEventClassID Activity LogSeverity "
       "SourceIP SourcePort:int DestinationIP DestinationPort:int Protocol DeviceAction ApplicationProtocol RequestURL "
       "Computer Message AdditionalExtensions SimplifiedDeviceAction"),
    _t("OfficeActivity", _SI, "Security,Audit", "Audit logs for Office 365 tenants collected by Azure Sentinel.",
       "TimeGenerated:dateTime RecordType Operation OrganizationId UserType UserKey OfficeWorkload ResultStatus "
       "UserId ClientIP OfficeObjectId SourceFileName SourceRelativeUrl Site_Url ItemType UserAgent EventSource"),
    _t("ThreatIntelligenceIndicator", _SI, "Security", "Threat intelligence indicators ingested into Microsoft "
       "Sentinel.",
       "TimeGenerated:dateTime IndicatorId SourceSystem Action Active:boolean ConfidenceScore:real Description "
       "ExpirationDateTime:dateTime ThreatType TLPLevel NetworkIP Url DomainName FileHashValue FileHashType "
       "EmailSenderAddress Tags"),
    _t("Watchlist", _SI, "Security", "Microsoft Sentinel watchlist items.",
       "TimeGenerated:dateTime WatchlistId WatchlistName WatchlistAlias SearchKey WatchlistItemId "
       "WatchlistItem:dynamic CreatedBy:dynamic UpdatedBy:dynamic LastUpdatedTimeUTC:dateTime "
       "CreatedTimeUTC:dateTime _DTItemId _DTItemStatus Tags"),
    _t("IdentityInfo", _SI, "Security", "Information about user accounts collected by UEBA.",
       "TimeGenerated:dateTime AccountUPN AccountObjectId AccountDisplayName AccountName AccountDomain Department "
       "JobTitle Manager IsAccountEnabled:boolean AssignedRoles:dynamic GroupMembership:dynamic RiskLevel"),
    _t("BehaviorAnalytics", _SI, "Security", "User and entity behavior analytics (UEBA) enriched events.",
       "TimeGenerated:dateTime UserPrincipalName ActivityType ActionType SourceIPAddress InvestigationPriority:int",
       sources=(UEBA,)),
    _t("AWSCloudTrail", _SI, "Security,Audit", "AWS CloudTrail events collected by the Amazon Web Services "
       "connector.", "TimeGenerated:dateTime EventName EventSource UserIdentityArn SourceIpAddress AWSRegion",
       sources=(AWS_CLOUDTRAIL,)),
    _t("DnsEvents", _SI, "Security,Network", "DNS server events (queries and lookups) of Windows DNS servers.",
       "TimeGenerated:dateTime Computer ClientIP Name QueryType ResultCode:int SubType", sources=(DNS,)),
    _xdr("DeviceProcessEvents", "Process creation and related events (Microsoft Defender for Endpoint)."),
    _xdr("DeviceNetworkEvents", "Network connections and related events (Microsoft Defender for Endpoint)."),
    _xdr("DeviceFileEvents", "File creation, modification and other file system events (Microsoft Defender for "
         "Endpoint)."),
    _xdr("DeviceEvents", "Multiple event types, including security controls (Microsoft Defender for Endpoint)."),
    _xdr("DeviceLogonEvents", "Sign-ins and other authentication events on devices (Microsoft Defender for "
         "Endpoint)."),
    _xdr("DeviceRegistryEvents", "Creation and modification of registry entries (Microsoft Defender for "
         "Endpoint)."),
    _xdr("DeviceInfo", "Machine information, including OS information (Microsoft Defender for Endpoint)."),
    _xdr("EmailEvents", "Microsoft 365 email events, including delivery and blocking (Microsoft Defender for "
         "Office 365)."),
    _xdr("IdentityLogonEvents", "Authentication events on Active Directory and Microsoft online services "
         "(Microsoft Defender for Identity)."),
)

_BY_NAME: dict[str, SystemTable] = {t.name.lower(): t for t in SYSTEM_TABLES}


def system_table(name: str) -> SystemTable | None:
    """The catalog entry for a Microsoft table name (case-insensitive), if any."""
    return _BY_NAME.get(name.lower())


def tables_for(sentinel: bool, sources: Iterable[str] = ()) -> list[SystemTable]:
    """The Microsoft tables a workspace lists: LogManagement always, Sentinel's when it is enabled, and a
    data source's tables when the workspace has that source (``sources``: data connector kinds, SOURCES)."""
    connected = set(sources)
    return [t for t in SYSTEM_TABLES
            if (sentinel or not t.sentinel_only) and (not t.sources or connected.intersection(t.sources))]


def canonical_column_type(value: str) -> str | None:
    """Spec spelling of a column type (``datetime`` -> ``dateTime``), or None if unknown."""
    for t in COLUMN_TYPES:
        if t.lower() == str(value).lower():
            return t
    return None
