"""``table_retention_report`` over every workspace of every tenant, against the built-in policy, a policy from
``[packs.tables]`` of sentinelkit.toml and one given for the call; the pack's settings validated — cross-checked
with azure-mgmt-loganalytics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastmcp import Client

POLICY = '''
[packs.tables]
export_max_rows_per_slice = 40

[packs.tables.retention]
"*" = { total_days = 90 }
SecurityEvent = { interactive_days = 90, total_days = 365 }
"*_CL" = { total_days = 180 }
'''


def config_with(sentinelkit_env: dict[str, str], tmp_path: Path, text: str) -> Path:
    path = tmp_path / "with-tables.toml"
    path.write_text(Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text() + text)
    return path


async def call(server: Any, name: str, **args: Any) -> Any:
    async with Client(server) as client:
        return await client.call_tool(name, args, raise_on_error=False)


async def test_the_built_in_policy_finds_the_short_tables_of_every_tenant(tool, la, emulator) -> None:
    out = await tool("table_retention_report")
    assert out["workspaces"] == len(emulator.info["workspaces"]) and "errors" not in out
    assert out["policy"] == {"*": {"total_days": 90}}
    found = {(f["workspace"], f["table"]): f for f in out["shortfalls"]}
    assert set(found) == {("law-northwind", "SecurityEvent"), ("law-fabrikam-prod", "AppAudit_CL")}
    for (workspace, table), finding in found.items():
        tables, rg, name = la(workspace)
        sdk = tables.get(rg, name, table)
        assert finding["total_retention_days"] == sdk.total_retention_in_days
        assert finding["short_by_days"] == 90 - sdk.total_retention_in_days
    assert found[("law-northwind", "SecurityEvent")]["fix"] == {
        "tool": "table_set_retention",
        "arguments": {"workspace": "law-northwind", "table": "SecurityEvent", "total_retention_days": 90}}
    assert out["shortfalls"][0]["table"] == "AppAudit_CL"  # the largest shortfall first
    assert sorted(out["compliant_workspaces"]) == ["law-contoso-soc", "law-fabrikam-ops", "law-tailspin",
                                                   "law-woodgrove"]
    every = await tool("table_retention_report", include_empty=True)
    assert every["tables_judged"] > out["tables_judged"]


async def test_the_policy_of_sentinelkit_toml_and_of_the_call(make_server, sentinelkit_env, tmp_path, la,
                                                               emulator) -> None:
    server = make_server(config=config_with(sentinelkit_env, tmp_path, POLICY))
    result = await call(server, "table_retention_report", fields=["*"], limit=100)
    out = result.structured_content
    found = {(f["workspace"], f["table"]): f for f in out["shortfalls"]}
    security = found[("law-northwind", "SecurityEvent")]
    assert (security["required_retention_days"], security["required_total_days"], security["rule"]) == (
        90, 365, "SecurityEvent")
    assert security["fix"]["arguments"] == {"workspace": "law-northwind", "table": "SecurityEvent",
                                            "retention_days": 90, "total_retention_days": 365}
    expected = set()
    for ws in emulator.info["workspaces"]:
        tables, rg, name = la(ws["name"])
        for t in tables.list_by_workspace(rg, name):
            if t.name.endswith("_CL") and t.total_retention_in_days < 180:
                expected.add((ws["name"], t.name))
    assert {k for k, f in found.items() if f["rule"] == "*_CL"} == expected and expected
    assert ("law-woodgrove", "SecurityEvent") not in found  # 365 / 2556 days

    result = await call(server, "table_retention_report", workspace="law-fabrikam-prod",
                        policy={"AppAudit_CL": {"interactive_days": 60}})
    app = next(f for f in result.structured_content["shortfalls"] if f["table"] == "AppAudit_CL")
    assert app["fix"]["tool"] == "table_set_plan" and app["fix"]["arguments"]["plan"] == "Analytics"
    assert "retention_days=60" in app["fix"]["then"] and "fixed at 8 days" in app["fix"]["why"]


async def test_settings_are_validated_and_used(make_server, sentinelkit_env, tmp_path) -> None:
    bad = make_server(config=config_with(sentinelkit_env, tmp_path, '\n[packs.tables.retention]\n'
                                                                    'SecurityEvent = { total_days = 5000 }\n'))
    error = bad._sentinelkit_packs.packs["tables"].error
    assert "[packs.tables]" in error and "total_days" in error and "4383" in error

    server = make_server(config=config_with(sentinelkit_env, tmp_path, POLICY))
    result = await call(server, "table_export", workspace="law-northwind", table="Heartbeat", start="P1D",
                        path="heartbeat")
    out = result.structured_content
    assert out["complete"] is True and out["slices"]["total"] >= 2 and all(f["rows"] <= 40 for f in out["files"])


async def test_a_bad_policy_for_the_call_is_explained(refused) -> None:
    text = await refused("table_retention_report", policy={"SecurityEvent": {"total": 365}})
    assert "policy entry 'SecurityEvent' is invalid" in text and "interactive_days" in text
