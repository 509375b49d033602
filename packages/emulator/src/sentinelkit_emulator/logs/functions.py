"""The functions a workspace's queries can call: ``_GetWatchlist``, saved functions, ASIM parsers.

All are stored-function definitions for duckdb-kql (``functions=``), built from the workspace's state:

- ``_GetWatchlist('alias')``: the items of that watchlist (ARM resources), one row per item with
  ``_DTItemId``, ``LastUpdatedTimeUTC``, ``SearchKey`` and each of its fields as a string column, as the
  service's ``bag_unpack`` gives them (see :func:`watchlist_functions`); a watchlist the workspace lacks
  gives no rows, as in the service;
- saved searches with a ``functionAlias`` (Log Analytics functions), with their ``functionParameters``;
- the ASIM unifying parsers Sentinel content calls most (network session, process creation, DNS,
  authentication) over the tables the emulator seeds, with the filtering parameters of Microsoft's
  parsers (https://learn.microsoft.com/azure/sentinel/normalization-about-parsers).

duckdb-kql takes arguments by position only: :data:`Function.parameters` lets the engine rewrite
named arguments (``_Im_Dns(starttime=ago(1h))``) before translating.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store

_WATCHLIST_TYPE = "microsoft.securityinsights/watchlists"


@dataclass(frozen=True)
class Function:
    name: str
    #: ``(name, default KQL)`` in order; default "" for a required parameter
    parameters: tuple[tuple[str, str], ...]
    definition: str


# -- ASIM ---------------------------------------------------------------------------------------------

_NETWORK_PARAMS = (
    ("starttime", "datetime(null)"), ("endtime", "datetime(null)"), ("srcipaddr_has_any_prefix", "dynamic([])"),
    ("dstipaddr_has_any_prefix", "dynamic([])"), ("ipaddr_has_any_prefix", "dynamic([])"),
    ("dstportnumber", "int(null)"), ("hostname_has_any", "dynamic([])"), ("dvcaction", "dynamic([])"),
    ("eventresult", "'*'"), ("disabled", "false"),
)
_NETWORK_BODY = """CommonSecurityLog
| where not(disabled)
| where (isnull(starttime) or TimeGenerated >= starttime) and (isnull(endtime) or TimeGenerated <= endtime)
| extend SrcIpAddr = SourceIP, DstIpAddr = DestinationIP, SrcPortNumber = SourcePort, DstPortNumber = DestinationPort
| where array_length(srcipaddr_has_any_prefix) == 0 or SrcIpAddr has_any (srcipaddr_has_any_prefix)
| where array_length(dstipaddr_has_any_prefix) == 0 or DstIpAddr has_any (dstipaddr_has_any_prefix)
| where array_length(ipaddr_has_any_prefix) == 0 or SrcIpAddr has_any (ipaddr_has_any_prefix) or DstIpAddr has_any (ipaddr_has_any_prefix)
| where isnull(dstportnumber) or DstPortNumber == dstportnumber
| where array_length(hostname_has_any) == 0 or Computer has_any (hostname_has_any)
| extend DvcAction = iff(SimplifiedDeviceAction == 'Deny', 'Deny', 'Allow'), EventResult = iff(SimplifiedDeviceAction == 'Deny', 'Failure', 'Success')
| where array_length(dvcaction) == 0 or DvcAction in (dvcaction)
| where eventresult == '*' or EventResult == eventresult
| project TimeGenerated, EventCount = 1, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated,
    EventType = 'NetworkSession', EventResult, EventProduct = DeviceProduct, EventVendor = DeviceVendor,
    EventSchema = 'NetworkSession', EventSchemaVersion = '0.2.6', Dvc = Computer, DvcHostname = Computer, DvcAction,
    SrcIpAddr, SrcPortNumber, DstIpAddr, DstPortNumber, NetworkProtocol = Protocol, NetworkDirection = CommunicationDirection,
    SrcBytes = SentBytes, DstBytes = ReceivedBytes, IpAddr = SrcIpAddr, Src = SrcIpAddr, Dst = DstIpAddr, Type"""

_PROCESS_PARAMS = (
    ("starttime", "datetime(null)"), ("endtime", "datetime(null)"), ("commandline_has_any", "dynamic([])"),
    ("commandline_has_all", "dynamic([])"), ("commandline_has_any_ip_prefix", "dynamic([])"),
    ("actingprocess_has_any", "dynamic([])"), ("targetprocess_has_any", "dynamic([])"),
    ("parentprocess_has_any", "dynamic([])"), ("targetusername_has", "'*'"), ("dvcipaddr_has_any_prefix", "dynamic([])"),
    ("dvchostname_has_any", "dynamic([])"), ("eventtype", "'*'"), ("hashes_has_any", "dynamic([])"), ("disabled", "false"),
)
_PROCESS_BODY = """SecurityEvent
| where not(disabled) and EventID == 4688
| where (isnull(starttime) or TimeGenerated >= starttime) and (isnull(endtime) or TimeGenerated <= endtime)
| where array_length(commandline_has_any) == 0 or CommandLine has_any (commandline_has_any)
| where array_length(commandline_has_all) == 0 or CommandLine has_all (commandline_has_all)
| where array_length(commandline_has_any_ip_prefix) == 0 or CommandLine has_any (commandline_has_any_ip_prefix)
| where array_length(actingprocess_has_any) == 0 or ParentProcessName has_any (actingprocess_has_any)
| where array_length(targetprocess_has_any) == 0 or NewProcessName has_any (targetprocess_has_any)
| where array_length(parentprocess_has_any) == 0 or ParentProcessName has_any (parentprocess_has_any)
| where targetusername_has == '*' or SubjectUserName has targetusername_has
| where array_length(dvchostname_has_any) == 0 or Computer has_any (dvchostname_has_any)
| where eventtype == '*' or eventtype == 'ProcessCreated'
| project TimeGenerated, EventCount = 1, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated,
    EventType = 'ProcessCreated', EventResult = 'Success', EventProduct = 'Security Events', EventVendor = 'Microsoft',
    EventSchema = 'ProcessEvent', EventSchemaVersion = '0.1.4', Dvc = Computer, DvcHostname = Computer,
    ActorUsername = strcat(SubjectDomainName, '\\\\', SubjectUserName), ActorUsernameType = 'Windows',
    ActingProcessName = ParentProcessName, ParentProcessName, TargetProcessName = NewProcessName,
    TargetProcessId = NewProcessId, TargetProcessCommandLine = CommandLine, CommandLine,
    TargetUsername = strcat(TargetDomainName, '\\\\', TargetUserName), User = SubjectUserName,
    Process = NewProcessName, Type"""

_DNS_PARAMS = (
    ("starttime", "datetime(null)"), ("endtime", "datetime(null)"), ("srcipaddr", "'*'"),
    ("domain_has_any", "dynamic([])"), ("responsecodename", "'*'"), ("response_has_ipv4", "'*'"),
    ("response_has_any_prefix", "dynamic([])"), ("eventtype", "'Query'"), ("disabled", "false"),
)
#: DNS queries as the Azure Monitor Agent's DNS connector and ASIM's Syslog parsers see them: the
#: scenario's Linux hosts log their lookups to Syslog (``dnsmasq``), parsed here.
_DNS_BODY = """Syslog
| where not(disabled) and ProcessName == 'dnsmasq' and SyslogMessage startswith 'query['
| where (isnull(starttime) or TimeGenerated >= starttime) and (isnull(endtime) or TimeGenerated <= endtime)
| extend DnsQueryTypeName = extract(@'^query\\[(\\w+)\\]', 1, SyslogMessage),
    DnsQuery = extract(@'^query\\[\\w+\\] (\\S+) from', 1, SyslogMessage),
    SrcIpAddr = extract(@' from (\\S+)$', 1, SyslogMessage)
| where srcipaddr == '*' or SrcIpAddr == srcipaddr
| where array_length(domain_has_any) == 0 or DnsQuery has_any (domain_has_any)
| where responsecodename == '*' or responsecodename == 'NOERROR'
| where eventtype == '*' or eventtype == 'Query'
| project TimeGenerated, EventCount = 1, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated,
    EventType = 'Query', EventResult = 'Success', EventProduct = 'dnsmasq', EventVendor = 'dnsmasq',
    EventSchema = 'Dns', EventSchemaVersion = '0.1.7', Dvc = Computer, DvcHostname = HostName, SrcIpAddr,
    DnsQuery, Domain = DnsQuery, DnsQueryTypeName, DnsResponseCodeName = 'NOERROR', DnsResponseName = '', Type"""

_AUTH_PARAMS = (
    ("starttime", "datetime(null)"), ("endtime", "datetime(null)"), ("targetusername_has", "'*'"),
    ("username_has_any", "dynamic([])"), ("srcipaddr_has_any_prefix", "dynamic([])"), ("srchostname_has", "'*'"),
    ("eventtype_in", "dynamic([])"), ("eventresultdetails_in", "dynamic([])"), ("eventresult", "'*'"),
    ("disabled", "false"),
)
_AUTH_BODY = """union
    (SigninLogs
    | project TimeGenerated, Type, Username = UserPrincipalName, SrcIpAddr = IPAddress, SrcHostname = '',
        EventProduct = 'Entra ID', EventResult = iff(ResultType == '0', 'Success', 'Failure'),
        EventResultDetails = ResultType, TargetAppName = AppDisplayName, Dvc = 'Microsoft Entra ID',
        LogonMethod = AuthenticationRequirement),
    (SecurityEvent
    | where EventID in (4624, 4625)
    | project TimeGenerated, Type, Username = strcat(TargetDomainName, '\\\\', TargetUserName), SrcIpAddr = IpAddress,
        SrcHostname = WorkstationName, EventProduct = 'Security Events',
        EventResult = iff(EventID == 4624, 'Success', 'Failure'), EventResultDetails = Status,
        TargetAppName = '', Dvc = Computer, LogonMethod = AuthenticationPackageName)
| where not(disabled)
| where (isnull(starttime) or TimeGenerated >= starttime) and (isnull(endtime) or TimeGenerated <= endtime)
| where targetusername_has == '*' or Username has targetusername_has
| where array_length(username_has_any) == 0 or Username has_any (username_has_any)
| where array_length(srcipaddr_has_any_prefix) == 0 or SrcIpAddr has_any (srcipaddr_has_any_prefix)
| where srchostname_has == '*' or SrcHostname has srchostname_has
| where array_length(eventtype_in) == 0 or 'Logon' in (eventtype_in)
| where array_length(eventresultdetails_in) == 0 or EventResultDetails in (eventresultdetails_in)
| where eventresult == '*' or EventResult == eventresult
| project TimeGenerated, EventCount = 1, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated,
    EventType = 'Logon', EventResult, EventResultDetails, EventProduct, EventVendor = 'Microsoft',
    EventSchema = 'Authentication', EventSchemaVersion = '0.1.3', Dvc, TargetUsername = Username, User = Username,
    SrcIpAddr, IpAddr = SrcIpAddr, SrcHostname, TargetAppName, LogonMethod, Type"""

#: (body, parameters) of each ASIM unifying parser, under every name content calls it by.
_ASIM = {
    ("_Im_NetworkSession", "imNetworkSession", "_ASim_NetworkSession", "ASimNetworkSession"):
        (_NETWORK_BODY, _NETWORK_PARAMS),
    ("_Im_ProcessCreate", "imProcessCreate", "_Im_ProcessEvent", "imProcessEvents", "imProcess",
     "_ASim_ProcessEvent", "ASimProcessEvent"): (_PROCESS_BODY, _PROCESS_PARAMS),
    ("_Im_Dns", "imDns", "_ASim_Dns", "ASimDns"): (_DNS_BODY, _DNS_PARAMS),
    ("_Im_Authentication", "imAuthentication", "_ASim_Authentication", "ASimAuthentication"):
        (_AUTH_BODY, _AUTH_PARAMS),
}


def _declared(params: Iterable[tuple[str, str]], types: Mapping[str, str]) -> str:
    return ", ".join(f"{name}:{types[name]}" + (f" = {default}" if default else "") for name, default in params)


def _param_type(default: str) -> str:
    m = re.match(r"(datetime|dynamic|int|long|bool|timespan|string|real)\(", default)
    if m:
        return m.group(1)
    if default in ("true", "false"):
        return "bool"
    return "string"


def asim_functions(tables: Iterable[str]) -> list[Function]:
    """The ASIM parsers whose source tables the workspace has."""
    present = set(tables)
    out = []
    for names, (body, params) in _ASIM.items():
        sources = set(re.findall(r"\b(CommonSecurityLog|SecurityEvent|SigninLogs|Syslog)\b", body))
        if not sources <= present:
            continue
        types = {name: _param_type(default) for name, default in params}
        for name in names:
            out.append(Function(name, params, f"function {name}({_declared(params, types)}) {{\n{body}\n}}"))
    return out


# -- watchlists and saved searches ----------------------------------------------------------------------


def _kql_string(value: Any) -> str:
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


_WATCHLIST_KEYS = ("_DTItemId:string", "LastUpdatedTimeUTC:string", "SearchKey:string")
#: ``_GetWatchlist('alias')`` with a literal alias (what nearly all content writes)
_WATCHLIST_CALL = re.compile(r"""\b_GetWatchlist\s*\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)""")
#: the function a literal call of a watchlist the workspace does not have becomes
_NO_WATCHLIST = "_GetWatchlist_none"


def _column(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else "['" + name + "']"


def _watchlist_items(store: Store, workspace_id: str) -> dict[str, list[tuple[str, str, str, dict[str, Any]]]]:
    """alias -> ``(search key value, item id, updated, values)`` of each item, in ARM now."""
    prefix = f"{workspace_id}/providers/Microsoft.SecurityInsights/watchlists".lower()
    out: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
    for watchlist in store.children(prefix):
        if str(watchlist.get("type", "")).lower() != _WATCHLIST_TYPE:
            continue
        props = watchlist.get("properties") or {}
        alias = str(props.get("watchlistAlias") or watchlist.get("name"))
        key = str(props.get("itemsSearchKey") or "")
        rows = out.setdefault(alias, [])
        for item in store.children(f"{watchlist['id']}/watchlistItems"):
            ip = item.get("properties") or {}
            values = {str(k): v for k, v in (ip.get("itemsKeyValue") or {}).items()}
            rows.append((str(values.get(key, "")), str(ip.get("watchlistItemId") or item.get("name")),
                         str(ip.get("updated") or ip.get("created") or ""), values))
    return out


def _watchlist_table(items: list[tuple[str, str, str, dict[str, Any]]], *, with_alias: list[str] | None = None) -> str:
    """A ``datatable`` of the items as ``_GetWatchlist`` returns them: ``_DTItemId``, ``LastUpdatedTimeUTC``,
    ``SearchKey``, then each item column (``bag_unpack`` of the item), all strings as uploaded."""
    columns: list[str] = []
    seen: set[str] = set()
    for *_, values in items:
        for c in values:
            if c not in seen and "'" not in c and "\\" not in c and c not in ("_DTItemId", "SearchKey"):
                seen.add(c)
                columns.append(c)
    head = (["WatchlistAlias:string"] if with_alias is not None else []) + list(_WATCHLIST_KEYS)
    header = ", ".join([*head, *(f"{_column(c)}:string" for c in columns)])
    cells = []
    for i, (search_key, item_id, updated, values) in enumerate(items):
        first = [with_alias[i]] if with_alias is not None else []
        cells.append(", ".join(_kql_string(v) for v in (*first, item_id, updated, search_key,
                                                         *(values.get(c) for c in columns))))
    return f"datatable({header}) [{', '.join(cells)}]\n| extend LastUpdatedTimeUTC = todatetime(LastUpdatedTimeUTC)"


def watchlist_function_name(alias: str) -> str:
    """The function a literal ``_GetWatchlist('alias')`` call runs as (its own columns, as the service)."""
    return "_GetWatchlist_" + hashlib.sha1(alias.encode()).hexdigest()[:12]


def watchlist_functions(store: Store, workspace_id: str) -> list[Function]:
    """``_GetWatchlist`` over the workspace's watchlists as they are in ARM now.

    The service's ``_GetWatchlist(alias)`` unpacks the items of *that* watchlist (``evaluate
    bag_unpack``), so its columns depend on the alias. A literal call is rewritten (:func:`specialize`)
    to a function of that watchlist alone; a call with a computed alias runs the general function, whose
    columns are those of every watchlist (items of other watchlists leave theirs empty).
    """
    by_alias = _watchlist_items(store, workspace_id)
    out = [Function(watchlist_function_name(alias), (), f"function {watchlist_function_name(alias)}() {{\n"
                    f"{_watchlist_table(items)}\n}}") for alias, items in by_alias.items()]
    out.append(Function(_NO_WATCHLIST, (), f"function {_NO_WATCHLIST}() {{\n{_watchlist_table([])}\n}}"))
    every = [item for items in by_alias.values() for item in items]
    aliases = [alias for alias, items in by_alias.items() for _ in items]
    body = (f"{_watchlist_table(every, with_alias=aliases)}\n| where WatchlistAlias == alias\n"
            "| project-away WatchlistAlias")
    out.append(Function("_GetWatchlist", (("alias", ""),), f"function _GetWatchlist(alias:string) {{\n{body}\n}}"))
    return out


def specialize(query: str, functions: tuple[Function, ...]) -> str:
    """``query`` with each literal ``_GetWatchlist('alias')`` calling that watchlist's own function."""
    if "_GetWatchlist" not in query:
        return query
    names = {f.name for f in functions}

    def one(match: re.Match[str]) -> str:
        alias = match.group(1) if match.group(1) is not None else match.group(2)
        name = watchlist_function_name(alias)
        return f"{name if name in names else _NO_WATCHLIST}()"

    return _WATCHLIST_CALL.sub(one, query)


def called_functions(query: str, functions: tuple[Function, ...]) -> tuple[Function, ...]:
    """The functions ``query`` calls, directly or through the bodies of the functions it calls (a saved
    function may call another one, ``_GetWatchlist`` or an ASIM parser), in ``functions``' order."""
    by_name = {f.name: f for f in functions}
    wanted: set[str] = set()
    todo = [query]
    while todo:
        for word in set(re.findall(r"[A-Za-z_]\w*", todo.pop())):
            if word in by_name and word not in wanted:
                wanted.add(word)
                todo.append(by_name[word].definition.split("{", 1)[-1])
    return tuple(f for f in functions if f.name in wanted)


def _parameters(text: str) -> tuple[tuple[str, str], ...]:
    """``lookback:timespan = 1d, n:int`` -> ``(("lookback", "1d"), ("n", ""))``."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, rest = part.partition(":")
        _, _, default = rest.partition("=")
        out.append((name.strip(), default.strip()))
    return tuple(out)


def saved_functions(store: Store, workspace_id: str) -> list[Function]:
    """The workspace's saved searches that are functions (``functionAlias``), as Log Analytics runs them."""
    out = []
    for search in store.children(f"{workspace_id}/savedSearches"):
        props = search.get("properties") or {}
        alias = str(props.get("functionAlias") or "")
        if not re.fullmatch(r"[A-Za-z_]\w*", alias) or not props.get("query"):
            continue
        params = str(props.get("functionParameters") or "")
        out.append(Function(alias, _parameters(params), f"function {alias}({params}) {{\n{props['query']}\n}}"))
    return out


def workspace_functions(store: Store, workspace_id: str, tables: Iterable[str]) -> tuple[Function, ...]:
    """Every function queries of the workspace can call (the first definition of a name wins)."""
    found: dict[str, Function] = {}
    watchlists = watchlist_functions(store, workspace_id)
    saved = [Function(f.name, f.parameters, specialize(f.definition, tuple(watchlists)))
             for f in saved_functions(store, workspace_id)]
    for function in [*_usable(saved), *watchlists, *_usable(asim_functions(tables))]:
        if function.name.lower() not in {n.lower() for n in found}:
            found[function.name] = function
    return tuple(found.values())


def _usable(functions: Iterable[Function]) -> list[Function]:
    """The definitions duckdb-kql accepts (a saved function it cannot take is left out, not fatal)."""
    return [function for function in functions if _parses(function.definition)]


@functools.lru_cache(maxsize=256)
def _parses(definition: str) -> bool:
    """Whether duckdb-kql takes a function definition (parsing one costs tens of milliseconds)."""
    from duckdb_kql.stored_functions import parse_functions

    try:
        parse_functions([definition])
    except Exception:  # noqa: BLE001 - duckdb-kql raises its own errors as well as ValueError/TypeError
        return False
    return True
