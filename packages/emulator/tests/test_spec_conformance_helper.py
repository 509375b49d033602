"""Tests for the spec_conformance helper: it must reject real violations and accept the specs' own examples.

The Sentinel examples are read from the specs folder. The other services' examples were not copied there, so
short bodies taken from the upstream Azure/azure-rest-api-specs example files (MIT) are inlined below.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from spec_conformance import (
    SPECS_DIR,
    _find_specs_dir,
    operation_ids,
    requires_specs,
    response_schema,
    validate_response,
)

pytestmark = requires_specs

SENTINEL = "securityinsights/stable/2025-09-01/openapi.json"
TABLES = "operationalinsights/stable/2026-03-01/Tables.json"
DCR = "monitor/stable/2024-03-11/dataCollectionRules_API.json"
WORKBOOKS = "applicationinsights/stable/2023-06-01/workbooks_API.json"
SUBSCRIPTIONS = "resources/stable/2022-12-01/subscriptions.json"


def example(path: str, status: str = "200") -> Any:
    """Response body of a Sentinel example file, freshly parsed so tests may mutate it."""
    file = SPECS_DIR / "securityinsights/stable/2025-09-01/examples" / path
    return json.loads(file.read_text(encoding="utf-8"))["responses"][status]["body"]


def violations(spec_file: str, operation_id: str, status: int, body: Any) -> str:
    """The AssertionError text; fails the test if the body was accepted."""
    with pytest.raises(AssertionError) as info:
        validate_response(spec_file, operation_id, status, body)
    return str(info.value)


def rules_by_kind(body: dict[str, Any]) -> dict[str, int]:
    return {rule["kind"]: i for i, rule in enumerate(body["value"])}


# --- the spec's own examples pass --------------------------------------------------------------------------------

SENTINEL_EXAMPLES = [
    ("incidents/GetIncidents.json", "Incidents_List", "200"),
    ("incidents/GetIncidentById.json", "Incidents_Get", "200"),
    ("incidents/CreateIncident.json", "Incidents_CreateOrUpdate", "201"),
    ("incidents/GetAllIncidentAlerts.json", "Incidents_ListAlerts", "200"),
    ("incidents/GetAllIncidentEntities.json", "Incidents_ListEntities", "200"),
    ("incidents/comments/GetAllIncidentComments.json", "IncidentComments_List", "200"),
    ("alertRules/GetAllAlertRules.json", "AlertRules_List", "200"),
    ("alertRules/GetScheduledAlertRule.json", "AlertRules_Get", "200"),
    ("alertRules/GetFusionAlertRule.json", "AlertRules_Get", "200"),
    ("alertRules/GetMicrosoftSecurityIncidentCreationAlertRule.json", "AlertRules_Get", "200"),
    ("alertRules/CreateScheduledAlertRule.json", "AlertRules_CreateOrUpdate", "201"),
    ("automationRules/AutomationRules_List.json", "AutomationRules_List", "200"),
    ("watchlists/GetWatchlists.json", "Watchlists_List", "200"),
    ("watchlists/GetWatchlistByAlias.json", "Watchlists_Get", "200"),
    ("watchlists/CreateWatchlist.json", "Watchlists_CreateOrUpdate", "201"),
    ("watchlists/GetWatchlistItems.json", "WatchlistItems_List", "200"),
]


@pytest.mark.parametrize(("path", "operation_id", "status"), SENTINEL_EXAMPLES)
def test_sentinel_examples_conform(path: str, operation_id: str, status: str) -> None:
    validate_response(SENTINEL, operation_id, int(status), example(path, status))


def test_alert_rules_list_example_covers_several_kinds() -> None:
    body = example("alertRules/GetAllAlertRules.json")
    assert {"Scheduled", "Fusion", "MicrosoftSecurityIncidentCreation"} <= set(rules_by_kind(body))
    validate_response(SENTINEL, "AlertRules_List", 200, body)


# Upstream Tables example TablesList.json (commit 27445edbde810e84bbd3b989e9fa76e03c258bb5), one table, trimmed.
TABLES_LIST: dict[str, Any] = {
    "value": [
        {
            "properties": {
                "schema": {
                    "name": "SurfaceHubDns",
                    "tableSubType": "Any",
                    "tableType": "Microsoft",
                    "displayName": None,
                    "description": None,
                    "columns": None,
                    "standardColumns": [
                        {
                            "isHidden": True,
                            "name": "TenantId",
                            "type": "guid",
                            "dataTypeHint": None,
                            "displayName": None,
                            "description": None,
                            "isDefaultDisplay": False,
                        },
                        {
                            "isHidden": False,
                            "name": "TimeGenerated",
                            "type": "dateTime",
                            "dataTypeHint": None,
                            "displayName": None,
                            "description": None,
                            "isDefaultDisplay": False,
                        },
                    ],
                    "categories": None,
                    "labels": None,
                    "source": None,
                    "solutions": ["LogManagement"],
                },
                "provisioningState": "Succeeded",
                "retentionInDays": 30,
                "totalRetentionInDays": 30,
                "archiveRetentionInDays": 0,
                "retentionInDaysAsDefault": False,
                "totalRetentionInDaysAsDefault": True,
                "plan": "Analytics",
            },
            "name": "SurfaceHubDns",
            "id": "/subscriptions/00000000-0000-0000-0000-00000000000/resourcegroups/oiautorest6685/providers/"
            "Microsoft.OperationalInsights/workspaces/oiautorest6685/tables/SurfaceHubDns",
        }
    ]
}

# Upstream DataCollection.Management/examples/2024-03-11/DataCollectionRulesGet.json
# (commit 6c76824be81fa1cb497bde9d908005aaccda2fa9), data sources trimmed.
DCR_GET: dict[str, Any] = {
    "name": "myCollectionRule",
    "type": "Microsoft.Insights/dataCollectionRules",
    "etag": "070057da-0000-0000-0000-5ba70d6c0000",
    "id": "/subscriptions/703362b3-f278-4e4b-9179-c76eaf41ffc2/resourceGroups/myResourceGroup/providers/"
    "Microsoft.Insights/dataCollectionRules/myCollectionRule",
    "location": "eastus",
    "properties": {
        "dataFlows": [{"destinations": ["centralWorkspace"], "streams": ["Microsoft-Perf", "Microsoft-Syslog"]}],
        "dataSources": {
            "performanceCounters": [
                {
                    "name": "cloudTeamCoreCounters",
                    "counterSpecifiers": ["\\Memory\\Committed Bytes"],
                    "samplingFrequencyInSeconds": 15,
                    "streams": ["Microsoft-Perf"],
                }
            ],
            "syslog": [
                {
                    "name": "cronSyslog",
                    "facilityNames": ["cron"],
                    "logLevels": ["Debug", "Critical", "Emergency"],
                    "streams": ["Microsoft-Syslog"],
                }
            ],
        },
        "destinations": {
            "logAnalytics": [
                {
                    "name": "centralWorkspace",
                    "workspaceId": "9ba8bc53-bd36-4156-8667-e983e7ae0e4f",
                    "workspaceResourceId": "/subscriptions/703362b3-f278-4e4b-9179-c76eaf41ffc2/resourceGroups/"
                    "myResourceGroup/providers/Microsoft.OperationalInsights/workspaces/centralTeamWorkspace",
                }
            ]
        },
        "immutableId": "dcr-b74e0d383fc9415abaa584ec41adece3",
    },
    "systemData": {
        "createdAt": "2021-04-01T12:34:56.1234567Z",
        "createdBy": "user1",
        "createdByType": "User",
        "lastModifiedAt": "2021-04-02T12:34:56.1234567Z",
        "lastModifiedBy": "user2",
        "lastModifiedByType": "User",
    },
    "tags": {"tag1": "A", "tag2": "B"},
}

# Upstream ApplicationInsights/stable/2023-06-01/examples/WorkbookUpdate.json
# (commit ccbf6e5af84b1fd6a8b47b39fcd932281cc7c4bf), serializedData shortened.
WORKBOOK: dict[str, Any] = {
    "id": "/subscriptions/6b643656-33eb-422f-aee8-3ac145d124af/resourcegroups/my-resource-group/providers/"
    "Microsoft.Insights/workbooks/deadb33f-5e0d-4064-8ebb-1a4ed0313eb2",
    "name": "deadb33f-5e0d-4064-8ebb-1a4ed0313eb2",
    "type": "Microsoft.Insights/workbooks",
    "location": "westus",
    "tags": {"TagSample01": "sample01", "TagSample02": "sample02"},
    "kind": "shared",
    "properties": {
        "displayName": "Sample workbook",
        "serializedData": '{"version":"Notebook/1.0","items":[],"isLocked":false}',
        "userId": "userId",
        "sourceId": "/subscriptions/6b643656-33eb-422f-aee8-3ac145d124af/resourceGroups/my-resource-group/"
        "providers/Microsoft.Web/sites/MyApp",
        "version": "Notebook/1.0",
        "category": "workbook",
        "timeModified": "2020-10-20T22:00:26.4229554Z",
        "storageUri": None,
        "description": "Sample workbook",
        "revision": "1e2f8435b98248febee70c64ac22e1bb",
    },
}

# Upstream Microsoft.Resources/subscriptions/examples/2022-12-01/GetSubscriptions.json
# (commit 7938bf754f4e1a7bca986e574977e7b4d354b554), one subscription.
SUBSCRIPTIONS_LIST: dict[str, Any] = {
    "nextLink": "http://nextlink",
    "value": [
        {
            "authorizationSource": "RoleBased",
            "displayName": "Example Subscription",
            "id": "/subscriptions/291bba3f-e0a5-47bc-a099-3bdcb2a50a05",
            "managedByTenants": [{"tenantId": "8f70baf1-1f6e-46a2-a1ff-238dac1ebfb7"}],
            "state": "Enabled",
            "subscriptionId": "291bba3f-e0a5-47bc-a099-3bdcb2a50a05",
            "subscriptionPolicies": {
                "locationPlacementId": "Internal_2014-09-01",
                "quotaId": "Internal_2014-09-01",
                "spendingLimit": "Off",
            },
            "tags": {"tagKey1": "tagValue1"},
            "tenantId": "31c75423-32d6-4322-88b7-c478bdde4858",
        }
    ],
}

OTHER_EXAMPLES = [
    (TABLES, "Tables_ListByWorkspace", TABLES_LIST),
    (TABLES, "Tables_Get", TABLES_LIST["value"][0]),
    (DCR, "DataCollectionRules_Get", DCR_GET),
    (DCR, "DataCollectionRules_ListByResourceGroup", {"value": [DCR_GET]}),
    (WORKBOOKS, "Workbooks_Get", WORKBOOK),
    (WORKBOOKS, "Workbooks_ListByResourceGroup", {"value": [WORKBOOK], "nextLink": None}),
    (SUBSCRIPTIONS, "Subscriptions_List", SUBSCRIPTIONS_LIST),
    (SUBSCRIPTIONS, "Subscriptions_Get", SUBSCRIPTIONS_LIST["value"][0]),
]


@pytest.mark.parametrize(("spec_file", "operation_id", "body"), OTHER_EXAMPLES, ids=[op for _, op, _ in OTHER_EXAMPLES])
def test_other_service_examples_conform(spec_file: str, operation_id: str, body: Any) -> None:
    validate_response(spec_file, operation_id, 200, body)


# --- violations are caught ---------------------------------------------------------------------------------------


def test_wrong_type_is_reported_with_its_json_pointer() -> None:
    body = example("incidents/GetIncidents.json")
    body["value"][0]["properties"]["title"] = 123
    message = violations(SENTINEL, "Incidents_List", 200, body)
    assert "/value/0/properties/title: 123 is not of type 'string'" in message


def test_missing_required_field() -> None:
    body = example("incidents/GetIncidentById.json")
    del body["properties"]["severity"]
    assert "/properties: 'severity' is a required property" in violations(SENTINEL, "Incidents_Get", 200, body)


def test_every_violation_is_listed() -> None:
    body = example("incidents/GetIncidents.json")
    body["value"][0]["properties"]["incidentNumber"] = "7"
    del body["value"][0]["properties"]["status"]
    body["value"][0]["properties"]["labels"] = "not-a-list"
    message = violations(SENTINEL, "Incidents_List", 200, body)
    assert "3 spec violation(s)" in message
    for pointer in ("properties/incidentNumber:", "properties: 'status' is a required", "properties/labels:"):
        assert pointer in message


def test_list_without_value_is_rejected() -> None:
    assert "'value' is a required property" in violations(SENTINEL, "Incidents_List", 200, {"nextLink": "x"})


def test_strict_enum_rejects_unknown_value() -> None:
    body = example("alertRules/GetAllAlertRules.json")
    scheduled = rules_by_kind(body)["Scheduled"]
    body["value"][scheduled]["properties"]["triggerOperator"] = "Greater"
    message = violations(SENTINEL, "AlertRules_List", 200, body)
    assert f"/value/{scheduled}/properties/triggerOperator: 'Greater' is not one of" in message

    subscriptions = copy.deepcopy(SUBSCRIPTIONS_LIST)
    subscriptions["value"][0]["state"] = "Active"
    message = violations(SUBSCRIPTIONS, "Subscriptions_List", 200, subscriptions)
    assert "/value/0/state: 'Active' is not one of" in message


def test_extensible_enum_accepts_new_values() -> None:
    """IncidentSeverity is ``modelAsString: true``: a value the spec does not list is still valid."""
    body = example("incidents/GetIncidentById.json")
    body["properties"]["severity"] = "Critical"
    validate_response(SENTINEL, "Incidents_Get", 200, body)


def test_discriminator_subtype_fields_are_checked() -> None:
    """The base AlertRule declares no ``properties``; only dispatch by ``kind`` can find these errors."""
    body = example("alertRules/GetAllAlertRules.json")
    kinds = rules_by_kind(body)
    body["value"][kinds["Fusion"]]["properties"]["enabled"] = "yes"
    body["value"][kinds["Scheduled"]]["properties"]["triggerThreshold"] = "0"
    del body["value"][kinds["MicrosoftSecurityIncidentCreation"]]["properties"]["productFilter"]
    message = violations(SENTINEL, "AlertRules_List", 200, body)
    assert f"/value/{kinds['Fusion']}/properties/enabled: 'yes' is not of type 'boolean'" in message
    assert f"/value/{kinds['Scheduled']}/properties/triggerThreshold: '0' is not of type 'integer'" in message
    assert f"/value/{kinds['MicrosoftSecurityIncidentCreation']}/properties: 'productFilter' is a required" in message


def test_discriminator_value_picks_the_subtype() -> None:
    """A Fusion body labelled Scheduled is checked against the Scheduled schema and fails there."""
    body = example("alertRules/GetFusionAlertRule.json")
    body["kind"] = "Scheduled"
    message = violations(SENTINEL, "AlertRules_Get", 200, body)
    assert "/properties: 'suppressionDuration' is a required property" in message


def test_unknown_discriminator_value_gets_base_checks_only() -> None:
    body = {"kind": "SomeFutureKind", "id": "/x", "name": "r", "properties": {"anything": 1}}
    validate_response(SENTINEL, "AlertRules_Get", 200, body)
    assert "'kind' is a required property" in violations(SENTINEL, "AlertRules_Get", 200, {"name": "r"})


def test_discriminator_also_applies_inside_arrays_of_entities() -> None:
    body = example("incidents/GetAllIncidentEntities.json")
    index, entity = next((i, e) for i, e in enumerate(body["entities"]) if e["kind"] == "Account")
    entity["properties"]["isDomainJoined"] = "true"
    message = violations(SENTINEL, "Incidents_ListEntities", 200, body)
    assert f"/entities/{index}/properties/isDomainJoined: 'true' is not of type 'boolean'" in message


@pytest.mark.parametrize("value", ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.1234567Z", "2026-11-25T10:00:00+01:00"])
def test_arm_timestamps_are_valid_date_times(value: str) -> None:
    body = example("incidents/GetIncidentById.json")
    body["properties"]["createdTimeUtc"] = value
    validate_response(SENTINEL, "Incidents_Get", 200, body)


@pytest.mark.parametrize(
    "value", ["2026-11-25 10:00:00Z", "2026-11-25T10:00:00", "2026-13-25T10:00:00Z", "2026-11-25", "yesterday"]
)
def test_bad_date_times_are_rejected(value: str) -> None:
    body = example("incidents/GetIncidentById.json")
    body["properties"]["createdTimeUtc"] = value
    message = violations(SENTINEL, "Incidents_Get", 200, body)
    assert f"/properties/createdTimeUtc: '{value}' is not a 'date-time'" in message


def test_uuid_and_duration_formats_are_checked() -> None:
    dcr = copy.deepcopy(DCR_GET)
    dcr["identity"] = {"type": "SystemAssigned", "principalId": "not-a-uuid"}
    assert "/identity/principalId: 'not-a-uuid' is not a 'uuid'" in violations(DCR, "DataCollectionRules_Get", 200, dcr)

    rule = example("alertRules/GetScheduledAlertRule.json")
    rule["properties"]["queryFrequency"] = "1h"
    message = violations(SENTINEL, "AlertRules_Get", 200, rule)
    assert "/properties/queryFrequency: '1h' is not a 'duration'" in message


def test_x_nullable_allows_null_even_on_a_ref_schema() -> None:
    """``userAssignedIdentities`` values are ``x-nullable`` (common-types v5, reached across files)."""
    dcr = copy.deepcopy(DCR_GET)
    identity_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i"
    dcr["identity"] = {"type": "UserAssigned", "userAssignedIdentities": {identity_id: None}}
    validate_response(DCR, "DataCollectionRules_Get", 200, dcr)
    dcr["identity"]["userAssignedIdentities"][identity_id] = "oops"
    message = violations(DCR, "DataCollectionRules_Get", 200, dcr)
    assert "is not of type 'object'" in message


def test_optional_properties_may_be_null_but_required_ones_may_not() -> None:
    body = example("incidents/GetIncidentById.json")
    body["properties"]["description"] = None
    validate_response(SENTINEL, "Incidents_Get", 200, body)
    body["properties"]["title"] = None
    assert "/properties/title: None is not of type 'string'" in violations(SENTINEL, "Incidents_Get", 200, body)


def test_unknown_properties_are_allowed_unless_the_schema_forbids_them() -> None:
    body = example("incidents/GetIncidentById.json")
    body["properties"]["emulatorOnly"] = {"x": 1}
    body["somethingNew"] = True
    validate_response(SENTINEL, "Incidents_Get", 200, body)


def test_error_status_falls_back_to_default_response() -> None:
    error = {"error": {"code": "NotFound", "message": "Incident not found"}}
    validate_response(SENTINEL, "Incidents_Get", 404, error)
    message = violations(SENTINEL, "Incidents_Get", 404, {"error": {"code": 404}})
    assert "/error/code: 404 is not of type 'string'" in message


def test_undeclared_success_status_is_a_violation() -> None:
    message = violations(SENTINEL, "Incidents_Get", 201, example("incidents/GetIncidentById.json"))
    assert "status 201 is not declared" in message


def test_unknown_operation_id_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="Incidents_Fetch"):
        validate_response(SENTINEL, "Incidents_Fetch", 200, {})


# --- helpers -----------------------------------------------------------------------------------------------------


def test_operation_ids() -> None:
    ids = operation_ids(SENTINEL)
    assert {"Incidents_List", "AlertRules_List", "Watchlists_Get", "WatchlistItems_List"} <= set(ids)
    assert ids == sorted(ids)
    assert "Tables_ListByWorkspace" in operation_ids(TABLES)


def test_response_schema_follows_refs() -> None:
    schema = response_schema(SENTINEL, "Incidents_List", 200)
    assert schema is not None
    assert schema["required"] == ["value"]
    assert "nextLink" in schema["properties"]


def test_response_without_body_has_no_schema_and_accepts_empty_body() -> None:
    assert response_schema(SENTINEL, "Incidents_Delete", 204) is None
    validate_response(SENTINEL, "Incidents_Delete", 204, None)


def test_specs_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SENTINELKIT_SPECS_DIR", str(tmp_path))
    assert _find_specs_dir() == tmp_path
    monkeypatch.delenv("SENTINELKIT_SPECS_DIR")
    assert _find_specs_dir().parts[-2:] == ("shared", "azure-rest-specs")
