"""Rows of the data sources some workspaces add to the basic connectors (``sentinel.DATA_SOURCES``).

Defender XDR (devices, their processes, connections, sign-ins, files, registry; mail; identity sign-ins),
AWS CloudTrail, the Windows DNS servers' query log, UEBA (BehaviorAnalytics, IdentityInfo) and the threat
intelligence indicators their TI connector imports: the rows Microsoft's published content reads there.

Volumes follow a fixed hourly pattern (every 24 hours hold the same number of rows), so the workspace's
Usage stays as regular as its sources are: no freshness finding appears that SCENARIO.md does not plant.
Values come from this module's own random generator, per workspace: seeding these rows shifts no other
seeded value.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..arm.resources.la_catalog import AWS_CLOUDTRAIL, DEFENDER_XDR, DNS, UEBA
from ..store import LogRow
from .plan import TenantPlan, WorkspacePlan, random_guid, stable_id
from .sentinel import DATA_SOURCES, aws_account


class Sink(Protocol):
    """What this module needs of the log seeder (``logs.Seeder``; not imported: logs imports this module)."""

    wp: WorkspacePlan
    tenant: TenantPlan

    @property
    def clock(self) -> Any: ...

    def emit(self, table: str, ts: float, row: LogRow, text: str | None = None) -> None: ...


class Device(Protocol):
    """One of the workspace's machines (``logs.Agent``)."""

    @property
    def name(self) -> str: ...

    @property
    def os(self) -> str: ...

#: Rows per hour-of-cycle for a busy source and a quiet one (24 entries: the pattern repeats daily).
BUSY = (2, 1, 1, 1, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 1)
QUIET = (0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0)
DAILY = (1,) + (0,) * 23

_PROCESSES = (
    ("svchost.exe", "C:\\Windows\\System32\\svchost.exe", "services.exe", "svchost.exe -k netsvcs -p"),
    ("powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "explorer.exe",
     "powershell.exe -NoProfile -File C:\\Scripts\\backup.ps1"),
    ("cmd.exe", "C:\\Windows\\System32\\cmd.exe", "explorer.exe", "cmd.exe /c ipconfig /all"),
    ("whoami.exe", "C:\\Windows\\System32\\whoami.exe", "cmd.exe", "whoami /groups"),
    ("msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", "explorer.exe",
     "msedge.exe --single-argument https://portal.azure.com"),
)
_REMOTE = (("20.190.151.68", "login.microsoftonline.com", 443), ("13.107.42.14", "outlook.office365.com", 443),
           ("52.113.194.132", "teams.microsoft.com", 443), ("185.199.108.133", "raw.githubusercontent.com", 443))
_DOMAINS = ("login.microsoftonline.com", "outlook.office365.com", "www.bing.com", "github.com", "update.microsoft.com",
            "fabrikam.sharepoint.com", "cdn.example-analytics.xyz")
_AWS_EVENTS = (("signin.amazonaws.com", "ConsoleLogin", "AwsConsoleSignIn"),
               ("ec2.amazonaws.com", "DescribeInstances", "AwsApiCall"),
               ("s3.amazonaws.com", "ListBuckets", "AwsApiCall"),
               ("iam.amazonaws.com", "ListUsers", "AwsApiCall"),
               ("sts.amazonaws.com", "AssumeRole", "AwsApiCall"))
_AWS_REGIONS = ("eu-west-1", "eu-central-1", "us-east-1")
#: the indicators the TI connector keeps (refreshed daily): (kind, value, threat type, confidence)
_INDICATORS = (("NetworkIP", "185.220.101.47", "Botnet", 80), ("NetworkIP", "45.141.84.120", "MaliciousUrl", 60),
               ("DomainName", "cdn.example-analytics.xyz", "C2", 75), ("Url", "http://malicious.example.net/payload",
                                                                    "MaliciousUrl", 70),
               ("FileHashValue", "5D41402ABC4B2A76B9719D911017C592", "Malware", 90),
               ("EmailSenderAddress", "billing@invoices-example.com", "Phishing", 65))


class _Source:
    """What every row of one workspace's sources shares: its seeder, generator, devices and users."""

    def __init__(self, s: Sink, agents: Sequence[Device], upns: Sequence[str], domain: str, hours: int) -> None:
        self.s = s
        self.rng = random.Random(stable_id("connector-logs", s.wp.name))
        self.domain = domain
        self.hours = hours
        self.devices = [(a.name, stable_id("mde-device", s.wp.name, a.name), a.os) for a in agents]
        #: (FQDN, Defender device id) of the Windows machines (of every machine when none is Windows)
        self.windows = [(f"{name}.{domain}", device_id) for name, device_id, os in self.devices if os == "Windows"] \
            or [(f"{name}.{domain}", device_id) for name, device_id, _ in self.devices]
        self.upns = upns
        self.object_ids = {upn: stable_id("user", upn) for upn in upns}

    def each_hour(self, pattern: Sequence[int], make: Callable[[float, str, int], tuple[str, LogRow]]) -> None:
        """``pattern[k % 24]`` rows for the hour ``k`` hours ago, over the scenario's 30 days; ``make`` gets
        each row's instant as epoch seconds and as ISO text."""
        clock = self.s.clock
        for k in range(self.hours):
            for n in range(pattern[k % 24]):
                ts = clock.ago(k) - self.rng.random() * 3600
                text = clock.iso(ts)
                table, row = make(ts, text, n)
                self.s.emit(table, ts, row, text)

    def guid(self) -> str:
        return random_guid(self.rng)

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rng.random() * len(seq))]

    def windows_device(self) -> tuple[str, str]:
        return self.windows[int(self.rng.random() * len(self.windows))]


def seed_sources(s: Sink, agents: Sequence[Device], upns: Sequence[str], domain: str, hours: int) -> None:
    """The rows of the workspace's DATA_SOURCES (and its TI indicators when it has any such source) over the
    last ``hours``, on its machines ``agents``, for its users ``upns`` of the AD domain ``domain``."""
    sources = DATA_SOURCES.get(s.wp.name, ())
    if not sources:
        return
    src = _Source(s, agents, upns, domain, hours)
    if DEFENDER_XDR in sources:
        defender_xdr(src)
    if AWS_CLOUDTRAIL in sources:
        aws_cloudtrail(src)
    if DNS in sources:
        dns_events(src)
    if UEBA in sources:
        ueba(src)
    threat_indicators(src)


def _process(src: _Source, ts: float, text: str) -> dict[str, Any]:
    file_name, folder, parent, command = src.pick(_PROCESSES)
    user = src.pick(src.upns)
    return {"FileName": file_name, "FolderPath": folder, "ProcessCommandLine": command,
            "ProcessId": 1000 + int(src.rng.random() * 30000), "InitiatingProcessFileName": parent,
            "InitiatingProcessCommandLine": parent, "InitiatingProcessParentFileName": "userinit.exe",
            "InitiatingProcessAccountName": user.split("@")[0], "InitiatingProcessAccountDomain": src.domain.split(".")[0],
            "InitiatingProcessAccountUpn": user, "AccountName": user.split("@")[0],
            "AccountDomain": src.domain.split(".")[0], "AccountUpn": user, "SHA1": f"{src.rng.getrandbits(160):040x}",
            "SHA256": f"{src.rng.getrandbits(256):064x}", "MD5": f"{src.rng.getrandbits(128):032x}",
            "ProcessCreationTime": text, "InitiatingProcessCreationTime": src.s.clock.iso(ts - 60)}


def defender_xdr(src: _Source) -> None:
    """Device inventory daily; processes, connections and sign-ins hourly; files, registry, mail and
    identity sign-ins now and then."""
    group = f"{src.s.tenant.display_name} servers"

    def common(ts: float, text: str) -> dict[str, Any]:
        device, device_id = src.windows_device()
        return {"Timestamp": text, "DeviceName": device, "DeviceId": device_id,
                "ReportId": int(ts) % 100000, "MachineGroup": group}

    def info(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        name, device_id, os = src.devices[n % len(src.devices)]
        return "DeviceInfo", {"Timestamp": text, "DeviceName": f"{name}.{src.domain}",
                              "DeviceId": device_id, "OSPlatform": "WindowsServer2022" if os == "Windows" else "Linux",
                              "OSDistribution": "" if os == "Windows" else "Ubuntu", "DeviceType": "Server",
                              "OnboardingStatus": "Onboarded", "SensorHealthState": "Active", "ReportId": n,
                              "PublicIP": "81.204.12.40", "IsAzureADJoined": False, "MachineGroup": group}

    def process(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        row = common(ts, text)
        row.update(_process(src, ts, text), ActionType="ProcessCreated")
        return "DeviceProcessEvents", row

    def network(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        ip, url, port = src.pick(_REMOTE)
        row = common(ts, text)
        row.update(ActionType="ConnectionSuccess", RemoteIP=ip, RemoteUrl=url, RemotePort=port, RemoteIPType="Public",
                   LocalIP="10.0.1.10", LocalPort=49152 + int(src.rng.random() * 10000), Protocol="Tcp",
                   InitiatingProcessFileName="msedge.exe", InitiatingProcessCommandLine="msedge.exe",
                   InitiatingProcessAccountName=src.pick(src.upns).split("@")[0])
        return "DeviceNetworkEvents", row

    def logon(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        user = src.pick(src.upns)
        failed = src.rng.random() < 0.1
        row = common(ts, text)
        row.update(ActionType="LogonFailed" if failed else "LogonSuccess", AccountName=user.split("@")[0],
                   AccountDomain=src.domain.split(".")[0], LogonType=src.pick(("Network", "RemoteInteractive")),
                   Protocol="Kerberos", RemoteIP=f"10.0.{int(src.rng.random() * 8)}.{int(src.rng.random() * 250) + 2}",
                   RemoteIPType="Private", RemoteDeviceName=f"WKS-{int(src.rng.random() * 40):03d}",
                   FailureReason="InvalidUserNameOrPassword" if failed else "", IsLocalAdmin=False)
        return "DeviceLogonEvents", row

    def file(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        row = common(ts, text)
        name = f"report-{int(src.rng.random() * 90):02d}.xlsx"
        row.update(ActionType="FileCreated", FileName=name, FolderPath=f"C:\\Users\\Public\\Documents\\{name}",
                   InitiatingProcessFileName="excel.exe", FileSize=int(src.rng.random() * 200000),
                   SHA256=f"{src.rng.getrandbits(256):064x}")
        return "DeviceFileEvents", row

    def registry(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        row = common(ts, text)
        row.update(ActionType="RegistryValueSet", RegistryKey="HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\"
                   "CurrentVersion\\Run", RegistryValueName="OneDrive", RegistryValueData="C:\\Program Files\\"
                   "Microsoft OneDrive\\OneDrive.exe /background", InitiatingProcessFileName="OneDriveSetup.exe")
        return "DeviceRegistryEvents", row

    def device_event(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        row = common(ts, text)
        row.update(ActionType="AntivirusScanCompleted", AdditionalFields={"ScanTypeIndex": "Quick"},
                   InitiatingProcessFileName="MsMpEng.exe")
        return "DeviceEvents", row

    def email(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        phish = src.rng.random() < 0.1
        recipient = src.pick(src.upns)
        sender = "billing@invoices-example.com" if phish else f"news@{src.pick(('contoso.com', 'woodgrovebank.com'))}"
        return "EmailEvents", {
            "Timestamp": text, "NetworkMessageId": src.guid(), "InternetMessageId": f"<{src.guid()}@mail>",
            "SenderFromAddress": sender, "SenderFromDomain": sender.split("@")[1], "SenderMailFromAddress": sender,
            "SenderIPv4": "45.141.84.120" if phish else "40.92.18.20", "RecipientEmailAddress": recipient,
            "Subject": "Invoice overdue" if phish else "Weekly newsletter", "EmailDirection": "Inbound",
            "DeliveryAction": "Blocked" if phish else "Delivered", "DeliveryLocation": "Quarantine" if phish else
            "Inbox/folder", "LatestDeliveryLocation": "Quarantine" if phish else "Inbox/folder",
            "ThreatTypes": "Phish" if phish else "", "AttachmentCount": 1 if phish else 0, "UrlCount": 2,
            "ReportId": src.guid()}

    def identity_logon(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        user = src.pick(src.upns)
        device, _ = src.windows_device()
        return "IdentityLogonEvents", {
            "Timestamp": text, "ActionType": "LogonSuccess", "Application": "Active Directory",
            "LogonType": "Resource access", "Protocol": "Kerberos", "AccountName": user.split("@")[0],
            "AccountDomain": src.domain, "AccountUpn": user, "DeviceName": f"WKS-{int(src.rng.random() * 40):03d}",
            "DestinationDeviceName": device, "IPAddress": f"10.0.2.{int(src.rng.random() * 250) + 2}", "ReportId": src.guid()}

    for n in range(len(src.devices)):  # one inventory row per device per day
        src.each_hour(DAILY, lambda ts, text, _n, n=n: info(ts, text, n))
    for make in (process, network, logon):
        src.each_hour(BUSY, make)
    for make in (file, registry, device_event, email, identity_logon):
        src.each_hour(QUIET, make)


def aws_cloudtrail(src: _Source) -> None:
    """The AWS account's management events: console sign-ins (with MFA) and routine API calls."""
    account = aws_account(src.s.wp.name)
    users = [u.split("@")[0] for u in src.upns[:4]]
    principals = {user: f"AIDA{stable_id('aws-user', user)[:16].replace('-', '').upper()}" for user in users}

    def event(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        source, name, kind = src.pick(_AWS_EVENTS)
        user = src.pick(users)
        login = name == "ConsoleLogin"
        return "AWSCloudTrail", {
            "EventSource": source, "EventName": name, "EventTypeName": kind, "EventVersion": "1.08",
            "AwsEventId": src.guid(), "AWSRegion": src.pick(_AWS_REGIONS), "RecipientAccountId": account,
            "UserIdentityType": "IAMUser", "UserIdentityUserName": user, "UserIdentityAccountId": account,
            "UserIdentityArn": f"arn:aws:iam::{account}:user/{user}",
            "UserIdentityPrincipalid": principals[user],
            "SourceIpAddress": f"81.204.12.{int(src.rng.random() * 250) + 2}", "UserAgent": "aws-cli/2.15.0",
            "SessionMfaAuthenticated": login, "ManagementEvent": True, "ReadOnly": not login,
            "ResponseElements": '{"ConsoleLogin":"Success"}' if login else "",
            "AdditionalEventData": '{"MFAUsed":"Yes","LoginTo":"https://console.aws.amazon.com/"}' if login else "",
            "RequestParameters": "" if login else '{"maxResults":100}', "OperationName": "CloudTrail",
            "Category": "Management"}

    src.each_hour(BUSY, event)


def dns_events(src: _Source) -> None:
    """Lookups answered by the domain controllers' DNS servers (clients on the office network)."""
    def lookup(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        device, _ = src.windows_device()
        name = src.pick(_DOMAINS)
        return "DnsEvents", {"Computer": device, "ClientIP": f"10.0.{int(src.rng.random() * 8)}.{int(src.rng.random() * 250) + 2}",
                             "Name": name, "QueryType": src.pick(("A", "AAAA")), "ResultCode": 0, "SubType": "LookupQuery",
                             "EventId": 256, "IPAddresses": "20.190.151.68", "TaskCategory": "LOOK_UP",
                             "SourceSystem": "OpsManager"}

    src.each_hour(BUSY, lookup)


def ueba(src: _Source) -> None:
    """UEBA's enriched sign-ins (BehaviorAnalytics) and its daily identity snapshot (IdentityInfo)."""
    def activity(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        user = src.pick(src.upns)
        return "BehaviorAnalytics", {
            "SourceRecordId": src.guid(), "EventSource": "Azure AD", "ActivityType": "LogOn", "ActionType": "Sign-in",
            "UserName": user.split("@")[0], "UserPrincipalName": user, "SourceIPAddress":
            f"81.204.12.{int(src.rng.random() * 250) + 2}", "SourceIPLocation": "Netherlands",
            "SourceDevice": f"WKS-{int(src.rng.random() * 40):03d}", "DestinationDevice": "", "NativeTableName": "SigninLogs",
            "InvestigationPriority": int(src.rng.random() * 3),
            "UsersInsights": {"AccountObjectID": src.object_ids[user], "IsDormantAccount": False, "BlastRadius": "Low"},
            "DevicesInsights": {"Browser": "Edge", "OSFamily": "Windows"},
            "ActivityInsights": {"FirstTimeUserConnectedFromCountry": False, "CountryUncommonlyConnectedFromAmongPeers": False}}

    def identity(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        user = src.upns[n % len(src.upns)]
        admin = n == 0
        return "IdentityInfo", {
            "AccountUPN": user, "AccountName": user.split("@")[0], "AccountObjectId": src.object_ids[user],
            "AccountTenantId": src.s.tenant.id, "AccountDisplayName": user.split("@")[0].replace(".", " ").title(),
            "AccountDomain": src.s.tenant.domain, "Department": "IT" if admin else "Finance",
            "JobTitle": "Administrator" if admin else "Analyst", "IsAccountEnabled": True, "UserType": "Member",
            "BlastRadius": "High" if admin else "Low", "AssignedRoles": ["Global Administrator"] if admin else [],
            "GroupMembership": ["Administrators"] if admin else ["Finance"], "Tags": [], "RiskLevel": "Low",
            "AccountCreationTime": src.s.clock.iso(src.s.clock.ago(400 * 24)), "ChangeSource": "AzureActiveDirectory"}

    src.each_hour(QUIET, activity)
    for n in range(len(src.upns)):
        src.each_hour(DAILY, lambda ts, text, _n, n=n: identity(ts, text, n))


def threat_indicators(src: _Source) -> None:
    """The TI connector's indicators, re-imported daily, active for 30 more days."""
    def indicator(ts: float, text: str, n: int) -> tuple[str, LogRow]:
        kind, value, threat, confidence = _INDICATORS[n]
        return "ThreatIntelligenceIndicator", {
            "IndicatorId": stable_id("indicator", src.s.wp.name, value), "SourceSystem": "SecurityGraph",
            "Action": "alert", "Active": True, "ConfidenceScore": confidence, "ThreatType": threat,
            "Description": f"{threat} indicator from the MSSP's TAXII feed", "TrafficLightProtocolLevel": "amber",
            "ExpirationDateTime": src.s.clock.iso(ts + 30 * 86400), "IndicatorProvider": "Contoso MSSP TI", kind: value}

    for n in range(len(_INDICATORS)):
        src.each_hour(DAILY, lambda ts, text, _n, n=n: indicator(ts, text, n))
