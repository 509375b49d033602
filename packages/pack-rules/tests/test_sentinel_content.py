"""Microsoft's published detections (rule files of Azure/Azure-Sentinel, Detections/ and Solutions/*/Analytic
Rules/, with provenance in data/sentinel_rules/provenance.json) converted, validated against a workspace's real
tables and deployed to the emulator through the MCP client; the emulator's own check cross-checked with
azure-mgmt-securityinsight. What passes is recorded in data/sentinel_rules_results.json."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
from rules_testkit import DATA

WORKSPACE = "law-contoso-soc"
RESULTS = DATA / "sentinel_rules_results.json"
FILES = sorted((DATA / "sentinel_rules").glob("*.yaml"))


def outcome(result: Any) -> str:
    """What happened to one rule file, in a word: created, or why not."""
    if not result.is_error:
        return "deployed"
    text = result.content[0].text
    if "has no table" in text:
        return "missing_table"
    if "query is invalid" in text:
        return "invalid_query"
    if "already exists" in text:
        return "name_taken"
    if "rule file" in text:
        return "not_a_rule"
    return "error: " + text[:200]


def summary(outcomes: dict[str, str]) -> dict[str, Any]:
    deployed = sum(1 for v in outcomes.values() if v == "deployed")
    return {"workspace": WORKSPACE, "total": len(outcomes), "deployed": deployed,
            "share_deployed": f"{deployed}/{len(outcomes)} ({100 * deployed / len(outcomes):.0f}%)",
            "by_outcome": dict(sorted(Counter(outcomes.values()).items())),
            "why": {"missing_table": "the query reads a table the workspace does not have (a Defender or UEBA "
                                     "table): reported, nothing created",
                    "invalid_query": "Microsoft's parser finds an unknown column (the emulator's IdentityInfo lists "
                                     "fewer columns than Azure's)",
                    "name_taken": "the workspace already has a rule of that name (made from the same template)",
                    "not_a_rule": "the file is not a deployable rule (moved stub, hunting-style file, or broken)"},
            "files": dict(sorted(outcomes.items()))}


def test_the_sample_is_at_least_fifty_published_rule_files_with_provenance() -> None:
    provenance = json.loads((DATA / "sentinel_rules" / "provenance.json").read_text())
    assert len(FILES) >= 50
    assert sorted(provenance["files"]) == [f.name for f in FILES]
    sources = [source for source, _ in provenance["files"].values()]
    assert any(s.startswith("Detections/") for s in sources)
    assert any(s.startswith("Solutions/") and "/Analytic Rules/" in s for s in sources)
    assert all(len(commit) == 40 for _, commit in provenance["files"].values())


async def test_published_rules_convert_validate_and_deploy_as_recorded(call, si, restore) -> None:
    outcomes: dict[str, str] = {}
    for path in FILES:
        outcomes[path.name] = outcome(await call("rule_create", workspace=WORKSPACE, yaml=path.read_text()))
    if os.environ.get("SENTINELKIT_RECORD_RULES") == "1":  # after changing the sample: record what passes now
        RESULTS.write_text(json.dumps(summary(outcomes), indent=2) + "\n")
    recorded = json.loads(RESULTS.read_text())
    changed = {k: (recorded["files"].get(k), v) for k, v in outcomes.items() if recorded["files"].get(k) != v}
    assert not changed, f"outcomes differ from {RESULTS.name} (recorded, now): {changed}"
    deployed = [k for k, v in outcomes.items() if v == "deployed"]
    assert recorded["deployed"] == len(deployed) and recorded["total"] == len(FILES)

    client, rg, ws = si("contoso-mssp")
    names = {r.display_name for r in client.alert_rules.list(rg, ws)}
    titles = {path.name: _name(path.read_text()) for path in FILES}
    assert {titles[k] for k in deployed} <= names


async def test_the_emulator_refuses_the_same_queries_on_its_own(si, restore) -> None:
    """The rules the pack refused for their query are refused by the emulator too when sent directly."""
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.securityinsight import models
    from sentinelkit_rules.convert import from_yaml

    recorded = json.loads(RESULTS.read_text())["files"]
    refused = [name for name, v in recorded.items() if v in ("missing_table", "invalid_query")]
    assert refused
    client, rg, ws = si("contoso-mssp")
    for name in refused:
        body, _ = from_yaml((DATA / "sentinel_rules" / name).read_text())
        rule = (models.NrtAlertRule if body["kind"] == "NRT" else models.ScheduledAlertRule)(body)
        with pytest.raises(HttpResponseError) as info:
            client.alert_rules.create_or_update(rg, ws, "3b0e4a8c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", rule)
        assert info.value.status_code == 400 and "query is not valid" in str(info.value.message), name


def _name(text: str) -> str:
    import yaml

    return str(yaml.safe_load(text)["name"]).strip()
