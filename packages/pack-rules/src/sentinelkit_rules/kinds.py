"""Content kinds of this pack: ``analytics_rule`` and ``automation_rule`` (backup, restore, diff, drift).

Identity is the display name for both. A rule's resource name is a GUID drawn at random by the portal in
each workspace (so the same detection has a different name in every workspace); its template link is
missing on custom rules and shared by every rule made from one template. The display name is what analysts,
the portal and Microsoft's own content use to tell rules apart, and it is what a rule is called across
tenants. Two rules of one workspace with the same display name are reported by ``read`` rather than
guessed between.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sentinelkit import ContentKind, Kit, KitError, Workspace, stable

from . import api, build, convert

#: top-level keys ARM fills in (the resource name is the workspace's own, see the module docstring)
RESOURCE_KEYS = frozenset({"id", "name", "type", "etag", "systemData"})


def _portable(obj: dict[str, Any], server_props: frozenset[str]) -> dict[str, Any]:
    props = {k: v for k, v in (obj.get("properties") or {}).items() if k not in server_props}
    out = {k: v for k, v in obj.items() if k not in RESOURCE_KEYS and k != "properties"}
    out["properties"] = props
    normalized: dict[str, Any] = stable(out)
    return normalized


class _SentinelKind(ContentKind):
    """A Sentinel collection under the workspace whose objects are known by their display name."""

    #: properties the service fills in (audit fields, timestamps), dropped from the portable form
    server_props: ClassVar[frozenset[str]] = frozenset()
    #: what the messages call one object
    noun: ClassVar[str] = ""

    def collection(self, ws: Workspace) -> str:
        raise NotImplementedError

    def body(self, obj: dict[str, Any]) -> dict[str, Any]:
        """What is sent to create or update ``obj``."""
        raise NotImplementedError

    def new_name(self, obj: dict[str, Any]) -> str:
        """The resource name of a new object (stable: see the module docstring)."""
        raise NotImplementedError

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        return await kit.arm(ws).list(self.collection(ws), api.SENTINEL, cache=False,
                                      where=ws.where(operation=f"list {self.title}"))

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        found = [r for r in await self.list(kit, ws) if self.identity(r).lower() == identity.lower()]
        if len(found) > 1:
            raise KitError(f"{len(found)} {self.title} in {ws.label} are called {identity!r}: "
                           + ", ".join(str(f.get("name")) for f in found) + "; rename one so that each has its own name")
        return found[0] if found else None

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        name = str(existing["name"]) if existing else self.new_name(obj)
        saved: dict[str, Any] = await kit.arm(ws).put(
            f"{self.collection(ws)}/{name}", api.SENTINEL, self.body(obj), etag=(existing or {}).get("etag"),
            where=ws.where(resource=f"{self.noun} {self.identity(obj)}", operation="save"))
        return saved

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        await kit.arm(ws).delete(f"{self.collection(ws)}/{existing['name']}", api.SENTINEL, etag=existing.get("etag"),
                                 where=ws.where(resource=f"{self.noun} {self.identity(existing)}", operation="delete"))

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        return _portable(obj, self.server_props)


class AnalyticsRuleKind(_SentinelKind):
    name = "analytics_rule"
    title = "analytics rules"
    noun = "analytics rule"
    server_props = frozenset({"lastModifiedUtc"})

    def collection(self, ws: Workspace) -> str:
        return api.rules(ws)

    def body(self, obj: dict[str, Any]) -> dict[str, Any]:
        return convert.clean(obj)

    def new_name(self, obj: dict[str, Any]) -> str:
        return build.default_id(self.body(obj))

    def identity(self, obj: dict[str, Any]) -> str:
        props = obj.get("properties") or {}
        return str(props.get("displayName") or props.get("alertRuleTemplateName") or obj.get("name") or "")

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        props = obj.get("properties") or {}
        return {"name": self.identity(obj), "kind": obj.get("kind"), "enabled": props.get("enabled"),
                "severity": props.get("severity")}


class AutomationRuleKind(_SentinelKind):
    name = "automation_rule"
    title = "automation rules"
    noun = "automation rule"
    server_props = frozenset({"createdTimeUtc", "lastModifiedTimeUtc", "createdBy", "lastModifiedBy"})

    def collection(self, ws: Workspace) -> str:
        return api.automation_rules(ws)

    def body(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"properties": {k: v for k, v in (obj.get("properties") or {}).items() if k not in self.server_props}}

    def new_name(self, obj: dict[str, Any]) -> str:
        from .automation import automation_id

        return automation_id(self.identity(obj))

    def identity(self, obj: dict[str, Any]) -> str:
        return str((obj.get("properties") or {}).get("displayName") or obj.get("name") or "")

    def summary(self, obj: dict[str, Any]) -> dict[str, Any]:
        props = obj.get("properties") or {}
        return {"name": self.identity(obj), "order": props.get("order"),
                "enabled": (props.get("triggeringLogic") or {}).get("isEnabled")}
