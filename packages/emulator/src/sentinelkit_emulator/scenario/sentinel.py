"""Seeds Microsoft Sentinel in every workspace the plan marks ``sentinel=True``: onboarding, analytics
rules, data connectors, automation rules, watchlists, and 30 days of incidents with their alerts,
entities and comments; plus the Sentinel problems that SCENARIO.md plants. Every value goes through
the same validators as the API, so seeded resources are ones a client could have written. The
SecurityIncident/SecurityAlert rows that describe them are written later by ``scenario/logs.py``
(with this package's ``incident_log_row``), like every other log row.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..arm.resources.la_catalog import AWS_CLOUDTRAIL, DEFENDER_XDR, DNS, UEBA
from ..arm.resources.sentinel_automation import AUTOMATION_TYPE, normalize_automation_rule
from ..arm.resources.sentinel_catalog import BUILTIN_FUSION_RULE, TEMPLATES_BY_NAME
from ..arm.resources.sentinel_common import PORTAL, iso, sentinel_prefix
from ..arm.resources.sentinel_connectors import CONNECTOR_TYPE, normalize_connector
from ..arm.resources.sentinel_entities import ENTITY_TYPE, RELATION_TYPE, entity_id, relation_body
from ..arm.resources.sentinel_incidents import INCIDENT_TYPE, PROVIDER_NAME, incident_counter, normalize_incident
from ..arm.resources.sentinel_onboarding import onboarding_resource
from ..arm.resources.sentinel_rules import RULE_TYPE, install_defaults, normalize_rule
from ..arm.resources.sentinel_watchlists import WATCHLIST_TYPE, item_resource, log_watchlist, normalize_watchlist
from ..model import User
from ..store import Resource, Store
from .plan import ScenarioPlan, WorkspacePlan, stable_id

# -- planted names (SCENARIO.md) ------------------------------------------------------------------
FAILING_RULE = "Suspicious PowerShell download cradle"
USER_DISABLED_RULES = ("Rare RDP connections", "Mass download from SharePoint")
AUTO_DISABLED_RULE = "Brute force against Azure Portal"
AUTO_DISABLED_PREFIX = "AUTO DISABLED "
FAILING_AUTOMATION = "Notify SOC on high severity"
#: ages (hours) of the High incidents that trigger the failing automation rule in its workspace
FRESH_HIGH_HOURS = (3.0, 9.0)
NEAR_EXPIRY_WATCHLIST = "VIPUsers"
BACKLOG_COUNT = 12
BACKLOG_AGE_DAYS = (8.0, 25.0)
#: healthy rule: no High/New/unassigned incident older than this, except the planted backlog
BACKLOG_THRESHOLD = timedelta(days=7)
USER_DISABLED_AGO = timedelta(days=10)
AUTO_DISABLED_AGO = timedelta(days=2)
WATCHLIST_DURATION, WATCHLIST_CREATED_AGO = "P30D", timedelta(days=27)

CUSTOMER_DOMAINS = {"contoso-mssp": "contoso.com", "fabrikam": "fabrikam.com", "northwind": "northwindtraders.com",
                    "tailspin": "tailspintoys.com", "woodgrove": "woodgrovebank.com"}
#: servers (the VMs of SCENARIO.md, so that alerts name machines that send Heartbeats) + workstation prefix
HOSTS = {
    "contoso-mssp": (("cso-jump-01", "cso-syslog-01"), "cso"),
    "fabrikam": (("fab-dc-01", "fab-dc-02", "fab-web-01", "fab-web-02"), "fab"),
    "northwind": (("nw-dc-01", "nw-dc-02", "nw-fs-01", "nw-lnx-01"), "nw"),
    "tailspin": (("ts-app-01", "ts-web-01", "ts-web-02"), "ts"),
    "woodgrove": (("wg-dc-01", "wg-core-01"), "wg"),
}
#: Data sources beyond the connectors every Sentinel workspace has: Defender XDR and AWS CloudTrail are data
#: connectors; Windows DNS server logs (agent) and UEBA (a Sentinel setting) have no connector resource.
#: Each brings its tables (``la_catalog``); ``scenario/connector_logs.py`` seeds their rows.
DATA_SOURCES: dict[str, tuple[str, ...]] = {
    "law-fabrikam-prod": (DEFENDER_XDR, AWS_CLOUDTRAIL, DNS, UEBA),
    "law-contoso-soc": (DEFENDER_XDR, UEBA),
}
LINUX_HOSTS = frozenset({"cso-syslog-01", "fab-web-01", "fab-web-02", "nw-lnx-01", "ts-web-01", "ts-web-02",
                         "wg-core-01"})

# Rule catalog: template name -> (rule display name, or None to keep it). Custom rules follow.
TEMPLATE_RULES = {
    "Brute force attack against Azure Portal": AUTO_DISABLED_RULE,
    "Rare RDP connections": None,
    "Mass download from SharePoint": None,
    "Suspicious PowerShell download cradle": None,
    "Password spray attack against Microsoft Entra ID application": None,
    "Sign-ins from IPs that attempt sign-ins to disabled accounts": None,
    "Rare and potentially high-risk Office operations": None,
    "New user created and added to the built-in administrators group": None,
    "Suspicious number of resource creation or deployment activities": None,
    "SSH brute force attempts": None,
    "TI map IP entity to SigninLogs": None,
    "NRT Security event log cleared": None,
    "NRT Malicious inbox rule": None,
}
CUSTOM_RULES: list[dict[str, Any]] = [
    {"kind": "Scheduled", "displayName": "Excessive failed VPN logins", "severity": "Medium",
     "tactics": ["CredentialAccess"], "techniques": ["T1110"], "queryFrequency": "PT30M", "queryPeriod": "PT1H",
     "query": "CommonSecurityLog\n| where DeviceVendor == \"Fortinet\" and Activity has \"ssl-login-fail\"\n"
              "| summarize Failures = count() by SourceUserName, SourceIP\n| where Failures > 20"},
    {"kind": "Scheduled", "displayName": "Service principal credentials added", "severity": "Medium",
     "tactics": ["Persistence"], "techniques": ["T1098"], "queryFrequency": "PT1H", "queryPeriod": "PT1H",
     "query": "AuditLogs\n| where OperationName has \"Add service principal credentials\"\n"
              "| extend Actor = tostring(InitiatedBy.user.userPrincipalName)"},
    {"kind": "Scheduled", "displayName": "Mass file deletion on file servers", "severity": "High",
     "tactics": ["Impact"], "techniques": ["T1485"], "queryFrequency": "PT15M", "queryPeriod": "PT15M",
     "query": "SecurityEvent\n| where EventID == 4663 and AccessMask == \"0x10000\"\n"
              "| summarize Deleted = count() by Account, Computer, bin(TimeGenerated, 5m)\n| where Deleted > 500"},
    {"kind": "Scheduled", "displayName": "Key Vault secrets accessed by unusual identity", "severity": "Low",
     "tactics": ["CredentialAccess"], "techniques": ["T1555"], "queryFrequency": "P1D", "queryPeriod": "P14D",
     "query": "AzureDiagnostics\n| where ResourceType == \"VAULTS\" and OperationName == \"SecretGet\"\n"
              "| summarize by identity_claim_upn_s, CallerIPAddress"},
    {"kind": "NRT", "displayName": "Privileged role assigned outside PIM", "severity": "High",
     "tactics": ["PrivilegeEscalation"], "techniques": ["T1078"],
     "query": "AuditLogs\n| where OperationName == \"Add member to role\"\n"
              "| where InitiatedBy !has \"MS-PIM\""},
]
MSIC_RULES = {  # productFilter -> (template name, connector kind, alerts: (name, severity, alertType))
    "Azure Security Center": ("Create incidents based on Microsoft Defender for Cloud alerts", "AzureSecurityCenter", [
        ("Suspicious process executed", "High", "VM_SuspiciousProcess"),
        ("Traffic detected from IP addresses recommended for blocking", "Low", "Network_TrafficFromUnrecommendedIP"),
        ("Antimalware action failed", "Medium", "VM_AmActionFailed")]),
    "Azure Active Directory Identity Protection": (
        "Create incidents based on Microsoft Entra ID Protection alerts", "AzureActiveDirectory", [
            ("Anonymous IP address", "Medium", "AnonymousLogin"), ("Unfamiliar sign-in properties", "Low",
                                                                    "UnfamiliarLocation"),
            ("Atypical travel", "Medium", "ImpossibleTravel"), ("Leaked credentials", "High", "LeakedCredentials")]),
    "Microsoft Cloud App Security": ("Create incidents based on Microsoft Defender for Cloud Apps alerts",
                                     "MicrosoftCloudAppSecurity", [
        ("Impossible travel activity", "Medium", "MCAS_ALERT_ANUBIS_DETECTION_IMPOSSIBLE_TRAVEL"),
        ("Mass download by a single user", "Medium", "MCAS_ALERT_ANUBIS_DETECTION_MASS_DOWNLOAD"),
        ("Activity from infrequent country", "Informational", "MCAS_ALERT_ANUBIS_DETECTION_RARE_COUNTRY")]),
}
FUSION_TITLES = (
    "Possible multistage attack activities detected by Fusion",
    "Suspicious sign-in followed by anomalous mass file download",
    "Possible ransomware activity: suspicious process followed by mass file deletion",
)
LABELS = ("Phishing", "VIP", "Escalated to customer", "Needs tuning", "Known scanner")
TRIAGE_COMMENTS = (
    "Triage started. Reviewing the sign-in logs for the account.",
    "Contacted the customer's IT team to confirm whether this activity is expected.",
    "Host isolated through Defender for Endpoint pending investigation.",
    "Escalated to tier 2 for deeper analysis.",
    "Correlated with two earlier alerts for the same account; monitoring.",
)
CLOSING_COMMENTS = {
    "TruePositive": ("Confirmed malicious. Account disabled, password reset, customer notified.",
                     "Malware removed and host re-imaged; IOCs added to the block list."),
    "BenignPositive": ("Administrative activity confirmed by the customer; expected.",
                       "Customer-scheduled penetration test; closing."),
    "FalsePositive": ("Known vulnerability scanner. Closing as false positive.",
                      "Rule threshold too low for this tenant; tuning ticket raised."),
    "Undetermined": ("Not enough telemetry to conclude; closing after 7 days without recurrence.",),
}
CLASSIFICATION_MIX = (("FalsePositive", 40), ("BenignPositive", 33), ("TruePositive", 20), ("Undetermined", 7))
REASONS = {"TruePositive": ("SuspiciousActivity",), "BenignPositive": ("SuspiciousButExpected",),
           "FalsePositive": ("IncorrectAlertLogic", "InaccurateData"), "Undetermined": (None,)}
WATCHLISTS: dict[str, tuple[str, str, tuple[str, ...], list[tuple[str, ...]]]] = {
    # alias -> (display name, search key, columns, rows)
    NEAR_EXPIRY_WATCHLIST: ("VIP users", "UserPrincipalName", ("UserPrincipalName", "Title", "Department"), [
        ("ceo", "Chief Executive Officer", "Executive"), ("cfo", "Chief Financial Officer", "Finance"),
        ("ciso", "Chief Information Security Officer", "Security"), ("coo", "Chief Operating Officer", "Operations"),
        ("head.legal", "General Counsel", "Legal"), ("pa.ceo", "Executive Assistant", "Executive")]),
    "HighValueAssets": ("High value assets", "Hostname", ("Hostname", "Owner", "Tier"), [
        ("DC-01", "Infrastructure", "0"), ("DC-02", "Infrastructure", "0"), ("SQL-FIN-01", "Finance", "1"),
        ("FS-01", "IT", "1"), ("PKI-01", "Security", "0")]),
    "TerminatedEmployees": ("Terminated employees", "UserPrincipalName", ("UserPrincipalName", "TerminationDate"), [
        ("m.jones", "-12"), ("r.patel", "-40"), ("s.nguyen", "-3"), ("k.brown", "-75")]),
    "CorporateIPRanges": ("Corporate IP ranges", "IPSubnet", ("IPSubnet", "Location"), [
        ("10.10.0.0/16", "Head office"), ("10.20.0.0/16", "Branch"), ("198.51.100.0/24", "VPN egress"),
        ("203.0.113.0/25", "Datacenter")]),
}
ACCOUNT_NAMES = ("j.smith", "a.garcia", "m.chen", "l.williams", "svc-backup", "admin.ops", "p.kowalski", "e.martin")
PUBLIC_IPS = (("185.220.101.34", "DE", "Germany"), ("45.141.84.120", "RU", "Russia"), ("103.75.190.11", "SG", "Singapore"),
              ("198.51.100.23", "US", "United States"), ("91.219.236.18", "NL", "Netherlands"),
              ("203.0.113.77", "US", "United States"), ("41.216.188.5", "NG", "Nigeria"),
              ("5.188.86.172", "RU", "Russia"), ("102.129.143.9", "ZA", "South Africa"), ("20.61.14.3", "IE", "Ireland"))
URLS = ("http://login-micros0ft-online.com/owa", "https://sharepoint-docs.co/invoice.html",
        "http://cdn-update.net/ps/stage2.ps1", "https://bit.ly/3xK9aQz", "http://185.220.101.34/drop.bin")
FILES = (("invoice_2291.js", "C:\\Users\\Public\\Downloads"), ("stage2.ps1", "C:\\Windows\\Temp"),
         ("mimikatz.exe", "C:\\ProgramData"), ("payroll_q3.xlsm", "C:\\Users\\Public\\Documents"),
         ("svch0st.exe", "C:\\Windows\\Temp"))


def _etag(rng: random.Random) -> str:
    return f'"{uuid.UUID(int=rng.getrandbits(128), version=4)}"'


def _system_data(who: str, created: datetime, modified: datetime) -> dict[str, Any]:
    return {"createdBy": who, "createdByType": "User", "createdAt": iso(created), "lastModifiedBy": who,
            "lastModifiedByType": "User", "lastModifiedAt": iso(modified)}


@dataclass
class _Rule:
    id: str
    name: str  # display name
    kind: str
    severity: str
    tactics: list[str]
    mappings: list[str]  # entity types its alerts carry
    enabled_until: datetime | None  # disabled at this time (None: still enabled)
    quiet_after: datetime | None = None  # produces no incidents after this (failing rule)
    product: str = "Azure Sentinel"
    weight: float = 1.0


@dataclass
class _Incident:
    id: str
    created: datetime
    rule: _Rule
    title: str
    severity: str
    status: str = "New"
    owner: User | None = None
    classification: str | None = None
    reason: str | None = None
    modified: datetime | None = None
    labels: list[str] = field(default_factory=list)
    alert_names: list[tuple[str, str, str]] = field(default_factory=list)  # (name, severity, alertType)


class _WorkspaceSeeder:
    """Seeds one workspace; every random choice comes from the scenario's rng, in a fixed order."""

    def __init__(self, store: Store, plan: ScenarioPlan, wp: WorkspacePlan, rng: random.Random,
                 analysts: list[User]) -> None:
        self.store, self.plan, self.wp, self.rng = store, plan, wp, rng
        self.now = store.now
        self.tenant = plan.tenant(wp.tenant)
        self.sub = self.tenant.subscription_id
        self.ws_id = (f"/subscriptions/{self.sub}/resourceGroups/{wp.resource_group}"
                      f"/providers/Microsoft.OperationalInsights/workspaces/{wp.name}")
        workspace = store.get(self.ws_id)
        if workspace is None:
            raise ValueError(f"seed_sentinel: workspace {self.ws_id} is missing (the topology seeder makes it)")
        self.workspace = workspace
        self.customer_id = workspace["properties"]["customerId"]
        self.si = sentinel_prefix(self.ws_id)
        self.domain = CUSTOMER_DOMAINS.get(wp.tenant, f"{wp.tenant}.com")
        local = [u for u in store.world.users if u.tenant_id == self.tenant.id and u not in analysts]
        self.owners = analysts + local
        self.owner_weights = [0.4, 0.25, 0.35][: len(analysts)] + [0.1] * len(local)
        self.admin = analysts[1] if len(analysts) > 1 else (analysts or local)[0]
        self.problems = set(wp.problems)
        self.rules: list[_Rule] = []
        self.entities: dict[str, list[Resource]] = {}

    # -- helpers -----------------------------------------------------------------------------------
    def _put(self, resource: Resource, created: datetime, modified: datetime | None = None, *,
             etag: bool = True, who: str | None = None) -> Resource:
        if etag:
            resource["etag"] = _etag(self.rng)
        resource["systemData"] = _system_data(who or self.admin.user_principal_name, created, modified or created)
        return self.store.put(resource)

    def _ago(self, low_days: float, high_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(low_days, high_days))

    def run(self) -> None:
        onboarded = self.now - timedelta(days=400)
        self._put(onboarding_resource(self.ws_id), onboarded)
        install_defaults(self.store, self.ws_id, iso(onboarded), lambda: _etag(self.rng))
        connectors = self._connectors()
        self._rules(connectors)
        self._automation_rules()
        self._watchlists()
        self._entity_pools()
        self._incidents()

    # -- configuration -----------------------------------------------------------------------------
    def _connectors(self) -> list[str]:
        kinds = ["AzureActiveDirectory", "AzureSecurityCenter", "Office365", "ThreatIntelligence"]
        kinds += self.rng.sample(["MicrosoftDefenderAdvancedThreatProtection", "MicrosoftCloudAppSecurity"],
                                 self.rng.randint(0, 2))
        enabled = {"state": "Enabled"}
        for kind in kinds:
            if kind == "AzureSecurityCenter":
                props: dict[str, Any] = {"subscriptionId": self.sub, "dataTypes": {"alerts": dict(enabled)}}
            elif kind == "Office365":
                props = {"tenantId": self.tenant.id, "dataTypes": {
                    "exchange": dict(enabled), "sharePoint": dict(enabled), "teams": dict(enabled)}}
            elif kind == "ThreatIntelligence":
                props = {"tenantId": self.tenant.id, "tipLookbackPeriod": iso(self.now - timedelta(days=400)),
                         "dataTypes": {"indicators": dict(enabled)}}
            else:
                props = {"tenantId": self.tenant.id, "dataTypes": {"alerts": dict(enabled)}}
            connector_id = stable_id("dataConnector", self.wp.name, kind)
            self._put({"id": f"{self.si}/dataConnectors/{connector_id}", "name": connector_id, "type": CONNECTOR_TYPE,
                       "kind": kind, "properties": normalize_connector(kind, props, self.tenant.id)},
                      self.now - timedelta(days=390))
        self._source_connectors()
        return kinds

    def _source_connectors(self) -> None:
        """The data connectors of ``DATA_SOURCES``, connected 200 days ago (no draw from the rng: adding one
        shifts no other seeded value)."""
        enabled = {"state": "Enabled"}
        for kind in DATA_SOURCES.get(self.wp.name, ()):
            if kind == DEFENDER_XDR:
                props: dict[str, Any] = {"tenantId": self.tenant.id, "dataTypes": {"incidents": dict(enabled)}}
            elif kind == AWS_CLOUDTRAIL:
                props = {"awsRoleArn": f"arn:aws:iam::{aws_account(self.wp.name)}:role/MicrosoftSentinelRole",
                         "dataTypes": {"logs": dict(enabled)}}
            else:
                continue  # DNS and UEBA: no data connector resource
            connector_id = stable_id("dataConnector", self.wp.name, kind)
            resource = {"id": f"{self.si}/dataConnectors/{connector_id}", "name": connector_id, "type": CONNECTOR_TYPE,
                        "kind": kind, "properties": normalize_connector(kind, props, self.tenant.id),
                        "etag": f'"{stable_id("etag", connector_id)}"'}
            self._put(resource, self.now - timedelta(days=200), etag=False)

    def _rule_names(self) -> list[str]:
        required = set()
        if "rule_failing" in self.problems:
            required.add(FAILING_RULE)
        if "rules_disabled" in self.problems:
            required.update(USER_DISABLED_RULES)
        if "rule_auto_disabled" in self.problems:
            required.add("Brute force attack against Azure Portal")
        if self.wp.tenant == "tailspin":
            required.add("SSH brute force attempts")
        optional = [n for n in [*TEMPLATE_RULES, *(c["displayName"] for c in CUSTOM_RULES)] if n not in required]
        # a disabled-by-Sentinel rule exists only where it is planted
        if "rule_auto_disabled" not in self.problems:
            optional.remove("Brute force attack against Azure Portal")
        count = self.rng.randint(7, 13) - len(required)
        return sorted(required) + self.rng.sample(optional, max(0, count))

    def _rules(self, connectors: list[str]) -> None:
        created_base = self.now - timedelta(days=200)
        custom = {c["displayName"]: c for c in CUSTOM_RULES}
        for name in self._rule_names():
            template = TEMPLATES_BY_NAME.get(name)
            source = dict(template) if template else dict(custom[name])
            display = (TEMPLATE_RULES.get(name) or name) if template else name
            props: dict[str, Any] = {
                "displayName": display, "description": source.get("description", f"Custom detection: {display}."),
                "enabled": True, "query": source["query"], "severity": source["severity"],
                "tactics": source["tactics"], "techniques": source.get("techniques", []),
                "suppressionDuration": "PT5H", "suppressionEnabled": False,
                "entityMappings": source.get("entityMappings") or [
                    {"entityType": "Account", "fieldMappings": [{"identifier": "FullName", "columnName": "Account"}]}],
                "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
                    "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
                    "matchingMethod": "AllEntities"}},
            }
            if template:
                props.update({"alertRuleTemplateName": template["id"], "templateVersion": template["version"]})
            if source["kind"] == "Scheduled":
                props.update({"queryFrequency": source["queryFrequency"], "queryPeriod": source["queryPeriod"],
                              "triggerOperator": "GreaterThan", "triggerThreshold": 0})
            enabled_until = quiet_after = None
            modified = created_base + timedelta(days=self.rng.uniform(0, 60))
            if name in USER_DISABLED_RULES and "rules_disabled" in self.problems:
                enabled_until = modified = self.now - USER_DISABLED_AGO
            if display == AUTO_DISABLED_RULE:
                enabled_until = modified = self.now - AUTO_DISABLED_AGO
                props["displayName"] = AUTO_DISABLED_PREFIX + display
                props["description"] = ("The alert rule was disabled due to too many consecutive failures. Reason: "
                                        "The query failed to run: the table 'SigninLogs' could not be resolved. "
                                        + props["description"])
            if name == FAILING_RULE and "rule_failing" in self.problems:
                quiet_after = self.now - timedelta(days=1)
            props["enabled"] = enabled_until is None
            rule_id = stable_id("alertRule", self.wp.name, display)
            stored = normalize_rule(source["kind"], props)
            stored["lastModifiedUtc"] = iso(modified)
            self._put({"id": f"{self.si}/alertRules/{rule_id}", "name": rule_id, "type": RULE_TYPE,
                       "kind": source["kind"], "properties": stored}, created_base, modified)
            mappings = [m["entityType"] for m in props["entityMappings"]]
            self.rules.append(_Rule(rule_id, display, source["kind"], source["severity"], list(source["tactics"]),
                                    mappings, enabled_until, quiet_after))
        fusion = self.store.get(f"{self.si}/alertRules/{BUILTIN_FUSION_RULE}")
        assert fusion is not None
        self.rules.append(_Rule(BUILTIN_FUSION_RULE, "Advanced Multistage Attack Detection", "Fusion", "High",
                                fusion["properties"]["tactics"][:3], ["Account", "Host", "IP"], None, weight=0.25))
        for product, (template_name, connector, _) in MSIC_RULES.items():
            if connector not in connectors:
                continue
            template = TEMPLATES_BY_NAME[template_name]
            rule_id = stable_id("alertRule", self.wp.name, template_name)
            props = {"displayName": template_name, "description": template["description"], "enabled": True,
                     "productFilter": product, "alertRuleTemplateName": template["id"]}
            stored = normalize_rule("MicrosoftSecurityIncidentCreation", props)
            stored["lastModifiedUtc"] = iso(created_base)
            self._put({"id": f"{self.si}/alertRules/{rule_id}", "name": rule_id, "type": RULE_TYPE,
                       "kind": "MicrosoftSecurityIncidentCreation", "properties": stored}, created_base)
            self.rules.append(_Rule(rule_id, template_name, "MicrosoftSecurityIncidentCreation", "Medium", [],
                                    ["Account", "Host", "IP"], None, product=product, weight=0.8))

    def _playbook(self, name: str) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.wp.resource_group}/providers/Microsoft.Logic/"
                f"workflows/{name}")

    def _automation_rules(self) -> None:
        tier1 = self.owners[2] if len(self.owners) > 2 else self.owners[0]
        inbox_rule = next((r.id for r in self.rules if r.name == "NRT Malicious inbox rule"), None)
        pool: dict[str, dict[str, Any]] = {
            FAILING_AUTOMATION: {
                "conditions": [_property("IncidentSeverity", "Equals", ["High"])],
                "actions": [{"order": 1, "actionType": "RunPlaybook", "actionConfiguration": {
                    "logicAppResourceId": self._playbook("Notify-SOC-Teams"), "tenantId": self.tenant.id}}]},
            "Assign phishing incidents to tier 1": {
                "conditions": [_property("IncidentTitle", "Contains", ["phish", "inbox rule"])],
                "actions": [{"order": 1, "actionType": "ModifyProperties", "actionConfiguration": {
                    "owner": {"objectId": tier1.object_id}, "status": "Active"}}]},
            "Add triage task to high severity incidents": {
                "conditions": [_property("IncidentSeverity", "Equals", ["High"])],
                "actions": [{"order": 1, "actionType": "AddIncidentTask", "actionConfiguration": {
                    "title": "Triage within 30 minutes",
                    "description": "Check the entities against the VIP and high value asset watchlists."}}]},
            "Close informational incidents from test hosts": {
                "conditions": [_property("IncidentSeverity", "Equals", ["Informational"]),
                               _property("HostName", "StartsWith", ["TEST-"])],
                "actions": [{"order": 1, "actionType": "ModifyProperties", "actionConfiguration": {
                    "status": "Closed", "classification": "BenignPositive",
                    "classificationReason": "SuspiciousButExpected",
                    "classificationComment": "Closed by automation: test host."}}]},
            "Tag incidents from Microsoft Defender for Cloud": {
                "conditions": [_property("AlertProductNames", "Contains", ["Azure Security Center"])],
                "actions": [{"order": 1, "actionType": "ModifyProperties", "actionConfiguration": {
                    "labels": [{"labelName": "Defender for Cloud"}]}}]},
        }
        if inbox_rule:
            pool["Assign phishing incidents to tier 1"]["conditions"].append(
                _property("IncidentRelatedAnalyticRuleIds", "Contains", [f"{self.si}/alertRules/{inbox_rule}"]))
        notify = "automation_failing" in self.problems or self.rng.random() < 0.5
        chosen = self.rng.sample(list(pool)[1:], self.rng.randint(1, 3) if notify else self.rng.randint(2, 3))
        if notify:
            chosen.insert(0, FAILING_AUTOMATION)
        created = self.now - timedelta(days=150)
        for order, name in enumerate(chosen, start=1):
            spec = pool[name]
            props = normalize_automation_rule({
                "displayName": name, "order": order,
                "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created",
                                    "conditions": spec["conditions"]},
                "actions": spec["actions"]}, self.store.world)
            who = {"objectId": self.admin.object_id, "email": self.admin.email, "name": self.admin.display_name,
                   "userPrincipalName": self.admin.user_principal_name}
            props.update({"createdTimeUtc": iso(created), "lastModifiedTimeUtc": iso(created), "createdBy": who,
                          "lastModifiedBy": who})
            rule_id = stable_id("automationRule", self.wp.name, name)
            self._put({"id": f"{self.si}/automationRules/{rule_id}", "name": rule_id, "type": AUTOMATION_TYPE,
                       "properties": props}, created)

    def _watchlists(self) -> None:
        others = [a for a in WATCHLISTS if a != NEAR_EXPIRY_WATCHLIST]
        aliases = self.rng.sample(list(WATCHLISTS), self.rng.randint(1, 3))
        if "watchlist_near_expiry" in self.problems:
            aliases = [NEAR_EXPIRY_WATCHLIST] + [a for a in aliases if a in others][:2]
        who = {"objectId": self.admin.object_id, "email": self.admin.email, "name": self.admin.display_name}
        for alias in aliases:
            display, key, columns, rows = WATCHLISTS[alias]
            planted = alias == NEAR_EXPIRY_WATCHLIST and "watchlist_near_expiry" in self.problems
            created = self.now - (WATCHLIST_CREATED_AGO if planted else timedelta(days=self.rng.uniform(40, 300)))
            props = normalize_watchlist({
                "displayName": display, "provider": "Microsoft", "source": f"{alias}.csv", "sourceType": "Local",
                "description": f"{display} maintained by the SOC", "itemsSearchKey": key, "contentType": "text/csv",
                "defaultDuration": WATCHLIST_DURATION if planted else None, "labels": ["SOC"]})
            stamp = iso(created)
            props.update({"watchlistId": stable_id("watchlist", self.wp.name, alias), "watchlistAlias": alias,
                          "watchlistType": "watchlist", "tenantId": self.tenant.id, "isDeleted": False,
                          "created": stamp, "updated": stamp, "createdBy": who, "updatedBy": who,
                          "uploadStatus": "Complete", "provisioningState": "Succeeded"})
            watchlist = self._put({"id": f"{self.si}/watchlists/{alias}", "name": alias, "type": WATCHLIST_TYPE,
                                   "properties": props}, created)
            items = []
            for row in rows:
                values = dict(zip(columns, row, strict=True))
                if key == "UserPrincipalName":
                    values[key] = f"{values[key]}@{self.domain}"
                item_id = stable_id("watchlistItem", self.wp.name, alias, row[0])
                item = item_resource(watchlist["id"], item_id, values, self.tenant.id, stamp, who)
                item["etag"] = _etag(self.rng)
                items.append(self.store.put(item))
            log_watchlist(self.store, watchlist, [None, *items], "Create", stamp)

    # -- incidents ---------------------------------------------------------------------------------
    def _entity(self, kind: str, key: str, props: dict[str, Any]) -> Resource:
        name = stable_id("entity", self.wp.name, kind, key)
        return self.store.put({"id": entity_id(self.si, name), "name": name, "type": ENTITY_TYPE, "kind": kind,
                               "properties": props})

    def _entity_pools(self) -> None:
        servers, prefix = HOSTS.get(self.wp.tenant, ((), self.wp.tenant[:3]))
        hosts = [*servers, *(f"{prefix}-ws-{100 + 17 * i:03d}" for i in range(1, 5))]
        self.entities = {
            "Account": [self._entity("Account", a, {
                "accountName": a, "upnSuffix": self.domain, "ntDomain": self.domain.split(".")[0].upper(),
                "aadTenantId": self.tenant.id, "aadUserId": stable_id("aaduser", self.wp.tenant, a),
                "displayName": a.replace(".", " ").title(), "isDomainJoined": True,
                "friendlyName": f"{a}@{self.domain}"}) for a in ACCOUNT_NAMES],
            "Host": [self._entity("Host", h, {
                "hostName": h, "netBiosName": h.upper(), "dnsDomain": f"corp.{self.domain}",
                "osFamily": "Linux" if h in LINUX_HOSTS else "Windows",
                "osVersion": "Ubuntu 22.04" if h in LINUX_HOSTS else "10.0.20348",
                "isDomainJoined": h not in LINUX_HOSTS, "friendlyName": h}) for h in hosts],
            "Ip": [self._entity("Ip", ip, {
                "address": ip, "friendlyName": ip,
                "location": {"countryCode": cc, "countryName": country}}) for ip, cc, country in PUBLIC_IPS],
            "Url": [self._entity("Url", u, {"url": u, "friendlyName": u}) for u in URLS],
            "File": [self._entity("File", f, {"fileName": f, "directory": d, "friendlyName": f}) for f, d in FILES],
        }

    def _pick_rule(self, when: datetime) -> _Rule:
        active = [r for r in self.rules
                  if (r.enabled_until is None or when < r.enabled_until) and (r.quiet_after is None or when < r.quiet_after)]
        return self.rng.choices(active, weights=[r.weight for r in active])[0]

    def _describe(self, rule: _Rule) -> tuple[str, str, list[tuple[str, str, str]]]:
        """(title, severity, alerts) an incident from ``rule`` gets."""
        if rule.kind == "Fusion":
            title = self.rng.choice(FUSION_TITLES)
            return title, "High", [(title, "High", "Fusion")] * self.rng.randint(2, 3)
        if rule.kind == "MicrosoftSecurityIncidentCreation":
            name, severity, alert_type = self.rng.choice(MSIC_RULES[rule.product][2])
            return name, severity, [(name, severity, alert_type)]
        alert_type = f"{self.customer_id}_{rule.id}"
        severity = rule.severity  # rules may raise or lower it per result (alertSeverityColumnName)
        if self.rng.random() < 0.3:
            severity = self.rng.choice(_NEIGHBOURS[severity])
        return rule.name, severity, [(rule.name, severity, alert_type)] * (1 + (self.rng.random() < 0.2))

    def _new_incident(self, index: int, created: datetime, rule: _Rule) -> _Incident:
        title, severity, alerts = self._describe(rule)
        return _Incident(stable_id("incident", self.wp.name, str(index)), created, rule, title, severity,
                         alert_names=alerts)

    def _evolve(self, inc: _Incident) -> None:
        """Status, owner, classification and labels for an incident of this age."""
        age = self.now - inc.created
        days = age.total_seconds() / 86400
        mix = (60, 30, 10) if days < 1 else (25, 35, 40) if days < 7 else (8, 17, 75)
        inc.status = self.rng.choices(("New", "Active", "Closed"), weights=mix)[0]
        if inc.status != "New" or self.rng.random() < 0.5:
            inc.owner = self.rng.choices(self.owners, weights=self.owner_weights)[0]
        if inc.status == "New" and inc.severity == "High" and age > BACKLOG_THRESHOLD and inc.owner is None:
            inc.owner = self.rng.choices(self.owners, weights=self.owner_weights)[0]  # keep healthy: no backlog
        span = min(age, timedelta(days=5))
        if inc.status == "Closed":
            inc.classification = self.rng.choices([c for c, _ in CLASSIFICATION_MIX],
                                                  weights=[w for _, w in CLASSIFICATION_MIX])[0]
            inc.reason = self.rng.choice(REASONS[inc.classification])
        if inc.status != "New" or inc.owner is not None:
            inc.modified = inc.created + span * self.rng.uniform(0.05, 0.95)
        if self.rng.random() < 0.2:
            inc.labels.append(self.rng.choice(LABELS))
        if inc.classification == "FalsePositive" and self.rng.random() < 0.4 and "Needs tuning" not in inc.labels:
            inc.labels.append("Needs tuning")

    def _plan_incidents(self) -> list[_Incident]:
        incidents: list[_Incident] = []
        backlog = BACKLOG_COUNT if "backlog_high_unassigned" in self.problems else 0
        high_rules = [r for r in self.rules if r.severity == "High" and r.kind in ("Scheduled", "NRT", "Fusion")]
        for i in range(backlog):
            low, high = BACKLOG_AGE_DAYS
            days = low + 0.2 + (high - low - 0.4) * i / max(1, backlog - 1) + self.rng.uniform(-0.15, 0.15)
            created = self.now - timedelta(days=days)
            candidates = [r for r in high_rules if r.enabled_until is None or created < r.enabled_until]
            inc = self._new_incident(i, created, self.rng.choice(candidates))
            inc.severity = "High"
            inc.alert_names = [(n, "High", t) for n, _, t in inc.alert_names]
            incidents.append(inc)  # New, unassigned, untouched: the planted backlog
        # the failing playbook must show within a 24-hour health window: fresh High incidents trigger it
        fresh = FRESH_HIGH_HOURS if "automation_failing" in self.problems else ()
        for i in range(backlog, self.wp.incidents - len(fresh)):
            created = self.now - timedelta(hours=self.rng.uniform(0.5, 30 * 24))
            inc = self._new_incident(i, created, self._pick_rule(created))
            self._evolve(inc)
            incidents.append(inc)
        for i, hours in enumerate(fresh, start=self.wp.incidents - len(fresh)):
            created = self.now - timedelta(hours=hours)
            inc = self._new_incident(i, created, self.rng.choice(high_rules))
            inc.severity = "High"
            inc.alert_names = [(n, "High", t) for n, _, t in inc.alert_names]
            incidents.append(inc)  # New and unassigned, but younger than a day: not backlog
        incidents.sort(key=lambda x: x.created)
        return incidents

    def _incidents(self) -> None:
        counter = incident_counter(self.ws_id)
        for inc in self._plan_incidents():
            self._materialize(inc, self.store.next_counter(counter))

    def _alert(self, inc: _Incident, number: int, name: str, severity: str, alert_type: str,
               when: datetime) -> Resource:
        """A SecurityAlert entity naming 1-4 entities of the workspace's pools (through relations)."""
        rule = inc.rule
        alert_name = stable_id("alert", inc.id, str(number))
        kinds = [{"IP": "Ip", "URL": "Url"}.get(k, k) for k in rule.mappings if k in ("Account", "Host", "IP", "URL", "File")]
        if self.rng.random() < 0.2:
            kinds.append(self.rng.choice(("Url", "File")))
        entities = [self.rng.choice(self.entities[k]) for k in dict.fromkeys(kinds)]
        scheduled = rule.kind in ("Scheduled", "NRT")
        product = "Azure Sentinel" if rule.kind != "MicrosoftSecurityIncidentCreation" else rule.product
        compromised = next((e["properties"]["friendlyName"] for e in entities if e["kind"] in ("Account", "Host")), "")
        props = {
            "alertDisplayName": name, "alertType": alert_type, "compromisedEntity": compromised,
            "confidenceLevel": "Unknown", "description": f"{name} was detected by {product}.",
            "startTimeUtc": iso(when - timedelta(minutes=30)), "endTimeUtc": iso(when - timedelta(minutes=5)),
            "timeGenerated": iso(when), "processingEndTime": iso(when + timedelta(seconds=40)),
            "friendlyName": name, "productName": product,
            "productComponentName": {"Scheduled": "Scheduled Alerts", "NRT": "NRT Alerts"}.get(rule.kind, ""),
            "vendorName": "Microsoft", "providerAlertId": alert_name, "severity": severity,
            "status": "Resolved" if inc.status == "Closed" else "New", "systemAlertId": alert_name,
            "tactics": list(rule.tactics), "remediationSteps": [], "alertLink": "",
            "intent": rule.tactics[0] if rule.tactics and rule.tactics[0] in _INTENTS else "Unknown",
            "resourceIdentifiers": [{"type": "LogAnalytics", "workspaceId": self.customer_id,
                                     "subscriptionId": self.sub, "resourceGroup": self.wp.resource_group}],
            "additionalData": ({"Analytic Rule Ids": json.dumps([rule.id]), "Analytic Rule Name": rule.name,
                                "Alert generation status": "Full alert created"} if scheduled else {}),
        }
        alert = self.store.put({"id": entity_id(self.si, alert_name), "name": alert_name, "type": ENTITY_TYPE,
                                "kind": "SecurityAlert", "properties": props})
        for entity in entities:
            rel = stable_id("relation", alert_name, entity["name"])
            self.store.put(relation_body(alert["id"], rel, entity, RELATION_TYPE))
        return alert

    def _materialize(self, inc: _Incident, number: int) -> None:
        incident_id = f"{self.si}/incidents/{inc.id}"
        final = inc.modified or inc.created
        owner = _owner_of(inc.owner)
        first_activity = inc.created - timedelta(minutes=self.rng.randint(20, 90))
        props = normalize_incident({
            "title": inc.title, "severity": inc.severity, "status": inc.status, "owner": owner,
            "classification": inc.classification, "classificationReason": inc.reason,
            "classificationComment": (self.rng.choice(CLOSING_COMMENTS[inc.classification])
                                      if inc.classification else None),
            "description": f"{inc.title}. Detected by the analytics rule '{inc.rule.name}'.",
            "labels": [{"labelName": name} for name in inc.labels],
            "firstActivityTimeUtc": iso(first_activity), "lastActivityTimeUtc": iso(inc.created - timedelta(minutes=5)),
        }, self.store.world)
        alerts = [self._alert(inc, i, *spec, inc.created - timedelta(minutes=2 + 3 * i))
                  for i, spec in enumerate(inc.alert_names)]
        props.update({
            "createdTimeUtc": iso(inc.created), "lastModifiedTimeUtc": iso(final), "incidentNumber": number,
            "incidentUrl": f"{PORTAL}{incident_id}", "providerName": PROVIDER_NAME, "providerIncidentId": str(number),
            "relatedAnalyticRuleIds": [f"{self.si}/alertRules/{inc.rule.id}"],
        })
        who = inc.owner.user_principal_name if inc.owner else self.admin.user_principal_name
        self._put({"id": incident_id, "name": inc.id, "type": INCIDENT_TYPE, "properties": props},
                  inc.created, final, who=who)
        for alert in alerts:
            rel = stable_id("relation", inc.id, alert["name"])
            self.store.put(relation_body(incident_id, rel, alert, f"{INCIDENT_TYPE}/relations"))
        self._comments(inc, incident_id, final)

    def _comments(self, inc: _Incident, incident_id: str, final: datetime) -> None:
        """0-4 analyst comments between the incident's creation and its last change."""
        if inc.modified is None:  # untouched since it was created
            return
        texts: list[str] = []
        if inc.status != "New":
            texts += self.rng.sample(TRIAGE_COMMENTS, self.rng.randint(0, 2))
        if inc.classification and self.rng.random() < 0.7:
            texts.append(self.rng.choice(CLOSING_COMMENTS[inc.classification]))
        if self.rng.random() < 0.1:
            texts.append("Customer asked for an update on this incident.")
        span = final - inc.created
        for i, text in enumerate(texts[:4]):
            author = inc.owner or self.rng.choice(self.owners)
            when = iso(inc.created + span * ((i + 1) / (len(texts) + 1)))
            name = stable_id("comment", inc.id, str(i))
            self.store.put({
                "id": f"{incident_id}/comments/{name}", "name": name, "type": f"{INCIDENT_TYPE}/comments",
                "etag": _etag(self.rng),
                "properties": {"message": text, "createdTimeUtc": when, "lastModifiedTimeUtc": when, "author": {
                    "objectId": author.object_id, "email": author.email, "name": author.display_name,
                    "userPrincipalName": author.user_principal_name}}})


_NEIGHBOURS = {"High": ("Medium",), "Medium": ("High", "Low"), "Low": ("Medium", "Informational"),
              "Informational": ("Low",)}
_INTENTS = {"Persistence", "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery",
            "LateralMovement", "Execution", "Collection", "Exfiltration", "CommandAndControl", "Impact"}


def _property(name: str, operator: str, values: list[str]) -> dict[str, Any]:
    return {"conditionType": "Property",
            "conditionProperties": {"propertyName": name, "operator": operator, "propertyValues": values}}


def _owner_of(user: User | None) -> dict[str, Any] | None:
    return {"objectId": user.object_id} if user else None


def aws_account(workspace: str) -> str:
    """The 12-digit AWS account a workspace's CloudTrail connector reads (stable per workspace)."""
    return str(int(stable_id("aws-account", workspace).replace("-", ""), 16))[:12]


def workspace_sources(store: Store, workspace: Resource) -> tuple[str, ...]:
    """A workspace's data sources: its data connectors' kinds (as stored) and its DATA_SOURCES."""
    kinds = {str(c.get("kind")) for c in store.children(f"{sentinel_prefix(workspace['id'])}/dataConnectors")}
    return tuple(sorted(kinds | set(DATA_SOURCES.get(str(workspace.get("name")), ()))))


def seed_sentinel(store: Store, plan: ScenarioPlan, rng: random.Random) -> None:
    """Sentinel resources for every onboarded workspace of ``plan`` (the topology must be seeded)."""
    managing = next(t for t in plan.tenants if t.role == "managing")
    analysts = [u for u in store.world.users if u.tenant_id == managing.id]
    for wp in plan.workspaces:
        if wp.sentinel:
            _WorkspaceSeeder(store, plan, wp, rng, analysts).run()
