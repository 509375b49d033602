"""Onboarding, data connectors and entities through the SDK."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from azure.mgmt.securityinsight import models as m
from spec_conformance import requires_specs, validate_response
from test_sentinel_support import API, SPEC, WORKSPACES, raw, sentinel_emulator, sentinel_path, si, sub_id

from sentinelkit_emulator import Emulator

__all__ = ["raw", "sentinel_emulator", "si"]  # fixtures used by this module
Client = Callable[..., SecurityInsightsMgmtClient]
FAB_RG = WORKSPACES["fabrikam"][0]
NW_RG, NW_WS = WORKSPACES["northwind"]


def office(tenant_id: str, state: str = "Enabled") -> m.OfficeDataConnector:
    enabled = {"state": state}
    return m.OfficeDataConnector(kind="Office365", properties=m.OfficeDataConnectorProperties(
        tenant_id=tenant_id, data_types=m.OfficeDataConnectorDataTypes(
            exchange=m.OfficeDataConnectorDataTypesExchange(enabled),
            share_point=m.OfficeDataConnectorDataTypesSharePoint(enabled),
            teams=m.OfficeDataConnectorDataTypesTeams(enabled))))


def test_onboarding_lifecycle(si: Client) -> None:
    client = si("fabrikam")
    ops = "law-fabrikam-ops"
    with pytest.raises(HttpResponseError) as info:
        list(client.alert_rules.list(FAB_RG, ops))
    assert info.value.status_code == 400 and "not onboarded" in info.value.message
    with pytest.raises(ResourceNotFoundError):
        client.sentinel_onboarding_states.get(FAB_RG, ops, "default")
    with pytest.raises(HttpResponseError) as info:
        client.sentinel_onboarding_states.create(FAB_RG, ops, "custom")
    assert info.value.status_code == 400 and "'default'" in info.value.message

    state = client.sentinel_onboarding_states.create(FAB_RG, ops, "default")  # no body, as the SDK sends it
    assert state.name == "default" and state.properties.customer_managed_key is False
    assert [r.name for r in client.alert_rules.list(FAB_RG, ops)] == ["BuiltInFusion"]  # what onboarding installs
    assert len(list(client.alert_rule_templates.list(FAB_RG, ops))) >= 15
    assert list(client.incidents.list(FAB_RG, ops)) == []
    assert [s.name for s in client.sentinel_onboarding_states.list(FAB_RG, ops).value] == ["default"]

    client.sentinel_onboarding_states.delete(FAB_RG, ops, "default")
    with pytest.raises(HttpResponseError) as info:
        list(client.incidents.list(FAB_RG, ops))
    assert info.value.status_code == 400


def test_data_connectors(si: Client, sentinel_emulator: Emulator) -> None:
    client = si("northwind")
    connectors = list(client.data_connectors.list(NW_RG, NW_WS))
    kinds = [c.kind for c in connectors]
    assert 3 <= len(connectors) <= 6 and "Office365" in kinds  # connector_failing's connector exists
    o365 = next(c for c in connectors if c.kind == "Office365")
    assert isinstance(o365, m.OfficeDataConnector) and o365.properties.data_types.exchange.state == "Enabled"
    northwind_tenant = sentinel_emulator.tenant("northwind")["id"]
    assert o365.properties.tenant_id == northwind_tenant

    connector_id = str(uuid.uuid4())
    created = client.data_connectors.create_or_update(NW_RG, NW_WS, connector_id, office(northwind_tenant, "Disabled"))
    assert created.kind == "Office365" and created.properties.data_types.teams.state == "Disabled"
    assert client.data_connectors.get(NW_RG, NW_WS, connector_id).etag == created.etag
    with pytest.raises(HttpResponseError) as info:  # another tenant's Office 365
        client.data_connectors.create_or_update(NW_RG, NW_WS, str(uuid.uuid4()), office(str(uuid.uuid4())))
    assert info.value.status_code == 400 and "workspace's tenant" in info.value.message
    with pytest.raises(HttpResponseError) as info:
        client.data_connectors.create_or_update(NW_RG, NW_WS, str(uuid.uuid4()), m.AADDataConnector(
            kind="AzureActiveDirectory", properties=m.AADDataConnectorProperties(tenant_id=northwind_tenant)))
    assert info.value.status_code == 400 and "dataTypes" in info.value.message
    with pytest.raises(HttpResponseError) as info:
        client.data_connectors.create_or_update(NW_RG, NW_WS, connector_id, m.ASCDataConnector(
            kind="AzureSecurityCenter", properties=m.ASCDataConnectorProperties(
                subscription_id=sub_id(sentinel_emulator, "northwind"),
                data_types=m.AlertsDataTypeOfDataConnector(alerts=m.DataConnectorDataTypeCommon(state="Enabled")))))
    assert info.value.status_code == 400 and "cannot change" in info.value.message
    client.data_connectors.delete(NW_RG, NW_WS, connector_id)
    with pytest.raises(ResourceNotFoundError):
        client.data_connectors.get(NW_RG, NW_WS, connector_id)
    reader = si("northwind", principal="sentinelkit-reader")
    with pytest.raises(HttpResponseError) as info:
        reader.data_connectors.delete(NW_RG, NW_WS, o365.name)
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"


def test_entities_and_their_relations(si: Client, raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = si("northwind")
    incident = next(iter(client.incidents.list(NW_RG, NW_WS)))
    alert = client.incidents.list_alerts(NW_RG, NW_WS, incident.name).value[0]
    got = client.entities.get(NW_RG, NW_WS, alert.name)
    assert got.kind == "SecurityAlert" and got.properties.system_alert_id == alert.name
    named = list(client.entities_relations.list(NW_RG, NW_WS, alert.name))
    entities = client.incidents.list_entities(NW_RG, NW_WS, incident.name).entities
    assert {r.properties.related_resource_id.lower() for r in named} <= {e.id.lower() for e in entities}
    everything = raw().get(f"{sentinel_path(sentinel_emulator, 'northwind')}/entities", params=API).json()
    assert len(everything["value"]) == 100 and "nextLink" in everything  # alerts and entities, paged
    read_only = raw().put(f"{sentinel_path(sentinel_emulator, 'northwind')}/entities/{alert.name}", params=API,
                          json={"kind": "Account", "properties": {}})
    assert read_only.status_code == 405


@requires_specs
def test_workspace_responses_conform_to_the_spec(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    base = sentinel_path(sentinel_emulator, "northwind")
    validate_response(SPEC, "DataConnectors_List", 200, client.get(f"{base}/dataConnectors", params=API).json())
    validate_response(SPEC, "SentinelOnboardingStates_List", 200, client.get(f"{base}/onboardingStates", params=API).json())
    validate_response(SPEC, "SentinelOnboardingStates_Get", 200,
                      client.get(f"{base}/onboardingStates/default", params=API).json())
