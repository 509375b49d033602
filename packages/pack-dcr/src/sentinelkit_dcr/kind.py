"""The ``data_collection_rule`` content kind: backup, restore, diff and drift of the rules that deliver to a
workspace (``locate.belongs_to``).

Identity is the rule's name: what Azure Monitor, the portal and ARM templates call a rule, unique in a
resource group. A rule restored into another workspace goes to that workspace's resource group and region,
delivers to it instead of the source (``rewrite``: destination id, the destination's portal-style name, the
endpoint beside the workspace), and never takes over a rule of the same name that delivers elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentinelkit import ContentKind, Kit, KitError, NotFoundError, Workspace, stable

from . import api, locate, validate
from .build import clean, destination_name, removals
from .errors import explained


def _destinations(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ((obj.get("properties") or {}).get("destinations") or {}).get("logAnalytics") or []
    return found


async def _refuse_takeover(kit: Kit, ws: Workspace, rule_id: str, name: str) -> None:
    """A rule of that name in the workspace's resource group that does not deliver to the workspace (else
    ``list`` would have found it) belongs to another workspace: a create must not overwrite it."""
    try:
        other = await locate.read(kit, ws, rule_id, "data collection rule")
    except NotFoundError:
        return
    sends_to = ", ".join(str(api.short(d.get("workspaceResourceId"))) for d in _destinations(other)) or "no workspace"
    raise KitError(f"a data collection rule named {name!r} already exists in resource group {ws.resource_group} and "
                   f"delivers to {sends_to}, not {ws.label}; nothing was changed. Writing it here would take that rule "
                   "over: rename or delete it first (dcr_delete), or restore into a workspace of another resource group.")


class DataCollectionRuleKind(ContentKind):
    name = "data_collection_rule"
    title = "data collection rules"
    restore_order = 20  # after the tables they fill, before the rules that query them

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        rules = await locate.list_in_subscription(kit, ws, api.RULES, cache=False)
        return [r for r in rules if locate.belongs_to(r, ws)]

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        named = [r for r in await self.list(kit, ws) if str(r.get("name", "")).lower() == identity.lower()]
        if len(named) > 1:
            raise KitError(f"{len(named)} data collection rules named {identity!r} deliver to {ws.label}: "
                           + ", ".join(str(r["id"]) for r in named) + "; rename one so that each has its own name")
        return await locate.read(kit, ws, str(named[0]["id"]), "data collection rule") if named else None

    def identity(self, obj: dict[str, Any]) -> str:
        return str(obj["name"])

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        normalized: dict[str, Any] = stable({"name": obj["name"], **clean(obj)})
        return normalized

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        props = obj.get("properties") or {}
        return {"name": self.identity(obj), "kind": obj.get("kind"), "data_flows": len(props.get("dataFlows") or []),
                "destinations": [api.short(d.get("workspaceResourceId")) for d in _destinations(obj)]}

    def rewrite(self, obj: dict[str, Any], source: Workspace | None, target: Workspace) -> dict[str, Any]:
        """The default (workspace id, endpoint beside the workspace, tenant), the destination named after the
        source workspace renamed after the target, and the target's region when the rule was in the source's."""
        out = super().rewrite(obj, source, target)
        if source is None:
            return out
        old, new = destination_name(source), destination_name(target)
        names = {str(d.get("name")) for d in _destinations(out)}
        if old != new and old in names and new not in names:
            for d in _destinations(out):
                if d.get("name") == old and str(d.get("workspaceResourceId", "")).lower() == target.id.lower():
                    d["name"] = new
            for f in (out.get("properties") or {}).get("dataFlows") or []:
                f["destinations"] = [new if d == old else d for d in f.get("destinations") or []]
        region = str(out.get("location") or "").replace(" ", "").lower()
        if source.location and target.location and region == source.location.replace(" ", "").lower():
            out["location"] = target.location
        return out

    def removals(self, current: dict[str, Any], desired: dict[str, Any]) -> Sequence[str]:
        return removals(clean(current), desired)

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        name = self.identity(obj)
        body = {k: v for k, v in obj.items() if k != "name"}
        body["location"] = body.get("location") or ws.location or (await kit.workspace_details(ws)).location
        if existing is not None:
            rule_id, etag = str(existing["id"]), existing.get("etag")
        else:
            rule_id, etag = api.item_id(ws.subscription_id, ws.resource_group, api.RULES, name), None
            await _refuse_takeover(kit, ws, rule_id, name)
        props = body.get("properties") or {}
        validate.check(body.get("kind"), props, name)
        await validate.check_targets(kit, ws, props, str(body["location"]), name)
        with explained():
            saved: dict[str, Any] = await kit.arm(ws).put(
                rule_id, api.VERSION, body, etag=etag, where=ws.where(resource=f"data collection rule {name}",
                                                                      operation="restore"))
        return saved

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        with explained():
            await kit.arm(ws).delete(str(existing["id"]), api.VERSION, etag=existing.get("etag"),
                                     where=ws.where(resource=f"data collection rule {existing['name']}",
                                                    operation="delete"))
