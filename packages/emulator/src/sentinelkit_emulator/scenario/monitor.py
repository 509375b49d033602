"""Seeds what each workspace holds beside Sentinel: tables, saved searches, workbooks and the
Azure Monitor data collection around it (DCEs, DCRs and their associations to virtual machines).

Runs after the topology (workspaces exist) and before the log seeder, which reads the custom
tables' ``properties.schema.columns``. Everything follows SCENARIO.md ("Data collection"); the
planted rows (``dcr_no_association``, ``basic_plan_custom_table``, ``retention_below_policy``,
``dce_no_association``, ``dcr_destination_stopped``) come from the tables below. Every DCR is
passed through the same checks a PUT gets, so the seed can't drift from what the API accepts.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..arm.resources.la_catalog import tables_for
from ..arm.resources.la_tables import column, custom_table_resource, system_table_resource
from ..arm.resources.monitor_dcr_checks import check_rule
from ..arm.resources.workbooks import REVISION_TYPE, WORKBOOK_TYPE
from ..store import Resource, Store, new_etag
from .plan import ScenarioPlan, WorkspacePlan, stable_id

# -- what each workspace gets ------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomTable:
    name: str
    columns: str  # "Name:type ..." (type defaults to string)
    description: str
    plan: str = "Analytics"
    retention: int | None = None  # None: workspace default
    total: int | None = None
    sub_type: str = "DataCollectionRuleBased"
    raw_columns: str = ""  # columns of the Logs Ingestion stream feeding it ("" = no ingestion DCR)
    transform: str = "source"


@dataclass(frozen=True)
class Collection:
    """A workspace's data collection: VMs (name, os), endpoints and which DCRs exist."""

    short: str  # name fragment used in DCR/DCE names
    vms: tuple[tuple[str, str], ...]
    dces: tuple[str, ...]
    unused_dces: tuple[str, ...] = ()
    windows_security: bool = True
    linux_syslog: bool = True
    cef: bool = False
    unused_windows_dcr: str = ""
    #: table -> (retention, total) overrides on top of the Sentinel defaults
    retention: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    tables: tuple[CustomTable, ...] = ()


#: Sentinel workspaces keep security tables longer than the workspace default (90 days).
SENTINEL_RETENTION: dict[str, tuple[int, int | None]] = {
    "SecurityIncident": (365, 730), "SecurityAlert": (365, 730), "SigninLogs": (180, 365), "AuditLogs": (180, 365),
    "SecurityEvent": (180, 730), "CommonSecurityLog": (180, 365), "OfficeActivity": (180, None),
}

COLLECTIONS: dict[str, Collection] = {
    "law-contoso-soc": Collection(
        "contoso", (("cso-jump-01", "Windows"), ("cso-syslog-01", "Linux")), ("dce-contoso-soc",), cef=True,
        tables=(CustomTable("SocAutomationAudit_CL", "TimeGenerated:dateTime Playbook Action Target Result "
                            "DurationMs:long Details:dynamic", "Actions taken by the SOC's automation playbooks.",
                            raw_columns="Time:datetime Playbook Action Target Result DurationMs:long Details:dynamic",
                            transform="source | extend TimeGenerated = Time | project-away Time"),),
    ),
    "law-fabrikam-prod": Collection(
        "fabrikam", (("fab-dc-01", "Windows"), ("fab-dc-02", "Windows"), ("fab-web-01", "Linux"),
                     ("fab-web-02", "Linux")), ("dce-fabrikam-prod",),
        unused_windows_dcr="dcr-fabrikam-windows-unused",
        tables=(
            CustomTable("AppAudit_CL", "TimeGenerated:dateTime AppName UserPrincipalName Action ObjectId ClientIP "
                        "Outcome Details:dynamic", "Audit trail of Fabrikam's line-of-business applications.",
                        plan="Basic", retention=8, total=8,
                        raw_columns="TimeGenerated:datetime AppName UserPrincipalName Action ObjectId ClientIP Outcome "
                        "Details:dynamic"),
            CustomTable("FirewallTraffic_CL", "TimeGenerated:dateTime DeviceName SourceIP DestinationIP "
                        "DestinationPort:int Protocol Action RuleName BytesSent:long",
                        "Edge firewall traffic forwarded by the on-premises log shipper.", retention=180,
                        raw_columns="Time:datetime DeviceName SourceIP DestinationIP DestinationPort:int Protocol "
                        "Action RuleName BytesSent:long",
                        transform="source | extend TimeGenerated = Time | where Action != 'heartbeat' "
                        "| project-away Time"),
        ),
    ),
    "law-fabrikam-ops": Collection(
        "fabrikam-ops", (("fab-ops-01", "Linux"),), (), windows_security=False,
        tables=(CustomTable("OpsJobs_CL", "TimeGenerated:dateTime JobName Status DurationSeconds:int Server Message",
                            "Scheduled operations jobs.", raw_columns="TimeGenerated:datetime JobName Status "
                            "DurationSeconds:int Server Message"),),
    ),
    "law-northwind": Collection(
        "northwind", (("nw-dc-01", "Windows"), ("nw-dc-02", "Windows"), ("nw-fs-01", "Windows"),
                      ("nw-lnx-01", "Linux")), ("dce-northwind",), unused_dces=("dce-northwind-legacy",),
        retention={"SecurityEvent": (30, None)},
        tables=(
            CustomTable("VpnSessions_CL", "TimeGenerated:dateTime UserPrincipalName ClientIP Gateway SessionId "
                        "DurationSeconds:long BytesIn:long BytesOut:long Result", "Remote access VPN sessions.",
                        raw_columns="Time:datetime UserPrincipalName ClientIP Gateway SessionId DurationSeconds:long "
                        "BytesIn:long BytesOut:long Result",
                        transform="source | extend TimeGenerated = Time | project-away Time"),
            CustomTable("LegacyInventory_CL", "TimeGenerated:dateTime Computer_s Software_s Version_s "
                        "InstallDate_t:dateTime Publisher_s", "Software inventory sent with the HTTP Data Collector "
                        "API (classic custom log).", sub_type="Classic"),
        ),
    ),
    "law-tailspin": Collection(
        "tailspin", (("ts-web-01", "Linux"), ("ts-web-02", "Linux"), ("ts-app-01", "Windows")), ("dce-tailspin",),
        tables=(CustomTable("CheckoutEvents_CL", "TimeGenerated:dateTime StoreId OrderId Amount:real Currency "
                            "PaymentMethod Result ClientIP", "Web shop checkout events.",
                            raw_columns="TimeGenerated:datetime StoreId OrderId Amount:real Currency PaymentMethod "
                            "Result ClientIP",
                            transform="source | where Result != 'test'"),),
    ),
    "law-woodgrove": Collection(
        "woodgrove", (("wg-dc-01", "Windows"), ("wg-core-01", "Linux")), ("dce-woodgrove",),
        retention={"SecurityEvent": (365, 2556), "SigninLogs": (365, 730)},
        tables=(CustomTable("SwiftAudit_CL", "TimeGenerated:dateTime MessageType Sender Receiver Amount:real Currency "
                            "Operator Result", "SWIFT gateway operator audit.", retention=365, total=2556,
                            raw_columns="TimeGenerated:datetime MessageType Sender Receiver Amount:real Currency "
                            "Operator Result"),),
    ),
}

SECURITY_EVENT_XPATH = ("Security!*[System[(EventID=4624 or EventID=4625 or EventID=4648 or EventID=4688 or "
                        "EventID=4720 or EventID=4728 or EventID=4732 or EventID=4756 or EventID=1102)]]")

# -- helpers -------------------------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _cols(spec: str) -> list[tuple[str, str]]:
    out = []
    for item in spec.split():
        name, _, typ = item.partition(":")
        out.append((name, typ or "string"))
    return out


class _Seeder:
    """One workspace's seeding, sharing ids, timestamps and the creator's identity."""

    def __init__(self, store: Store, plan: ScenarioPlan, wp: WorkspacePlan, rng: random.Random) -> None:
        self.store, self.wp, self.rng = store, wp, rng
        self.tp = plan.tenant(wp.tenant)
        self.rg_id = f"/subscriptions/{self.tp.subscription_id}/resourceGroups/{wp.resource_group}"
        self.workspace = store.get(f"{self.rg_id}/providers/Microsoft.OperationalInsights/workspaces/{wp.name}")
        self.collection = COLLECTIONS.get(wp.name)
        self.creator = f"{self.tp.analysts[0]}@{self.tp.domain}" if self.tp.analysts else "admin@" + self.tp.domain

    def when(self, days_ago: float) -> str:
        return _ts(self.store.now - timedelta(days=days_ago))

    def system_data(self, days_ago: float) -> dict[str, str]:
        at = self.when(days_ago)
        return {"createdBy": self.creator, "createdByType": "User", "createdAt": at,
                "lastModifiedBy": self.creator, "lastModifiedByType": "User", "lastModifiedAt": at}

    def put(self, resource: Resource, days_ago: float, etag: bool = True) -> Resource:
        if etag:
            resource["etag"] = new_etag()
        resource["systemData"] = self.system_data(days_ago)
        return self.store.put(resource)

    # -- Log Analytics ---------------------------------------------------------------------------------
    def tables(self) -> None:
        assert self.workspace is not None
        overrides = dict(SENTINEL_RETENTION) if self.wp.sentinel else {}
        overrides.update(self.collection.retention if self.collection else {})
        created = self.when(400)
        for table in tables_for(self.wp.sentinel):
            retention, total = overrides.get(table.name, (None, None))
            self.store.put(system_table_resource(self.workspace, table, retention=retention, total=total,
                                                 modified=created))
        for ct in self.collection.tables if self.collection else ():
            columns = [column(n, t) for n, t in _cols(ct.columns)]
            resource = custom_table_resource(self.workspace, ct.name, columns, plan=ct.plan, retention=ct.retention,
                                             total=ct.total, description=ct.description, sub_type=ct.sub_type,
                                             modified=self.when(self.rng.randint(30, 200)))
            self.put(resource, self.rng.randint(200, 380), etag=False)

    def saved_searches(self) -> None:
        assert self.workspace is not None
        base = f"{self.workspace['id']}/savedSearches"
        searches: list[tuple[str, dict[str, Any]]] = [
            ("sentinelkit-failed-signins", {
                "category": "Security", "displayName": "Failed sign-ins by user", "functionAlias": "FailedSignins",
                "functionParameters": "lookback:timespan = 1d",
                "query": "SigninLogs\n| where TimeGenerated > ago(lookback)\n| where ResultType != \"0\"\n"
                         "| summarize Failures = count() by UserPrincipalName, IPAddress\n| order by Failures desc"}),
            ("sentinelkit-heartbeat-gaps", {
                "category": "Agent health", "displayName": "Agents without a recent heartbeat",
                "functionAlias": "HeartbeatGaps", "functionParameters": "threshold:timespan = 1h",
                "query": "Heartbeat\n| summarize LastHeartbeat = max(TimeGenerated) by Computer\n"
                         "| where LastHeartbeat < ago(threshold)"}),
            ("sentinelkit-ingestion-by-table", {
                "category": "Log Management", "displayName": "Ingestion by table (last 24 hours)",
                "query": "Usage\n| where TimeGenerated > ago(24h)\n| where IsBillable == true\n"
                         "| summarize IngestedMB = sum(Quantity) by DataType\n| order by IngestedMB desc"}),
        ]
        for ct in self.collection.tables if self.collection else ():
            alias = ct.name[: -len("_CL")]
            searches.append((f"parser-{alias.lower()}", {
                "category": "Parsers", "displayName": f"{alias} parser", "functionAlias": alias,
                "query": f"{ct.name}\n| project-away TenantId"}))
        if self.wp.sentinel:
            searches.append((stable_id("hunting", self.wp.name, "rare-process"), {
                "category": "Hunting Queries", "displayName": "Rare processes on domain controllers",
                "query": "SecurityEvent\n| where TimeGenerated > ago(7d) and EventID == 4688\n"
                         "| summarize Count = count(), Hosts = dcount(Computer) by NewProcessName\n| where Count < 3",
                "tags": [{"name": "tactics", "value": "Execution,Persistence"},
                         {"name": "description", "value": "Processes seen fewer than three times in a week."}]}))
            searches.append((stable_id("hunting", self.wp.name, "signin-new-country"), {
                "category": "Hunting Queries", "displayName": "Sign-ins from a new country",
                "query": "let known = SigninLogs | where TimeGenerated between (ago(30d) .. ago(1d))\n"
                         "| distinct UserPrincipalName, Location;\nSigninLogs\n| where TimeGenerated > ago(1d)\n"
                         "| join kind=leftanti known on UserPrincipalName, Location",
                "tags": [{"name": "tactics", "value": "InitialAccess"}]}))
        for i, (search_id, props) in enumerate(searches):
            props.setdefault("version", 2)
            days = 300 - i * 20
            stamp = self.when(days).replace(":", "%3A")
            self.store.put({"id": f"{base}/{search_id}", "name": search_id,
                            "type": "Microsoft.OperationalInsights/savedSearches",
                            "etag": f"W/\"datetime'{stamp}'\"", "properties": props})

    # -- workbooks ----------------------------------------------------------------------------------------
    def workbooks(self) -> None:
        assert self.workspace is not None
        if not self.wp.sentinel:
            return
        templates = [("Data collection health monitoring", "sentinel-DataCollectionHealthMonitoring",
                      "Usage | where TimeGenerated > ago(7d) | summarize MB = sum(Quantity) by DataType, "
                      "bin(TimeGenerated, 1d)"),
                     ("Azure Activity", "sentinel-AzureActivity",
                      "AzureActivity | summarize count() by OperationNameValue, ActivityStatusValue"),
                     ("Identity & Access", "sentinel-IdentityAndAccess",
                      "SigninLogs | summarize Failures = countif(ResultType != '0') by AppDisplayName"),
                     ("Security Operations Efficiency", "sentinel-SecurityOperationsEfficiency",
                      "SecurityIncident | summarize arg_max(TimeGenerated, *) by IncidentNumber "
                      "| summarize count() by Status, Severity")]
        count = {"law-contoso-soc": 4, "law-fabrikam-prod": 3}.get(self.wp.name, 2)
        for title, template_id, query in templates[:count]:
            name = stable_id("workbook", self.wp.name, title)
            days = self.rng.randint(20, 300)
            data = {"version": "Notebook/1.0", "items": [
                {"type": 1, "content": {"json": f"## {title}"}, "name": "text - 0"},
                {"type": 3, "content": {"version": "KqlItem/1.0", "query": query, "size": 0,
                                        "timeContext": {"durationMs": 604800000}, "queryType": 0,
                                        "resourceType": "microsoft.operationalinsights/workspaces"},
                 "name": "query - 1"}],
                "fallbackResourceIds": [self.workspace["id"]], "fromTemplateId": template_id}
            props = {"displayName": title, "serializedData": json.dumps(data), "version": "Notebook/1.0",
                     "category": "sentinel", "sourceId": self.workspace["id"], "tags": [],
                     "timeModified": self.when(days), "userId": stable_id("user", self.creator),
                     "revision": stable_id("revision", name).replace("-", "")}
            wb = self.put({"id": f"{self.rg_id}/providers/Microsoft.Insights/workbooks/{name}", "name": name,
                           "type": WORKBOOK_TYPE, "location": self.wp.location, "kind": "shared",
                           "tags": {"hidden-title": title}, "properties": props}, days)
            rev = props["revision"]
            self.store.put({**{k: v for k, v in wb.items() if k != "etag"},
                            "id": f"{wb['id']}/revisions/{rev}", "name": rev, "type": REVISION_TYPE})

    # -- data collection ----------------------------------------------------------------------------------
    def data_collection(self) -> None:
        c = self.collection
        if c is None or self.workspace is None:
            return
        provider = f"{self.rg_id}/providers/Microsoft.Insights"
        for dce in c.dces + c.unused_dces:
            self._dce(provider, dce)
        dce_id = f"{provider}/dataCollectionEndpoints/{c.dces[0]}" if c.dces else None
        windows = [vm for vm, os in c.vms if os == "Windows"]
        linux = [vm for vm, os in c.vms if os == "Linux"]
        dest = self.wp.name.replace("-", "")
        la = {"logAnalytics": [{"workspaceResourceId": self.workspace["id"], "name": dest}]}
        if c.windows_security and windows:
            rule = self._dcr(provider, f"dcr-{c.short}-windows-security", "Windows", la, {
                "windowsEventLogs": [{"name": "eventLogsDataSource", "streams": ["Microsoft-SecurityEvent"],
                                      "xPathQueries": [SECURITY_EVENT_XPATH]}]},
                [{"streams": ["Microsoft-SecurityEvent"], "destinations": [dest]}],
                "Windows security events for Microsoft Sentinel (common set).")
            self._associate(rule, windows)
        if c.unused_windows_dcr:
            self._dcr(provider, c.unused_windows_dcr, "Windows", la, {
                "windowsEventLogs": [{"name": "appSystemEvents", "streams": ["Microsoft-Event"],
                                      "xPathQueries": ["Application!*[System[(Level=1 or Level=2)]]",
                                                       "System!*[System[(Level=1 or Level=2)]]"]}]},
                [{"streams": ["Microsoft-Event"], "destinations": [dest]}],
                "Application and System errors from Windows servers (never assigned).")
        if c.linux_syslog and linux:
            sources = [{"name": "sysLogsDataSource", "streams": ["Microsoft-Syslog"],
                        "facilityNames": ["auth", "authpriv", "daemon", "kern", "syslog"],
                        "logLevels": ["Warning", "Error", "Critical", "Alert", "Emergency"]}]
            flows: list[dict[str, Any]] = [{"streams": ["Microsoft-Syslog"], "destinations": [dest]}]
            if c.cef:
                sources.append({"name": "cefDataSource", "streams": ["Microsoft-CommonSecurityLog"],
                                "facilityNames": ["local4"], "logLevels": ["*"]})
                flows.append({"streams": ["Microsoft-CommonSecurityLog"], "destinations": [dest]})
            if self.wp.name == "law-fabrikam-ops":
                sources = sources[:1]
            name = "dcr-tailspin-syslog" if self.wp.name == "law-tailspin" else f"dcr-{c.short}-linux-syslog"
            rule = self._dcr(provider, name, "Linux", la, {"syslog": sources}, flows,
                             "Syslog from Linux servers.", dce_id=dce_id)
            self._associate(rule, linux)
            if dce_id:
                for vm in linux:
                    self._associate_endpoint(dce_id, vm)
        ingest = [t for t in c.tables if t.raw_columns]
        if ingest:
            declarations = {f"Custom-{t.name[:-3]}Raw": {"columns": [{"name": n, "type": ty}
                                                                    for n, ty in _cols(t.raw_columns)]}
                            for t in ingest}
            flows = [
                {"streams": [f"Custom-{t.name[:-3]}Raw"], "destinations": [dest], "transformKql": t.transform,
                 "outputStream": f"Custom-{t.name}"} for t in ingest]
            self._dcr(provider, f"dcr-{c.short}-logs-ingestion", "Direct", la, None, flows,
                      "Logs Ingestion API: custom application logs.", declarations=declarations)

    def _dce(self, provider: str, name: str) -> None:
        immutable = "dce-" + stable_id("dce", name).replace("-", "")
        host = f"{name}-{immutable[-4:]}.{self.wp.location}-1"
        self.put({"id": f"{provider}/dataCollectionEndpoints/{name}", "name": name,
                  "type": "Microsoft.Insights/dataCollectionEndpoints", "location": self.wp.location, "tags": {},
                  "properties": {
                      "description": "Legacy endpoint from the MMA migration." if "legacy" in name else
                      "Endpoint for agents and custom logs.",
                      "immutableId": immutable,
                      "configurationAccess": {"endpoint": f"https://{host}.handler.control.monitor.azure.com"},
                      "logsIngestion": {"endpoint": f"https://{host}.ingest.monitor.azure.com"},
                      "metricsIngestion": {"endpoint": f"https://{host}.metrics.ingest.monitor.azure.com"},
                      "networkAcls": {"publicNetworkAccess": "Enabled"},
                      "provisioningState": "Succeeded"}}, self.rng.randint(120, 500))

    def _dcr(self, provider: str, name: str, kind: str, destinations: dict[str, Any], sources: dict[str, Any] | None,
             flows: list[dict[str, Any]], description: str, *, dce_id: str | None = None,
             declarations: dict[str, Any] | None = None) -> Resource:
        props: dict[str, Any] = {"description": description}
        if dce_id:
            props["dataCollectionEndpointId"] = dce_id
        if declarations:
            props["streamDeclarations"] = declarations
        props["dataSources"] = sources or {}
        props["destinations"] = json.loads(json.dumps(destinations))
        props["dataFlows"] = flows
        check_rule(self.store, props, kind, self.wp.location)
        immutable = "dcr-" + stable_id("dcr", name).replace("-", "")
        out = {"immutableId": immutable, **props, "provisioningState": "Succeeded"}
        if kind == "Direct":
            host = f"{name}-{immutable[-4:]}.{self.wp.location}-1"
            out["endpoints"] = {"logsIngestion": f"https://{host}.ingest.monitor.azure.com",
                                "metricsIngestion": f"https://{host}.metrics.ingest.monitor.azure.com"}
        return self.put({"id": f"{provider}/dataCollectionRules/{name}", "name": name,
                         "type": "Microsoft.Insights/dataCollectionRules", "location": self.wp.location,
                         "kind": kind, "tags": {}, "properties": out}, self.rng.randint(60, 400))

    def vm_id(self, vm: str) -> str:
        return f"{self.rg_id}/providers/Microsoft.Compute/virtualMachines/{vm}"

    def _associate(self, rule: Resource, vms: list[str]) -> None:
        for vm in vms:
            name = f"{rule['name']}-association"
            self.put({"id": f"{self.vm_id(vm)}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}",
                      "name": name, "type": "Microsoft.Insights/dataCollectionRuleAssociations",
                      "properties": {"dataCollectionRuleId": rule["id"], "provisioningState": "Succeeded"}},
                     self.rng.randint(30, 300))

    def _associate_endpoint(self, dce_id: str, vm: str) -> None:
        name = "configurationAccessEndpoint"
        self.put({"id": f"{self.vm_id(vm)}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}",
                  "name": name, "type": "Microsoft.Insights/dataCollectionRuleAssociations",
                  "properties": {"dataCollectionEndpointId": dce_id, "provisioningState": "Succeeded"}},
                 self.rng.randint(30, 300))


def seed_monitor(store: Store, plan: ScenarioPlan, rng: random.Random) -> None:
    """Tables, saved searches, workbooks, DCEs, DCRs and DCR associations for every planned workspace."""
    for wp in plan.workspaces:
        seeder = _Seeder(store, plan, wp, rng)
        if seeder.workspace is None:
            continue
        seeder.tables()
        seeder.saved_searches()
        if wp.light:  # seeded at its first use: nothing beside it in its resource group (see WorkspacePlan)
            continue
        seeder.workbooks()
        seeder.data_collection()
