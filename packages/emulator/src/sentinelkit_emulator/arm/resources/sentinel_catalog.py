"""Built-in analytics rule templates (Sentinel's content), shared by the template kind and the seeder.

A realistic subset of the gallery: scheduled and NRT KQL detections over the tables the scenario
fills, the one Fusion template, and the "create incidents from Microsoft security alerts" templates.
Template ids are the same in every workspace, as in Sentinel; the Fusion id is the real one.
"""

from __future__ import annotations

from typing import Any

from ...scenario.plan import stable_id

FUSION_TEMPLATE_ID = "f71aba3d-28fb-450b-b192-4e76a83015c8"
#: the rule Sentinel installs from the Fusion template when a workspace is onboarded
BUILTIN_FUSION_RULE = "BuiltInFusion"


def _connectors(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"connectorId": c, "dataTypes": [t]} for c, t in pairs]


def _mapping(entity: str, identifier: str, column: str) -> dict[str, Any]:
    return {"entityType": entity, "fieldMappings": [{"identifier": identifier, "columnName": column}]}


def _detection(
    kind: str, name: str, severity: str, tactics: list[str], techniques: list[str], query: str,
    connectors: list[dict[str, Any]], mappings: list[dict[str, Any]], description: str,
    frequency: str = "PT1H", period: str = "PT1H", version: str = "1.0.3",
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "id": stable_id("alertRuleTemplate", name),
        "kind": kind,
        "displayName": name,
        "description": description,
        "severity": severity,
        "tactics": tactics,
        "techniques": techniques,
        "query": query,
        "requiredDataConnectors": connectors,
        "entityMappings": mappings,
        "version": version,
    }
    if kind == "Scheduled":
        template.update({"queryFrequency": frequency, "queryPeriod": period, "triggerOperator": "GreaterThan",
                         "triggerThreshold": 0})
    return template


_AAD = ("AzureActiveDirectory", "SigninLogs")
_SECURITY_EVENTS = ("SecurityEvents", "SecurityEvent")
_OFFICE = ("Office365", "OfficeActivity")
_ACTIVITY = ("AzureActivity", "AzureActivity")
_SYSLOG = ("Syslog", "Syslog")
_TI = ("ThreatIntelligence", "ThreatIntelligenceIndicator")
_ACCOUNT = _mapping("Account", "FullName", "AccountCustomEntity")
_IP = _mapping("IP", "Address", "IPCustomEntity")
_HOST = _mapping("Host", "FullName", "HostCustomEntity")

TEMPLATES: list[dict[str, Any]] = [
    _detection(
        "Scheduled", "Brute force attack against Azure Portal", "Medium", ["CredentialAccess"], ["T1110"],
        "let failureCountThreshold = 10;\nSigninLogs\n| where AppDisplayName =~ \"Azure Portal\"\n"
        "| where ResultType != \"0\"\n| summarize FailedAttempts = count(), IPs = make_set(IPAddress) by "
        "UserPrincipalName, bin(TimeGenerated, 1h)\n| where FailedAttempts > failureCountThreshold\n"
        "| extend AccountCustomEntity = UserPrincipalName",
        _connectors(_AAD), [_ACCOUNT],
        "Identifies evidence of brute force activity against the Azure Portal by highlighting multiple "
        "authentication failures and by a successful authentication within a given time window.",
        frequency="P1D", period="P1D",
    ),
    _detection(
        "Scheduled", "Rare RDP connections", "Medium", ["LateralMovement"], ["T1021"],
        "SecurityEvent\n| where EventID == 4624 and LogonType == 10\n| summarize FirstSeen = min(TimeGenerated), "
        "Count = count() by Account, Computer, IpAddress\n| where FirstSeen > ago(1d) and Count < 3\n"
        "| extend AccountCustomEntity = Account, HostCustomEntity = Computer, IPCustomEntity = IpAddress",
        _connectors(_SECURITY_EVENTS), [_ACCOUNT, _HOST, _IP],
        "Identifies when an RDP connection is new or rare for a given computer over the last 14 days.",
        frequency="P1D", period="P14D",
    ),
    _detection(
        "Scheduled", "Mass download from SharePoint", "Medium", ["Exfiltration", "Collection"], ["T1030", "T1213"],
        "OfficeActivity\n| where RecordType =~ \"SharePointFileOperation\" and Operation =~ \"FileDownloaded\"\n"
        "| summarize Files = dcount(OfficeObjectId) by UserId, ClientIP, bin(TimeGenerated, 10m)\n"
        "| where Files > 200\n| extend AccountCustomEntity = UserId, IPCustomEntity = ClientIP",
        _connectors(_OFFICE), [_ACCOUNT, _IP],
        "Identifies a user downloading an unusually large number of files from SharePoint or OneDrive.",
    ),
    _detection(
        "Scheduled", "Suspicious PowerShell download cradle", "High", ["Execution", "CommandAndControl"],
        ["T1059", "T1105"],
        "SecurityEvent\n| where EventID == 4688\n| where Process has_any (\"powershell.exe\", \"pwsh.exe\")\n"
        "| where CommandLine has_any (\"DownloadString\", \"DownloadFile\", \"Invoke-WebRequest\", \"IWR \", "
        "\"Net.WebClient\")\n| extend AccountCustomEntity = Account, HostCustomEntity = Computer",
        _connectors(_SECURITY_EVENTS), [_ACCOUNT, _HOST],
        "Detects PowerShell used to download and run content from the internet (download cradles).",
    ),
    _detection(
        "Scheduled", "Password spray attack against Microsoft Entra ID application", "Medium",
        ["CredentialAccess"], ["T1110"],
        "SigninLogs\n| where ResultType in (\"50126\", \"50053\")\n| summarize Users = dcount(UserPrincipalName) "
        "by IPAddress, AppDisplayName, bin(TimeGenerated, 1h)\n| where Users > 10\n| extend IPCustomEntity = IPAddress",
        _connectors(_AAD), [_IP],
        "Identifies evidence of password spray activity against Microsoft Entra ID applications.",
        frequency="P1D", period="P7D",
    ),
    _detection(
        "Scheduled", "Sign-ins from IPs that attempt sign-ins to disabled accounts", "Medium",
        ["InitialAccess", "Persistence"], ["T1078"],
        "SigninLogs\n| where ResultType == \"50057\"\n| summarize DisabledAccounts = dcount(UserPrincipalName) "
        "by IPAddress\n| join kind=inner (SigninLogs | where ResultType == \"0\") on IPAddress\n"
        "| extend AccountCustomEntity = UserPrincipalName, IPCustomEntity = IPAddress",
        _connectors(_AAD), [_ACCOUNT, _IP],
        "Identifies IP addresses with sign-in attempts to disabled accounts that also signed in successfully.",
        frequency="P1D", period="P1D",
    ),
    _detection(
        "Scheduled", "Rare and potentially high-risk Office operations", "Low", ["Persistence", "Collection"],
        ["T1098", "T1114"],
        "OfficeActivity\n| where Operation in~ (\"Add-MailboxPermission\", \"Add-MailboxFolderPermission\", "
        "\"Set-Mailbox\", \"New-ManagementRoleAssignment\", \"New-InboxRule\", \"Set-InboxRule\")\n"
        "| extend AccountCustomEntity = UserId, IPCustomEntity = ClientIP",
        _connectors(_OFFICE), [_ACCOUNT, _IP],
        "Identifies Office operations that are typically rare and can provide capabilities useful to attackers.",
        frequency="P1D", period="P1D",
    ),
    _detection(
        "Scheduled", "New user created and added to the built-in administrators group", "Low",
        ["Persistence", "PrivilegeEscalation"], ["T1136", "T1078"],
        "SecurityEvent\n| where EventID in (4720, 4732)\n| where TargetUserName has \"Administrators\"\n"
        "| extend AccountCustomEntity = SubjectAccount, HostCustomEntity = Computer",
        _connectors(_SECURITY_EVENTS), [_ACCOUNT, _HOST],
        "Identifies a user account created and added to the built-in Administrators group within a day.",
        frequency="P1D", period="P1D",
    ),
    _detection(
        "Scheduled", "Suspicious number of resource creation or deployment activities", "Medium", ["Impact"],
        ["T1496"],
        "AzureActivity\n| where OperationNameValue in~ (\"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE\", "
        "\"MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE\")\n| where ActivityStatusValue =~ \"Success\"\n"
        "| summarize Count = count() by Caller, CallerIpAddress, bin(TimeGenerated, 1d)\n| where Count > 20\n"
        "| extend AccountCustomEntity = Caller, IPCustomEntity = CallerIpAddress",
        _connectors(_ACTIVITY), [_ACCOUNT, _IP],
        "Indicates when an anomalous number of VM creations or deployment activities occur in Azure.",
        frequency="P1D", period="P7D",
    ),
    _detection(
        "Scheduled", "SSH brute force attempts", "Medium", ["CredentialAccess"], ["T1110"],
        "Syslog\n| where Facility in (\"auth\", \"authpriv\") and SyslogMessage has \"Failed password\"\n"
        "| extend SourceIP = extract(@\"from (\\d+\\.\\d+\\.\\d+\\.\\d+)\", 1, SyslogMessage)\n"
        "| summarize Failures = count() by Computer, SourceIP, bin(TimeGenerated, 15m)\n| where Failures > 25\n"
        "| extend HostCustomEntity = Computer, IPCustomEntity = SourceIP",
        _connectors(_SYSLOG), [_HOST, _IP],
        "Identifies many failed SSH logins from one source against a Linux host.",
    ),
    _detection(
        "Scheduled", "TI map IP entity to SigninLogs", "Medium", ["CommandAndControl"], ["T1071"],
        "ThreatIntelligenceIndicator\n| where isnotempty(NetworkIP) and ExpirationDateTime > now()\n"
        "| join kind=innerunique (SigninLogs | project IPAddress, UserPrincipalName, TimeGenerated) on "
        "$left.NetworkIP == $right.IPAddress\n| extend AccountCustomEntity = UserPrincipalName, "
        "IPCustomEntity = IPAddress",
        _connectors(_TI, _AAD), [_ACCOUNT, _IP],
        "Identifies a match in SigninLogs from any IP IOC from threat intelligence.",
    ),
    _detection(
        "NRT", "NRT Security event log cleared", "Medium", ["DefenseEvasion"], ["T1070"],
        "SecurityEvent\n| where EventID == 1102\n| extend AccountCustomEntity = Account, HostCustomEntity = Computer",
        _connectors(_SECURITY_EVENTS), [_ACCOUNT, _HOST],
        "Checks for event id 1102, which indicates the security event log was cleared.",
    ),
    _detection(
        "NRT", "NRT Malicious inbox rule", "Medium", ["Persistence", "DefenseEvasion"], ["T1098", "T1078"],
        "OfficeActivity\n| where Operation =~ \"New-InboxRule\"\n| where Parameters has_any (\"DeleteMessage\", "
        "\"MoveToFolder\") and Parameters has_any (\"password\", \"invoice\", \"payment\")\n"
        "| extend AccountCustomEntity = UserId, IPCustomEntity = ClientIP",
        _connectors(_OFFICE), [_ACCOUNT, _IP],
        "Detects inbox rules that delete or hide messages with keywords attackers watch for.",
    ),
    {
        "id": FUSION_TEMPLATE_ID,
        "kind": "Fusion",
        "displayName": "Advanced Multistage Attack Detection",
        "description": "Microsoft Sentinel uses Fusion, a correlation engine based on scalable machine learning "
        "algorithms, to automatically detect multistage attacks by identifying combinations of anomalous "
        "behaviors and suspicious activities that are observed at various stages of the kill chain.",
        "severity": "High",
        "tactics": ["Collection", "CommandAndControl", "CredentialAccess", "DefenseEvasion", "Discovery",
                    "Execution", "Exfiltration", "Impact", "InitialAccess", "LateralMovement", "Persistence",
                    "PrivilegeEscalation"],
        "techniques": [],
        "requiredDataConnectors": [],
        "version": "1.0.0",
    },
    *[
        {
            "id": stable_id("alertRuleTemplate", name),
            "kind": "MicrosoftSecurityIncidentCreation",
            "displayName": name,
            "description": f"Create incidents based on all alerts generated in {product}.",
            "productFilter": product,
            "requiredDataConnectors": _connectors((connector, "SecurityAlert")),
            "version": "1.0.0",
        }
        for name, product, connector in (
            ("Create incidents based on Microsoft Defender for Cloud alerts", "Azure Security Center",
             "AzureSecurityCenter"),
            ("Create incidents based on Microsoft Entra ID Protection alerts",
             "Azure Active Directory Identity Protection", "AzureActiveDirectory"),
            ("Create incidents based on Microsoft Defender for Cloud Apps alerts", "Microsoft Cloud App Security",
             "MicrosoftCloudAppSecurity"),
        )
    ],
]
TEMPLATES_BY_ID = {t["id"].lower(): t for t in TEMPLATES}
TEMPLATES_BY_NAME = {t["displayName"]: t for t in TEMPLATES}
