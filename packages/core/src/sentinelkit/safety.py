"""Confirmation of writes: dry runs, MCP elicitation (both protocol eras) and the confirm=true preview.

The tool body calls ``await kit.confirm_change(summary, changes)`` once it knows exactly what it is
about to do, and before doing it. ``decide`` is the whole policy, as a pure function:

- ``dry_run=true`` → the preview is the result; nothing changes.
- ADDITIVE → proceed.
- DESTRUCTIVE and the client can ask the user (elicitation) → always ask, whatever ``confirm`` says
  (the model sets ``confirm``, not the user): on a 2026-07-28 connection by returning an
  ``InputRequiredResult`` (the client re-calls the tool with the answer, so the body runs twice); on
  an older connection with ``ctx.elicit``. Only an explicit ``{"confirm": true}`` accept is a yes.
- DESTRUCTIVE and the client cannot ask → ``confirm=true`` proceeds; otherwise the preview is
  returned with the instruction to repeat the call with ``confirm=true``.

``confirm`` carries the decision out on the current call: how the change was confirmed
(``"elicitation"`` or ``"confirm_flag"``) ends up in the audit log.

A preview (or a question) is remembered as *pending* for its caller, tool and arguments, in the state
replicas share: the confirmation may reach another replica. When it comes, the change is computed again;
if what it changes is no longer what was previewed (an etag the preview showed has changed: someone wrote
meanwhile), nothing is applied and the new preview is the answer.
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

from .call import Confirmation, Outcome, ToolCall
from .contract import Safety

CONFIRM_KEY = "sentinelkit_confirm"
#: how long a previewed change waits for its confirmation (seconds)
PENDING_TTL = 900.0


class Decision(enum.Enum):
    PROCEED = "proceed"
    DRY_RUN = "dry_run"
    ASK = "ask"
    PREVIEW = "preview"
    DECLINED = "declined"


def decide(*, safety: Safety, dry_run: bool, confirm_flag: bool, can_elicit: bool,
           answer: bool | None, removes: bool = False) -> tuple[Decision, Confirmation | None]:
    """What to do with a change about to be made, and how it counts as confirmed.

    ``answer`` is the user's answer to an elicitation already asked (``None``: none was asked);
    ``removes``: this change of an ADDITIVE tool removes something, so it is confirmed like a DESTRUCTIVE one."""
    if dry_run:
        return Decision.DRY_RUN, None
    if safety is not Safety.DESTRUCTIVE and not removes:
        return Decision.PROCEED, None
    if answer is not None:
        return (Decision.PROCEED, "elicitation") if answer else (Decision.DECLINED, None)
    if can_elicit:
        return Decision.ASK, None
    if confirm_flag:
        return Decision.PROCEED, "confirm_flag"
    return Decision.PREVIEW, None


class Finished(Exception):
    """Ends the tool body early with ``result`` (a preview, a dry run, a refusal or an input request).

    Internal to the core: the tool wrapper catches it and records ``outcome`` on the call."""

    def __init__(self, result: Any, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.result = result
        self.outcome = outcome


def client_can_elicit(ctx: Any) -> bool:
    try:
        caps = ctx.session.client_capabilities
    except Exception:
        return False
    return bool(caps is not None and getattr(caps, "elicitation", None) is not None)


def modern_protocol(ctx: Any) -> bool:
    """Whether the request came over a 2026-07-28 (sessionless) connection."""
    try:
        return bool(ctx._is_modern_protocol())
    except Exception:
        return False


def accepted(response: Any) -> bool | None:
    """None if ``response`` is not an elicitation result; else whether the user said yes (an accept whose
    content is exactly ``{"confirm": true}``: ``"yes"``, ``1``, ``{}`` or missing content are not)."""
    action = response.get("action") if isinstance(response, dict) else getattr(response, "action", None)
    if action is None:
        return None
    content = response.get("content") if isinstance(response, dict) else getattr(response, "content", None)
    return action == "accept" and isinstance(content, dict) and content.get("confirm") is True


def dry_run_result(would_change: Any, next_step: str | None = None) -> dict[str, Any]:
    """The answer of a dry run: what would change, and that nothing did."""
    return {"dry_run": True, "would_change": would_change,
            "next": next_step or "nothing was changed; call again without dry_run to apply"}


def pending_key(call: ToolCall) -> str:
    """Where a call's previewed change waits: its caller, tool and arguments (``confirm``/``dry_run`` aside)."""
    asked = {k: v for k, v in call.arguments.items() if k not in ("confirm", "dry_run")}
    text = json.dumps([call.caller, call.tool, asked], sort_keys=True, default=str)
    return "pending:" + hashlib.sha256(text.encode()).hexdigest()


def _digest(preview: Any) -> str:
    """The versions (ARM etags) of what a preview shows: when one differs at confirmation, the resource changed
    since it was previewed. Other values may move by themselves (a relative time resolved anew) and do not count."""
    etags: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if str(key).lower() == "etag" and isinstance(item, str):
                    etags.add(item)
                else:
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(preview)
    return hashlib.sha256(json.dumps(sorted(etags)).encode()).hexdigest()


async def confirm(call: ToolCall, summary: str, changes: Any, *, removes: bool = False, pending: Any = None) -> None:
    """See the module docstring. Returns when the change may go ahead; raises ``Finished`` otherwise.
    ``pending``: the ``SharedState`` previews wait in (``None``: no check against an earlier preview)."""
    if removes and not call.spec.asks:
        from .errors import KitError

        raise KitError(f"{call.tool} confirmed a change that removes something, but the tool is not declared "
                       f"@tool(ADDITIVE, can_remove=True); this is a bug in pack {call.pack!r}")
    ctx = call.ctx
    preview = {"tool": call.tool, "summary": summary, "changes": changes}
    responses = getattr(ctx, "input_responses", None) if ctx is not None else None
    answer = accepted(responses[CONFIRM_KEY]) if responses and CONFIRM_KEY in responses else None
    decision, how = decide(safety=call.spec.safety, dry_run=call.dry_run, confirm_flag=call.confirm,
                           can_elicit=ctx is not None and client_can_elicit(ctx), answer=answer, removes=removes)
    key = pending_key(call) if pending is not None else ""
    if decision is Decision.ASK:
        if pending is not None and modern_protocol(ctx):  # the answer comes with a re-call, maybe to another replica
            pending.set_json(key, _digest(preview), PENDING_TTL)
        decision, how = await _ask(ctx, f"Confirm: {summary}?")
    if decision is Decision.PROCEED:
        if how is not None and pending is not None:
            previewed = pending.pop_json(key)
            if previewed is not None and previewed != _digest(preview):
                pending.set_json(key, _digest(preview), PENDING_TTL)
                raise Finished({"confirmation_required": True, "changed_since_preview": True, "would_change": preview,
                                "next": "nothing was changed: this is no longer the change that was previewed (it "
                                        "changed meanwhile); review this preview and repeat the call with "
                                        "confirm=true to apply it"}, "preview")
        call.confirmed_by = how
        call.write_allowed = True
        return
    if decision is Decision.DRY_RUN:
        raise Finished(dry_run_result(preview), "dry_run")
    if decision is Decision.PREVIEW:
        if pending is not None:
            pending.set_json(key, _digest(preview), PENDING_TTL)
        raise Finished({"confirmation_required": True, "would_change": preview,
                        "next": "nothing was changed; repeat the call with confirm=true to apply"}, "preview")
    if pending is not None:
        pending.pop_json(key)
    raise Finished({"cancelled": True, "summary": summary,
                    "message": "nothing was changed: the user did not confirm"}, "declined")


async def _ask(ctx: Any, message: str) -> tuple[Decision, Confirmation | None]:
    """Ask the user: on 2026-07-28 connections the answer comes with the re-call (``Finished``)."""
    if modern_protocol(ctx):
        import mcp.types as t

        request = t.ElicitRequest(params=t.ElicitRequestFormParams(
            message=message,
            requested_schema={
                "type": "object",
                "properties": {"confirm": {"type": "boolean", "title": "Apply this change", "default": False}},
                "required": ["confirm"],
            },
        ))
        raise Finished(t.InputRequiredResult(input_requests={CONFIRM_KEY: request}), "input_required")
    try:
        answer = await ctx.elicit(message, bool, response_title="Apply this change")
    except Exception:
        answer = None  # the question could not be asked: no confirmation
    if getattr(answer, "action", None) == "accept" and getattr(answer, "data", None) is True:
        return Decision.PROCEED, "elicitation"
    return Decision.DECLINED, None
