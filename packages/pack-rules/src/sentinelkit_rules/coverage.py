"""MITRE ATT&CK coverage of the enabled analytics rules per workspace, across tenants, and the gaps."""

from __future__ import annotations

from typing import Any

from sentinelkit import READ_ONLY, Kit, Workspace, clip, tool

from . import api

#: the tactics of MITRE ATT&CK for Enterprise, in kill-chain order (Sentinel's names)
ENTERPRISE_TACTICS = ("Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
                      "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement",
                      "Collection", "CommandAndControl", "Exfiltration", "Impact")


def covered(rules: list[dict[str, Any]], include_disabled: bool) -> dict[str, Any]:
    """Rule counts per tactic and per technique (sub-techniques count for their technique too)."""
    tactics: dict[str, int] = {}
    techniques: dict[str, int] = {}
    counted = 0
    for rule in rules:
        props = rule.get("properties") or {}
        if not props.get("enabled") and not include_disabled:
            continue
        counted += 1
        for tactic in set(props.get("tactics") or []):
            tactics[tactic] = tactics.get(tactic, 0) + 1
        ids = {str(t).upper() for t in (props.get("techniques") or []) + (props.get("subTechniques") or [])}
        for technique in ids | {t.split(".")[0] for t in ids}:
            techniques[technique] = techniques.get(technique, 0) + 1
    order = {t: i for i, t in enumerate(ENTERPRISE_TACTICS)}
    return {"rules": counted,
            "tactics": dict(sorted(tactics.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))),
            "techniques": dict(sorted(techniques.items()))}


@tool(READ_ONLY, title="MITRE ATT&CK coverage of analytics rules")
async def rule_coverage(kit: Kit, workspace: str | None = None, workspaces: list[str] | str | None = None,
                        tenant: str | None = None, include_disabled: bool = False,
                        show_techniques: bool = False) -> dict[str, Any]:
    """MITRE ATT&CK tactics and techniques covered by the enabled analytics rules of each workspace, across every
    tenant, with the gaps: tactics no workspace covers, and per workspace the tactics and techniques that other
    workspaces cover but it does not.

    Args:
        workspace: One workspace (alias, name or ARM id); omit to compare `workspaces`/`tenant`.
        workspaces: Workspaces to compare, or "all" (the default): every Sentinel workspace.
        tenant: Only workspaces of this tenant.
        include_disabled: Count disabled rules too (what would be covered if they were enabled).
        show_techniques: Add each workspace's rule count per technique (long); the gaps list techniques anyway.
    """
    chosen = await kit.targets(workspace=workspace, workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> dict[str, Any]:
        rules = await kit.arm(ws).list(api.rules(ws), api.SENTINEL, where=ws.where(operation="list analytics rules"))
        return covered(rules, include_disabled)

    result = await kit.fan_out(chosen, one)
    per = {result.key(ws): value for ws, value in result.results}
    all_tactics = {t for v in per.values() for t in v["tactics"]}
    all_techniques = {t for v in per.values() for t in v["techniques"]}
    workspaces_out: dict[str, Any] = {}
    for key, value in per.items():
        row: dict[str, Any] = {"rules": value["rules"], "tactics": value["tactics"],
                               "techniques_covered": len(value["techniques"]),
                               "uncovered_tactics": [t for t in ENTERPRISE_TACTICS if t not in value["tactics"]]}
        if len(per) > 1:
            row["gaps"] = {
                "tactics": sorted(all_tactics - set(value["tactics"])),
                "techniques": {t: sorted(k for k, v in per.items() if t in v["techniques"])
                               for t in sorted(all_techniques - set(value["techniques"]))},
            }
        if show_techniques:
            row["techniques"] = value["techniques"]
        workspaces_out[key] = row
    out: dict[str, Any] = {
        "workspaces": workspaces_out,
        "tactics_nowhere": [t for t in ENTERPRISE_TACTICS if t not in all_tactics],
        "tactics_everywhere": [t for t in ENTERPRISE_TACTICS if per and all(t in v["tactics"] for v in per.values())],
        "techniques_anywhere": len(all_techniques),
        "techniques_everywhere": sorted(t for t in all_techniques if all(t in v["techniques"] for v in per.values())),
        "counting": "enabled and disabled rules" if include_disabled else "enabled rules",
    }
    if result.errors:
        out["errors"] = result.error_messages()
    return clip(out)
