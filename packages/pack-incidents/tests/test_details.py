"""incident_get and the read-only lists under an incident, checked against Microsoft's SDK."""

from __future__ import annotations

from incidents_testkit import data, error, every_row

WS = "law-fabrikam-prod"


async def test_get_by_number_and_by_guid_show_the_same_incident(mcp_client, sdk) -> None:
    by_number = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": "40"}))
    incident = by_number["incident"]
    assert incident["number"] == 40 and incident["workspace"] == WS and incident["tenant"] == "fabrikam"
    by_guid = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": incident["id"]}))
    assert by_guid["incident"] == incident
    client, rg, ws = sdk(WS)
    truth = client.incidents.get(rg, ws, incident["id"])
    assert incident["title"] == truth.properties.title and incident["severity"] == truth.properties.severity
    assert incident["status"] == truth.properties.status
    assert incident["etag"].strip('"') == truth.etag.strip('"')
    assert incident["comments"] == truth.properties.additional_data.comments_count
    sdk_alerts = client.incidents.list_alerts(rg, ws, incident["id"]).value
    assert sorted(a["id"] for a in by_number["alerts"]) == sorted(a.name for a in sdk_alerts)
    assert incident["alerts"] == len(sdk_alerts)
    sdk_entities = client.incidents.list_entities(rg, ws, incident["id"]).entities
    assert sorted(e["id"] for e in by_number["entities"]) == sorted(e.name for e in sdk_entities)
    assert all(e["kind"] and e["name"] for e in by_number["entities"])


async def test_related_incidents_come_from_the_same_rule(mcp_client) -> None:
    found = None
    for number in range(30, 60):
        got = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": str(number)}))
        if got["related_incidents"]:
            found = got
            break
    assert found is not None, "no incident with a sibling from the same rule among 30..59"
    rules = set(found["incident"]["rules"])
    assert all(r["id"] != found["incident"]["id"] for r in found["related_incidents"])
    for other in found["related_incidents"][:2]:
        sibling = data(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": other["id"]}))
        assert rules & set(sibling["incident"]["rules"])


async def test_unknown_incident_names_incident_and_workspace(mcp_client) -> None:
    for ref in ("99999", "00000000-0000-0000-0000-000000000000"):
        text = error(await mcp_client.call_tool("incident_get", {"workspace": WS, "incident_id": ref},
                                                raise_on_error=False))
        assert ref in text and WS in text and "fabrikam" in text and "incident_list" in text


async def test_alerts_entities_and_comments_are_paged(mcp_client, sdk) -> None:
    client, rg, ws = sdk(WS)
    # an incident with comments (closed ones usually have some)
    rows = await every_row(mcp_client, "incident_list", {"workspace": WS, "status": "Closed", "limit": 200,
                                                         "fields": ["id", "number", "comments"]})
    target = max(rows, key=lambda r: r["comments"] or 0)
    assert target["comments"] >= 2
    first = data(await mcp_client.call_tool("incident_comment_list", {"workspace": WS, "incident_id": str(target["number"]),
                                                                      "limit": 1}))
    assert first["count"] == 1 and first["total"] == target["comments"] and first["next_cursor"]
    assert set(first["comments"][0]) == {"id", "message", "author", "created"}
    comments = await every_row(mcp_client, "incident_comment_list",
                               {"workspace": WS, "incident_id": target["id"], "limit": 1}, key="comments")
    truth = list(client.incident_comments.list(rg, ws, target["id"]))
    assert sorted(c["message"] for c in comments) == sorted(c.properties.message for c in truth)
    assert [c["created"] for c in comments] == sorted(c["created"] for c in comments)  # oldest first

    alerts = await every_row(mcp_client, "incident_alert_list", {"workspace": WS, "incident_id": target["id"],
                                                                 "limit": 1, "fields": ["id", "title", "tactics"]},
                             key="alerts")
    assert sorted(a["id"] for a in alerts) == sorted(a.name for a in client.incidents.list_alerts(rg, ws, target["id"]).value)
    entities = await every_row(mcp_client, "incident_entity_list", {"workspace": WS, "incident_id": target["id"],
                                                                    "limit": 2}, key="entities")
    assert sorted(e["id"] for e in entities) == sorted(
        e.name for e in client.incidents.list_entities(rg, ws, target["id"]).entities)
    kind = entities[0]["kind"]
    only = data(await mcp_client.call_tool("incident_entity_list", {"workspace": WS, "incident_id": target["id"],
                                                                    "kind": kind.lower()}))
    assert only["entities"] and {e["kind"] for e in only["entities"]} == {kind}
