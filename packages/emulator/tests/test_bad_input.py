"""Bad input across the ARM surface: each is answered as ARM would, and the emulator keeps serving."""

from __future__ import annotations

import httpx
import pytest

from sentinelkit_emulator import Emulator

SENTINEL = {"api-version": "2025-09-01"}


def _targets(emulator: Emulator) -> dict[str, tuple[str, dict[str, str]]]:
    ws = emulator.workspace('law-fabrikam-prod')['id']
    rg = ws.split("/providers/")[0]
    return {
        "incident": (f"{ws}/providers/Microsoft.SecurityInsights/incidents/00000000-0000-0000-0000-00000000dead",
                     SENTINEL),
        "alert rule": (f"{ws}/providers/Microsoft.SecurityInsights/alertRules/no-such-rule", SENTINEL),
        "watchlist": (f"{ws}/providers/Microsoft.SecurityInsights/watchlists/NoSuchList", SENTINEL),
        "table": (f"{ws}/tables/NoSuch_CL", {"api-version": "2025-07-01"}),
        "dcr": (f"{rg}/providers/Microsoft.Insights/dataCollectionRules/no-such-dcr", {"api-version": "2023-03-11"}),
        "workbook": (f"{rg}/providers/Microsoft.Insights/workbooks/00000000-0000-0000-0000-000000000000",
                     {"api-version": "2023-06-01"}),
    }


@pytest.mark.parametrize("target", ["incident", "alert rule", "watchlist", "table", "dcr", "workbook"])
def test_unknown_resources_are_404_in_arm_form(emulator: Emulator, arm: httpx.Client, target: str) -> None:
    path, params = _targets(emulator)[target]
    r = arm.get(path, params=params)
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] in ("ResourceNotFound", "NotFound") and error["message"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"{", "could not be deserialized"), (b"[1, 2]", "JSON object"), (b"", "body is empty"),
     (b"\xff\xfe", "could not be deserialized")],
    ids=["truncated", "array", "empty", "not-utf8"],
)
@pytest.mark.parametrize("target", ["incident", "table", "dcr"])
def test_malformed_bodies_are_400_invalid_request_content(
    emulator: Emulator, arm: httpx.Client, target: str, content: bytes, fragment: str
) -> None:
    path, params = _targets(emulator)[target]
    r = arm.put(path, params=params, content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "InvalidRequestContent"
    assert fragment in r.json()["error"]["message"]
    assert arm.get(path, params=params).status_code == 404  # nothing was half-written


def test_wrong_types_are_rejected_naming_the_field(emulator: Emulator, arm: httpx.Client) -> None:
    path, params = _targets(emulator)["incident"]
    r = arm.put(path, params=params, json={"properties": {"title": "x", "severity": 5, "status": "New"}})
    assert r.status_code == 400
    assert "severity" in r.json()["error"]["message"].lower()
    table = f"{emulator.workspace('law-fabrikam-prod')['id']}/tables/SigninLogs"
    r = arm.put(table, params={"api-version": "2025-07-01"}, json={"properties": {"retentionInDays": "ninety"}})
    assert r.status_code == 400
    assert "retention" in r.json()["error"]["message"].lower()


def test_oversized_pages_and_bodies(emulator: Emulator, arm: httpx.Client) -> None:
    incidents = f"{emulator.workspace('law-fabrikam-prod')['id']}/providers/Microsoft.SecurityInsights/incidents"
    r = arm.get(incidents, params={**SENTINEL, "$top": "100000"})
    assert r.status_code == 400 and "$top" in r.json()["error"]["message"]
    path, params = _targets(emulator)["incident"]
    huge = {"properties": {"title": "x", "severity": "Low", "status": "New", "description": "a" * (5 * 1024 * 1024)}}
    r = arm.put(path, params=params, json=huge)
    assert r.status_code == 413 and r.json()["error"]["code"] == "RequestEntityTooLarge"


def test_bad_skip_token_is_400(emulator: Emulator, arm: httpx.Client) -> None:
    incidents = f"{emulator.workspace('law-fabrikam-prod')['id']}/providers/Microsoft.SecurityInsights/incidents"
    r = arm.get(incidents, params={**SENTINEL, "$skipToken": "garbage!"})
    assert r.status_code == 400


def test_method_not_allowed(emulator: Emulator, arm: httpx.Client) -> None:
    sub = emulator.tenant("fabrikam")["subscriptions"][0]["id"]
    path = f"/subscriptions/{sub}/providers/Microsoft.ManagedServices/registrationDefinitions/x"
    r = arm.delete(path, params={"api-version": "2022-10-01"})
    assert r.status_code == 405 and r.json()["error"]["code"] == "MethodNotAllowed"


def test_server_keeps_serving_after_a_barrage_of_bad_requests(emulator: Emulator, arm: httpx.Client) -> None:
    for path, params in _targets(emulator).values():
        arm.put(path, params=params, content=b"{{{{")
        arm.patch(path, params=params, content=b"null")
        arm.post(path + "/nonsense", params=params, content=b"[]")
    incidents = f"{emulator.workspace('law-fabrikam-prod')['id']}/providers/Microsoft.SecurityInsights/incidents"
    r = arm.get(incidents, params={**SENTINEL, "$top": "5"})
    assert r.status_code == 200 and len(r.json()["value"]) == 5
