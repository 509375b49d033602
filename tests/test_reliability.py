"""Reliability and scoping (issue "no tenant silently dropped, no false failures, no write outside its
scope"): one regression test per defect an adversarial run found, each through a real MCP client
against the emulator with faults injected in its own process, cross-checked with Microsoft's SDKs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from sentinelkit_devkit.process import run_cli


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content  # type: ignore[no-any-return]


async def refused(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """The error text of a call that must fail."""
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert result.is_error, result.structured_content
    return str(result.content[0].text)


def audit(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SENTINELKIT_AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def config(env: dict[str, str], tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "reliability.toml"
    path.write_text(Path(env["SENTINELKIT_CONFIG"]).read_text() + "\n" + extra)
    return path


@pytest.fixture
def restore(emulator: Any) -> Iterator[None]:
    yield
    emulator.reset()


def sdk(emulator: Any, tenant: str) -> Any:
    from azure.identity import ClientSecretCredential
    from azure.mgmt.securityinsight import SecurityInsightsMgmtClient

    info = emulator.info
    mssp = emulator.tenant(info["managing_tenant_id"])
    cred = ClientSecretCredential(mssp["id"], mssp["client_id"], mssp["client_secret"], authority=info["authority_url"],
                                  connection_verify=info["ca_path"], disable_instance_discovery=True)
    return SecurityInsightsMgmtClient(cred, emulator.tenant(tenant)["subscriptions"][0]["id"], base_url=info["arm_url"],
                                      connection_verify=info["ca_path"],
                                      credential_scopes=["https://management.azure.com/.default"])


# 1. a tenant silently dropping out of "all" --------------------------------------------------------
async def test_a_tenant_whose_discovery_fails_is_reported_everywhere_and_back_when_it_recovers(
        make_server, emulator, sentinelkit_env, tmp_path) -> None:
    server = make_server(config=config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 0\n"))
    fault = emulator.add_fault(match={"tenant": "northwind", "service": "arm",
                                      "path": "Microsoft.OperationalInsights/workspaces$"}, status=503)
    try:
        async with Client(server) as client:
            listing = ok(await client.call_tool("incident_list", {"workspaces": "all", "limit": 5}))
            assert "subscription Northwind Security" in listing["errors"]
            assert "could not be listed" in listing["errors"]["subscription Northwind Security"]
            logs = ok(await client.call_tool("logs_query", {"query": "print x = 1"}))
            assert logs["workspaces"]["failed"] >= 1 and "subscription Northwind Security" in logs["errors"]
            dcrs = ok(await client.call_tool("dcr_status", {"workspaces": "all"}))
            assert "subscription Northwind Security" in dcrs["errors"] and dcrs["summary"]["failed"] >= 1
            named = await refused(client, "workspace_get", {"workspace": "law-northwind"})
            assert "unknown workspace 'law-northwind'" in named and "Northwind Security" in named
            emulator.remove_fault(fault["id"])  # the tenant recovers: a later call finds it again (after a backoff)
            for _ in range(100):  # bounded: the backoff is at most a few seconds after a few failed scans
                again = ok(await client.call_tool("incident_list", {"workspaces": "all", "limit": 5}))
                if "errors" not in again:
                    break
                await asyncio.sleep(0.2)
            assert "errors" not in again
            assert ok(await client.call_tool("workspace_get", {"workspace": "law-northwind"}))["name"] == "law-northwind"
    finally:
        emulator.clear_faults()


async def test_a_workspace_whose_sentinel_state_could_not_be_read_stays_in_all(make_server, emulator,
                                                                                sentinelkit_env, tmp_path) -> None:
    """Found by benchmarks/faults.py's 429 storm: a throttled onboarding check made discovery say "not Sentinel",
    and "all" left the workspace out with no error."""
    server = make_server(config=config(sentinelkit_env, tmp_path, "[retry]\nmax_retries = 0\n"))
    emulator.add_fault(match={"tenant": "tailspin", "path": "law-tailspin/providers/Microsoft.SecurityInsights/"
                                                            "onboardingStates$"}, status=429, retry_after=1)
    try:
        async with Client(server) as client:
            listing = ok(await client.call_tool("incident_list", {"workspaces": "all", "limit": 500,
                                                                  "fields": ["workspace"]}))
            assert "law-tailspin" in {row["workspace"] for row in listing["incidents"]}
            assert listing["workspaces"] == 5 and "errors" not in listing
            listed = ok(await client.call_tool("workspace_list", {}))
            assert {w["name"]: w["sentinel"] for w in listed["workspaces"]}["law-tailspin"] is None
            emulator.clear_faults()  # the state is read again soon (not after the cache's lifetime)
            for _ in range(100):
                listed = ok(await client.call_tool("workspace_list", {}))
                if {w["name"]: w["sentinel"] for w in listed["workspaces"]}["law-tailspin"] is True:
                    break
                await asyncio.sleep(0.2)
            assert {w["name"]: w["sentinel"] for w in listed["workspaces"]}["law-tailspin"] is True
    finally:
        emulator.clear_faults()


# 2. an applied write whose answer was lost is reported as applied ----------------------------------
async def test_a_write_whose_answer_was_lost_is_reported_as_applied(make_server, emulator, sentinelkit_env,
                                                                     restore) -> None:
    async with Client(make_server()) as client:
        row = ok(await client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", "status": "New",
                                                          "limit": 1}))["incidents"][0]
        target = "Medium" if row["severity"] == "Low" else "Low"
        emulator.add_fault(match={"method": "PUT", "path": r"/incidents/[^/]+$", "tenant": "fabrikam"},
                           drop_response=True, count=1)
        done = ok(await client.call_tool("incident_update", {"workspace": "law-fabrikam-prod",
                                                             "incident_id": str(row["number"]), "severity": target}))
    assert done["changed"] is True and done["changes"]["severity"]["after"] == target
    entry = [e for e in audit(sentinelkit_env) if e["tool"] == "incident_update"][-1]
    assert entry["outcome"] == "applied", entry
    incident = sdk(emulator, "fabrikam").incidents.get("rg-sentinel", "law-fabrikam-prod", row["id"])
    assert incident.severity == target


async def test_a_write_whose_every_answer_is_lost_is_read_back_not_reported_failed(make_server, emulator,
                                                                                     sentinelkit_env, restore) -> None:
    """Each attempt of the comment's PUT takes effect and loses its answer (the retries meet a 412 they
    cannot read either): the tool reads the comment back and says it was added, once."""
    async with Client(make_server()) as client:
        row = ok(await client.call_tool("incident_list", {"workspace": "law-fabrikam-prod", "limit": 1}))["incidents"][0]
        emulator.add_fault(match={"method": "PUT", "path": r"/incidents/[^/]+/comments/[^/]+$", "tenant": "fabrikam"},
                           drop_response=True)
        try:
            done = ok(await client.call_tool("incident_comment_add", {
                "workspace": "law-fabrikam-prod", "incident_id": str(row["number"]), "message": "every answer lost"}))
        finally:
            emulator.clear_faults()
    assert done["added"] is True
    entry = [e for e in audit(sentinelkit_env) if e["tool"] == "incident_comment_add"][-1]
    assert entry["outcome"] == "applied" and "answer was lost" in entry["detail"], entry
    comments = sdk(emulator, "fabrikam").incident_comments.list("rg-sentinel", "law-fabrikam-prod", row["id"])
    assert [c.message for c in comments].count("every answer lost") == 1


async def test_a_delete_whose_every_answer_is_lost_is_read_back(make_server, emulator, sentinelkit_env,
                                                                restore) -> None:
    """The watchlist is gone though no DELETE answered (the retries meet a 404 they cannot read either):
    the tool says deleted, the audit says applied, Microsoft's SDK finds no watchlist."""
    async with Client(make_server()) as client:
        emulator.add_fault(match={"method": "DELETE", "path": r"/watchlists/VIPUsers$"}, drop_response=True)
        try:
            done = ok(await client.call_tool("watchlist_delete", {"workspace": "law-tailspin", "alias": "VIPUsers",
                                                                  "confirm": True}))
        finally:
            emulator.clear_faults()
    assert done["deleted"] == "VIPUsers"
    entry = [e for e in audit(sentinelkit_env) if e["tool"] == "watchlist_delete"][-1]
    assert entry["outcome"] == "applied" and "answer was lost" in entry["detail"], entry
    listed = sdk(emulator, "tailspin").watchlists.list("rg-sentinel-weu", "law-tailspin")
    assert "VIPUsers" not in {w.watchlist_alias for w in listed}


# 3.-5. ARM ids checked: type, traversal, tenant --------------------------------------------------
async def test_arm_ids_are_parsed_typed_and_kept_in_their_workspaces_scope(make_server, emulator) -> None:
    async with Client(make_server()) as client:
        endpoint = ok(await client.call_tool("dce_get", {"workspace": "law-northwind", "endpoint": "dce-northwind"}))
        wrong_type = await refused(client, "dcr_delete", {"workspace": "law-northwind",
                                                                 "rule": endpoint["id"], "confirm": True})
        assert "dataCollectionEndpoints id, not a Microsoft.Insights/dataCollectionRules" in wrong_type
        assert ok(await client.call_tool("dce_get", {"workspace": "law-northwind", "endpoint": "dce-northwind"}))

        fab = ok(await client.call_tool("workspace_get", {"workspace": "law-fabrikam-prod"}))
        nw = ok(await client.call_tool("workspace_get", {"workspace": "law-northwind"}))
        traversal = (f"/subscriptions/{fab['subscription_id']}/resourceGroups/rg/providers/Microsoft.Compute/"
                     f"virtualMachines/x/../../../../subscriptions/{nw['subscription_id']}/resourceGroups/rg-security/"
                     "providers/Microsoft.Compute/virtualMachines/nw-dc-01")
        walked = await refused(client, "dcr_association_create", {
            "workspace": "law-fabrikam-prod", "rule": "dcr-fabrikam-windows-unused", "resource": traversal})
        assert "'..'" in walked

        rule = ok(await client.call_tool("dcr_get", {"workspace": "law-northwind",
                                                     "rule": "dcr-northwind-linux-syslog"}))
        crossing = await refused(client, "dcr_delete", {"workspace": "law-fabrikam-prod", "rule": rule["id"],
                                                               "confirm": True})
        assert "tenant northwind" in crossing and "law-fabrikam-prod" in crossing and "nothing was done" in crossing
        assert ok(await client.call_tool("dcr_get", {"workspace": "law-northwind",
                                                     "rule": "dcr-northwind-linux-syslog"}))


# 6. token requests bounded by the configured timeout --------------------------------------------
async def test_a_hanging_token_endpoint_is_bounded_by_the_configured_timeout(make_server, emulator, sentinelkit_env,
                                                                             tmp_path) -> None:
    server = make_server(config=config(sentinelkit_env, tmp_path, "[retry]\ntimeout = 2\nmax_retries = 0\n"))
    emulator.add_fault(match={"tenant": "woodgrove", "service": "identity"}, hang_seconds=120)
    try:
        async with Client(server) as client:
            listed = ok(await asyncio.wait_for(client.call_tool("workspace_list", {"refresh": True}), 60))
    finally:
        emulator.clear_faults()
    assert "law-northwind" in {w["name"] for w in listed["workspaces"]}
    assert "did not answer within 2 s" in listed["errors"]["credential woodgrove"]


# 7. the same workspace named many times -----------------------------------------------------------
async def test_duplicate_workspaces_are_read_once_and_long_lists_are_refused(make_server, emulator) -> None:
    async with Client(make_server()) as client:
        await client.call_tool("workspace_list", {})  # discovery first: only the listing is counted
        emulator.reset_traffic()
        listing = ok(await client.call_tool("incident_list", {"workspaces": ["law-northwind"] * 1000, "limit": 1}))
        assert listing["workspaces"] == 1 and "errors" not in listing
        assert emulator.traffic()["requests"].get("arm:northwind", 0) == 1  # one list of its incidents
        too_many = await refused(client, "incident_list", {"workspaces": [f"w{i}" for i in range(1001)]})
        assert "at most 1000" in too_many and "KeyError" not in too_many


# 8. only a JSON true confirms --------------------------------------------------------------------
@pytest.mark.parametrize("value", ["yes", "1", 1, "on", "t", "true"])
async def test_confirm_must_be_a_json_boolean(make_server, emulator, sentinelkit_env, value) -> None:
    async with Client(make_server()) as client:
        row = ok(await client.call_tool("incident_list", {"workspace": "law-tailspin", "status": "New",
                                                          "limit": 1}))["incidents"][0]
        text = await refused(client, "incident_close", {
            "workspace": "law-tailspin", "incident_id": str(row["number"]), "classification": "BenignPositive",
            "confirm": value})
        assert "argument 'confirm' must be true or false (a JSON boolean)" in text and "pydantic" not in text
        after = ok(await client.call_tool("incident_get", {"workspace": "law-tailspin",
                                                           "incident_id": str(row["number"])}))
    assert after["incident"]["status"] == "New"
    entry = audit(sentinelkit_env)[-1]
    assert entry["tool"] == "incident_close" and entry["outcome"] == "refused"


@pytest.mark.parametrize("content", [{"confirm": "yes"}, {"confirm": 1}, {"confirm": "true"}, {}, None])
def test_only_an_explicit_true_accept_is_a_confirmation(content: Any) -> None:
    """Clients validate elicitation answers against the schema sentinelkit sends, so a real client cannot
    send these; the server does not rely on it."""
    from sentinelkit.safety import accepted

    assert accepted({"action": "accept", "content": content}) is False
    assert accepted({"action": "accept", "content": {"confirm": True}}) is True
    assert accepted({"action": "decline", "content": {"confirm": True}}) is False


async def test_a_user_who_answers_no_leaves_the_incident_open(make_server, emulator) -> None:
    async def reply(message: str, response_type: Any, params: Any, context: Any) -> Any:
        return ElicitResult(action="accept", content={"confirm": False})

    async with Client(make_server(), elicitation_handler=reply) as client:
        row = ok(await client.call_tool("incident_list", {"workspace": "law-tailspin", "status": "New",
                                                          "limit": 1}))["incidents"][0]
        result = ok(await client.call_tool("incident_close", {
            "workspace": "law-tailspin", "incident_id": str(row["number"]), "classification": "BenignPositive",
            "confirm": True}))
        assert result.get("cancelled") is True
        after = ok(await client.call_tool("incident_get", {"workspace": "law-tailspin",
                                                           "incident_id": str(row["number"])}))
    assert after["incident"]["status"] == "New"


# 9. a broken certificate fails its tenant only -------------------------------------------------------
async def test_a_broken_certificate_fails_its_tenant_only_and_says_so(make_server, sentinelkit_env, tmp_path) -> None:
    text = Path(sentinelkit_env["SENTINELKIT_CONFIG"]).read_text()
    start = text.index("[tenants.woodgrove]")
    end = text.find("\n[", start + 1)
    block = text[start:end if end != -1 else len(text)]
    missing = tmp_path / "no-such-cert.pem"
    broken = text.replace(block, "[tenants.woodgrove]\n" + "\n".join(
        line for line in block.splitlines()[1:] if line.startswith("tenant_id")) + '\ncredential = "certificate"\n'
        f'client_id = "00000000-0000-0000-0000-000000000000"\ncertificate_path = "{missing.as_posix()}"\n')
    path = tmp_path / "broken-cert.toml"
    path.write_text(broken)
    async with Client(make_server(config=path)) as client:
        listed = ok(await client.call_tool("workspace_list", {"refresh": True}))
        assert "law-northwind" in {w["name"] for w in listed["workspaces"]}
        why = listed["errors"]["credential woodgrove"]
        assert str(missing) in why and "does not exist" in why and "bug" not in why
        incidents = ok(await client.call_tool("incident_list", {"workspaces": "all", "limit": 1}))
        assert "credential woodgrove" in incidents["errors"]
    checked = run_cli("config", "check", env={"SENTINELKIT_CONFIG": str(path)}, timeout=120)
    assert checked.returncode == 1 and str(missing) in checked.stdout and "could not reach" not in checked.stdout


# 10. the audit says what happened ----------------------------------------------------------------
async def test_the_audit_tells_no_change_refusals_and_concurrent_duplicates_apart(make_server, emulator,
                                                                                  sentinelkit_env, restore) -> None:
    async with Client(make_server()) as client:
        row = ok(await client.call_tool("incident_list", {"workspace": "law-woodgrove", "limit": 1}))["incidents"][0]
        same = ok(await client.call_tool("incident_update", {"workspace": "law-woodgrove",
                                                             "incident_id": str(row["number"]),
                                                             "severity": row["severity"]}))
        assert "nothing" in json.dumps(same).lower()
        assert audit(sentinelkit_env)[-1]["outcome"] == "no_change"

        await client.call_tool("incident_close", {"workspace": "law-woodgrove", "incident_id": str(row["number"]),
                                                  "classification": "Nonsense"}, raise_on_error=False)
        await client.call_tool("incident_update", {"workspace": "law-woodgrove"}, raise_on_error=False)  # missing id
        last = audit(sentinelkit_env)[-1]
        assert last["tool"] == "incident_update" and last["outcome"] == "refused"
        assert "argument 'incident_id' is required" in last["error"]

        args = {"workspace": "law-woodgrove", "incident_id": str(row["number"]), "message": "same note, twice at once"}
        first, second = await asyncio.gather(client.call_tool("incident_comment_add", args),
                                             client.call_tool("incident_comment_add", args))
        added = sorted([ok(first)["added"], ok(second)["added"]])
        assert added == [False, True]
        outcomes = sorted(e["outcome"] for e in audit(sentinelkit_env)[-2:])
        assert outcomes == ["applied", "no_change"]


# 11. smaller ones ----------------------------------------------------------------------------------
async def test_smaller_defects_get_clear_answers(make_server, sentinelkit_env, tmp_path) -> None:
    async with Client(make_server()) as client:
        bogus = await refused(client, "incident_list", {"workspaces": ["/subscriptions/x/workspaces/y"]})
        assert "is not a Log Analytics workspace ARM id" in bogus or "not an ARM id" in bogus or "not a valid" in bogus
        assert "IndexError" not in bogus and "bug" not in bogus
        import base64
        page = ok(await client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 1}))
        place = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=" * (-len(page["next_cursor"]) % 4)))
        place["n"] = -5
        negative = base64.urlsafe_b64encode(json.dumps(place).encode()).decode().rstrip("=")
        assert "points before the first item" in await refused(client,
            "incident_list", {"workspace": "law-northwind", "cursor": negative})
        for hidden in ("\ufeff.drop table SigninLogs", "\u200b.show tables"):
            assert "management commands" in await refused(client, "logs_query", {"query": hidden})
        row = ok(await client.call_tool("incident_list", {"workspace": "law-northwind", "limit": 1}))["incidents"][0]
        long = await refused(client, "incident_comment_add", {
            "workspace": "law-northwind", "incident_id": str(row["number"]), "message": "x" * 1_000_000})
        assert "at most 30,000" in long
        typed = await refused(client, "incident_list", {"workspace": "law-northwind", "limit": "many"})
        assert "argument 'limit' must be a whole number" in typed and "pydantic" not in typed
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")  # a file where the audit log's folder should be: unwritable even for root
    checked = run_cli("config", "check", env={"SENTINELKIT_AUDIT_LOG": str(not_a_folder / "audit.jsonl")},
                      timeout=120)
    assert checked.returncode == 1 and "FAIL audit log" in checked.stdout
