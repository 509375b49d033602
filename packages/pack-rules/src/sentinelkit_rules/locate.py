"""Finding one rule or template by what a person calls it: its name (GUID), its ARM id or its display name."""

from __future__ import annotations

import re
from typing import Any

from sentinelkit import Kit, KitError, NotFoundError, Workspace

from . import api

#: what can be a rule's resource name (a display name with spaces cannot)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


async def read_rule(kit: Kit, ws: Workspace, name: str) -> dict[str, Any]:
    """The rule, fresh (writes use its etag)."""
    return await kit.arm(ws).get(api.rule(ws, name), api.SENTINEL, cache=False,
                                 where=ws.where(resource=f"analytics rule {name}", operation="read"))


async def find_rule(kit: Kit, ws: Workspace, ref: str) -> dict[str, Any]:
    """A rule by name, ARM id or display name (case-insensitive); fresh. Unknown: closest display names."""
    name = ref.rstrip("/").rsplit("/", 1)[-1].strip()
    if _NAME.fullmatch(name):
        try:
            return await read_rule(kit, ws, name)
        except NotFoundError:
            pass
    rules = await kit.arm(ws).list(api.rules(ws), api.SENTINEL, cache=False,
                                   where=ws.where(operation="list analytics rules"))
    matches = [r for r in rules if str((r.get("properties") or {}).get("displayName", "")).lower() == ref.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise KitError(f"{len(matches)} analytics rules in {ws.label} are called {ref!r}; name one by its id: "
                       + ", ".join(str(r.get("name")) for r in matches))
    close = sorted(str((r.get("properties") or {}).get("displayName")) for r in rules
                    if ref.lower()[:12] in str((r.get("properties") or {}).get("displayName", "")).lower())[:5]
    hint = f" Closest: {', '.join(close)}." if close else " See rule_list."
    raise KitError(f"no analytics rule {ref!r} in workspace {ws.label} (tenant {ws.tenant}).{hint}")


async def list_templates(kit: Kit, ws: Workspace) -> list[dict[str, Any]]:
    return await kit.arm(ws).list(api.templates(ws), api.SENTINEL,
                                  where=ws.where(operation="list analytics rule templates"))


async def find_template(kit: Kit, ws: Workspace, ref: str) -> dict[str, Any]:
    """A built-in rule template by id or display name; unknown: say so, with the closest names."""
    templates = await list_templates(kit, ws)
    key = ref.strip().lower()
    found = [t for t in templates if str(t.get("name", "")).lower() == key
             or str((t.get("properties") or {}).get("displayName", "")).lower() == key]
    if found:
        return found[0]
    words = [w for w in key.split() if len(w) > 3]
    close = [str((t.get("properties") or {}).get("displayName")) for t in templates
             if any(w in str((t.get("properties") or {}).get("displayName", "")).lower() for w in words)][:5]
    hint = f" Closest: {', '.join(close)}." if close else " See rule_template_list."
    raise KitError(f"no analytics rule template {ref!r} in workspace {ws.label}; nothing was created.{hint}")
