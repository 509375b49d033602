"""Plans and their application, shared by ``backup_restore`` and ``drift_fix``: what writing some content
into a workspace would do to each object, one confirmation for every workspace's plan, then the writes —
with the etag each object had when the plan was made — and a result per object.

Per object: ``create`` (the workspace lacks it), ``unchanged``, ``update``, ``conflict`` (a restore into the
workspace the backup came from, whose object changed since the backup: left alone unless
``overwrite_changed``, then confirmed like a delete because someone's change is lost), ``delete`` (the
workspace has it, the content does not, and ``prune`` was asked), ``extra`` (the same, without ``prune``),
``blocked`` (it would carry one tenant's ids into another tenant, or its identity is ambiguous there) and
``error``. A plan whose writes remove, lower or disable something (``ContentKind.removals``), delete or
overwrite a change is confirmed like a DESTRUCTIVE call.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import ContentKind, Kit, KitError, PreconditionFailedError, Workspace, clip

from .compare import differences
from .content import Objects, Progress, read_workspace
from .layout import digest, render

WRITES = ("create", "update", "delete")
#: objects written at once in one workspace
_CONCURRENCY = 4
#: rows per workspace in a preview or an answer
_ROWS = 100
_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)


@dataclass
class Step:
    kind: ContentKind
    identity: str
    action: str
    desired: dict[str, Any] | None = None
    existing: dict[str, Any] | None = None
    fields: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    reason: str | None = None
    overwrites: bool = False
    edited: bool = False

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.name, "name": self.identity, "action": self.action}
        if self.fields:
            out["fields"] = self.fields[:20] + ([f"... {len(self.fields) - 20} more"] if len(self.fields) > 20 else [])
        if self.removes:
            out["removes"] = self.removes
        if self.overwrites:
            out["overwrites_change_since_backup"] = True
        if self.edited:
            out["file_edited_since_backup"] = True
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class Plan:
    """What writing content into ``target`` does, per object; ``source``: the workspace the content came from."""

    target: Workspace
    source: Workspace | None
    steps: list[Step] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.action] = out.get(s.action, 0) + 1
        return dict(sorted(out.items()))

    @property
    def writes(self) -> list[Step]:
        return [s for s in self.steps if s.action in WRITES]

    @property
    def removes(self) -> bool:
        return any(s.action == "delete" or s.removes or s.overwrites for s in self.steps)

    def preview(self) -> dict[str, Any]:
        shown = [s.row() for s in self.steps if s.action != "unchanged"]
        out: dict[str, Any] = {"workspace": self.target.label, "tenant": self.target.tenant_label}
        if self.source is not None and self.source.id.lower() != self.target.id.lower():
            out["from"] = f"{self.source.label} (tenant {self.source.tenant_label})"
            if (self.source.tenant_id or "").lower() != (self.target.tenant_id or "").lower():
                out["cross_tenant"] = True
        out["counts"] = self.counts()
        out["objects"] = clip(shown[:_ROWS])
        if len(shown) > _ROWS:
            out["objects_note"] = f"the first {_ROWS} of {len(shown)} objects that are not unchanged"
        out.update(self.notes)
        return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def foreign_references(kit: Kit, obj: dict[str, Any], source: Workspace | None, target: Workspace) -> list[str]:
    """What ``obj`` (already rewritten for ``target``) still says of the source's tenant when ``target`` is in
    another tenant: its tenant id, its subscriptions. Writing that would hand one customer's ids to another."""
    if source is None or not source.tenant_id or not target.tenant_id or source.tenant_id.lower() == target.tenant_id.lower():
        return []
    found: set[str] = set()
    for text in _strings(obj):
        if source.tenant_id.lower() in text.lower():
            found.add(f"the tenant id of {source.tenant_label}")
        for m in _SUBSCRIPTION.finditer(text):
            sub = m.group(1).lower()
            if sub == target.subscription_id.lower():
                continue
            owner = kit.tenant_of(f"/subscriptions/{sub}")
            if sub == source.subscription_id.lower() or (owner is not None and source.in_tenant(owner)):
                found.add(f"subscription {sub} of tenant {source.tenant_label}")
    return sorted(found)


async def make_plan(kit: Kit, target: Workspace, source: Workspace | None, desired: dict[str, Objects], *,
                    base: dict[str, dict[str, str]] | None, prunable: set[str], overwrite_changed: bool = False,
                    edited: set[tuple[str, str]] | None = None, progress: Progress | None = None,
                    only: set[str] | None = None) -> Plan:
    """The plan for writing ``desired`` (normalized, as in ``source``) into ``target``. ``base``: what each
    object was in ``target`` when backed up (a restore into the same workspace), to tell an update from a
    conflict; ``prunable``: kinds whose objects missing from ``desired`` are deleted; ``only``: the keys of
    the objects the call is about (others are left out)."""
    plan = Plan(target, source)
    live = await read_workspace(kit, target, [o.kind for o in desired.values()], progress)
    for name, want in desired.items():
        kind, have = want.kind, live[name]
        if have.error:
            plan.steps.append(Step(kind, f"(every {kind.name})", "error",
                                   reason=f"{kind.title} of {target.label} could not be read, so none is written: "
                                          f"{have.error}"))
            continue
        ambiguous = {p["identity"].casefold(): p["error"] for p in have.problems}
        for k, obj in want.normalized.items():
            plan.steps.append(_step(kit, kind, want.identities[k], obj, have, k, source, target, ambiguous,
                                    (base or {}).get(name) if base is not None else None, overwrite_changed,
                                    (name, k) in (edited or set())))
        for k in sorted(set(have.normalized) - set(want.normalized)):
            if only is not None and k not in only:
                continue
            if name in prunable:
                plan.steps.append(Step(kind, have.identities[k], "delete", existing=have.listed[k]))
            else:
                plan.steps.append(Step(kind, have.identities[k], "extra",
                                       reason="not in the content written; kept (prune=true deletes it)"))
    return plan


def _step(kit: Kit, kind: ContentKind, identity: str, obj: dict[str, Any], have: Objects, k: str,
          source: Workspace | None, target: Workspace, ambiguous: dict[str, str], base: dict[str, str] | None,
          overwrite_changed: bool, edited: bool) -> Step:
    try:
        wanted = kind.rewrite(copy.deepcopy(obj), source, target)
    except Exception as exc:
        return Step(kind, identity, "error", reason=f"could not be pointed at {target.label}: {type(exc).__name__}: {exc}")
    if k in ambiguous:
        return Step(kind, identity, "blocked", reason=ambiguous[k])
    foreign = foreign_references(kit, wanted, source, target)
    if foreign:
        return Step(kind, identity, "blocked", desired=wanted,
                    reason=f"it still names {', '.join(foreign)} after the workspace references were rewritten; "
                           f"writing it into {target.label} (tenant {target.tenant_label}) would hand one tenant's ids "
                           "to another. Edit the backup file, or restore it into a workspace of its own tenant")
    current = have.normalized.get(k)
    if current is None:
        return Step(kind, identity, "create", desired=wanted, edited=edited)
    found = differences(current, wanted)
    if not found:
        return Step(kind, identity, "unchanged")
    step = Step(kind, identity, "update", desired=wanted, existing=have.listed[k], fields=[d["path"] for d in found],
                edited=edited)
    try:
        step.removes = list(kind.removals(have.listed[k], wanted))
    except Exception as exc:
        return Step(kind, identity, "error", reason=f"could not be compared: {type(exc).__name__}: {exc}")
    before = (base or {}).get(k)
    if before is not None and digest(render(current)) != before:
        if not overwrite_changed:
            step.action = "conflict"
            step.reason = ("changed in the workspace since the backup; left as it is (overwrite_changed=true replaces "
                           "it with the backup's version, losing that change)")
        else:
            step.overwrites = True
    return step


async def _apply_one(kit: Kit, target: Workspace, step: Step) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": step.kind.name, "name": step.identity, "action": step.action}
    try:
        if step.action == "delete":
            assert step.existing is not None
            await step.kind.delete(kit, target, step.existing)
            row["result"] = "deleted"
        else:
            assert step.desired is not None
            await step.kind.write(kit, target, step.desired, existing=step.existing)
            row["result"] = "created" if step.action == "create" else "updated"
    except PreconditionFailedError:
        row.update(result="conflict", error=f"{step.identity} changed in {target.label} after the plan was made (its "
                                            "etag no longer matches); nothing was written. Run again for a new plan")
    except KitError as exc:
        row.update(result="failed", error=str(exc))
    except Exception as exc:
        row.update(result="failed", error=f"unexpected {type(exc).__name__} from kind {step.kind.name!r}: {exc}")
    return row


async def apply(kit: Kit, plan: Plan, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Carry out the plan's writes: deletes first, from the kinds restored last; then creates and updates in
    ``restore_order`` (what others refer to first), a few objects at a time."""
    limit = asyncio.Semaphore(_CONCURRENCY)
    deletes = [s for s in plan.writes if s.action == "delete"]
    writes = [s for s in plan.writes if s.action != "delete"]
    groups: list[list[Step]] = []
    for order in sorted({s.kind.restore_order for s in deletes}, reverse=True):
        groups.append([s for s in deletes if s.kind.restore_order == order])
    for order in sorted({s.kind.restore_order for s in writes}):
        groups.append([s for s in writes if s.kind.restore_order == order])
    rows: list[dict[str, Any]] = []

    async def one(step: Step) -> dict[str, Any]:
        async with limit:
            row = await _apply_one(kit, plan.target, step)
        if progress is not None:
            await progress.step(plan.target, f"{step.kind.name} {step.identity}: {row['result']}")
        return row

    for group in groups:
        rows += await asyncio.gather(*(one(s) for s in group))
    return rows


async def carry_out(kit: Kit, plans: list[Plan], errors: dict[str, str], what: str) -> dict[str, Any]:
    """One confirmation for every workspace's plan, then the writes, then per-object results (failures in the
    audit record too). ``errors``: workspaces that got no plan, and why."""
    totals: dict[str, int] = {}
    for p in plans:
        for action, n in p.counts().items():
            totals[action] = totals.get(action, 0) + n
    answer: dict[str, Any] = {"workspaces": len(plans) + len(errors), "counts": totals}
    if errors:
        answer["errors"] = errors
    todo = [p for p in plans if p.writes]
    if not todo:
        message = "nothing to write: every object is unchanged, in conflict, blocked or extra (see plans)"
        previews = {p.target.label: p.preview() for p in plans}
        if kit.dry_run:  # the same shape as a dry run that would write
            return kit.dry_run_result({"tool": kit.tool, "summary": f"{what}: {message}",
                                       "changes": {"plans": previews, "errors": errors}})
        answer["plans"] = previews
        answer["message"] = message
        if errors:
            kit.report_outcome("failed" if not plans else "no_change", "; ".join(f"{k}: {v}" for k, v in errors.items()))
        return answer
    writes = {a: totals[a] for a in WRITES if totals.get(a)}
    removed = sorted({r for p in todo for s in p.steps for r in s.removes})
    summary = (f"{what}: " + ", ".join(f"{n} {a}" for a, n in writes.items()) + f" in {len(todo)} workspace(s)"
               + (f"; removes or lowers {', '.join(removed[:5])}" + (" ..." if len(removed) > 5 else "") if removed else "")
               + ("; overwrites changes made since the backup" if any(s.overwrites for p in todo for s in p.steps) else ""))
    await kit.confirm_change(summary, {"plans": {p.target.label: p.preview() for p in plans}, "errors": errors},
                             removes=any(p.removes for p in todo))
    progress = Progress(kit, sum(len(p.writes) for p in todo), "written in")
    done = await asyncio.gather(*(apply(kit, p, progress) for p in todo))
    results: dict[str, Any] = {}
    failures: list[str] = []
    succeeded = 0
    for p, rows in zip(todo, done, strict=True):
        bad = [r for r in rows if r["result"] not in ("created", "updated", "deleted")]
        good = [r for r in rows if r not in bad]
        succeeded += len(good)
        counted: dict[str, int] = {}
        for r in rows:
            counted[r["result"]] = counted.get(r["result"], 0) + 1
        results[p.target.label] = {"results": counted, "objects": clip(good[:_ROWS])}
        if bad:
            results[p.target.label]["failed"] = clip(bad[:_ROWS])
            failures += [f"{p.target.label}: {r['kind']} {r['name']}: {r.get('error')}" for r in bad]
    answer["results"] = results
    for p in plans:
        if p.notes:
            results.setdefault(p.target.label, {}).update(p.notes)
    if failures or errors:
        detail = "; ".join(failures[:20] + [f"{k}: {v}" for k, v in errors.items()])
        kit.report_outcome("partial" if succeeded else "failed",
                           f"{len(failures)} object(s) failed, {len(errors)} workspace(s) not planned: {clip(detail, 4000)}")
    return answer
