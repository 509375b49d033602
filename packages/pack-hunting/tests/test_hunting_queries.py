"""Hunting queries through a real MCP client, cross-checked with azure-mgmt-loganalytics: what Sentinel
stores (category, tags), retries that write nothing twice, etags, and KQL that is refused or noted."""

from __future__ import annotations

from typing import Any

import pytest
from hunting_testkit import data, error

pytestmark = pytest.mark.usefixtures("restore")
WS = "law-tailspin"
YAML = """id: 2a1b5c3d-0000-4e5f-8a9b-112233445566
name: Failed sign-ins of one user
description: |
  'Users with many failed sign-ins.'
tactics:
  - CredentialAccess
  - InitialAccess
relevantTechniques:
  - T1110
  - T1078.004
query: |
  SigninLogs
  | where ResultType != "0"
  | summarize Failures = count() by UserPrincipalName
"""


def _tags(search: Any) -> dict[str, str]:
    return {t.name: t.value for t in search.tags or []}


async def test_create_from_yaml_stores_what_sentinel_reads_and_a_retry_writes_nothing(call, la) -> None:
    created = data(await call("hunting_query_create", workspace=WS, yaml_text=YAML))
    assert created["created"] is True and created["name"] == "2a1b5c3d-0000-4e5f-8a9b-112233445566"
    client, rg, ws = la(WS)
    stored = client.saved_searches.get(rg, ws, created["name"])
    assert stored.category == "Hunting Queries" and stored.display_name == "Failed sign-ins of one user"
    assert _tags(stored) == {"description": "Users with many failed sign-ins.", "tactics": "CredentialAccess,InitialAccess",
                             "techniques": "T1110,T1078.004"}
    again = data(await call("hunting_query_create", workspace=WS, yaml_text=YAML))
    assert again["created"] is False and "nothing was written" in again["message"]
    assert client.saved_searches.get(rg, ws, created["name"]).etag == stored.etag
    listed = data(await call("hunting_query_list", workspace=WS, technique="T1078"))
    assert [q["display_name"] for q in listed["hunting_queries"]] == ["Failed sign-ins of one user"]


async def test_create_from_parameters_then_update_with_etag_and_delete(call, la) -> None:
    made = data(await call("hunting_query_create", workspace=WS, display_name="Rare admin ops",
                           query="AzureActivity | where CategoryValue == 'Administrative' | take 5",
                           description="Admin operations", tactics=["Impact"], techniques=["T1496"]))
    got = data(await call("hunting_query_get", workspace=WS, query="rare admin ops"))
    assert got["query"].startswith("AzureActivity") and got["tactics"] == ["Impact"]
    client, rg, ws = la(WS)
    # someone else changes it after our read: the update with the old etag writes nothing
    current = client.saved_searches.get(rg, ws, made["name"])
    current.display_name = "Rare admin ops (edited)"
    client.saved_searches.create_or_update(rg, ws, made["name"], current)
    refused = error(await call("hunting_query_update", workspace=WS, query_name=made["name"], etag=got["etag"],
                               techniques=["T1496", "T1098"]))
    assert "changed since you read it" in refused and "Nothing was written" in refused
    assert _tags(client.saved_searches.get(rg, ws, made["name"]))["techniques"] == "T1496"
    updated = data(await call("hunting_query_update", workspace=WS, query_name=made["name"], techniques=["T1098"],
                              description="Admin operations, rare"))
    assert updated["changed"] and sorted(updated["changes"]) == ["tags"]
    tags = _tags(client.saved_searches.get(rg, ws, made["name"]))
    assert tags == {"description": "Admin operations, rare", "tactics": "Impact", "techniques": "T1098"}
    preview = data(await call("hunting_query_delete", workspace=WS, query=made["name"]))
    assert preview["confirmation_required"] is True
    assert client.saved_searches.get(rg, ws, made["name"]) is not None
    deleted = data(await call("hunting_query_delete", workspace=WS, query=made["name"], confirm=True))
    assert deleted["deleted"] == "Rare admin ops (edited)"
    assert made["name"] not in {s.name for s in client.saved_searches.list_by_workspace(rg, ws).value}


async def test_a_syntax_error_is_refused_and_a_missing_table_is_saved_with_a_note(call, la) -> None:
    client, rg, ws = la(WS)
    before = {s.name for s in client.saved_searches.list_by_workspace(rg, ws).value}
    text = error(await call("hunting_query_create", workspace=WS, display_name="Broken",
                            query="SigninLogs | where | take 5"))
    assert "syntax error" in text and ("SYN0002" in text or "KS006" in text) and "Nothing was written" in text
    assert {s.name for s in client.saved_searches.list_by_workspace(rg, ws).value} == before
    noted = data(await call("hunting_query_create", workspace=WS, display_name="Okta failures",
                            query="Okta_CL | where outcome_result_s == 'FAILURE'"))
    assert noted["created"] and "does not run in law-tailspin yet" in noted["note"] and "Okta_CL" in noted["note"]


async def test_yaml_without_a_query_and_a_name_taken_by_another_query_are_refused(call) -> None:
    moved = ("id: a27a8907-bc7a-4a3c-aa6d-d5d19b54832b\nname: Certutil (LOLBins and LOLScripts)\ndescription: |\n"
             "   'As part of content migration, this file is moved to a new location.'\n")
    text = error(await call("hunting_query_create", workspace=WS, yaml_text=moved))
    assert "has no query" in text and "moved" in text
    taken = error(await call("hunting_query_create", workspace=WS, display_name="Sign-ins from a new country",
                             query="SigninLogs | take 1"))
    assert "already has a hunting query" in taken and "hunting_query_update" in taken
    bad_yaml = error(await call("hunting_query_create", workspace=WS, yaml_text="name: x\nquery: [unclosed"))
    assert "not valid YAML" in bad_yaml


async def test_yaml_file_from_the_export_directory(call, export_dir) -> None:
    (export_dir / "hunts").mkdir()
    (export_dir / "hunts" / "failed.yaml").write_text(YAML)
    made = data(await call("hunting_query_create", workspace="law-northwind", yaml_file="hunts/failed.yaml"))
    assert made["created"] and made["workspace"] == "law-northwind"
    outside = error(await call("hunting_query_create", workspace="law-northwind", yaml_file="../secrets.yaml"))
    assert "export" in outside.lower()


async def test_list_across_workspaces_by_tactic_and_saved_queries_by_category(call) -> None:
    listed = data(await call("hunting_query_list", workspaces="all", tactic="InitialAccess", limit=50))
    assert {q["workspace"] for q in listed["hunting_queries"]} >= {"law-tailspin", "law-northwind",
                                                                   "law-fabrikam-prod", "law-contoso-soc"}
    assert {q["display_name"] for q in listed["hunting_queries"]} == {"Sign-ins from a new country"}
    saved = data(await call("hunting_query_list", workspace=WS, category="Log Management"))
    assert [q["display_name"] for q in saved["hunting_queries"]] == ["Ingestion by table (last 24 hours)"]
