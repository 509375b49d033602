"""The query API end to end: azure-identity tokens, HTTPS, and Microsoft's ``LogsQueryClient`` unchanged.

Runs against the in-process emulator (``sentinelkit_emulator.Emulator``) and the ``mssp`` scenario; the
assertions follow SCENARIO.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

try:
    from sentinelkit_emulator import Emulator
except ImportError as exc:  # pragma: no cover - only while the package is being assembled
    pytest.skip(f"sentinelkit_emulator.Emulator is not importable yet ({exc})", allow_module_level=True)

pytest.importorskip("azure.monitor.query", reason="azure-monitor-query is needed for the end-to-end tests")

from azure.core.exceptions import HttpResponseError
from azure.identity.aio import ClientSecretCredential
from azure.monitor.query import LogsQueryPartialResult, LogsQueryStatus
from azure.monitor.query.aio import LogsQueryClient

LOGS_AUDIENCE = "https://api.loganalytics.io"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _principal(emu: Emulator, name: str) -> dict[str, Any]:
    for tenant in emu.info["tenants"]:
        for p in tenant["principals"]:
            if p["name"] == name:
                return {**p, "tenant_id": tenant["id"]}
    raise KeyError(name)


async def _query(emu: Emulator, workspace: str, query: str, *, principal: str = "sentinelkit-mssp",
                 tenant: str | None = None, timespan: Any = timedelta(days=30), **kwargs: Any) -> Any:
    p = _principal(emu, principal)
    tenant_id = next(t["id"] for t in emu.info["tenants"] if t["name"] == tenant) if tenant else p["tenant_id"]
    ca = emu.info["ca_path"]
    credential = ClientSecretCredential(tenant_id, p["client_id"], p["client_secret"],
                                        authority=emu.info["authority_url"], connection_verify=ca)
    async with credential, LogsQueryClient(credential, endpoint=emu.info["logs_url"], audience=LOGS_AUDIENCE,
                                           connection_verify=ca, retry_total=0) as client:
        return await client.query_workspace(emu.workspace(workspace)["customer_id"], query, timespan=timespan, **kwargs)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_query_with_microsofts_client(emu: Emulator) -> None:
    result = run(_query(emu, "law-fabrikam-prod", """SentinelHealth
        | where TimeGenerated > ago(1d) and Status == 'Failure' and SentinelResourceType == 'Analytics Rule'
        | summarize Failures = count(), Last = max(TimeGenerated) by SentinelResourceName"""))
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert table.columns == ["SentinelResourceName", "Failures", "Last"]
    assert table.columns_types == ["string", "long", "datetime"]
    rows = {row["SentinelResourceName"]: row for row in table.rows}
    assert rows["Suspicious PowerShell download cradle"]["Failures"] >= 23
    assert isinstance(rows["Suspicious PowerShell download cradle"]["Last"], datetime)  # the SDK parsed our ISO text


def test_timespan_restricts_time_generated(emu: Emulator) -> None:
    query = "Heartbeat | summarize by Computer"
    last_hours = run(_query(emu, "law-northwind", query, timespan=timedelta(hours=2))).tables[0].rows
    assert "nw-dc-02" not in {r["Computer"].split(".")[0] for r in last_hours}
    now = datetime.now(UTC)
    window = run(_query(emu, "law-northwind", query, timespan=(now - timedelta(hours=30), now - timedelta(hours=24))))
    assert "nw-dc-02" in {r["Computer"].split(".")[0] for r in window.tables[0].rows}
    assert run(_query(emu, "law-tailspin", "Syslog | count", timespan=timedelta(days=3))).tables[0].rows[0][0] == 0


def test_dynamic_and_types(emu: Emulator) -> None:
    result = run(_query(emu, "law-contoso-soc", "SecurityIncident | take 1 | project Owner, AlertIds, IncidentNumber,"
                        " since = now() - TimeGenerated, id = toguid('00000000-0000-0000-0000-000000000001')"))
    table = result.tables[0]
    assert table.columns_types == ["dynamic", "dynamic", "int", "timespan", "guid"]
    row = table.rows[0]
    assert isinstance(json.loads(row["Owner"]), dict)  # dynamic values travel as JSON text, as Azure sends them
    assert isinstance(row["since"], str) and row["id"] == "00000000-0000-0000-0000-000000000001"


def test_syntax_error_surfaces_as_http_response_error(emu: Emulator) -> None:
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", "Heartbeat | where TimeGenerated > ago(1h"))
    assert err.value.status_code == 400
    assert "BadArgumentError" in str(err.value) and "Query could not be parsed" in str(err.value)


def test_semantic_and_unsupported_errors(emu: Emulator) -> None:
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", "NoSuchTable | take 1"))
    assert err.value.status_code == 400 and "Failed to resolve table or column expression named 'NoSuchTable'" in str(
        err.value)
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", "Heartbeat | where NoSuchColumn == 1"))
    assert "NoSuchColumn" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", "Heartbeat | make-series n = count() on TimeGenerated step 1h"))
    assert "does not support the 'make-series' operator" in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", ".drop table Heartbeat"))
    assert err.value.status_code == 400


def test_tenancy_and_delegation(emu: Emulator) -> None:
    # Delegated through Lighthouse: the MSSP's home-tenant token sees the customer's data.
    assert run(_query(emu, "law-tailspin", "Heartbeat | count")).tables[0].rows[0][0] > 0
    reader = run(_query(emu, "law-tailspin", "Heartbeat | count", principal="sentinelkit-reader"))
    assert reader.tables[0].rows[0][0] > 0
    # Not delegated: woodgrove's workspace needs a woodgrove-tenant token.
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-woodgrove", "Heartbeat | count"))
    assert err.value.status_code == 403 and "InsufficientAccessError" in str(err.value)
    assert run(_query(emu, "law-woodgrove", "Heartbeat | count", tenant="woodgrove")).tables[0].rows[0][0] > 0
    # A customer's own principal sees its own workspace only.
    assert run(_query(emu, "law-fabrikam-prod", "Heartbeat | count", principal="sentinelkit-fabrikam")).tables[0]
    with pytest.raises(HttpResponseError) as err:
        run(_query(emu, "law-northwind", "Heartbeat | count", principal="sentinelkit-fabrikam"))
    assert err.value.status_code == 403


def test_statistics_render_and_cross_workspace(emu: Emulator) -> None:
    result = run(_query(emu, "law-contoso-soc", "Heartbeat | summarize count() by bin(TimeGenerated, 1d) "
                        "| render timechart", include_statistics=True, include_visualization=True))
    assert result.statistics["query"]["executionTime"] >= 0
    assert result.visualization["visualization"] == "timechart"
    both = run(_query(emu, "law-contoso-soc", "Heartbeat | summarize by TenantId",
                      additional_workspaces=[emu.workspace("law-northwind")["customer_id"]]))
    assert {r[0] for r in both.tables[0].rows} == {emu.workspace("law-contoso-soc")["customer_id"], emu.workspace("law-northwind")["customer_id"]}
    assert not isinstance(both, LogsQueryPartialResult)


def test_raw_api_errors(emu: Emulator) -> None:
    import ssl

    import httpx

    p = _principal(emu, "sentinelkit-mssp")
    token = run(_token(emu, p))
    ws = emu.workspace("law-northwind")["customer_id"]
    with httpx.Client(base_url=emu.info["logs_url"], verify=ssl.create_default_context(cafile=emu.info["ca_path"]),
                      headers={"Authorization": f"Bearer {token}"}) as http:
        r = http.post(f"/v1/workspaces/{ws}/query", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "not valid JSON" in r.text
        r = http.get(f"/v1/workspaces/{ws}/query", params={"query": "Heartbeat | count", "timespan": "PT1H"})
        assert r.status_code == 200 and r.json()["tables"][0]["columns"] == [{"name": "Count", "type": "long"}]
        r = http.post("/v1/workspaces/00000000-0000-0000-0000-000000000000/query", json={"query": "Heartbeat"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "WorkspaceNotFoundError"
        r = http.post(f"/v1/workspaces/{ws}/query", json={"query": "Heartbeat | take 1", "timespan": "yesterday"})
        assert r.status_code == 400 and r.json()["error"]["innererror"]["code"] == "InvalidTimespan"
        r = http.post(f"/v1/workspaces/{ws}/query", json={"query": "Heartbeat | wherex"})
        inner = r.json()["error"]["innererror"]["innererror"]
        assert inner["code"] == "SYN0002" and inner["token"] == "wherex" and inner["line"] == 1
    with httpx.Client(base_url=emu.info["logs_url"],
                      verify=ssl.create_default_context(cafile=emu.info["ca_path"])) as anonymous:
        r = anonymous.post(f"/v1/workspaces/{ws}/query", json={"query": "Heartbeat"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
        arm_token = run(_token(emu, p, "https://management.azure.com"))
        r = anonymous.post(f"/v1/workspaces/{ws}/query", json={"query": "Heartbeat"},
                           headers={"Authorization": f"Bearer {arm_token}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


async def _token(emu: Emulator, p: dict[str, Any], audience: str = LOGS_AUDIENCE) -> str:
    credential = ClientSecretCredential(p["tenant_id"], p["client_id"], p["client_secret"],
                                        authority=emu.info["authority_url"], connection_verify=emu.info["ca_path"])
    async with credential:
        return (await credential.get_token(f"{audience}/.default")).token
