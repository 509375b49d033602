"""Watchlists and watchlist items through the SDK (including the long-running create/delete)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.securityinsight import SecurityInsightsMgmtClient
from azure.mgmt.securityinsight import models as m
from spec_conformance import requires_specs, validate_response
from test_sentinel_support import API, SPEC, WORKSPACES, error_of, raw, sentinel_emulator, sentinel_path, si

from sentinelkit_emulator import Emulator

__all__ = ["raw", "sentinel_emulator", "si"]  # fixtures used by this module
RG, WS = WORKSPACES["tailspin"]
Client = Callable[..., SecurityInsightsMgmtClient]
CSV = "Skipped first line\nHostname,Owner,Tier\n" + "\n".join(f"HOST-{i:03d},team{i % 4},{i % 3}" for i in range(150))


def test_planted_watchlist_near_expiry(si: Client) -> None:
    vip = si("tailspin").watchlists.get(RG, WS, "VIPUsers")
    assert vip.properties.default_duration == timedelta(days=30)
    expires = vip.properties.created + vip.properties.default_duration
    assert timedelta(days=2) < expires - datetime.now(UTC) < timedelta(days=4)
    items = list(si("tailspin").watchlist_items.list(RG, WS, "VIPUsers"))
    assert items and all(i.properties.items_key_value["UserPrincipalName"].endswith("@tailspintoys.com") for i in items)
    for tenant in ("contoso-mssp", "fabrikam", "northwind", "woodgrove"):  # healthy: nothing about to expire
        rg, ws = WORKSPACES[tenant]
        client = si(tenant, home="woodgrove" if tenant == "woodgrove" else None)  # not delegated: own-tenant token
        watchlists = list(client.watchlists.list(rg, ws))
        assert 1 <= len(watchlists) <= 3 and all(w.properties.default_duration is None for w in watchlists)


def test_watchlist_from_csv_with_paged_items_and_lro_delete(si: Client) -> None:
    client = si("tailspin")
    alias = f"assets{uuid.uuid4().hex[:6]}"
    poller = client.watchlists.begin_create_or_update(RG, WS, alias, m.Watchlist(properties=m.WatchlistProperties(
        display_name="Assets from CSV", provider="Microsoft", source="assets.csv", items_search_key="Hostname",
        raw_content=CSV, content_type="text/csv", number_of_lines_to_skip=1, default_duration=timedelta(days=90))))
    watchlist = poller.result()
    assert watchlist.properties.watchlist_alias == alias and watchlist.properties.provisioning_state == "Succeeded"
    assert watchlist.properties.raw_content is None  # the service does not echo the upload
    items = list(client.watchlist_items.list(RG, WS, alias))  # 150 items cross a nextLink
    assert len(items) == 150 and {i.properties.items_key_value["Owner"] for i in items} == {"team0", "team1", "team2",
                                                                                           "team3"}
    assert alias in {w.name for w in client.watchlists.list(RG, WS)}
    client.watchlists.begin_delete(RG, WS, alias).result()
    with pytest.raises(ResourceNotFoundError):
        client.watchlists.get(RG, WS, alias)
    with pytest.raises(ResourceNotFoundError):
        list(client.watchlist_items.list(RG, WS, alias))


def test_watchlist_item_crud(si: Client) -> None:
    client = si("tailspin")
    alias = f"ips{uuid.uuid4().hex[:6]}"
    client.watchlists.begin_create_or_update(RG, WS, alias, m.Watchlist(properties=m.WatchlistProperties(
        display_name="IPs", provider="Microsoft", source="manual", items_search_key="IP"))).result()
    item_id = str(uuid.uuid4())
    item = client.watchlist_items.create_or_update(RG, WS, alias, item_id, m.WatchlistItem(
        properties=m.WatchlistItemProperties(items_key_value={"IP": "203.0.113.9", "Note": "scanner"})))
    assert item.properties.watchlist_item_id == item_id and item.properties.created_by.name == "sentinelkit-mssp"
    item.properties.items_key_value = {"IP": "203.0.113.9", "Note": "approved scanner"}
    updated = client.watchlist_items.create_or_update(RG, WS, alias, item_id, item)
    assert updated.properties.items_key_value["Note"] == "approved scanner"
    assert updated.properties.created == item.properties.created
    with pytest.raises(HttpResponseError) as info:
        client.watchlist_items.create_or_update(RG, WS, alias, str(uuid.uuid4()), m.WatchlistItem(
            properties=m.WatchlistItemProperties(items_key_value={"Note": "no key"})))
    assert info.value.status_code == 400 and "search key column 'IP'" in info.value.message
    client.watchlist_items.delete(RG, WS, alias, item_id)
    with pytest.raises(ResourceNotFoundError):
        client.watchlist_items.get(RG, WS, alias, item_id)
    with pytest.raises(ResourceNotFoundError):
        client.watchlist_items.create_or_update(RG, WS, "no-such-watchlist", item_id, item)


def test_watchlist_validation(si: Client, raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    url = f"{sentinel_path(sentinel_emulator, 'tailspin')}/watchlists/bad"
    missing = raw().put(url, params=API, json={"properties": {"displayName": "x", "provider": "Microsoft"}})
    assert missing.status_code == 400 and "itemsSearchKey" in error_of(missing)["message"]
    wrong_key = raw().put(url, params=API, json={"properties": {
        "displayName": "x", "provider": "Microsoft", "itemsSearchKey": "Nope", "rawContent": "A,B\n1,2",
        "contentType": "text/csv"}})
    assert wrong_key.status_code == 400 and "'Nope' is not a column" in error_of(wrong_key)["message"]
    wrong_type = raw().put(url, params=API, json={"properties": {
        "displayName": "x", "provider": "Microsoft", "itemsSearchKey": "A", "rawContent": "{}",
        "contentType": "application/json"}})
    assert wrong_type.status_code == 400 and "contentType" in error_of(wrong_type)["message"]
    vip = si("tailspin").watchlists.get(RG, WS, "VIPUsers")
    vip.properties.items_search_key = "Title"
    with pytest.raises(HttpResponseError) as info:
        si("tailspin").watchlists.begin_create_or_update(RG, WS, "VIPUsers", vip).result()
    assert info.value.status_code == 400 and "cannot change" in info.value.message


def test_delete_status_follows_the_api_version(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    base = f"{sentinel_path(sentinel_emulator, 'tailspin')}/watchlists"
    body = {"properties": {"displayName": "x", "provider": "Microsoft", "itemsSearchKey": "A"}}
    client = raw()
    assert client.put(f"{base}/old", params={"api-version": "2021-10-01"}, json=body).status_code == 201
    assert client.delete(f"{base}/old", params={"api-version": "2021-10-01"}).status_code == 200
    assert client.put(f"{base}/new", params=API, json=body).status_code == 201
    accepted = client.delete(f"{base}/new", params=API)
    assert accepted.status_code == 202
    status = client.get(accepted.headers["Azure-AsyncOperation"])
    assert status.status_code == 200 and status.json()["status"] == "Succeeded"
    assert client.delete(f"{base}/new", params=API).status_code == 204


@requires_specs
def test_watchlist_responses_conform_to_the_spec(raw: Callable[..., httpx.Client], sentinel_emulator: Emulator) -> None:
    client = raw()
    base = f"{sentinel_path(sentinel_emulator, 'tailspin')}/watchlists"
    validate_response(SPEC, "Watchlists_List", 200, client.get(base, params=API).json())
    validate_response(SPEC, "Watchlists_Get", 200, client.get(f"{base}/VIPUsers", params=API).json())
    items = client.get(f"{base}/VIPUsers/watchlistItems", params=API).json()
    validate_response(SPEC, "WatchlistItems_List", 200, items)
    validate_response(SPEC, "WatchlistItems_Get", 200,
                      client.get(f"{base}/VIPUsers/watchlistItems/{items['value'][0]['name']}", params=API).json())
