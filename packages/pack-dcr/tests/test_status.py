"""dcr_status finds the planted silent gaps (a rule with no association, a destination table that stopped
receiving data), only them, and a rule whose destination workspace was deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dcr_testkit import data, error_text


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.rstrip("Z")[:26]).replace(tzinfo=UTC)


async def test_status_across_every_tenant_finds_exactly_the_planted_gaps(call) -> None:
    out = data(await call("dcr_status"))
    found = {(p["workspace"], p["type"], p["rule"], p.get("table")) for p in out["problems"]}
    assert found == {
        ("law-fabrikam-prod", "no_association", "dcr-fabrikam-windows-unused", None),
        ("law-tailspin", "table_stopped", "dcr-tailspin-syslog", "Syslog"),
    }
    assert out["summary"]["failed"] == 0 and "law-woodgrove" in out["workspaces"]  # its own credential
    assert out["workspaces"]["law-contoso-soc"]["problems"] == 0
    assert out["workspaces"]["law-woodgrove"]["problems"] == 0
    stopped = next(p for p in out["problems"] if p["type"] == "table_stopped")
    assert "Syslog" in stopped["message"] and "24 h" in stopped["message"]


async def test_status_of_one_rule_shows_last_ingestion_and_volume(call) -> None:
    out = data(await call("dcr_status", workspace="law-tailspin", rule="dcr-tailspin-syslog"))
    [delivery] = out["workspaces"]["law-tailspin"]["deliveries"]
    assert delivery["table"] == "Syslog" and delivery["state"] == "stopped" and delivery["associations"] == 2
    assert delivery["mb_last_24h"] == 0 and delivery["mb_last_30d"] > 0
    # the scenario stopped Syslog 3 days ago: the last ingestion is about then, not recent
    assert _when(delivery["last_ingestion"]) < datetime.now(UTC) - timedelta(days=2)
    healthy = data(await call("dcr_status", workspace="law-northwind", only_problems=True))
    assert healthy["problems"] == [] and healthy["workspaces"]["law-northwind"]["deliveries"] == []
    assert healthy["workspaces"]["law-northwind"]["rules"] == 3


async def test_status_flags_a_rule_whose_destination_workspace_was_deleted(call, restore, emulator: Any) -> None:
    from azure.identity import ClientSecretCredential
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import Workspace

    info = emulator.info
    home = emulator.tenant(info["managing_tenant_id"])
    cred = ClientSecretCredential(home["id"], home["client_id"], home["client_secret"], authority=info["authority_url"],
                                  connection_verify=info["ca_path"], disable_instance_discovery=True)
    la = LogAnalyticsManagementClient(cred, emulator.tenant("tailspin")["subscriptions"][0]["id"],
                                      base_url=info["arm_url"], connection_verify=info["ca_path"],
                                      credential_scopes=["https://management.azure.com/.default"])
    temp = la.workspaces.begin_create_or_update("rg-sentinel-weu", "law-tailspin-staging",
                                                Workspace(location="westeurope")).result()
    body = {"kind": "Linux", "properties": {
        "dataSources": {"syslog": [{"name": "syslog", "streams": ["Microsoft-Syslog"], "facilityNames": ["auth"],
                                    "logLevels": ["Error"]}]},
        "destinations": {"logAnalytics": [{"name": "staging", "workspaceResourceId": temp.id}]},
        "dataFlows": [{"streams": ["Microsoft-Syslog"], "destinations": ["staging"]}]}}
    created = await call("dcr_create", workspace="law-tailspin", name="dcr-tailspin-staging", body=body)
    assert not created.is_error, created.content
    la.workspaces.begin_delete("rg-sentinel-weu", "law-tailspin-staging", force=True).result()
    la.close()
    out = data(await call("dcr_status", workspace="law-tailspin"))
    gone = [p for p in out["problems"] if p["type"] == "destination_missing"]
    assert [(p["rule"], p["destination"]) for p in gone] == [("dcr-tailspin-staging", temp.id)]
    assert "no longer exists" in gone[0]["message"]
    everywhere = data(await call("dcr_status"))  # reported once, by one workspace of the subscription
    assert [p["rule"] for p in everywhere["problems"] if p["type"] == "destination_missing"] == ["dcr-tailspin-staging"]


async def test_a_failing_log_query_is_an_error_for_one_workspace_and_a_detail_for_many(call, emulator_faults) -> None:
    emulator_faults.add_fault(match={"service": "logs", "tenant": "tailspin"}, status=503)
    one = await call("dcr_status", workspace="law-tailspin")
    text = error_text(one)
    assert "503" in text and "law-tailspin" in text and "tailspin" in text and "try again" in text
    many = data(await call("dcr_status", workspaces=["law-tailspin", "law-fabrikam-prod"]))
    assert "503" in many["errors"]["law-tailspin"]
    assert [(p["workspace"], p["type"]) for p in many["problems"]] == [("law-fabrikam-prod", "no_association")]
    assert many["summary"]["failed"] == 1 and many["summary"]["succeeded"] == 1


async def test_workspace_and_tenant_must_agree(call) -> None:
    text = error_text(await call("dcr_list", workspace="law-tailspin", tenant="northwind"))
    assert "law-tailspin" in text and "tailspin" in text and "northwind" in text
