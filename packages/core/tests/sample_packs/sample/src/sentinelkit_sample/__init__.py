"""A sample third-party pack: tags on a workspace's resource group (a harmless thing to change)."""

from __future__ import annotations

from typing import Any

from sentinelkit import (
    ADDITIVE,
    DESTRUCTIVE,
    READ_ONLY,
    ContentKind,
    ContentKindRegistrar,
    Kit,
    ToolRegistrar,
    Workspace,
    hookimpl,
    tool,
)

RG_API = "2024-03-01"


def _rg(ws: Workspace) -> str:
    return f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"


@tool(READ_ONLY)
async def sample_tags_get(kit: Kit, workspace: str) -> dict[str, Any]:
    """Show the tags of a workspace's resource group.

    Args:
        workspace: Workspace alias, name or ARM id.
    """
    ws = await kit.workspace(workspace)
    rg = await kit.arm(ws).get(_rg(ws), RG_API, where=ws.where("resource group", "read"))
    return {"workspace": ws.label, "resource_group": ws.resource_group, "tags": rg.get("tags") or {}}


@tool(ADDITIVE)
async def sample_tag_set(kit: Kit, workspace: str, tag: str, value: str) -> dict[str, Any]:
    """Set one tag on a workspace's resource group.

    Args:
        workspace: Workspace alias, name or ARM id.
        tag: Tag name.
        value: Tag value.
    """
    ws = await kit.workspace(workspace)
    arm = kit.arm(ws)
    rg = await arm.get(_rg(ws), RG_API, cache=False)
    tags = dict(rg.get("tags") or {})
    await kit.confirm_change(f"set tag {tag}={value} on resource group {ws.resource_group}",
                             {"tag": tag, "before": tags.get(tag), "after": value})
    tags[tag] = value
    await arm.put(_rg(ws), RG_API, {"location": rg["location"], "tags": tags},
                  where=ws.where(ws.resource_group, "update tags"))
    return {"workspace": ws.label, "tags": tags}


@tool(DESTRUCTIVE)
async def sample_tag_remove(kit: Kit, workspace: str, tag: str) -> dict[str, Any]:
    """Remove one tag from a workspace's resource group.

    Args:
        workspace: Workspace alias, name or ARM id.
        tag: Tag name.
    """
    ws = await kit.workspace(workspace)
    arm = kit.arm(ws)
    rg = await arm.get(_rg(ws), RG_API, cache=False)
    tags = dict(rg.get("tags") or {})
    if tag not in tags:
        return {"workspace": ws.label, "removed": False, "message": f"tag {tag!r} is not set; nothing to do"}
    await kit.confirm_change(f"remove tag {tag} (value {tags[tag]!r}) from resource group {ws.resource_group}",
                             {"tag": tag, "before": tags[tag], "after": None})
    del tags[tag]
    await arm.put(_rg(ws), RG_API, {"location": rg["location"], "tags": tags},
                  where=ws.where(ws.resource_group, "update tags"))
    return {"workspace": ws.label, "removed": True, "tags": tags}


@tool(READ_ONLY)
async def sample_sentinel_count(kit: Kit, workspaces: list[str] | None = None, tenant: str | None = None) -> dict[str, Any]:
    """Count Sentinel onboarding states in many workspaces at once (a fan-out example).

    Args:
        workspaces: Workspace aliases/names/ids; all Sentinel workspaces when omitted.
        tenant: Only workspaces of this tenant.
    """
    targets = await kit.targets(workspaces=workspaces, tenant=tenant)

    async def one(ws: Workspace) -> int:
        states = await kit.arm(ws).list(f"{ws.id}/providers/Microsoft.SecurityInsights/onboardingStates",
                                        "2025-09-01", where=ws.where(operation="list onboarding states"), cache=False)
        return len(states)

    return (await kit.fan_out(targets, one)).to_json()


@tool(READ_ONLY)
async def sample_query_run(kit: Kit, workspace: str, kql: str, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """Run a KQL query in a workspace and page through the rows.

    Args:
        workspace: Workspace alias, name or ARM id.
        kql: The query.
        limit: Rows per page.
        cursor: next_cursor of the previous page.
    """
    ws = await kit.workspace(workspace)
    rows = await kit.query(ws, kql, timespan="P7D")
    return kit.page(rows, limit=limit, cursor=cursor, key="rows", extra={"workspace": ws.label})


@tool(READ_ONLY)
async def sample_explode(kit: Kit) -> str:
    """Always fails with an unexpected error (to prove the server survives a buggy tool)."""
    raise RuntimeError("boom: the sample pack has a bug")


@hookimpl
def register_tools(register: ToolRegistrar) -> None:
    for fn in (sample_tags_get, sample_tag_set, sample_tag_remove, sample_sentinel_count, sample_query_run,
               sample_explode):
        register(fn)
    import os

    if os.environ.get("SAMPLE_PACK_TOOL_PATH"):  # a start-up problem that does not stop the pack
        if not os.path.exists(os.environ["SAMPLE_PACK_TOOL_PATH"]):
            register.warn(f"the sample tool {os.environ['SAMPLE_PACK_TOOL_PATH']} was not found: "
                          "sample_query_run will fail; install it or fix SAMPLE_PACK_TOOL_PATH")


@hookimpl
def register_prompts(register: Any) -> None:
    def sample_triage(workspace: str) -> str:
        """Triage the newest incidents of a workspace."""
        return f"List the newest incidents of {workspace} and propose an owner for each."

    register(sample_triage, name="sample-triage")


@hookimpl
def register_resources(register: Any) -> None:
    def sample_readme() -> str:
        """What the sample pack does."""
        return "The sample pack tags resource groups."

    register(sample_readme, uri="sentinelkit://sample/readme", name="sample-readme", mime_type="text/plain")


class ResourceGroupTag(ContentKind):
    """A third party's kind of content: one tag of a workspace's resource group (``{"name", "value"}``).
    Backup, restore and drift cover it without knowing it."""

    name = "sample_tag"
    title = "resource group tags"

    async def _tags(self, kit: Kit, ws: Workspace) -> tuple[dict[str, Any], dict[str, str]]:
        rg = await kit.arm(ws).get(_rg(ws), RG_API, cache=False, where=ws.where("resource group", "read"))
        return rg, dict(rg.get("tags") or {})

    async def list(self, kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
        _, tags = await self._tags(kit, ws)
        return [{"name": k, "value": v} for k, v in sorted(tags.items())]

    async def read(self, kit: Kit, ws: Workspace, identity: str) -> dict[str, Any] | None:
        _, tags = await self._tags(kit, ws)
        return {"name": identity, "value": tags[identity]} if identity in tags else None

    async def write(self, kit: Kit, ws: Workspace, obj: dict[str, Any], *,
                    existing: dict[str, Any] | None) -> dict[str, Any]:
        rg, tags = await self._tags(kit, ws)
        tags[obj["name"]] = obj["value"]
        await kit.arm(ws).put(_rg(ws), RG_API, {"location": rg["location"], "tags": tags},
                              where=ws.where(ws.resource_group, "set tag"))
        return {"name": obj["name"], "value": obj["value"]}

    async def delete(self, kit: Kit, ws: Workspace, existing: dict[str, Any]) -> None:
        rg, tags = await self._tags(kit, ws)
        tags.pop(existing["name"], None)
        await kit.arm(ws).put(_rg(ws), RG_API, {"location": rg["location"], "tags": tags},
                              where=ws.where(ws.resource_group, "remove tag"))

    def identity(self, obj: dict[str, Any]) -> str:
        return str(obj["name"])


@hookimpl
def register_content_kinds(register: ContentKindRegistrar) -> None:
    register(ResourceGroupTag())
