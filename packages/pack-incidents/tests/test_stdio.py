"""The real ``sentinelkit serve`` process over stdio, driven by the mcp SDK client (2025-11-25
handshake, confirmation through ctx.elicit), against the emulator over HTTPS."""

from __future__ import annotations

from typing import Any

import mcp.types as t
import pytest
from sentinelkit_devkit.process import result_json as _json
from sentinelkit_devkit.process import stdio_session as serve

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-tailspin"


def _change_behind_our_back(sdk: Any, workspace: str, incident_id: str, **props: Any) -> None:
    from azure.mgmt.securityinsight import models as m

    client, rg, ws = sdk(workspace)
    current = client.incidents.get(rg, ws, incident_id)
    for key, value in props.items():
        setattr(current.properties, key, value)
    client.incidents.create_or_update(rg, ws, incident_id, m.Incident(etag=current.etag, properties=current.properties))


async def test_stdio_lists_incident_tools_and_lists_everywhere(sentinelkit_env) -> None:
    async with serve(sentinelkit_env) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        page = _json(await session.call_tool("incident_list", {"workspaces": "all", "severity": "High",
                                                               "status": "New", "owner": "unassigned",
                                                               "created_before": "P7D", "limit": 20}))
    assert tools["incident_list"].annotations.read_only_hint is True
    assert tools["incident_close"].annotations.destructive_hint is True
    assert tools["incident_update"].annotations.destructive_hint is False
    assert "confirm" in tools["incident_bulk_update"].input_schema["properties"]
    assert page["total"] == 12 and {r["workspace"] for r in page["incidents"]} == {"law-fabrikam-prod"}


async def test_stdio_close_reports_a_change_made_while_the_user_was_asked(sentinelkit_env, sdk) -> None:
    """Another analyst reassigns and re-rates the incident while our user reads the confirmation: the
    close must not overwrite that; it says what changed."""
    target: dict[str, Any] = {}

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        _change_behind_our_back(sdk, WS, target["id"], severity="Informational", title="Retitled by Bob")
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        page = _json(await session.call_tool("incident_list", {"workspace": WS, "status": "Active", "limit": 1,
                                                               "severity": ["High", "Medium", "Low"]}))
        target.update(page["incidents"][0])
        result = await session.call_tool("incident_close", {"workspace": WS, "incident_id": target["id"],
                                                            "classification": "TruePositive"})
    assert result.is_error
    text = result.content[0].text
    assert f"incident {target['number']}" in text and WS in text and "nothing was written" in text
    assert "severity" in text and "Informational" in text and "Retitled by Bob" in text
    client, rg, ws = sdk(WS)
    truth = client.incidents.get(rg, ws, target["id"]).properties
    assert truth.status == "Active" and truth.title == "Retitled by Bob"


async def test_stdio_bulk_reports_each_incident_and_skips_a_changed_one(sentinelkit_env, sdk) -> None:
    args = {"workspace": WS, "status": ["New", "Active"], "created_before": "P3D",
            "set_severity": "Medium", "labels_add": ["triaged"]}
    listed: list[dict[str, Any]] = []

    async def elicit(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        _change_behind_our_back(sdk, WS, listed[0]["id"], title="Someone else got here first")
        return t.ElicitResult(action="accept", content={"value": True})

    async with serve(sentinelkit_env, elicit=elicit) as session:
        page = _json(await session.call_tool("incident_list", {
            "workspace": WS, "status": ["New", "Active"], "created_before": "P3D", "limit": 200,
            "order": "created asc", "fields": ["id", "number", "severity", "labels"]}))
        listed += [r for r in page["incidents"] if r["severity"] != "Medium" or "triaged" not in r["labels"]]
        result = _json(await session.call_tool("incident_bulk_update", args))
    assert len(listed) >= 3
    assert result["matched"] == page["total"] and result["to_change"] == len(listed)
    assert result["failed"] == 1 and result["applied"] == len(listed) - 1
    failure = result["failures"][0]
    assert failure["number"] == listed[0]["number"] and "changed by someone else" in failure["error"]
    client, rg, ws = sdk(WS)
    skipped = client.incidents.get(rg, ws, listed[0]["id"]).properties
    assert skipped.title == "Someone else got here first"
    assert "triaged" not in {label.label_name for label in skipped.labels or []}
    done = client.incidents.get(rg, ws, listed[1]["id"]).properties
    assert done.severity == "Medium" and "triaged" in {label.label_name for label in done.labels}
