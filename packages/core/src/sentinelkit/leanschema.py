"""Lean tool listings: every byte of ``tools/list`` is paid for in every conversation's context window.

What a schema generator adds without meaning is taken out: ``anyOf`` branches of ``null`` (an optional
argument is one that is not ``required``), ``"default": null``, ``additionalProperties`` that says
nothing, and ``false`` defaults of flags. The arguments every pack shares (``SHARED_ARGUMENTS``) are
explained once, in the server's instructions: a tool's description of one is left out when it only
restates that explanation, and kept (without the restated fragments) when it says something more,
e.g. "Workspace whose subscription holds the rule".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class SharedArgument:
    """An argument with one meaning in every tool that takes it."""

    name: str
    explanation: str
    """What the server's instructions say about it."""
    restating: tuple[str, ...] = ()
    """Phrases (regular expressions, case-insensitive) that only restate the explanation."""
    boilerplate: tuple[str, ...] = ()
    """Fragments left out even of a description that says more (e.g. "(alias, name or ARM id)")."""


_WORKSPACE_REF = r"\(?(?:its |the )?alias,? (?:workspace )?name,? (?:customerid,? )?or (?:full )?arm id\)?"
_ETAG_CHANGE = (r"(?:when given, )?(?:the )?(?:change|update|delete|deleting|closing|import|restore) "
                r"(?:is refused|fails) if (?:the|it) (?:\w+ )?changed since")

SHARED: tuple[SharedArgument, ...] = (
    SharedArgument(
        "workspace",
        "one workspace: its alias, name, customerId or full ARM id (workspace_list shows them; a name that "
        "workspaces of several tenants share is written <tenant>/<name>).",
        (_WORKSPACE_REF, r"\b(?:one |target )?workspace\b", r"\(?see workspace_list\)?",
         r"(?:omit|leave empty) to (?:cover|use) workspaces(?:/tenant)?", r"instead of workspaces"),
        (r"\s*\((?:see workspace_list|alias, name or arm id)\)",),
    ),
    SharedArgument(
        "workspaces",
        "several workspaces (a list of the same references), or \"all\": every Sentinel workspace, the "
        "default when neither workspace nor workspaces is given. Each workspace answers separately; one "
        "that fails is listed under `errors` and the others still answer.",
        (r"\b(?:several|target) workspaces\b", r"\bworkspaces to (?:cover|list|search|compare)\b",
         r"\(?names, aliases or ids\)?", r"or \"?all\"?", r"\((?:the )?default(?: when neither is given)?\)",
         r"\(?(?:default: |the default: )?every sentinel workspace(?:; the default when neither is given)?\)?"),
        (r"\s*\(names, aliases or ids\)", r"\s*\(alias, name or arm id\)"),
    ),
    SharedArgument(
        "tenant",
        "only workspaces of this tenant: its short name (e.g. \"fabrikam\"), display name or tenant id.",
        (r"only (?:workspaces|targets) of this tenant", r"\(?(?:with workspaces)\)?",
         r"\(?short name(?: such as \"?fabrikam\"?)?, display name or (?:tenant )?id\)?"),
    ),
    SharedArgument(
        "fields",
        "the keys of each row of the answer; a tool's own description of it names the default ones and "
        "the others; [\"*\"] for all.",
    ),
    SharedArgument(
        "limit",
        "rows per page (the schema gives the default).",
        (r"^\w+ per page", r"\(default \d+\)"),
    ),
    SharedArgument(
        "cursor",
        "`next_cursor` of the previous answer, for the next page; a truncated answer says how to get the rest.",
        (r"next_cursor of the previous (?:page|answer)", r"to get the next one"),
    ),
    SharedArgument(
        "dry_run",
        "(writes) true: show exactly what would change, and change nothing.",
        (r"show exactly what would change,? and change nothing",),
    ),
    SharedArgument(
        "confirm",
        "(tools that ask first) a client that can ask the user is always asked; otherwise the answer is a "
        "preview, and the call repeated with confirm=true, once the user agreed, applies it.",
        (r"apply after reviewing the preview", r"when the client cannot ask the user",
         r"\(?a client that can is always asked\)?"),
    ),
    SharedArgument(
        "etag",
        "the etag a read showed; when given, the change is refused if the object changed since (default: "
        "the current version).",
        (r"the etag (?:you read|\w+ showed)(?: \(\w+\))?", _ETAG_CHANGE, r"default: the current one"),
    ),
)

SHARED_ARGUMENTS: Mapping[str, str] = MappingProxyType({a.name: a.explanation for a in SHARED})
"""The arguments tools share, with what they mean (the server's instructions say it once)."""

_BY_NAME = {a.name: a for a in SHARED}
#: words that carry no meaning of their own once the restated phrases are gone
_GLUE = frozenset("a an and the of or to in for with this these its it is one e.g".split())


def restates(argument: SharedArgument, text: str) -> bool:
    """Whether ``text`` says nothing that the shared explanation does not."""
    rest = text.lower().replace("`", "")
    for pattern in argument.restating:
        rest = re.sub(pattern, " ", rest)
    words = re.findall(r"[a-z0-9_*\"]+", rest)
    return all(w.strip('"') in _GLUE or not w.strip('"') for w in words)


def shared_description(name: str, text: str | None) -> str | None:
    """The description a shared argument keeps in a tool's schema: ``None`` when it only restates."""
    argument = _BY_NAME.get(name)
    if argument is None or not text:
        return text
    if argument.restating and restates(argument, text):
        return None
    for pattern in argument.boilerplate:
        text = re.sub(pattern, "", text, flags=re.IGNORECASE)
    return text


def lean_schema(schema: Any) -> Any:
    """A JSON schema without generator noise (recursively); the input is not modified."""
    if isinstance(schema, list):
        return [lean_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: lean_schema(value) for key, value in schema.items()}
    if "anyOf" in out:
        branches = [b for b in out["anyOf"] if b != {"type": "null"}]
        if len(branches) < len(out["anyOf"]):
            del out["anyOf"]
            if len(branches) == 1 and not set(branches[0]) & set(out):
                out = {**branches[0], **out}
            elif branches:
                out["anyOf"] = branches
    if "default" in out and out["default"] is None:
        del out["default"]
    if out.get("additionalProperties") in (True, {}):
        del out["additionalProperties"]
    if out.get("items") == {}:
        del out["items"]
    return out


def lean_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema as it is listed: lean (``lean_schema``), shared arguments explained once,
    flags without their ``false`` default, and no ``additionalProperties: false`` (unknown arguments
    are still refused, with a sentence naming them)."""
    out: dict[str, Any] = lean_schema(parameters)
    if out.get("additionalProperties") is False:
        del out["additionalProperties"]
    for name, prop in (out.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("type") == "boolean" and prop.get("default") is False:
            del prop["default"]
        if "description" in prop:
            kept = shared_description(name, prop["description"])
            if kept:
                prop["description"] = kept
            else:
                del prop["description"]
    return out


class ListedAs:
    """Mixin of the FastMCP tools sentinelkit lists: their ``_meta`` is their own, without FastMCP's copy
    of the tags (``{"fastmcp": {"tags": [...]}}``, which says the pack and the safety class again)."""

    meta: dict[str, Any] | None

    def get_meta(self) -> dict[str, Any]:
        return dict(self.meta or {})


def lean_description(text: str | None) -> str | None:
    """A docstring's paragraphs with their lines joined (a wrapped line is not a new line), lists kept."""
    if not text:
        return text
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        joined = lines[:1]
        for line in lines[1:]:
            if re.match(r"([-*•]|\d+[.)])\s", line):
                joined.append("\n" + line)
            else:
                joined.append(" " + line)
        paragraphs.append("".join(joined))
    return "\n\n".join(paragraphs)


def instructions() -> str:
    """The server-instruction lines that explain the shared arguments."""
    lines = [f"- `{a.name}`: {a.explanation}" for a in SHARED]
    return "Arguments tools share (their schemas do not repeat this):\n" + "\n".join(lines)
