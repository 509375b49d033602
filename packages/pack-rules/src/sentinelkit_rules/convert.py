"""Analytics rule bodies from what detection engineers hold: parameters, a rule file of the
Azure-Sentinel repository (YAML), an ARM template export, or a built-in rule template.

Each source becomes the ARM body of ``Microsoft.SecurityInsights/alertRules`` (``{"kind", "properties"}``)
that the service takes; :func:`check_body` then refuses what the service would refuse, before sending.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sentinelkit import KitError

QUERY_KINDS = ("Scheduled", "NRT")
KINDS = ("Scheduled", "NRT", "Fusion", "MicrosoftSecurityIncidentCreation", "MLBehaviorAnalytics", "ThreatIntelligence")
#: kinds whose rule is the template itself: the body is the template link and the enabled flag
TEMPLATE_DRIVEN = ("Fusion", "MLBehaviorAnalytics", "ThreatIntelligence")
SEVERITIES = ("High", "Medium", "Low", "Informational")
OPERATORS = {"gt": "GreaterThan", "lt": "LessThan", "eq": "Equal", "ne": "NotEqual"}
TACTICS = ("Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
           "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection",
           "Exfiltration", "CommandAndControl", "Impact", "PreAttack", "ImpairProcessControl",
           "InhibitResponseFunction")
#: properties of a Scheduled/NRT rule that a rule file, a template or an export may carry over
RULE_PROPERTIES = ("displayName", "description", "severity", "enabled", "query", "queryFrequency", "queryPeriod",
                   "triggerOperator", "triggerThreshold", "tactics", "techniques", "subTechniques",
                   "suppressionDuration", "suppressionEnabled", "incidentConfiguration", "eventGroupingSettings",
                   "customDetails", "entityMappings", "alertDetailsOverride", "sentinelEntitiesMappings",
                   "alertRuleTemplateName", "templateVersion")
SCHEDULE_ONLY = ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold")
#: what the service computes; never sent back
READ_ONLY = ("lastModifiedUtc",)
MIN_PERIOD, MAX_PERIOD = timedelta(minutes=5), timedelta(days=14)
_SHORT = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# -- values ---------------------------------------------------------------------------------------
def duration(value: Any, what: str) -> str:
    """``5h`` / ``1d`` / ``30m`` (rule files) or ISO 8601 (``PT5H``) -> ISO 8601, checked."""
    text = str(value).split("//", 1)[0].strip()  # published rule files sometimes comment a value
    short = _SHORT.match(text)
    if short:
        n, unit = int(short.group(1)), short.group(2).lower()
        text = {"m": f"PT{n}M", "h": f"PT{n}H", "d": f"P{n}D"}[unit]
    if to_timedelta(text) is None:
        raise KitError(f"{what} {value!r} is not a duration: use 5m, 1h, 1d (rule files) or ISO 8601 (PT1H, P1D); "
                       "nothing was sent")
    return text.upper()


def to_timedelta(text: Any) -> timedelta | None:
    m = _ISO.match(str(text).upper())
    if not m:
        return None
    d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=s)


def operator(value: Any) -> str:
    """``gt``/``lt``/``eq``/``ne`` (rule files) or the API's names -> the API's name."""
    text = str(value).strip()
    if text in OPERATORS.values():
        return text
    found = OPERATORS.get(text.lower())
    if found is None:
        raise KitError(f"trigger operator {value!r} does not exist: use gt, lt, eq or ne (GreaterThan, LessThan, "
                       "Equal, NotEqual); nothing was sent")
    return found


def severity(value: Any) -> str:
    found = next((s for s in SEVERITIES if s.lower() == str(value).strip().lower()), None)
    if found is None:
        raise KitError(f"severity {value!r} does not exist: use {', '.join(SEVERITIES)}; nothing was sent")
    return found


def split_techniques(values: Any) -> tuple[list[str], list[str]]:
    """``["T1110.003", "T1078"]`` -> techniques ``["T1110", "T1078"]`` and sub-techniques ``["T1110.003"]``."""
    techniques: list[str] = []
    subs: list[str] = []
    for raw in values or []:
        text = str(raw).strip().upper()
        if not _TECHNIQUE.fullmatch(text):
            raise KitError(f"{raw!r} is not a MITRE ATT&CK technique id (T1234 or T1234.001); nothing was sent")
        parent = text.split(".")[0]
        if parent not in techniques:
            techniques.append(parent)
        if "." in text and text not in subs:
            subs.append(text)
    return techniques, subs


def _text(value: Any) -> str:
    """A rule file's description: block text, without the quotes many files wrap it in."""
    text = str(value or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text


# -- sources --------------------------------------------------------------------------------------
def from_yaml(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A rule file of the Azure-Sentinel repository -> (ARM body, what else the file says: id, version,
    required data types). Only ``safe_load``: a rule file is data."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KitError(f"the rule file is not valid YAML{where}: {problem}; nothing was created") from None
    if not isinstance(data, dict):
        raise KitError("the rule file is not a YAML mapping of rule fields (name, query, severity, ...); nothing "
                       "was created")
    kind = str(data.get("kind") or "Scheduled")
    kind = next((k for k in QUERY_KINDS if k.lower() == kind.lower()), kind)  # published files say "scheduled" too
    if kind not in QUERY_KINDS:
        raise KitError(f"the rule file's kind {kind!r} cannot be created from a file: only Scheduled and NRT")
    missing = [k for k in ("name", "query", "severity") + (("queryFrequency", "queryPeriod", "triggerOperator")
                                                          if kind == "Scheduled" else ()) if data.get(k) in (None, "")]
    if missing:
        raise KitError(f"the rule file lacks {', '.join(missing)}; nothing was created")
    listed = [str(t).strip() for t in data.get("relevantTechniques") or []]
    valid = [t for t in listed if _TECHNIQUE.fullmatch(t.upper())]
    techniques, subs = split_techniques(valid)
    props: dict[str, Any] = {
        "displayName": str(data["name"]).strip(),
        "description": _text(data.get("description")),
        "severity": severity(data["severity"]),
        "enabled": True,
        "query": str(data["query"]).strip(),
        "tactics": list(data.get("tactics") or []),
        "techniques": techniques,
        "subTechniques": subs,
        "suppressionDuration": duration(data.get("suppressionDuration") or "5h", "suppressionDuration"),
        "suppressionEnabled": bool(data.get("suppressionEnabled", False)),
    }
    if kind == "Scheduled":
        props.update({"queryFrequency": duration(data["queryFrequency"], "queryFrequency"),
                      "queryPeriod": duration(data["queryPeriod"], "queryPeriod"),
                      "triggerOperator": operator(data["triggerOperator"]),
                      "triggerThreshold": int(data.get("triggerThreshold") or 0)})
    for key in ("entityMappings", "customDetails", "alertDetailsOverride", "eventGroupingSettings",
                "incidentConfiguration", "sentinelEntitiesMappings"):
        if data.get(key):
            props[key] = data[key]
    grouping = (props.get("incidentConfiguration") or {}).get("groupingConfiguration") or {}
    if grouping.get("lookbackDuration"):
        grouping["lookbackDuration"] = duration(grouping["lookbackDuration"], "lookbackDuration")
    info: dict[str, Any] = {"id": str(data["id"]) if data.get("id") else None,
                            "version": str(data["version"]) if data.get("version") else None,
                            "data_types": sorted({t for c in data.get("requiredDataConnectors") or []
                                                  for t in (c or {}).get("dataTypes") or []}),
                            "warnings": [f"relevantTechniques {t!r} is not a MITRE ATT&CK technique id and was left out"
                                         for t in listed if t not in valid]}
    if info["id"] and info["version"]:
        props["alertRuleTemplateName"] = info["id"]
        props["templateVersion"] = info["version"]
    return {"kind": kind, "properties": props}, info


def from_arm_template(template: Any, pick: str | None = None) -> tuple[dict[str, Any], str | None]:
    """An ARM template export (the portal's "Export", or Sentinel-as-code) -> (ARM body, the rule id it names)."""
    if isinstance(template, str):
        try:
            template = json.loads(template)
        except json.JSONDecodeError as exc:
            raise KitError(f"the ARM template is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                           "nothing was created") from None
    if not isinstance(template, dict):
        raise KitError("the ARM template must be a JSON object with a 'resources' array")
    resources = [r for r in template.get("resources") or [] if isinstance(r, dict)
                 and str(r.get("type", "")).lower().endswith("/alertrules")]
    if not resources:
        raise KitError("the ARM template has no Microsoft.SecurityInsights/alertRules resource; nothing was created")
    if pick:
        resources = [r for r in resources if str((r.get("properties") or {}).get("displayName", "")).lower()
                     == pick.lower() or pick.lower() in str(r.get("name", "")).lower()]
    if len(resources) != 1:
        names = [str((r.get("properties") or {}).get("displayName")) for r in
                 [x for x in template.get("resources") or [] if isinstance(x, dict)
                  and str(x.get("type", "")).lower().endswith("/alertrules")]]
        raise KitError(f"the ARM template has {len(resources)} matching alert rules; name one with `pick` "
                       f"(display name): {', '.join(names)}")
    resource = resources[0]
    kind = str(resource.get("kind") or "")
    if kind not in KINDS:
        raise KitError(f"the ARM template's rule has kind {kind!r}; expected one of {', '.join(KINDS)}")
    props = {k: v for k, v in (resource.get("properties") or {}).items() if k in RULE_PROPERTIES + (
        "productFilter", "severitiesFilter", "displayNamesFilter", "displayNamesExcludeFilter")}
    expressions = sorted(k for k, v in props.items() if isinstance(v, str) and v.startswith("[") and v.endswith("]"))
    if expressions:
        raise KitError(f"the ARM template's rule uses template expressions in {', '.join(expressions)}; resolve them "
                       "(or pass the values as parameters) first")
    guids = _GUID.findall(str(resource.get("name") or ""))
    return {"kind": kind, "properties": props}, (guids[-1].lower() if guids else None)


def from_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """A built-in rule template (``alertRuleTemplates``) -> a rule linked to it (name and version kept)."""
    kind = str(template.get("kind"))
    tp = template.get("properties") or {}
    link = {"alertRuleTemplateName": template["name"], "enabled": True}
    if kind in TEMPLATE_DRIVEN:
        return {"kind": kind, "properties": link}
    if kind == "MicrosoftSecurityIncidentCreation":
        props = {k: tp[k] for k in ("displayName", "description", "productFilter", "severitiesFilter",
                                    "displayNamesFilter") if tp.get(k) is not None}
        return {"kind": kind, "properties": {**props, **link}}
    props = {k: tp[k] for k in RULE_PROPERTIES if tp.get(k) is not None}
    props.update({"suppressionDuration": "PT5H", "suppressionEnabled": False, **link})
    if tp.get("version"):
        props["templateVersion"] = tp["version"]
    return {"kind": kind, "properties": props}


def from_parameters(kind: str, display_name: str | None, query: str | None) -> dict[str, Any]:
    """The skeleton of a rule written from the tool's parameters (the overrides fill the rest)."""
    if kind not in QUERY_KINDS:
        raise KitError(f"only Scheduled and NRT rules are written from parameters (kind {kind!r}); use a template")
    if not display_name or not query:
        raise KitError("give display_name and query (or a rule file, an ARM template or a template)")
    props: dict[str, Any] = {"displayName": display_name, "query": query, "severity": "Medium", "enabled": True,
                             "tactics": [], "techniques": [], "suppressionDuration": "PT5H",
                             "suppressionEnabled": False}
    if kind == "Scheduled":
        props.update({"queryFrequency": "PT1H", "queryPeriod": "PT1H", "triggerOperator": "GreaterThan",
                      "triggerThreshold": 0})
    return {"kind": kind, "properties": props}


def apply_overrides(body: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's parameters on top of a source (None = keep the source's value)."""
    props = body["properties"]
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "severity":
            value = severity(value)
        elif key in ("queryFrequency", "queryPeriod", "suppressionDuration"):
            value = duration(value, key)
        elif key == "triggerOperator":
            value = operator(value)
        elif key == "techniques":
            value, subs = split_techniques(value)
            props["subTechniques"] = subs
        props[key] = value
    return body


def clean(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A stored rule as a body to send back: kind, etag and properties without what the service computes."""
    props = {k: v for k, v in (rule.get("properties") or {}).items() if k not in READ_ONLY}
    if rule.get("kind") in TEMPLATE_DRIVEN:  # the descriptive fields are the template's, read-only
        props = {k: props[k] for k in ("alertRuleTemplateName", "enabled", "sourceSettings",
                                       "scenarioExclusionPatterns") if k in props}
    return {"kind": rule.get("kind"), "properties": props}


def check_body(body: Mapping[str, Any]) -> None:
    """Refuse, before sending, what the service refuses: names each problem and what to do."""
    kind = body.get("kind")
    props = body.get("properties") or {}
    problems: list[str] = []
    if kind not in KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind in QUERY_KINDS:
        for key in ("displayName", "query", "severity"):
            if not props.get(key):
                problems.append(f"{key} is required")
        if props.get("severity") and props["severity"] not in SEVERITIES:
            problems.append(f"severity {props['severity']!r} is not one of {', '.join(SEVERITIES)}")
        bad = [t for t in props.get("tactics") or [] if t not in TACTICS]
        if bad:
            problems.append(f"unknown tactics {bad}: use {', '.join(TACTICS[:14])}")
    if kind == "Scheduled":
        span = {k: to_timedelta(props.get(k)) for k in ("queryFrequency", "queryPeriod")}
        for key, value in span.items():
            if value is None:
                problems.append(f"{key} {props.get(key)!r} is not an ISO 8601 duration")
            elif not MIN_PERIOD <= value <= MAX_PERIOD:
                problems.append(f"{key} {props.get(key)} must be between 5 minutes and 14 days")
        if span["queryFrequency"] and span["queryPeriod"] and span["queryPeriod"] < span["queryFrequency"]:
            problems.append("queryPeriod must be at least as long as queryFrequency")
        if props.get("triggerOperator") not in OPERATORS.values():
            problems.append(f"triggerOperator {props.get('triggerOperator')!r} is not one of "
                            f"{', '.join(OPERATORS.values())}")
        threshold = props.get("triggerThreshold")
        if not isinstance(threshold, int) or not 0 <= threshold <= 10000:
            problems.append(f"triggerThreshold {threshold!r} must be a whole number from 0 to 10000")
    if problems:
        raise KitError("the rule is invalid: " + "; ".join(problems) + ". Nothing was sent.")
