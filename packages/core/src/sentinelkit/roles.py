"""What a caller's Entra app roles let it see and call (hosted mode, ``[http.roles]``).

Each role holds grants: tools of some safety classes, of some packs, and optionally only named tools; a
caller may do what any grant of any of its roles allows. ``tools/list`` shows only those tools, and a call beyond them is
refused and audited. The per-tenant policies (``check_call``) apply on top. Over stdio, and over HTTP
without Entra tokens, roles do not apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import Middleware

from .call import ToolCall

if TYPE_CHECKING:
    from .contract import ToolSpec
    from .runtime import Runtime
    from .settings import RoleConfig


def allows(role: RoleConfig, spec: ToolSpec) -> bool:
    return (spec.safety.value in role.safety and ("*" in role.packs or spec.pack in role.packs)
            and (role.tools is None or spec.name in role.tools))


def permitted(held: Iterable[str], roles: Mapping[str, list[RoleConfig]], spec: ToolSpec) -> bool:
    """Whether any grant of any role the caller holds allows this tool."""
    return any(allows(grant, spec) for r in held if r in roles for grant in roles[r])


def caller_roles() -> list[str] | None:
    """The app roles of the current request's Entra token; ``None`` when there is no token (stdio)."""
    from .httpauth import current_token

    token = current_token()
    if token is None:
        return None
    return [str(r) for r in (token.claims or {}).get("roles") or []]


class RoleGuard(Middleware):
    def __init__(self, runtime: Runtime, specs: dict[str, ToolSpec], roles: Mapping[str, list[RoleConfig]]) -> None:
        self.runtime = runtime
        self.specs = specs
        self.roles = roles

    async def on_list_tools(self, context: Any, call_next: Any) -> Any:
        tools = await call_next(context)
        held = caller_roles()
        if held is None:
            return tools
        # a tool without a spec is the compact mode's (a pack's tool, packs_enable): it lists only what the
        # caller's roles let through here, and each operation it calls comes back through on_call_tool
        return [t for t in tools if t.name not in self.specs or permitted(held, self.roles, self.specs[t.name])]

    async def on_call_tool(self, context: Any, call_next: Any) -> Any:
        name = getattr(context.message, "name", None)
        held = caller_roles()
        spec = self.specs.get(name or "")
        if held is None or spec is None or permitted(held, self.roles, spec):
            return await call_next(context)
        from .toolwrap import request_caller

        allowing = sorted(r for r in self.roles if permitted([r], self.roles, spec))
        message = (f"{spec.name} is not allowed for your roles ({', '.join(held) or 'none'}): it is a "
                   f"{spec.safety.value.replace('_', '-')} tool of pack {spec.pack}. Nothing was called. Roles that "
                   f"allow it: {', '.join(allowing) or 'none'} (assigned in Entra ID).")
        arguments = dict(getattr(context.message, "arguments", None) or {})
        call = ToolCall(spec, arguments, dry_run=arguments.get("dry_run") is True, caller=request_caller())
        call.end("refused", message)
        call.notes["roles"] = held
        self.runtime.audit.record(call)
        raise ToolError(message)
