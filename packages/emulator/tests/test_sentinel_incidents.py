"""Sentinel incidents end to end: Microsoft's azure-mgmt-securityinsight (sync and async) over HTTPS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from azure.mgmt.securityinsight import models as m
from azure.mgmt.securityinsight.aio import SecurityInsightsMgmtClient as AsyncSecurityInsights
from azure.monitor.query import LogsQueryClient
from spec_conformance import requires_specs, validate_response
from test_sentinel_support import (
    API,
    ARM_SCOPE,
    LOGS_AUDIENCE,
    SPEC,
    WORKSPACES,
    credential,
    error_of,
    raw,
    sentinel_emulator,
    sentinel_path,
    si,
    sub_id,
)

from sentinelkit_emulator import Emulator

__all__ = ["raw", "sentinel_emulator", "si"]  # fixtures used by this module
FAB_RG, FAB_WS = WORKSPACES["fabrikam"]
Client = Callable[..., SecurityInsightsMgmtClient]


def new_incident(title: str = "Emulator test incident", **props: object) -> m.Incident:
    return m.Incident(properties=m.IncidentProperties(title=title, severity="Medium", status="New", **props))


# -- listing ------------------------------------------------------------------------------------------
def test_list_pages_through_next_links(si: Client) -> None:
    incidents = list(si().incidents.list(FAB_RG, FAB_WS))
    assert len(incidents) >= 150 and len({i.name for i in incidents}) == len(incidents)
    numbers = [i.properties.incident_number for i in incidents]
    assert sorted(numbers)[:150] == list(range(1, 151))
    created = [i.properties.created_time_utc for i in incidents]
    assert created == sorted(created, reverse=True)  # newest first when no $orderby is given


def test_top_sets_the_page_size_and_next_links_keep_it(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    path = f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents"
    first = client.get(path, params={**API, "$top": 40}).json()
    assert len(first["value"]) == 40 and httpx.URL(first["nextLink"]).params["$top"] == "40"
    pages = [first]
    while "nextLink" in pages[-1]:
        pages.append(client.get(pages[-1]["nextLink"]).json())
    assert [len(p["value"]) for p in pages][:4] == [40, 40, 40, 30]
    too_many = client.get(path, params={**API, "$top": 5000})
    assert too_many.status_code == 400 and "between 1 and 1000" in error_of(too_many)["message"]


def test_filter_and_orderby(si: Client) -> None:
    client = si()
    backlog = list(client.incidents.list(
        FAB_RG, FAB_WS,
        filter="properties/severity eq 'High' and properties/status eq 'New' and properties/owner/assignedTo eq null",
        orderby="properties/createdTimeUtc asc"))
    week_ago = datetime.now(UTC) - timedelta(days=7)
    old = [i for i in backlog if i.properties.created_time_utc < week_ago]
    assert len(old) == 12  # the planted backlog (SCENARIO.md: backlog_high_unassigned)
    assert all(i.properties.owner.object_id is None for i in backlog)
    assert [i.properties.created_time_utc for i in backlog] == sorted(i.properties.created_time_utc for i in backlog)
    by_severity = list(client.incidents.list(FAB_RG, FAB_WS, orderby="properties/severity desc, properties/incidentNumber asc",
                                            top=200))
    ranks = {"High": 3, "Medium": 2, "Low": 1, "Informational": 0}
    keys = [(-ranks[i.properties.severity], i.properties.incident_number) for i in by_severity]
    assert keys == sorted(keys)
    labelled = list(client.incidents.list(FAB_RG, FAB_WS, filter="properties/labels/any(l: l/labelName eq 'VIP')"))
    assert all(any(label.label_name == "VIP" for label in i.properties.labels) for i in labelled)
    since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = list(client.incidents.list(FAB_RG, FAB_WS, filter=f"properties/createdTimeUtc ge {since}"))
    assert recent and all(i.properties.created_time_utc >= datetime.now(UTC) - timedelta(days=2, minutes=1)
                          for i in recent)


def test_bad_filter_is_a_400_that_names_the_problem(si: Client) -> None:
    with pytest.raises(HttpResponseError) as info:
        list(si().incidents.list(FAB_RG, FAB_WS, filter="properties/status eq 'New' and"))
    assert info.value.status_code == 400 and "Invalid $filter" in str(info.value.message)
    with pytest.raises(HttpResponseError) as info:
        list(si().incidents.list(FAB_RG, FAB_WS, orderby="properties/severity upwards"))
    assert info.value.status_code == 400 and "Invalid $orderby" in str(info.value.message)


# -- single incidents ---------------------------------------------------------------------------------
def test_get_and_unknown_incident(si: Client) -> None:
    client = si()
    first = next(iter(client.incidents.list(FAB_RG, FAB_WS)))
    got = client.incidents.get(FAB_RG, FAB_WS, first.name)
    assert got.etag == first.etag and got.properties.title == first.properties.title
    assert got.properties.incident_url.endswith(f"/incidents/{first.name}")
    assert got.properties.provider_name == "Azure Sentinel"
    with pytest.raises(ResourceNotFoundError) as info:
        client.incidents.get(FAB_RG, FAB_WS, str(uuid.uuid4()))
    assert info.value.status_code == 404 and info.value.error.code == "ResourceNotFound"


def test_create_update_close_and_delete(si: Client, sentinel_emulator: Emulator) -> None:
    client = si()
    incident_id = str(uuid.uuid4())
    created = client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident(
        description="Created by the emulator tests", labels=[m.IncidentLabel(label_name="Test")]))
    props = created.properties
    assert props.incident_number > 150 and props.status == "New" and props.owner.object_id is None
    assert props.created_time_utc == props.last_modified_time_utc
    assert props.additional_data.alerts_count == 0 and props.labels[0].label_type == "User"

    alice = next(u for u in _users(sentinel_emulator) if u.user_principal_name.startswith("alice.analyst"))
    created.properties.owner = m.IncidentOwnerInfo(user_principal_name=alice.user_principal_name)
    created.properties.status = "Active"
    updated = client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, created)
    assert updated.etag != created.etag and updated.properties.status == "Active"
    assert updated.properties.owner.object_id == alice.object_id
    assert updated.properties.owner.assigned_to == alice.display_name
    assert updated.properties.incident_number == props.incident_number

    stale = created  # still carries the first etag
    stale.properties.severity = "High"
    with pytest.raises(HttpResponseError) as info:
        client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, stale)
    assert info.value.status_code == 412 and info.value.error.code == "PreconditionFailed"

    updated.properties.status = "Closed"
    with pytest.raises(HttpResponseError) as info:
        client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, updated)
    assert info.value.status_code == 400 and "Classification is required" in info.value.message

    updated.properties.classification = "FalsePositive"
    updated.properties.classification_reason = "SuspiciousActivity"
    with pytest.raises(HttpResponseError) as info:
        client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, updated)
    assert info.value.status_code == 400 and "does not go with classification" in info.value.message

    updated.properties.classification_reason = "InaccurateData"
    updated.properties.classification_comment = "Test data"
    closed = client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, updated)
    assert closed.properties.status == "Closed" and closed.properties.classification == "FalsePositive"

    client.incidents.delete(FAB_RG, FAB_WS, incident_id)
    with pytest.raises(ResourceNotFoundError):
        client.incidents.get(FAB_RG, FAB_WS, incident_id)


def test_writes_append_security_incident_rows(si: Client, sentinel_emulator: Emulator) -> None:
    client = si()
    incident_id = str(uuid.uuid4())
    created = client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident("Row writer"))
    created.properties.status = "Closed"
    created.properties.classification = "BenignPositive"
    client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, created)
    store = sentinel_emulator.runtime.store
    workspace = store.get(sentinel_path(sentinel_emulator, "fabrikam").split("/providers/Microsoft.SecurityInsights")[0])
    rows = [r for r in store.workspace_logs(workspace["properties"]["customerId"])["SecurityIncident"]
            if r["IncidentName"] == incident_id]
    assert [r["Status"] for r in rows] == ["New", "Closed"]
    assert rows[1]["Classification"] == "BenignPositive" and rows[1]["ClosedTime"] == rows[1]["LastModifiedTime"]
    assert rows[1]["FirstModifiedTime"] == rows[1]["LastModifiedTime"] and rows[0]["FirstModifiedTime"] is None
    assert rows[0]["IncidentNumber"] == created.properties.incident_number
    assert rows[0]["ModifiedBy"] == "sentinelkit-mssp" and rows[0]["Type"] == "SecurityIncident"
    assert rows[0]["TenantId"] == workspace["properties"]["customerId"]


def test_rows_written_by_the_api_are_queryable(si: Client, sentinel_emulator: Emulator) -> None:
    """What a write appends reaches KQL through the query API (azure-monitor-query, unchanged)."""
    client = si()
    incident_id = str(uuid.uuid4())
    created = client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident("Queryable"))
    created.properties.status = "Active"
    client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, created)
    info = sentinel_emulator.info
    workspace = next(w for w in info["workspaces"] if w["name"] == FAB_WS)
    logs = LogsQueryClient(credential(sentinel_emulator), endpoint=info["logs_url"], audience=LOGS_AUDIENCE,
                           connection_verify=info["ca_path"])
    with logs:
        result = logs.query_workspace(
            workspace["customer_id"], f"SecurityIncident | where IncidentName == '{incident_id}' "
            "| order by TimeGenerated asc | project Status, IncidentNumber, Owner", timespan=timedelta(hours=1))
    rows = [list(row) for row in result.tables[0].rows]
    assert [r[0] for r in rows] == ["New", "Active"]
    assert rows[0][1] == created.properties.incident_number


def test_validation_errors(si: Client, raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = si()
    bad = new_incident()
    bad.properties.severity = "Critical"
    with pytest.raises(HttpResponseError) as info:
        client.incidents.create_or_update(FAB_RG, FAB_WS, str(uuid.uuid4()), bad)
    assert info.value.status_code == 400 and "properties.severity" in info.value.message
    url = f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents/{uuid.uuid4()}"
    missing_title = raw().put(url, params=API, json={"properties": {"severity": "Low", "status": "New"}})
    assert missing_title.status_code == 400 and "title" in error_of(missing_title)["message"]
    unknown_owner = raw().put(url, params=API, json={"properties": {
        "title": "x", "severity": "Low", "status": "New", "owner": {"userPrincipalName": "nobody@nowhere.example"}}})
    assert unknown_owner.status_code == 400 and "owner" in error_of(unknown_owner)["message"]


def test_malformed_json_is_a_400_and_the_server_keeps_serving(raw: Callable[..., httpx.Client],
                                                             sentinel_emulator: Emulator) -> None:
    client = raw()
    url = f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents/{uuid.uuid4()}"
    broken = client.put(url, params=API, content=b'{"properties": {"title": "x",', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and error_of(broken)["code"] == "InvalidRequestContent"
    assert client.get(f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents", params={**API, "$top": 1}).status_code == 200


def test_if_match_header_is_honoured(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    url = f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents/{uuid.uuid4()}"
    body = {"properties": {"title": "If-Match", "severity": "Low", "status": "New"}}
    etag = client.put(url, params=API, json=body).json()["etag"]
    assert client.put(url, params=API, json=body, headers={"If-Match": '"not-the-etag"'}).status_code == 412
    assert client.put(url, params=API, json=body, headers={"If-Match": etag}).status_code == 200


# -- access -------------------------------------------------------------------------------------------
def test_read_only_principal_reads_but_cannot_write(si: Client) -> None:
    reader = si(principal="sentinelkit-reader")
    assert next(iter(reader.incidents.list(FAB_RG, FAB_WS))).name
    with pytest.raises(HttpResponseError) as info:
        reader.incidents.create_or_update(FAB_RG, FAB_WS, str(uuid.uuid4()), new_incident())
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"
    assert "Microsoft.SecurityInsights/incidents/write" in info.value.message


def test_workspace_without_sentinel_answers_not_onboarded(si: Client) -> None:
    with pytest.raises(HttpResponseError) as info:
        list(si().incidents.list(FAB_RG, "law-fabrikam-ops"))
    assert info.value.status_code == 400 and "is not onboarded to Microsoft Sentinel" in info.value.message
    assert list(si().sentinel_onboarding_states.list(FAB_RG, "law-fabrikam-ops").value) == []
    with pytest.raises(ResourceNotFoundError):
        si().incidents.get(FAB_RG, "law-nope", str(uuid.uuid4()))


def test_unsupported_api_version(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    r = raw().get(f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents", params={"api-version": "2018-01-01"})
    assert r.status_code == 400 and error_of(r)["code"] == "NoRegisteredProviderFound"
    assert "2025-09-01" in error_of(r)["message"] and "2025-10-01-preview" in error_of(r)["message"]
    for version in ("2021-10-01", "2023-02-01", "2024-03-01", "2025-06-01", "2025-07-01-preview"):
        assert raw().get(f"{sentinel_path(sentinel_emulator, 'fabrikam')}/incidents",
                         params={"api-version": version, "$top": 1}).status_code == 200


# -- comments, alerts, entities, relations, tasks -------------------------------------------------------
def test_comments(si: Client, sentinel_emulator: Emulator) -> None:
    client = si()
    incident_id = str(uuid.uuid4())
    client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident("Commented"))
    comment_id = str(uuid.uuid4())
    first = client.incident_comments.create_or_update(
        FAB_RG, FAB_WS, incident_id, comment_id, m.IncidentComment(properties=m.IncidentCommentProperties(message="Looking")))
    again = client.incident_comments.create_or_update(
        FAB_RG, FAB_WS, incident_id, comment_id, m.IncidentComment(properties=m.IncidentCommentProperties(message="Looked")))
    assert again.properties.message == "Looked" and again.properties.created_time_utc == first.properties.created_time_utc
    mssp = sentinel_emulator.principal("sentinelkit-mssp")
    assert again.properties.author.object_id == mssp["object_id"] and again.properties.author.name == "sentinelkit-mssp"
    comments = list(client.incident_comments.list(FAB_RG, FAB_WS, incident_id))
    assert [c.name for c in comments] == [comment_id]
    assert client.incidents.get(FAB_RG, FAB_WS, incident_id).properties.additional_data.comments_count == 1
    client.incident_comments.delete(FAB_RG, FAB_WS, incident_id, comment_id)
    assert list(client.incident_comments.list(FAB_RG, FAB_WS, incident_id)) == []
    with pytest.raises(ResourceNotFoundError):
        client.incident_comments.list(FAB_RG, FAB_WS, str(uuid.uuid4())).next()


def test_alerts_entities_and_relations_agree(si: Client, sentinel_emulator: Emulator) -> None:
    client = si()
    incident = next(i for i in client.incidents.list(FAB_RG, FAB_WS) if i.properties.additional_data.alerts_count)
    alerts = client.incidents.list_alerts(FAB_RG, FAB_WS, incident.name).value
    assert len(alerts) == incident.properties.additional_data.alerts_count
    assert all(a.kind == "SecurityAlert" and a.properties.alert_display_name for a in alerts)
    assert {a.properties.product_name for a in alerts} == set(incident.properties.additional_data.alert_product_names)
    entities = client.incidents.list_entities(FAB_RG, FAB_WS, incident.name)
    assert entities.entities and sum(md.count for md in entities.meta_data) == len(entities.entities)
    assert {e.kind for e in entities.entities} <= {"Account", "Host", "Ip", "Url", "File"}
    relations = list(client.incident_relations.list(FAB_RG, FAB_WS, incident.name))
    assert {r.properties.related_resource_name for r in relations} == {a.name for a in alerts}
    assert all(r.properties.related_resource_kind == "SecurityAlert" for r in relations)
    entity = client.entities.get(FAB_RG, FAB_WS, entities.entities[0].name)
    assert entity.kind == entities.entities[0].kind
    assert client.incidents.list_bookmarks(FAB_RG, FAB_WS, incident.name).value == []

    # a new incident takes over an existing alert through a relation
    incident_id = str(uuid.uuid4())
    client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident("Merged"))
    client.incident_relations.create_or_update(
        FAB_RG, FAB_WS, incident_id, "rel1", m.Relation(properties=m.RelationProperties(related_resource_id=alerts[0].id)))
    assert [a.name for a in client.incidents.list_alerts(FAB_RG, FAB_WS, incident_id).value] == [alerts[0].name]
    assert client.incidents.get(FAB_RG, FAB_WS, incident_id).properties.additional_data.alerts_count == 1
    with pytest.raises(HttpResponseError) as info:
        client.incident_relations.create_or_update(FAB_RG, FAB_WS, incident_id, "rel2", m.Relation(
            properties=m.RelationProperties(related_resource_id=alerts[0].id.replace(alerts[0].name, str(uuid.uuid4())))))
    assert info.value.status_code == 400
    client.incident_relations.delete(FAB_RG, FAB_WS, incident_id, "rel1")
    assert client.incidents.list_alerts(FAB_RG, FAB_WS, incident_id).value == []
    with pytest.raises(ResourceNotFoundError):
        client.incidents.list_alerts(FAB_RG, FAB_WS, str(uuid.uuid4()))


def test_tasks(si: Client) -> None:
    client = si()
    incident_id = str(uuid.uuid4())
    client.incidents.create_or_update(FAB_RG, FAB_WS, incident_id, new_incident("With tasks"))
    task = client.incident_tasks.create_or_update(FAB_RG, FAB_WS, incident_id, "t1", m.IncidentTask(
        properties=m.IncidentTaskProperties(title="Reset password", status="New")))
    assert task.properties.created_by.name == "sentinelkit-mssp"
    task.properties.status = "Completed"
    done = client.incident_tasks.create_or_update(FAB_RG, FAB_WS, incident_id, "t1", task)
    assert done.properties.status == "Completed"
    assert [t.properties.status for t in client.incident_tasks.list(FAB_RG, FAB_WS, incident_id)] == ["Completed"]
    with pytest.raises(HttpResponseError) as info:
        client.incident_tasks.create_or_update(FAB_RG, FAB_WS, incident_id, "t2", m.IncidentTask(
            properties=m.IncidentTaskProperties(title="Bad", status="Done")))
    assert info.value.status_code == 400
    client.incident_tasks.delete(FAB_RG, FAB_WS, incident_id, "t1")
    assert list(client.incident_tasks.list(FAB_RG, FAB_WS, incident_id)) == []


def test_run_playbook_on_incident(si: Client, raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    incident = next(iter(si().incidents.list(FAB_RG, FAB_WS)))
    base = sentinel_path(sentinel_emulator, "fabrikam")
    body = {"logicAppsResourceId": f"/subscriptions/{sub_id(sentinel_emulator, 'fabrikam')}/resourceGroups/{FAB_RG}"
                                   "/providers/Microsoft.Logic/workflows/Notify-SOC-Teams"}
    assert raw().post(f"{base}/incidents/{incident.name}/runPlaybook", params=API, json=body).status_code == 204
    assert raw().post(f"{base}/incidents/{incident.name}/runPlaybook", params=API, json={}).status_code == 400
    denied = raw("sentinelkit-reader").post(f"{base}/incidents/{incident.name}/runPlaybook", params=API, json=body)
    assert denied.status_code == 403


# -- async client -------------------------------------------------------------------------------------
async def test_async_client_lists_filters_and_writes(sentinel_emulator: Emulator) -> None:
    p = sentinel_emulator.principal("sentinelkit-mssp")
    info = sentinel_emulator.info
    credential = AsyncClientSecretCredential(p["tenant_id"], p["client_id"], p["client_secret"],
                                             authority=info["authority_url"], connection_verify=info["ca_path"])
    sub = sentinel_emulator.tenant("northwind")["subscriptions"][0]["id"]
    rg, ws = WORKSPACES["northwind"]
    async with credential, AsyncSecurityInsights(credential, sub, base_url=info["arm_url"], credential_scopes=[ARM_SCOPE],
                                                 connection_verify=info["ca_path"]) as client:
        names = [i.name async for i in client.incidents.list(rg, ws, top=30)]
        assert len(names) == 100 and len(set(names)) == 100
        closed = [i async for i in client.incidents.list(rg, ws, filter="properties/status eq 'Closed'")]
        assert closed and all(i.properties.classification for i in closed)
        created = await client.incidents.create_or_update(rg, ws, str(uuid.uuid4()), new_incident("Async"))
        assert created.properties.incident_number > 100


# -- conformance ----------------------------------------------------------------------------------------
@requires_specs
def test_incident_responses_conform_to_the_spec(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    base = f"{sentinel_path(sentinel_emulator, 'northwind')}/incidents"
    listing = client.get(base, params=API).json()
    validate_response(SPEC, "Incidents_List", 200, listing)
    incident = next(i for i in listing["value"] if i["properties"]["status"] == "Closed")
    name = incident["name"]
    validate_response(SPEC, "Incidents_Get", 200, client.get(f"{base}/{name}", params=API).json())
    validate_response(SPEC, "IncidentComments_List", 200, client.get(f"{base}/{name}/comments", params=API).json())
    validate_response(SPEC, "IncidentRelations_List", 200, client.get(f"{base}/{name}/relations", params=API).json())
    validate_response(SPEC, "IncidentTasks_List", 200, client.get(f"{base}/{name}/tasks", params=API).json())
    validate_response(SPEC, "Incidents_ListAlerts", 200, client.post(f"{base}/{name}/alerts", params=API).json())
    validate_response(SPEC, "Incidents_ListEntities", 200, client.post(f"{base}/{name}/entities", params=API).json())
    validate_response(SPEC, "Incidents_ListBookmarks", 200, client.post(f"{base}/{name}/bookmarks", params=API).json())
    missing = client.get(f"{base}/{uuid.uuid4()}", params=API)
    validate_response(SPEC, "Incidents_Get", 404, missing.json())
    created = client.put(f"{base}/{uuid.uuid4()}", params=API,
                         json={"properties": {"title": "Spec", "severity": "Low", "status": "New"}})
    validate_response(SPEC, "Incidents_CreateOrUpdate", 201, created.json())
    comment = client.put(f"{created.json()['id']}/comments/c1", params=API, json={"properties": {"message": "hi"}})
    validate_response(SPEC, "IncidentComments_CreateOrUpdate", 201, comment.json())


def _users(emu: Emulator):
    return emu.runtime.store.world.users
