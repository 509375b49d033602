"""Confirmation of writes: dry runs, MCP elicitation (both protocol eras) and the confirm=true preview.

The tool body calls ``await kit.confirm_change(summary, changes)`` once it knows exactly what it is
about to do, and before doing it. From there:

- ``dry_run=true`` → the preview is the result; nothing changes.
- ADDITIVE → proceed.
- DESTRUCTIVE and the client can ask the user (elicitation) → always ask, whatever ``confirm`` says
  (the model sets ``confirm``, not the user): on a 2026-07-28 connection by returning an
  ``InputRequiredResult`` (the client re-calls the tool with the answer, so the body runs twice); on
  an older connection with ``ctx.elicit``. Only an explicit ``{"confirm": true}`` accept is a yes.
- DESTRUCTIVE and the client cannot ask → ``confirm=true`` proceeds; otherwise the preview is
  returned with the instruction to repeat the call with ``confirm=true``.

How the change was confirmed is recorded on the kit (``kit.confirmed_by``: ``"elicitation"`` or
``"confirm_flag"``) and written to the audit log.
"""

from __future__ import annotations

from typing import Any

CONFIRM_KEY = "sentinelkit_confirm"


class Outcome(Exception):
    """Ends the tool body early with ``result`` (a preview, a refusal, or an input request)."""

    def __init__(self, result: Any, outcome: str) -> None:
        super().__init__(outcome)
        self.result = result
        self.outcome = outcome


def _client_can_elicit(ctx: Any) -> bool:
    try:
        caps = ctx.session.client_capabilities
    except Exception:
        return False
    return bool(caps is not None and getattr(caps, "elicitation", None) is not None)


def _modern(ctx: Any) -> bool:
    try:
        return bool(ctx._is_modern_protocol())
    except Exception:
        return False


def _accepted(response: Any) -> bool | None:
    """None if the answer is not an elicitation result; else whether the user said yes."""
    action = getattr(response, "action", None)
    if action is None and isinstance(response, dict):
        action = response.get("action")
    if action is None:
        return None
    content = getattr(response, "content", None) if not isinstance(response, dict) else response.get("content")
    if action != "accept":
        return False
    # only an explicit boolean yes: "false", 1, {} or missing content are not a confirmation
    return isinstance(content, dict) and content.get("confirm") is True


async def confirm(kit: Any, summary: str, changes: Any) -> None:
    """See the module docstring. Returns when the change may go ahead; raises ``Outcome`` otherwise."""
    from .contract import Safety

    preview = {"tool": kit.tool, "summary": summary, "changes": changes}
    if kit.dry_run:
        raise Outcome({"dry_run": True, "would_change": preview,
                       "next": "nothing was changed; call again without dry_run to apply"}, "dry_run")
    if kit.safety is not Safety.DESTRUCTIVE:
        return
    ctx = kit.ctx
    declined = {"cancelled": True, "summary": summary,
                "message": "nothing was changed: the user did not confirm"}
    responses = getattr(ctx, "input_responses", None) if ctx is not None else None
    if responses and CONFIRM_KEY in responses:
        if _accepted(responses[CONFIRM_KEY]):
            kit.confirmed_by = "elicitation"
            return
        raise Outcome(declined, "declined")
    message = f"Confirm: {summary}?"
    if ctx is not None and _client_can_elicit(ctx):
        # the client can ask its user: always do, and ignore confirm=true (set by the model, not the user)
        if _modern(ctx):
            import mcp.types as t

            request = t.ElicitRequest(params=t.ElicitRequestFormParams(
                message=message,
                requested_schema={
                    "type": "object",
                    "properties": {"confirm": {"type": "boolean", "title": "Apply this change", "default": False}},
                    "required": ["confirm"],
                },
            ))
            raise Outcome(t.InputRequiredResult(input_requests={CONFIRM_KEY: request}), "input_required")
        try:
            answer = await ctx.elicit(message, bool, response_title="Apply this change")
        except Exception:
            answer = None  # the question could not be asked: no confirmation
        if getattr(answer, "action", None) == "accept" and getattr(answer, "data", None) is True:
            kit.confirmed_by = "elicitation"
            return
        raise Outcome(declined, "declined")
    if kit.confirmed:
        kit.confirmed_by = "confirm_flag"
        return
    raise Outcome({"confirmation_required": True, "would_change": preview,
                   "next": "nothing was changed; repeat the call with confirm=true to apply"}, "preview")
