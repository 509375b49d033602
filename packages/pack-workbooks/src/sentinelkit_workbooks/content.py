"""A workbook's content (the JSON in ``serializedData``): its steps, their titles and the queries they run.

Steps are numbered the way a reader counts them: ``3`` is the third top-level item, ``3.2`` the second
item of the group at ``3``. Only Log Analytics queries (``queryType`` 0 against a workspace) read the
workspace's tables; Resource Graph, metrics, JSON or ARM queries are listed but not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sentinelkit import KitError

from .references import References, references

ITEM_TYPES = {1: "text", 3: "query", 9: "parameters", 10: "metric", 11: "links", 12: "group"}
QUERY_TYPES = {0: "logs", 1: "resource graph"}
_WORKSPACE_TYPES = ("", "microsoft.operationalinsights/workspaces")
_HEADING = re.compile(r"^\s*#+\s*")


@dataclass(frozen=True)
class Query:
    """One KQL (or other) query a step runs."""

    step: str
    title: str
    text: str
    query_type: str
    #: runs against the workbook's Log Analytics workspace, so its tables can be checked there
    reads_workspace: bool

    def refs(self) -> References:
        return references(self.text) if self.query_type == "logs" else References()


@dataclass(frozen=True)
class Step:
    number: str
    item: dict[str, Any]
    depth: int

    @property
    def type(self) -> str:
        code = self.item.get("type")
        return ITEM_TYPES.get(code, f"type {code}") if isinstance(code, int) else f"type {code}"

    @property
    def content(self) -> dict[str, Any]:
        content = self.item.get("content")
        return content if isinstance(content, dict) else {}

    @property
    def title(self) -> str:
        c = self.content
        if self.type == "text":
            text = str(c.get("json") or "")
            first = next((line for line in text.splitlines() if line.strip()), "")
            heading = _HEADING.sub("", first).strip()
            return heading[:120] if heading else str(self.item.get("name") or "")
        return str(c.get("title") or self.item.get("name") or "")

    def queries(self) -> list[Query]:
        c = self.content
        if self.type == "query" and isinstance(c.get("query"), str):
            return [_query(self.number, self.title, c)]
        if self.type == "parameters":
            return [_query(self.number, f"{self.title or 'parameters'}: {p.get('name')}", p)
                    for p in c.get("parameters") or [] if isinstance(p, dict) and isinstance(p.get("query"), str)]
        return []


def _query(step: str, title: str, holder: dict[str, Any]) -> Query:
    code = holder.get("queryType", 0)
    kind = QUERY_TYPES.get(code, f"queryType {code}") if isinstance(code, int) else f"queryType {code}"
    resource_type = str(holder.get("resourceType") or "").lower()
    others = [r for r in holder.get("crossComponentResources") or []
              if isinstance(r, str) and not r.startswith("{") and "/workspaces/" not in r.lower()]
    reads = kind == "logs" and resource_type in _WORKSPACE_TYPES and not others
    return Query(step=step, title=title, text=str(holder["query"]), query_type=kind, reads_workspace=reads)


def parse(serialized: str | None, *, where: str) -> dict[str, Any]:
    """The workbook object of a ``serializedData`` string (``KitError`` naming ``where`` when it is not one)."""
    if not serialized:
        raise KitError(f"{where} has no content (serializedData is empty)")
    try:
        data = json.loads(serialized)
    except ValueError as exc:
        raise KitError(f"{where}: serializedData is not valid JSON ({exc})") from exc
    return check(data, where=where)


def check(data: Any, *, where: str) -> dict[str, Any]:
    """``data`` when it is a workbook: an object with ``items`` (a list of objects) and a ``Notebook/`` version."""
    if not isinstance(data, dict):
        raise KitError(f"{where} is not a workbook: its content is JSON {type(data).__name__}, not an object")
    version, items = data.get("version"), data.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise KitError(f"{where} is not a workbook: 'items' must be a list of step objects")
    if not isinstance(version, str) or not version.startswith("Notebook/"):
        raise KitError(f"{where} is not a workbook: 'version' must be like \"Notebook/1.0\", found {version!r}")
    return data


def steps(content: dict[str, Any]) -> Iterator[Step]:
    """Every step, depth first, numbered ``1``, ``2``, ``2.1``..."""

    def walk(items: list[Any], prefix: str, depth: int) -> Iterator[Step]:
        for n, item in enumerate(i for i in items if isinstance(i, dict)):
            step = Step(f"{prefix}{n + 1}", item, depth)
            yield step
            inner = step.content.get("items")
            if step.type == "group" and isinstance(inner, list):
                yield from walk(inner, f"{step.number}.", depth + 1)

    return walk(list(content.get("items") or []), "", 0)


def queries(content: dict[str, Any]) -> list[Query]:
    return [q for s in steps(content) for q in s.queries()]


def named_functions(refs: References) -> list[str]:
    """Functions worth naming (built-in KQL functions are lower case: ``ago``, ``dynamic``...)."""
    return [f for f in refs.functions if f != f.lower() or f.startswith("_")]


def outline_row(step: Step) -> dict[str, Any]:
    """What a reader needs to know about one step, without its JSON."""
    c = step.content
    row: dict[str, Any] = {"step": step.number, "type": step.type, "title": step.title,
                           "name": step.item.get("name"), "query": None, "tables": None, "parameters": None}
    found = step.queries()
    if step.type == "query" and found:
        q = found[0]
        refs = q.refs()
        row.update(query=q.text, query_type=q.query_type, tables=refs.tables, visualization=c.get("visualization"))
        if named_functions(refs):
            row["functions"] = named_functions(refs)
        if refs.dynamic:
            row["dynamic_tables"] = True
        if refs.cross_resource:
            row["cross_resource"] = True
    elif step.type == "parameters":
        row["parameters"] = [p.get("name") for p in c.get("parameters") or [] if isinstance(p, dict)]
        if found:
            row["queries"] = [{"parameter": q.title.rsplit(": ", 1)[-1], "query": q.text, "query_type": q.query_type,
                               "tables": q.refs().tables} for q in found]
    elif step.type == "group":
        row["steps"] = len([i for i in c.get("items") or [] if isinstance(i, dict)])
    elif step.type == "links":
        row["links"] = [str(link.get("linkLabel") or link.get("cellValue") or "") for link in c.get("links") or []
                        if isinstance(link, dict)]
    if isinstance(step.item.get("conditionalVisibility") or step.item.get("conditionalVisibilities"), dict | list):
        row["conditional"] = True
    return row


def summary(content: dict[str, Any]) -> dict[str, Any]:
    """Counts and the tables the workbook reads, for answers that must stay short."""
    all_steps = list(steps(content))
    found = queries(content)
    tables = sorted({t for q in found if q.reads_workspace for t in q.refs().tables})
    parameters = [p.get("name") for s in all_steps if s.type == "parameters"
                  for p in s.content.get("parameters") or [] if isinstance(p, dict)]
    return {"steps": len(all_steps), "queries": len(found), "tables": tables, "parameters": parameters,
            "template": content.get("fromTemplateId")}
