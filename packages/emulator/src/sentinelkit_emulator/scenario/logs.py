"""Seeds the Log Analytics rows of the scenario: 30 days of data, consistent with the ARM state.

Runs after the ARM seeders and reads what they stored (incidents and their alerts, analytics and
automation rules, data connectors, custom tables), so that what KQL says agrees with what ARM says:
one ``SecurityIncident`` row per incident change, ``SecurityAlert`` rows for the incidents' alerts,
``SentinelHealth`` runs of every analytics rule... and the planted problems of SCENARIO.md. A planted
resource that is missing raises :class:`SeedError` naming it, so that drift between seeders is caught
at start-up rather than by a puzzled health check.

Volumes are moderate (a few thousand rows per workspace) so that the whole seed builds in well
under half a second. ``Usage`` is derived from the rows actually seeded: each seeded record stands
for :data:`USAGE_SCALE` records of :data:`RECORD_BYTES` (so volumes look like a small real workspace
while ratios — drops, stops — are exactly those of the rows).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..store import LogRow, Resource, Store
from .connector_logs import seed_sources
from .plan import ScenarioPlan, TenantPlan, WorkspacePlan, random_guid, stable_id

DAYS = 30
HOURS = DAYS * 24
#: SentinelHealth rule/connector runs cover the last week (what health workbooks look at).
HEALTH_HOURS = 7 * 24
#: Each seeded record stands for this many real ones in ``Usage`` (see the module docstring).
USAGE_SCALE = 400
#: Typical record size in bytes, per table (for ``Usage.Quantity``).
RECORD_BYTES = {
    "SecurityEvent": 1500, "Syslog": 600, "CommonSecurityLog": 1200, "SigninLogs": 12000, "AzureActivity": 4000, "OfficeActivity": 2000,
    "Heartbeat": 500, "SecurityAlert": 6000, "SecurityIncident": 3000, "SentinelHealth": 1000, "SentinelAudit": 3000,
}
#: Tables Azure does not bill for ingestion.
FREE_TABLES = frozenset({"AzureActivity", "Heartbeat", "Usage", "Operation", "SecurityAlert", "SecurityIncident",
                         "SentinelHealth", "SentinelAudit", "OfficeActivity"})
SOLUTIONS = {
    "SecurityEvent": "Security", "SigninLogs": "LogManagement", "AzureActivity": "LogManagement",
    "Heartbeat": "LogManagement", "Syslog": "LogManagement", "CommonSecurityLog": "SecurityInsights",
    "OfficeActivity": "SecurityInsights",
    "SecurityAlert": "SecurityInsights", "SecurityIncident": "SecurityInsights", "SentinelHealth": "SecurityInsights",
    "SentinelAudit": "SecurityInsights",
}
#: Connector kinds Sentinel's health feature reports on (https://learn.microsoft.com/azure/sentinel/monitor-data-connector-health).
HEALTH_CONNECTOR_KINDS = {
    "office365": "OfficeActivity", "amazonwebservicescloudtrail": "AWSCloudTrail",
    "amazonwebservicess3": "AWSCloudTrail",
    "dynamics365": "Dynamics365Activity", "microsoftdefenderadvancedthreatprotection": "SecurityAlert",
    "threatintelligencetaxii": "ThreatIntelligenceIndicator", "threatintelligence": "ThreatIntelligenceIndicator",
    "microsoftthreatintelligence": "ThreatIntelligenceIndicator", "restapipoller": "", "apipolling": "",
}

# -- what SCENARIO.md plants (names the ARM seeders must use) --------------------------------------------
RULE_FAILING = "Suspicious PowerShell download cradle"
RULES_DISABLED = ("Rare RDP connections", "Mass download from SharePoint")
RULE_AUTO_DISABLED = "AUTO DISABLED Brute force against Azure Portal"
CONNECTOR_FAILING_KIND = "Office365"
AUTOMATION_FAILING = "Notify SOC on high severity"
BASIC_CUSTOM_TABLE = "AppAudit_CL"
HEARTBEAT_STOPPED = ("law-northwind", "nw-dc-02", 26)  # workspace, computer, hours since last heartbeat
INGESTION_STOPPED = ("law-tailspin", "Syslog", 73)  # nothing in the last 3 days (72 h, plus a margin)
INGESTION_DROP = ("law-northwind", "AzureActivity", 0.10)  # last 24 h vs the daily average
CONNECTOR_LAST_SUCCESS_HOURS = 48


class SeedError(RuntimeError):
    """A resource SCENARIO.md plants is missing from the store: the ARM seeders drifted from the plan."""


@dataclass(frozen=True)
class Agent:
    name: str
    os: str  # "Windows" | "Linux"
    role: str  # "dc", "server", "web"...


#: Agents beside the workspace's VMs (those come from the monitor seeder's data collection plan), so
#: that every Sentinel workspace has 3-5 machines reporting: Arc-enabled and on-premises servers.
EXTRA_AGENTS: dict[str, tuple[Agent, ...]] = {
    "law-contoso-soc": (Agent("soc-dc-01", "Windows", "dc"),),
    "law-woodgrove": (Agent("wg-dc-02", "Windows", "dc"),),
}


def agents_of(wp: WorkspacePlan) -> tuple[Agent, ...]:
    """The machines that send Heartbeat (and SecurityEvent / Syslog) to ``wp``'s workspace."""
    from .monitor import COLLECTIONS

    collection = COLLECTIONS.get(wp.name)
    vms = collection.vms if collection else ((f"{wp.name.removeprefix('law-')}-srv-01", "Windows"),)
    agents = [Agent(name, os, "dc" if "-dc-" in name else "web" if "web" in name else "server") for name, os in vms]
    return tuple(agents) + EXTRA_AGENTS.get(wp.name, ())


# ------------------------------------------------------------------------------------------------------
# Small, fast helpers (the seed must stay well under half a second)
# ------------------------------------------------------------------------------------------------------


class Clock:
    """ISO 8601 text for epoch seconds, fast: the ``YYYY-MM-DDTHH:`` prefix is cached per hour."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now.timestamp()
        self._prefix: dict[int, str] = {}

        #: ``hour_iso[k]``: the instant exactly ``k`` hours before now (hourly series share these)
        self.hour_iso = [self.iso(self.now - k * 3600) for k in range(HOURS + 2)]

    def iso(self, ts: float) -> str:
        ticks = int(ts * 10_000_000)  # .NET's 100 ns ticks: 7 fractional digits, as Azure writes them
        seconds, fraction = divmod(ticks, 10_000_000)
        hour, rem = divmod(seconds, 3600)
        prefix = self._prefix.get(hour)
        if prefix is None:
            prefix = self._prefix[hour] = time.strftime("%Y-%m-%dT%H:", time.gmtime(hour * 3600))
        minutes, secs = divmod(rem, 60)
        return f"{prefix}{minutes:02d}:{secs:02d}.{fraction:07d}Z"

    def hourly(self, first: float, count: int) -> list[str]:
        """ISO text of ``first``, ``first - 1h``, ... (``count`` instants): one strftime per hour, shared suffix."""
        text = self.iso(first)
        suffix = text[14:]  # "MM:SS.fffffffZ" is the same for every whole hour back
        base = int(first * 10_000_000) // 10_000_000 // 3600
        out = []
        for k in range(count):
            hour = base - k
            prefix = self._prefix.get(hour)
            if prefix is None:
                prefix = self._prefix[hour] = time.strftime("%Y-%m-%dT%H:", time.gmtime(hour * 3600))
            out.append(prefix + suffix)
        return out

    def ago(self, hours: float) -> float:
        return self.now - hours * 3600


def parse_time(value: Any) -> float | None:
    """ARM timestamps (``...0000000Z``) -> epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def iso_duration_seconds(value: Any, default: float) -> float:
    """``PT5M``/``PT1H``/``P1D`` -> seconds (only what rule frequencies use)."""
    if not isinstance(value, str) or not value.upper().startswith("P"):
        return default
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", value.upper())
    if not m:
        return default
    d, h, mi, s = (int(x or 0) for x in m.groups())
    total = d * 86400 + h * 3600 + mi * 60 + s
    return float(total) if total > 0 else default


def timespan_text(seconds: float) -> str:
    """``HH:MM:SS`` (what SentinelHealth's extended properties use for frequencies)."""
    seconds = int(seconds)
    days, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return (f"{days}." if days else "") + f"{h:02d}:{m:02d}:{s:02d}"


@dataclass
class Seeder:
    """Per-workspace seeding context: collects rows per table and hourly counts for ``Usage``."""

    store: Store
    plan: ScenarioPlan
    wp: WorkspacePlan
    tenant: TenantPlan
    workspace: Resource
    rng: random.Random
    clock: Clock
    rows: dict[str, list[LogRow]] = field(default_factory=dict)
    hourly: dict[str, list[int]] = field(default_factory=dict)

    @property
    def customer_id(self) -> str:
        return str(self.workspace["properties"]["customerId"])

    @property
    def workspace_id(self) -> str:
        return str(self.workspace["id"])

    @property
    def sentinel_id(self) -> str:
        return f"{self.workspace_id}/providers/Microsoft.SecurityInsights"

    def emit(self, table: str, ts: float, row: LogRow, text: str | None = None) -> None:
        """Add ``row`` to ``table`` at epoch ``ts`` (``text``: its ISO form if already known).

        ``TenantId`` and ``Type`` are left out: the engine fills them in when it loads the rows.
        """
        row["TimeGenerated"] = text or self.clock.iso(ts)
        rows = self.rows.get(table)
        if rows is None:
            rows = self.rows[table] = []
            self.hourly[table] = [0] * (HOURS + 2)
        rows.append(row)
        hour = int((self.clock.now - ts) // 3600)
        if 0 <= hour <= HOURS:
            self.hourly[table][hour] += 1

    def guid(self) -> str:
        return random_guid(self.rng)

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rng.random() * len(seq))]

    def count(self, rate: float) -> int:
        """An integer with mean ``rate`` (cheap stand-in for a Poisson draw)."""
        return int(rate + self.rng.random())

    def steady(self, rate: float, hours: Iterable[int]) -> dict[int, int]:
        """Counts per hour ago with mean ``rate`` that any 24 hours sum to within one of ``24 * rate``: a sparse
        feed drawn at random (``count``) can leave a whole day nearly empty, which a health check rightly
        reports as "ingestion fell"; a feed the scenario does not plant as failing must not look like one."""
        phase = self.rng.random()
        return {k: math.floor((k + 1) * rate + phase) - math.floor(k * rate + phase) for k in hours}

    def children(self, kind: str) -> list[Resource]:
        return sorted(self.store.children(f"{self.sentinel_id}/{kind}"), key=lambda r: str(r["id"]).lower())

    def flush(self) -> None:
        for table, rows in self.rows.items():
            self.store.append_logs(self.customer_id, table, rows)


def _diurnal(hours_ago: int, now_hour: int) -> float:
    """Activity multiplier by hour of day (UTC): busier in working hours."""
    hour = (now_hour - hours_ago) % 24
    return 1.6 if 7 <= hour <= 18 else 0.5


# ------------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------------


def seed_logs(store: Store, plan: ScenarioPlan, rng: random.Random) -> None:
    """Fill ``store.logs`` for every workspace of ``plan`` (Sentinel ones fully, others lightly)."""
    clock = Clock(store.now)
    workspaces = {str(r.get("name")): r for r in store.of_type("Microsoft.OperationalInsights/workspaces")}
    # ~70k small dicts and no cycles among them: the cyclic GC would only rescan them (a fifth of the time)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for wp in plan.workspaces:
            workspace = workspaces.get(wp.name)
            if workspace is None:
                raise SeedError(f"workspace {wp.name!r} of the plan is not in the store (the topology seeder must "
                                "create it before the log seeder runs)")
            seeder = Seeder(store, plan, wp, plan.tenant(wp.tenant), workspace, rng, clock)
            seed_workspace(seeder)
            seeder.flush()
    finally:
        if was_enabled:
            gc.enable()


def seed_workspace(s: Seeder) -> None:
    agents = agents_of(s.wp)
    if s.wp.light:
        seed_light_workspace(s, agents)
        return
    heartbeat(s, agents)
    security_events(s, agents)
    syslog(s, agents)
    cef(s, agents)
    azure_activity(s)
    if s.wp.sentinel:
        signin_logs(s)
        incidents = s.children("incidents")
        rules = s.children("alertRules")
        connectors = s.children("dataConnectors")
        automation = s.children("automationRules")
        _check_planted(s, rules, connectors, automation)
        incident_and_alert_rows(s, incidents)
        analytics_rule_health(s, rules, incidents)
        connector_health_and_data(s, connectors)
        seed_sources(s, agents, _user_upns(s), _ad_domain(s), HOURS)
        automation_health(s, automation, incidents)
        sentinel_audit(s, rules)
    custom_tables(s)
    usage(s)


def seed_light_workspace(s: Seeder, agents: Sequence[Agent]) -> None:
    """A workspace of a generated world: what a quick health check and everyday queries read (heartbeats,
    security events, incidents and alerts, automation runs, usage), a fraction of the full seed's rows."""
    heartbeat(s, agents)
    security_events(s, agents)
    incidents = s.children("incidents")
    incident_and_alert_rows(s, incidents)
    automation_health(s, s.children("automationRules"), incidents)
    usage(s)


def _by_name(resources: Iterable[Resource], name: str) -> Resource | None:
    for r in resources:
        if (r.get("properties") or {}).get("displayName") == name:
            return r
    return None


def _check_planted(s: Seeder, rules: list[Resource], connectors: list[Resource], automation: list[Resource]) -> None:
    """Fail loudly when a resource this seeder plants health data for is missing."""
    missing = []
    problems = set(s.wp.problems)
    if "rule_failing" in problems and _by_name(rules, RULE_FAILING) is None:
        missing.append(f"analytics rule {RULE_FAILING!r}")
    if "rules_disabled" in problems:
        missing += [f"analytics rule {n!r}" for n in RULES_DISABLED if _by_name(rules, n) is None]
    if "rule_auto_disabled" in problems and _by_name(rules, RULE_AUTO_DISABLED) is None:
        missing.append(f"analytics rule {RULE_AUTO_DISABLED!r}")
    if "connector_failing" in problems and not any(
        str(c.get("kind", "")).lower() == CONNECTOR_FAILING_KIND.lower() for c in connectors
    ):
        missing.append(f"data connector of kind {CONNECTOR_FAILING_KIND!r}")
    if "automation_failing" in problems and _by_name(automation, AUTOMATION_FAILING) is None:
        missing.append(f"automation rule {AUTOMATION_FAILING!r}")
    if "basic_plan_custom_table" in problems and s.store.get(f"{s.workspace_id}/tables/{BASIC_CUSTOM_TABLE}") is None:
        missing.append(f"custom table {BASIC_CUSTOM_TABLE!r}")
    if missing:
        raise SeedError(f"{s.wp.name}: SCENARIO.md plants {', '.join(missing)}, but the ARM seeders did not create "
                        f"{'it' if len(missing) == 1 else 'them'} (looked under {s.sentinel_id})")


# ------------------------------------------------------------------------------------------------------
# Agents: Heartbeat, SecurityEvent, Syslog
# ------------------------------------------------------------------------------------------------------


def _ad_domain(s: Seeder) -> str:
    return f"{s.tenant.name.split('-')[0]}.local"


def _agent_stop_hours(s: Seeder, agent: Agent) -> int:
    ws, computer, hours = HEARTBEAT_STOPPED
    return hours if (s.wp.name == ws and agent.name == computer and "heartbeat_stopped" in s.wp.problems) else 0


def heartbeat(s: Seeder, agents: Sequence[Agent]) -> None:
    """One Heartbeat per agent per hour (Azure Monitor Agent); ``nw-dc-02`` goes silent 26 h ago."""
    domain = _ad_domain(s)
    sub = s.tenant.subscription_id
    for n, agent in enumerate(agents):
        vm_id = (f"/subscriptions/{sub}/resourceGroups/{s.wp.resource_group}"
                 f"/providers/Microsoft.Compute/virtualMachines/{agent.name}")
        ip = f"10.{(n * 37 + len(s.wp.name)) % 200}.{n}.{10 + n}"
        template = {
            "SourceSystem": "OpsManager", "MG": "00000000-0000-0000-0000-000000000002", "ManagementGroupName": "",
            "SourceComputerId": stable_id("computer", s.wp.name, agent.name), "ComputerIP": ip,
            "Computer": f"{agent.name}.{domain}", "Category": "Azure Monitor Agent", "OSType": agent.os,
            "OSName": "Windows Server 2022 Datacenter" if agent.os == "Windows" else "Ubuntu 22.04 LTS",
            "OSMajorVersion": "10" if agent.os == "Windows" else "22",
            "OSMinorVersion": "0" if agent.os == "Windows" else "04",
            "Version": "1.26.0.0" if agent.os == "Windows" else "1.29.4", "SCAgentChannel": "Direct",
            "IsGatewayInstalled": False, "RemoteIPLongitude": 4.9, "RemoteIPLatitude": 52.37,
            "RemoteIPCountry": "Netherlands", "SubscriptionId": sub, "ResourceGroup": s.wp.resource_group,
            "ResourceProvider": "Microsoft.Compute", "Resource": agent.name, "ResourceId": vm_id,
            "ResourceType": "virtualMachines", "ComputerEnvironment": "Azure", "Solutions": "",
            "VMUUID": stable_id("vm", s.wp.name, agent.name), "ComputerPrivateIPs": [ip],
        }
        stop = _agent_stop_hours(s, agent)
        offset = 0.0 if stop else 60.0 * (n * 7 % 50) + n  # each agent beats at its own minute of the hour
        first = s.clock.ago(stop) - offset
        for k, text in enumerate(s.clock.hourly(first, HOURS - stop)):
            s.emit("Heartbeat", first - k * 3600, dict(template), text)


_LOGON, _FAILED, _PROCESS = 4624, 4625, 4688
#: (EventID, Activity), repeated by relative frequency so that a uniform pick is weighted.
_WIN_EVENTS = (
    *[(_LOGON, "4624 - An account was successfully logged on.")] * 11,
    *[(_FAILED, "4625 - An account failed to log on.")] * 2,
    *[(_PROCESS, "4688 - A new process has been created.")] * 4,
    (4672, "4672 - Special privileges assigned to new logon."),
    (4634, "4634 - An account was logged off."),
)
_PROCESSES = ("C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\cmd.exe",
              "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "C:\\Windows\\explorer.exe",
              "C:\\Program Files\\Microsoft SQL Server\\sqlservr.exe")


def security_events(s: Seeder, agents: Sequence[Agent]) -> None:
    """Windows security events from the Windows agents (only for Sentinel workspaces)."""
    if not s.wp.sentinel:
        return
    domain = _ad_domain(s)
    nb = domain.split(".")[0].upper()
    users = [a.split("@")[0] for a in _user_upns(s)]
    now_hour = time.gmtime(s.clock.now).tm_hour
    rng = s.rng.random
    base_of: dict[str, LogRow] = {}
    for agent in (a for a in agents if a.os == "Windows"):
        computer = f"{agent.name}.{domain}"
        stop = _agent_stop_hours(s, agent)
        rate = 1.6 if agent.role == "dc" else 0.6
        base = {"SourceSystem": "OpsManager", "Computer": computer,
                "EventSourceName": "Microsoft-Windows-Security-Auditing",
                "Channel": "Security", "Level": "8", "SourceComputerId": stable_id("computer", s.wp.name, agent.name),
                "MG": "00000000-0000-0000-0000-000000000001", "ManagementGroupName": "AOI-" + s.customer_id}
        if not stop:
            base_of.setdefault(computer, base)
        for k in range(stop, HOURS):
            for _ in range(s.count(rate * _diurnal(k, now_hour))):
                ts = s.clock.ago(k) - rng() * 3600
                event_id, activity = _WIN_EVENTS[int(rng() * len(_WIN_EVENTS))]
                user = users[int(rng() * len(users))]
                row: LogRow = dict(base)
                row.update({"EventID": event_id, "Activity": activity, "Account": f"{nb}\\{user}",
                            "AccountType": "User", "TargetUserName": user, "TargetDomainName": nb})
                if event_id in (_LOGON, _FAILED):
                    network = rng() < 0.7
                    row["LogonType"] = 3 if network else 10
                    row["LogonTypeName"] = "3 - Network" if network else "10 - RemoteInteractive"
                    row["IpAddress"] = f"10.0.{int(rng() * 8)}.{int(rng() * 250) + 2}"
                    row["WorkstationName"] = f"WKS-{int(rng() * 40):03d}"
                    row["AuthenticationPackageName"] = "NTLM" if rng() < 0.3 else "Kerberos"
                    if event_id == _FAILED:
                        row["Status"], row["SubStatus"] = "0xc000006d", "0xc000006a"
                elif event_id == _PROCESS:
                    proc = _PROCESSES[int(rng() * len(_PROCESSES))]
                    row["NewProcessName"] = proc
                    row["ParentProcessName"] = "C:\\Windows\\explorer.exe"
                    row["CommandLine"] = proc.rsplit("\\", 1)[-1]
                    row["SubjectUserName"] = user
                    row["SubjectDomainName"] = nb
                s.emit("SecurityEvent", ts, row)
    _stale_service_password(s, base_of, domain)


#: Every 6 hours a scheduled backup job on the workspace's first Windows machine logs on as
#: ``svc-backup`` with a password changed elsewhere: a steady, real-world trickle of failed logons
#: (4625, wrong password) that does not depend on the random draws or the hour the emulator started.
_STALE_PASSWORD_EVERY_HOURS = 6


def _stale_service_password(s: Seeder, base_of: dict[str, LogRow], domain: str) -> None:
    if not base_of:
        return
    computer, base = next(iter(base_of.items()))
    nb = domain.split(".")[0].upper()
    for k in range(1, HOURS, _STALE_PASSWORD_EVERY_HOURS):
        row: LogRow = dict(base)
        row.update({"EventID": _FAILED, "Activity": "4625 - An account failed to log on.",
                    "Account": f"{nb}\\svc-backup", "AccountType": "User", "TargetUserName": "svc-backup",
                    "TargetDomainName": nb, "LogonType": 4, "LogonTypeName": "4 - Batch", "IpAddress": "-",
                    "WorkstationName": computer.split(".")[0].upper(), "AuthenticationPackageName": "Negotiate",
                    "Status": "0xc000006d", "SubStatus": "0xc000006a"})
        s.emit("SecurityEvent", s.clock.ago(k) - 60.0, row)


_SYSLOG = (
    ("auth", "info", "sshd", "Accepted publickey for azureuser from 10.1.0.4 port {p} ssh2"),
    ("authpriv", "notice", "sshd", "Failed password for invalid user admin from 203.0.113.{o} port {p} ssh2"),
    ("cron", "info", "CRON", "(root) CMD (run-parts /etc/cron.hourly)"),
    ("daemon", "info", "systemd", "Started Daily apt upgrade and clean activities."),
    ("kern", "warning", "kernel", "[UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.{o} DST=10.2.0.5 PROTO=TCP DPT=22"),
    ("daemon", "err", "nginx", "upstream timed out (110: Connection timed out) while reading response header"),
    ("daemon", "info", "dnsmasq", "query[A] login.microsoftonline.com from 10.2.0.{o}"),
)


def syslog(s: Seeder, agents: Sequence[Agent]) -> None:
    """Syslog from the Linux agents; in law-tailspin it stops 3 days ago (DCR destination problem)."""
    ws, _, stopped = INGESTION_STOPPED
    start = stopped if (s.wp.name == ws and "ingestion_stopped" in s.wp.problems) else 0
    rng = s.rng.random
    rate = 1.2 if s.wp.sentinel else 0.3
    domain = _ad_domain(s)
    for n, agent in enumerate(a for a in agents if a.os == "Linux"):
        start_k = max(start, _agent_stop_hours(s, agent))
        host = agent.name
        ip = f"10.2.{n}.{5 + n}"
        counts = s.steady(rate, range(start_k, HOURS))
        for k in range(start_k, HOURS):
            for _ in range(counts[k]):
                ts = s.clock.ago(k) - rng() * 3600
                text = s.clock.iso(ts)
                facility, severity, process, message = _SYSLOG[int(rng() * len(_SYSLOG))]
                s.emit("Syslog", ts, {
                    "SourceSystem": "Linux", "Computer": f"{host}.{domain}", "EventTime": text,
                    "Facility": facility, "HostName": host, "SeverityLevel": severity,
                    "SyslogMessage": message.format(p=40000 + int(rng() * 20000), o=int(rng() * 250) + 1),
                    "ProcessID": 1000 + int(rng() * 30000), "HostIP": ip, "ProcessName": process,
                    "CollectorHostName": host,
                }, text)


_CEF = (
    ("Palo Alto Networks", "PAN-OS", "10.2.4", "TRAFFIC", "end", "3", "allow", "tcp", 443),
    ("Palo Alto Networks", "PAN-OS", "10.2.4", "THREAT", "vulnerability", "8", "reset-both", "tcp", 445),
    ("Fortinet", "Fortigate", "7.2.5", "0000000013", "traffic:forward", "5", "deny", "udp", 53),
)


def cef(s: Seeder, agents: Sequence[Agent]) -> None:
    """CommonSecurityLog forwarded as CEF by the Linux collectors of workspaces whose DCR takes CEF."""
    from .monitor import COLLECTIONS

    collection = COLLECTIONS.get(s.wp.name)
    if collection is None or not collection.cef:
        return
    rng = s.rng.random
    for agent in (a for a in agents if a.os == "Linux"):
        for k in range(_agent_stop_hours(s, agent), HOURS):
            for _ in range(s.count(0.8)):
                ts = s.clock.ago(k) - rng() * 3600
                vendor, product, version, event_class, activity, severity, action, proto, port = \
                    _CEF[int(rng() * len(_CEF))]
                s.emit("CommonSecurityLog", ts, {
                    "DeviceVendor": vendor, "DeviceProduct": product, "DeviceVersion": version,
                    "DeviceEventClassID": event_class, "Activity": activity, "LogSeverity": severity,
                    "DeviceAction": action, "ApplicationProtocol": "", "DestinationPort": port,
                    "DestinationIP": f"10.3.0.{int(rng() * 250) + 1}", "SourcePort": 40000 + int(rng() * 20000),
                    "SourceIP": f"198.51.100.{int(rng() * 250) + 1}", "Protocol": proto.upper(),
                    "Computer": agent.name, "CommunicationDirection": "Inbound",
                    "ReceivedBytes": int(rng() * 50000), "SentBytes": int(rng() * 20000),
                    "SimplifiedDeviceAction": "Deny" if action in ("deny", "reset-both") else "Allow",
                    "CollectorHostName": agent.name, "SourceSystem": "OpsManager",
                })


# ------------------------------------------------------------------------------------------------------
# Tenant-level data: SigninLogs, AzureActivity, OfficeActivity
# ------------------------------------------------------------------------------------------------------

_EXTRA_USERS = ("j.smith", "m.garcia", "svc-backup", "k.tanaka", "l.martin", "helpdesk")
_APPS = (("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
         ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
         ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
         ("Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
         ("SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"))
_LOCATIONS = (("NL", "Amsterdam", "Noord-Holland", "81.204.12"), ("GB", "London", "London", "51.140.33"),
              ("US", "Seattle", "Washington", "52.160.4"), ("DE", "Frankfurt", "Hessen", "20.79.102"))
_FAILURES = (("50126", "Error validating credentials due to invalid username or password."),
             ("50074", "Strong Authentication is required."),
             ("53003", "Access has been blocked by Conditional Access policies."))


def _user_upns(s: Seeder) -> list[str]:
    domain = s.tenant.domain
    return [f"{u}@{domain}" for u in (*s.tenant.analysts, *_EXTRA_USERS)]


def signin_logs(s: Seeder) -> None:
    """Entra ID sign-ins (~40 a day); some failures; brute force on the Azure Portal in law-tailspin."""
    upns = _user_upns(s)
    rng = s.rng.random
    now_hour = time.gmtime(s.clock.now).tm_hour
    signin = _signin_factory(s)
    for k in range(HOURS):
        for _ in range(s.count(1.1 * _diurnal(k, now_hour))):
            ts = s.clock.ago(k) - rng() * 3600
            fail = rng() < 0.08
            loc = _LOCATIONS[int(rng() * len(_LOCATIONS))]
            signin(ts, upns[int(rng() * len(upns))], _APPS[int(rng() * len(_APPS))], loc,
                   f"{loc[3]}.{int(rng() * 250) + 2}", _FAILURES[int(rng() * len(_FAILURES))] if fail else None)
    if "rule_auto_disabled" in s.wp.problems:  # what the (now auto-disabled) brute-force rule was about
        for k in range(30, 44):
            for _ in range(6):
                signin(s.clock.ago(k) - rng() * 3600, upns[int(rng() * len(upns))], _APPS[0],
                       ("RU", "Moscow", "Moscow", "185.220.101"), "185.220.101.47", _FAILURES[0])


def _signin_factory(s: Seeder) -> Any:
    """A function emitting one SigninLogs row; constant parts are built once per workspace."""
    tenant_id = s.tenant.id
    users = {upn: (stable_id("user", upn.split("@")[0], s.tenant.name), upn.split("@")[0].replace(".", " ").title())
             for upn in _user_upns(s)}
    template = {
        "SourceSystem": "Azure AD", "OperationName": "Sign-in activity", "OperationVersion": "1.0",
        "Category": "SignInLogs", "ResultSignature": "None", "DurationMs": 0, "Resource": "Microsoft.aadiam",
        "ResourceGroup": "Microsoft.aadiam", "ResourceProvider": "Microsoft.aadiam", "AuthenticationDetails": "[]",
        "AuthenticationRequirement": "multiFactorAuthentication", "ClientAppUsed": "Browser",
        "ConditionalAccessPolicies": [],
        "DeviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 120.0.0"},
        "IsInteractive": True, "IsRisky": False, "MfaDetail": {}, "NetworkLocationDetails": "[]",
        "ResourceDisplayName": "Windows Azure Service Management API",
        "ResourceIdentity": "797f4846-ba00-4fd7-ba43-dac1f8f63013", "RiskDetail": "none", "RiskEventTypes": "[]",
        "RiskEventTypes_V2": "[]", "RiskLevelAggregated": "none", "RiskLevelDuringSignIn": "none", "RiskState": "none",
        "TokenIssuerType": "AzureAD", "UserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0",
        "UserType": "Member", "HomeTenantId": tenant_id, "ResourceTenantId": tenant_id,
    }
    locations = {loc: {"city": loc[1], "state": loc[2], "countryOrRegion": loc[0]} for loc in _LOCATIONS}
    ok_status = {"errorCode": 0}
    statuses = {code: {"errorCode": int(code), "failureReason": reason} for code, reason in _FAILURES}

    def signin(ts: float, upn: str, app: tuple[str, str], loc: tuple[str, str, str, str], ip: str,
               failure: tuple[str, str] | None) -> None:
        code, reason = failure or ("0", "")
        user_id, display = users[upn]
        text = s.clock.iso(ts)
        row = dict(template)
        row.update({
            "ResultType": code, "ResultDescription": reason, "CorrelationId": s.guid(), "Identity": display,
            "Level": "4" if failure else "0", "Location": loc[0], "AlternateSignInName": upn,
            "AppDisplayName": app[0], "AppId": app[1],
            "ConditionalAccessStatus": "failure" if code == "53003" else "success", "CreatedDateTime": text,
            "Id": s.guid(), "IPAddress": ip,
            "LocationDetails": locations.get(loc) or {"city": loc[1], "state": loc[2], "countryOrRegion": loc[0]},
            "Status": statuses[code] if failure else ok_status, "UserDisplayName": display, "UserId": user_id,
            "UserPrincipalName": upn,
        })
        s.emit("SigninLogs", ts, row, text)

    return signin


_ACTIVITY_OPS = (
    ("Microsoft.Compute/virtualMachines/write", "Microsoft.Compute", "virtualMachines"),
    ("Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute", "virtualMachines"),
    ("Microsoft.Network/networkSecurityGroups/securityRules/write", "Microsoft.Network", "networkSecurityGroups"),
    ("Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage", "storageAccounts"),
    ("Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization", "roleAssignments"),
    ("Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault", "vaults"),
    ("Microsoft.SecurityInsights/alertRules/write", "Microsoft.SecurityInsights", "alertRules"),
)


def azure_activity(s: Seeder) -> None:
    """The subscription's Activity log; in law-northwind the last 24 h are ~10 % of the daily average."""
    rng = s.rng.random
    sub = s.tenant.subscription_id
    upns = _user_upns(s)
    rate = 1.0 if s.wp.sentinel else 0.25
    hours = list(range(HOURS))
    drop_ws, table, ratio = INGESTION_DROP
    dropped = s.wp.name == drop_ws and "ingestion_drop" in s.wp.problems
    if dropped:
        rate = 2.0
        hours = list(range(24, HOURS))
    counts = s.steady(rate, hours)
    if dropped:  # exactly ratio x the mean of the earlier days, spread evenly over the last 24 h
        last_day = round(sum(counts.values()) / (DAYS - 1) * ratio)
        for i in range(last_day):
            k = int(i * 24 / last_day)
            counts[k] = counts.get(k, 0) + 1
    hierarchy = f"{s.tenant.id}/{sub}"
    group_id = f"/subscriptions/{sub}/resourceGroups/{s.wp.resource_group}"
    for k, n in sorted(counts.items()):
        for _ in range(n):
            ts = s.clock.ago(k) - rng() * 3600
            text = s.clock.iso(ts)
            op, provider, rtype = _ACTIVITY_OPS[int(rng() * len(_ACTIVITY_OPS))]
            name = f"{rtype[:-1].lower()}-{int(rng() * 6) + 1:02d}"
            resource_id = f"{group_id}/providers/{provider}/{rtype}/{name}"
            caller = upns[int(rng() * len(upns))]
            status = "Success" if rng() < 0.93 else "Failure"
            correlation = s.guid()
            s.emit(table, ts, {
                "SourceSystem": "Azure", "CallerIpAddress": f"81.204.12.{int(rng() * 250) + 2}",
                "CategoryValue": "Administrative", "CorrelationId": correlation,
                "Authorization": json.dumps({"action": op, "scope": resource_id}),
                "Authorization_d": {"action": op, "scope": resource_id}, "Level": "Informational",
                "OperationNameValue": op.upper(), "Properties": "{}", "Properties_d": {"entity": resource_id},
                "Caller": caller, "EventDataId": s.guid(), "EventSubmissionTimestamp": text,
                "OperationId": correlation, "ResourceGroup": s.wp.resource_group.upper(),
                "ResourceProviderValue": provider.upper(), "ActivityStatusValue": status,
                "ActivitySubstatusValue": "OK" if status == "Success" else "Forbidden",
                "Hierarchy": hierarchy, "SubscriptionId": sub, "OperationName": op,
                "ActivityStatus": status, "Category": "Administrative", "ResourceId": resource_id,
                "ResourceProvider": provider, "Resource": name,
            }, text)


def office_activity(s: Seeder, stop_hours: int) -> None:
    """Office 365 audit records (what the Office 365 connector brings), stopping ``stop_hours`` ago."""
    rng = s.rng.random
    upns = _user_upns(s)
    ops = (("FileAccessed", "SharePoint", "6"), ("FileModified", "SharePoint", "6"),
           ("FileDownloaded", "OneDrive", "6"), ("MailItemsAccessed", "Exchange", "50"),
           ("UserLoggedIn", "AzureActiveDirectory", "15"))
    site = f"https://{s.tenant.name.split('-')[0]}.sharepoint.com/sites/Projects/"
    user_keys = {upn: stable_id("user", upn) for upn in upns}
    tenant_id = s.tenant.id
    for k in range(stop_hours, HOURS):
        for _ in range(s.count(0.7)):
            ts = s.clock.ago(k) - rng() * 3600
            text = s.clock.iso(ts)
            op, workload, record_type = ops[int(rng() * len(ops))]
            user = upns[int(rng() * len(upns))]
            doc = f"Report-{int(rng() * 90):02d}.docx"
            s.emit("OfficeActivity", ts, {
                "RecordType": record_type, "Operation": op, "OrganizationId": tenant_id, "UserType": "Regular",
                "UserKey": user_keys[user], "OfficeWorkload": workload, "ResultStatus": "Succeeded",
                "OfficeObjectId": site + doc if workload != "Exchange" else "", "UserId": user,
                "ClientIP": f"81.204.12.{int(rng() * 250) + 2}", "UserAgent": "Mozilla/5.0",
                "Site_Url": site if workload in ("SharePoint", "OneDrive") else "",
                "SourceFileName": doc if workload in ("SharePoint", "OneDrive") else "",
                "SourceFileExtension": "docx" if workload in ("SharePoint", "OneDrive") else "",
                "SourceRelativeUrl": "Shared Documents", "OfficeId": s.guid(), "OfficeTenantId": tenant_id,
                "ElapsedTime": text, "SourceSystem": "OfficeActivityManager",
            }, text)


# ------------------------------------------------------------------------------------------------------
# Incidents and alerts
# ------------------------------------------------------------------------------------------------------


def _props(resource: Resource) -> dict[str, Any]:
    return resource.get("properties") or {}


def _entities_of(store: Store, alert: Resource) -> list[dict[str, Any]]:
    """An alert's entities in SecurityAlert's ``Entities`` JSON form (``$id`` + ``Type`` + properties)."""
    from ..arm.resources.sentinel_entities import related

    out: list[dict[str, Any]] = []
    for target in related(store, alert["id"]):
        entity: dict[str, Any] = {"$id": str(len(out) + 2)}
        entity.update({k[:1].upper() + k[1:]: v for k, v in _props(target).items()
                       if k not in ("friendlyName", "additionalData") and v not in (None, "", [], {})})
        entity["Type"] = str(target.get("kind", "")).lower()
        out.append(entity)
    return out


def security_alert_row(store: Store, workspace: Resource, alert: Resource) -> tuple[float, LogRow]:
    """``(epoch, row)``: the SecurityAlert row of an alert entity (``{sentinel}/entities/{id}``, kind SecurityAlert).

    ``SystemAlertId`` is the alert resource's name, which is what ``SecurityIncident.AlertIds`` holds.
    """
    p = _props(alert)
    sub, rg = str(workspace["id"]).split("/")[2], str(workspace["id"]).split("/")[4]
    ts = parse_time(p.get("timeGenerated")) or parse_time(p.get("startTimeUtc")) or 0.0
    extra = p.get("additionalData") or {}
    return ts, {
        "DisplayName": p.get("alertDisplayName", ""), "AlertName": p.get("alertDisplayName", ""),
        "AlertSeverity": p.get("severity", ""), "Description": p.get("description", ""),
        "ProviderName": extra.get("ProviderName") or (
            "ASI Scheduled Alerts" if p.get("productName") in (None, "Azure Sentinel", "Microsoft Sentinel")
            else p.get("productName")),
        "VendorName": p.get("vendorName", "Microsoft"),
        "VendorOriginalId": p.get("providerAlertId") or alert.get("name"), "SystemAlertId": alert.get("name"),
        "ResourceId": "", "SourceComputerId": "", "AlertType": p.get("alertType", ""),
        "ConfidenceLevel": p.get("confidenceLevel", "Unknown"), "ConfidenceScore": p.get("confidenceScore"),
        "IsIncident": False, "StartTime": p.get("startTimeUtc"), "EndTime": p.get("endTimeUtc"),
        "ProcessingEndTime": p.get("processingEndTime"),
        "RemediationSteps": json.dumps(p.get("remediationSteps") or []),
        "ExtendedProperties": json.dumps({str(k): v if isinstance(v, str) else json.dumps(v)
                                          for k, v in extra.items()}),
        "Entities": json.dumps(_entities_of(store, alert)),
        "SourceSystem": "Detection", "WorkspaceSubscriptionId": sub, "WorkspaceResourceGroup": rg,
        "ExtendedLinks": "", "ProductName": p.get("productName", "Azure Sentinel"),
        "ProductComponentName": p.get("productComponentName", "Scheduled Alerts"),
        "AlertLink": p.get("alertLink", ""), "Status": p.get("status", "New"),
        "CompromisedEntity": p.get("compromisedEntity", ""), "Tactics": ", ".join(p.get("tactics") or []),
        "Techniques": json.dumps(p.get("techniques") or []), "SubTechniques": json.dumps(p.get("subTechniques") or []),
    }


def security_incident_rows(store: Store, workspace: Resource, incident: Resource) -> list[tuple[float, LogRow]]:
    """``(epoch, row)`` SecurityIncident rows: the creation, then the current state when it changed since.

    Rows are built by the ARM incidents module (the one that appends a row on every later change), so
    seeded and live rows have the same shape.
    """
    from ..arm.resources.sentinel_incidents import UNASSIGNED, additional_data, incident_alerts, incident_log_row

    p = _props(incident)
    created_text = p.get("createdTimeUtc")
    created = parse_time(created_text) or 0.0
    modified = parse_time(p.get("lastModifiedTimeUtc")) or created
    alerts = incident_alerts(store, incident["id"])
    extra = additional_data(store, incident, alerts)
    comments = store.children(f"{incident['id']}/comments")
    tasks = store.children(f"{incident['id']}/tasks")
    owner = p.get("owner") or {}
    changed = modified > created and (p.get("status", "New") != "New" or owner.get("objectId")
                                      or p.get("classification") or comments or tasks)
    rows: list[tuple[float, LogRow]] = []
    first = None
    if changed:
        as_created = dict(incident, properties=dict(p, status="New", owner=dict(UNASSIGNED), classification=None,
                                                    classificationReason=None, classificationComment=None,
                                                    lastModifiedTimeUtc=created_text))
        first = incident_log_row(as_created, workspace, alerts=alerts, additional=extra,
                                 modified_by="Incident created from alert rule"
                                 if p.get("relatedAnalyticRuleIds") else "Microsoft Sentinel")
        rows.append((created, first))
    by = owner.get("userPrincipalName") or owner.get("email") or (
        "Incident created from alert rule" if p.get("relatedAnalyticRuleIds") else "Microsoft Sentinel")
    current = incident_log_row(incident, workspace, alerts=alerts, comments=comments, tasks=tasks, additional=extra,
                               previous=first, modified_by=by)
    rows.append((modified if changed else created, current))
    return rows


def incident_and_alert_rows(s: Seeder, incidents: Sequence[Resource]) -> None:
    """SecurityIncident and SecurityAlert rows for every incident (unless an ARM seeder already wrote them)."""
    from ..arm.resources.sentinel_incidents import incident_alerts

    existing = s.store.workspace_logs(s.customer_id)
    logged_incidents = {r.get("IncidentName") for r in existing.get("SecurityIncident", [])}
    logged_alerts = {r.get("SystemAlertId") for r in existing.get("SecurityAlert", [])}
    seen_alerts: set[str] = set()
    for incident in incidents:
        for alert in incident_alerts(s.store, incident["id"]):
            name = str(alert.get("name"))
            if name in logged_alerts or name in seen_alerts:
                continue
            seen_alerts.add(name)
            ts, row = security_alert_row(s.store, s.workspace, alert)
            s.emit("SecurityAlert", ts, row)
        if incident.get("name") in logged_incidents:
            continue
        for ts, row in security_incident_rows(s.store, s.workspace, incident):
            s.emit("SecurityIncident", ts, row)


# ------------------------------------------------------------------------------------------------------
# SentinelHealth: analytics rules, data connectors, automation rules; SentinelAudit
# ------------------------------------------------------------------------------------------------------

_AUTO_DISABLED_REASON = "The analytics rule is disabled and was not executed."


def _health_row(s: Seeder, resource: Resource, operation: str, status: str, description: str, reason: str,
                rtype: str, kind: str, extended: dict[str, Any]) -> LogRow:
    return {
        "OperationName": operation, "SentinelResourceId": resource["id"],
        "SentinelResourceName": _props(resource).get("displayName") or resource.get("name"), "Status": status,
        "Description": description, "Reason": reason, "WorkspaceId": s.customer_id, "SentinelResourceType": rtype,
        "SentinelResourceKind": kind, "RecordId": s.guid(), "ExtendedProperties": extended,
    }


def analytics_rule_health(s: Seeder, rules: Sequence[Resource], incidents: Sequence[Resource]) -> None:
    """One SentinelHealth row per run of every Scheduled/NRT rule over the last week, with the planted failures."""
    alerts_by_rule: dict[str, set[int]] = {}
    for incident in incidents:
        created = parse_time(_props(incident).get("createdTimeUtc"))
        if created is None:
            continue
        for rule_id in _props(incident).get("relatedAnalyticRuleIds") or []:
            alerts_by_rule.setdefault(str(rule_id).lower(), set()).add(int((s.clock.now - created) // 3600))
    problems = set(s.wp.problems)
    for rule in rules:
        kind = str(rule.get("kind", ""))
        if kind not in ("Scheduled", "NRT"):
            continue
        p = _props(rule)
        name = p.get("displayName")
        freq = 3600.0 if kind == "NRT" else max(3600.0, iso_duration_seconds(p.get("queryFrequency"), 3600.0))
        period = iso_duration_seconds(p.get("queryPeriod"), freq)
        first_run, last_run = HEALTH_HOURS * 3600.0, 0.0  # seconds ago
        failing_since = None
        auto_disabled_at = None
        if "rule_failing" in problems and name == RULE_FAILING:
            failing_since = max(30 * 3600.0, 2 * freq)  # every run of the last 24 h fails
        elif "rule_auto_disabled" in problems and name == RULE_AUTO_DISABLED:
            # failed repeatedly (at least three runs, a day or more), then Sentinel disabled it 14 h ago
            auto_disabled_at = 14 * 3600.0
            failing_since = auto_disabled_at + max(26 * 3600.0, 3 * freq)
            last_run = auto_disabled_at + 1.0
        elif not p.get("enabled", True):
            disabled = parse_time(p.get("lastModifiedUtc"))
            last_run = (s.clock.now - disabled) if disabled else 5 * 86400.0
        operation = "NRT analytics rule run" if kind == "NRT" else "Scheduled analytics rule run"
        alert_hours = alerts_by_rule.get(str(rule["id"]).lower(), set())
        phase = (int(str(rule["name"])[:4], 16) if _is_hex(str(rule["name"])[:4]) else 0) % 3600
        ago = first_run - phase
        settings = {  # what the rule's settings put in every run's ExtendedProperties
            "AggregationKind": ((p.get("eventGroupingSettings") or {}).get("aggregationKind") or "SingleAlert"),
            "QueryFrequency": timespan_text(freq), "QueryPeriod": timespan_text(period), "RuleId": rule["name"],
            "TriggerType": kind, "TriggerOperator": p.get("triggerOperator", "GreaterThan"),
            "TriggerThreshold": p.get("triggerThreshold", 0),
            "SuppressionEnabled": str(bool(p.get("suppressionEnabled", False))),
            "SuppressionDuration": timespan_text(iso_duration_seconds(p.get("suppressionDuration"), 18000)),
        }
        while ago >= last_run:
            ts = s.clock.now - ago
            text = s.clock.iso(ts)
            extended = dict(settings)
            extended.update({"CorrelationId": s.guid(), "QueryStartTimeUTC": s.clock.iso(ts - period),
                             "QueryEndTimeUTC": text})
            if failing_since is not None and ago <= failing_since:
                extended.update({"Issues": [{"Code": "TableNotFound", "Description":
                                             "'where' operator: Failed to resolve table or column expression named "
                                             "'DeviceProcessEvents'"}], "AlertsGeneratedAmount": 0,
                                 "QueryResultAmount": 0})
                s.emit("SentinelHealth", ts, _health_row(
                    s, rule, operation, "Failure",
                    "The analytics rule's query failed to run: 'where' operator: Failed to resolve table or column "
                    "expression named 'DeviceProcessEvents'.",
                    "A table referenced in the query was not found.", "Analytics Rule", kind, extended), text)
            else:
                hour = int(ago // 3600)
                alerts = 1 if hour in alert_hours else 0
                extended.update({"AlertsGeneratedAmount": alerts, "QueryResultAmount": alerts * 3,
                                 "EntitiesGeneratedAmount": alerts * 2})
                description = (f"Rule executed successfully, generating {alerts} alert(s)." if alerts else
                               "Rule executed successfully, but did not reach the threshold "
                               f"({p.get('triggerThreshold', 0)}) required to generate an alert.")
                s.emit("SentinelHealth", ts, _health_row(s, rule, operation, "Success", description, "",
                                                         "Analytics Rule", kind, extended), text)
            ago -= freq
        if auto_disabled_at is not None:
            s.emit("SentinelHealth", s.clock.now - auto_disabled_at, _health_row(
                s, rule, operation, "Failure",
                "The analytics rule was disabled by Microsoft Sentinel after failing to run for an extended period "
                "('AUTO DISABLED' was added to its name): A table referenced in the query was not found.",
                _AUTO_DISABLED_REASON, "Analytics Rule", kind,
                {"RuleId": rule["name"], "TriggerType": kind, "AutoDisabled": True,
                 "Issues": [{"Code": "TableNotFound",
                             "Description": "A table referenced in the query was not found."}]}))


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def connector_health_and_data(s: Seeder, connectors: Sequence[Resource]) -> None:
    """Hourly ``Data fetch status change`` for the connectors the health feature covers; Office 365 data.

    In law-northwind the Office 365 connector fails for the last 2 days (last success 48 h ago) and its
    OfficeActivity rows stop then too.
    """
    has_office = False
    for connector in connectors:
        kind = str(connector.get("kind", ""))
        table = HEALTH_CONNECTOR_KINDS.get(kind.lower())
        if table is None:
            continue
        failing = (kind.lower() == CONNECTOR_FAILING_KIND.lower() and "connector_failing" in s.wp.problems)
        if kind.lower() == "office365":
            has_office = True
            office_activity(s, CONNECTOR_LAST_SUCCESS_HOURS if failing else 0)
        name = _props(connector).get("displayName") or {
            "office365": "Office 365", "threatintelligence": "Threat Intelligence Platforms",
            "threatintelligencetaxii": "Threat Intelligence - TAXII",
            "microsoftdefenderadvancedthreatprotection": "Microsoft Defender for Endpoint",
        }.get(kind.lower(), kind)
        named = dict(connector)
        named["properties"] = dict(_props(connector), displayName=name)
        last_success = s.clock.ago(CONNECTOR_LAST_SUCCESS_HOURS)
        for k in range(HEALTH_HOURS, -1, -1):
            ts = s.clock.ago(k) - 60.0
            if failing and k < CONNECTOR_LAST_SUCCESS_HOURS:
                extended = {"DestinationTable": table, "Reason": "Unauthorized",
                            "FailureSummary": "The Office 365 Management Activity API returned 401 (Unauthorized)",
                            "LastSuccessfulFetchTime": s.clock.iso(last_success)}
                s.emit("SentinelHealth", ts, _health_row(
                    s, named, "Data fetch status change", "Failure",
                    "Failed to fetch data: the Office 365 Management Activity API returned 401 (Unauthorized). The "
                    "connector's permissions or credentials are no longer valid; reconnect the connector.",
                    "Unauthorized", "Data connector", kind, extended))
                s.emit("SentinelHealth", ts + 30, _health_row(
                    s, named, "Data fetch failure summary", "Informational",
                    "12 data fetch attempts failed in the last hour (401 Unauthorized).", "Unauthorized",
                    "Data connector", kind, {"DestinationTable": table, "FailureCount": 12}))
            else:
                if failing and k == CONNECTOR_LAST_SUCCESS_HOURS:
                    ts = last_success
                s.emit("SentinelHealth", ts, _health_row(
                    s, named, "Data fetch status change", "Success", "Data fetched successfully.", "",
                    "Data connector", kind, {"DestinationTable": table}))
    if "connector_failing" in s.wp.problems and not has_office:
        raise SeedError(f"{s.wp.name}: no Office 365 connector to fail (SCENARIO.md: connector_failing)")


def _automation_matches(rule: Resource, incident: Resource) -> bool:
    """Whether an automation rule's (simple) conditions select ``incident``."""
    logic = _props(rule).get("triggeringLogic") or {}
    if str(logic.get("triggersOn", "Incidents")).lower() != "incidents":
        return False
    ip = _props(incident)
    for cond in logic.get("conditions") or []:
        cp = cond.get("conditionProperties") or {}
        prop = str(cp.get("propertyName") or "")
        values = [str(v).lower() for v in cp.get("propertyValues") or []]
        op = str(cp.get("operator") or "Equals").lower()
        actual = {"incidentseverity": ip.get("severity"), "incidentstatus": ip.get("status"),
                  "incidenttitle": ip.get("title")}.get(prop.lower())
        if actual is None or not values:
            continue
        actual = str(actual).lower()
        ok = (actual in values if op == "equals" else actual not in values if op == "notequals"
              else any(v in actual for v in values) if op == "contains" else True)
        if not ok:
            return False
    return True


def automation_health(s: Seeder, automation: Sequence[Resource], incidents: Sequence[Resource]) -> None:
    """``Automation rule run`` rows for each incident an enabled rule matched; the planted playbook failure."""
    for rule in automation:
        p = _props(rule)
        logic = p.get("triggeringLogic") or {}
        if not logic.get("isEnabled", True):
            continue
        failing = p.get("displayName") == AUTOMATION_FAILING and "automation_failing" in s.wp.problems
        actions = p.get("actions") or []
        playbooks = [str((a.get("actionConfiguration") or {}).get("logicAppResourceId") or "")
                     for a in actions if str(a.get("actionType", "")).lower() == "runplaybook"]
        when = str(logic.get("triggersWhen", "Created"))
        for incident in incidents:
            ip = _props(incident)
            ts = parse_time(ip.get("createdTimeUtc" if when == "Created" else "lastModifiedTimeUtc"))
            if ts is None or s.clock.now - ts > HOURS * 3600 or not _automation_matches(rule, incident):
                continue
            ts += 20 + s.rng.random() * 40
            extended = {"IncidentName": incident["id"], "IncidentNumber": str(ip.get("incidentNumber", "")),
                        "TotalActions": len(actions), "TriggeredOn": "Incident", "TriggeredWhen": when}
            if failing:
                extended.update({"ActionsTriggeredSuccessfully": max(0, len(actions) - len(playbooks or [""])),
                                 "TriggeredPlaybooks": []})
                workflow = playbooks[0].rsplit("/", 1)[-1] if playbooks and playbooks[0] else "Notify-SOC"
                s.emit("SentinelHealth", ts, _health_row(
                    s, rule, "Automation rule run", "Failure",
                    f"The playbook '{workflow}' could not be triggered: Microsoft Sentinel does not have "
                    "permissions to run it (403 AuthorizationFailed on the Logic App). Grant the Microsoft Sentinel "
                    "Automation Contributor role on the playbook's resource group.",
                    "Playbook failed to run", "Automation rule", "", extended))
            else:
                extended.update({"ActionsTriggeredSuccessfully": len(actions), "TriggeredPlaybooks": [
                    {"RunId": s.guid().replace("-", "").upper()[:28], "WorkflowId": wf} for wf in playbooks if wf]})
                s.emit("SentinelHealth", ts, _health_row(s, rule, "Automation rule run", "Success",
                                                         "Automation rule ran successfully.", "", "Automation rule", "",
                                                         extended))


def sentinel_audit(s: Seeder, rules: Sequence[Resource]) -> None:
    """SentinelAudit rows for the rule changes SCENARIO.md describes (who disabled what)."""
    admin = next(iter(s.tenant.analysts), "admin")
    for rule in rules:
        p = _props(rule)
        name = str(p.get("displayName") or "")
        by_user = name in RULES_DISABLED and "rules_disabled" in s.wp.problems
        by_sentinel = name == RULE_AUTO_DISABLED and "rule_auto_disabled" in s.wp.problems
        if not (by_user or by_sentinel):
            continue
        when = (s.clock.ago(14) if by_sentinel
                else parse_time(p.get("lastModifiedUtc")) or s.clock.ago(5 * 24))
        caller = "Microsoft Sentinel" if by_sentinel else f"{admin}@{s.tenant.domain}"
        s.emit("SentinelAudit", when, {
            "OperationName": "Create or update analytics rule", "SentinelResourceId": rule["id"],
            "SentinelResourceName": name, "Status": "Success", "Description": "Create or update analytics rule",
            "WorkspaceId": s.customer_id, "SentinelResourceType": "Analytic Rule",
            "SentinelResourceKind": str(rule.get("kind", "")), "CorrelationId": s.guid(), "RecordId": s.guid(),
            "ExtendedProperties": {
                "CallerName": caller, "CallerIpAddress": "" if by_sentinel else "81.204.12.30",
                "OriginalResourceState": {"properties": {"enabled": True, "displayName": name.removeprefix(
                    "AUTO DISABLED ") if by_sentinel else name}},
                "UpdatedResourceState": {"properties": {"enabled": False, "displayName": name}},
                "ResourceDiffMemberNames": ["Properties.Enabled"] + (["Properties.DisplayName"] if by_sentinel else []),
            },
        })


# ------------------------------------------------------------------------------------------------------
# Custom tables and Usage
# ------------------------------------------------------------------------------------------------------

_CUSTOM_VALUES: dict[str, tuple[str, ...]] = {
    "action": ("Login", "Export", "DeleteRecord", "ChangePermission", "ViewReport"),
    "result": ("Success", "Success", "Success", "Denied"),
    "app": ("Payroll", "CRM", "Intranet"),
}


def custom_tables(s: Seeder) -> None:
    """A few rows a day in each custom ``_CL`` table declared through ARM (within its retention)."""
    rng = s.rng.random
    upns = _user_upns(s)
    for table in sorted(s.store.children(f"{s.workspace_id}/tables"), key=lambda r: str(r.get("name"))):
        name = str(table.get("name", ""))
        if not name.endswith("_CL"):
            continue
        props = _props(table)
        columns = [c for c in (props.get("schema") or {}).get("columns") or [] if c.get("name") != "TimeGenerated"]
        days = int(props.get("totalRetentionInDays") or props.get("retentionInDays") or DAYS)
        for k in range(min(days, DAYS) * 24):
            for _ in range(s.count(0.5)):
                ts = s.clock.ago(k) - rng() * 3600
                row: LogRow = {}
                for col in columns:
                    cname, ctype = str(col.get("name")), str(col.get("type", "string")).lower()
                    if ctype == "datetime":
                        row[cname] = s.clock.iso(ts)
                    elif ctype in ("int", "long"):
                        row[cname] = int(rng() * 1000)
                    elif ctype == "real":
                        row[cname] = round(rng() * 100, 2)
                    elif ctype in ("boolean", "bool"):
                        row[cname] = rng() < 0.5
                    elif ctype == "dynamic":
                        row[cname] = {"source": "AppAudit", "n": int(rng() * 10)}
                    elif ctype == "guid":
                        row[cname] = s.guid()
                    else:
                        low = cname.lower()
                        vocab = next((v for key, v in _CUSTOM_VALUES.items() if key in low), None)
                        if "user" in low or "upn" in low:
                            row[cname] = upns[int(rng() * len(upns))]
                        elif vocab:
                            row[cname] = vocab[int(rng() * len(vocab))]
                        else:
                            row[cname] = f"{cname}-{int(rng() * 50)}"
                s.emit(name, ts, row)


def _catalog_solution(table: str) -> str:
    """The solution the catalog files a Microsoft table under (LogManagement for the rest)."""
    from ..arm.resources.la_catalog import system_table

    known = system_table(table)
    return known.solutions[0] if known else "LogManagement"


def usage(s: Seeder) -> None:
    """Hourly ``Usage`` per table, from the rows actually seeded (no rows in an hour, no Usage row)."""
    rows_by_table = {t: c for t, c in s.hourly.items() if t != "Usage"}
    for table, hourly in sorted(rows_by_table.items()):
        size = RECORD_BYTES.get(table, 1000)
        billable = table not in FREE_TABLES
        solution = SOLUTIONS.get(table) or _catalog_solution(table)
        template = {"SourceSystem": "OMS", "DataType": table, "Solution": solution, "BatchesWithinSla": 0,
                    "BatchesOutsideSla": 0, "BatchesCapped": 0, "QuantityUnit": "MBytes", "IsBillable": billable,
                    "MeterId": "a4e29a95-5b4c-408b-80e3-113f9410566e" if billable else "",
                    "LinkedMeterId": "00000000-0000-0000-0000-000000000000", "ResourceUri": s.workspace_id.lower()}
        per_record = size * USAGE_SCALE / 1_000_000
        hour_iso = s.clock.hour_iso
        rng = s.rng.random
        for k, n in enumerate(hourly[:HOURS]):
            if not n:
                continue
            row = dict(template)
            row.update({"StartTime": hour_iso[k + 1], "EndTime": hour_iso[k], "Quantity": n * per_record,
                        "TotalBatches": n, "BatchesWithinSla": n,
                        "AvgLatencyInSeconds": 30 + int(rng() * 60000) / 1000})
            s.emit("Usage", s.clock.now - k * 3600, row, hour_iso[k])


__all__ = [
    "EXTRA_AGENTS",
    "USAGE_SCALE",
    "Clock",
    "SeedError",
    "security_alert_row",
    "security_incident_rows",
    "seed_logs",
]

