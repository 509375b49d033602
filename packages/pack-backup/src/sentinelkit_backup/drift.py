"""Configuration drift: every chosen workspace, across tenants, against a baseline — a backup folder or a
"golden" workspace read live — and ``drift_fix``, which applies the baseline through the same plan /
confirmation / etag path as a restore.

The baseline is pointed at each workspace before comparing (its kinds rewrite workspace references), so a
rule that only differs by the workspace it names is the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinelkit import ADDITIVE, READ_ONLY, ContentKind, Kit, KitError, Targets, Workspace, tool

from .compare import KindDiff, compare
from .content import Objects, Progress, choose_kinds, key, pointed, read_workspace
from .manifest import WorkspaceEntry
from .plan import Plan, carry_out, make_plan
from .store import Backup, check_kind_names, load, open_backup

#: summary lines in an answer
_LINES = 40


@dataclass
class Baseline:
    """What one workspace is compared with: the objects per kind, the workspace they were read from, the kinds
    read completely (a fix may prune only those) and what could not be used."""

    label: str
    source: Workspace
    objects: dict[str, Objects]
    complete: set[str]
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reference:
    """The baseline of a call: one for every workspace (a golden workspace, or one workspace of a backup), or
    each workspace's own state in a backup of several (``own``: ARM id, lower case → its backup entry)."""

    label: str
    golden: Baseline | None
    backup: Backup | None = None
    own: dict[str, WorkspaceEntry] = field(default_factory=dict)
    kinds: Sequence[str] | None = None
    names: Sequence[str] | None = None

    def kind_list(self, kit: Kit) -> list[ContentKind]:
        if self.golden is not None:
            return [o.kind for o in self.golden.objects.values()]
        assert self.backup is not None
        installed = kit.content_kinds()
        wanted = self.kinds or list(self.backup.manifest.kinds)
        return [installed[k] for k in wanted if k in installed and k in self.backup.manifest.kinds]

    def for_workspace(self, kit: Kit, ws: Workspace) -> Baseline:
        if self.golden is not None:
            return self.golden
        assert self.backup is not None
        entry = self.own.get(ws.id.lower())
        if entry is None:
            raise KitError(f"backup {self.backup.folder} holds no state of {ws.label}: give baseline_workspace to "
                           "compare it with one of the backup's workspaces")
        return _from_backup(kit, self.backup, entry, self.kinds, self.names)


def _from_backup(kit: Kit, backup: Backup, entry: WorkspaceEntry, kinds: Sequence[str] | None,
                 names: Sequence[str] | None) -> Baseline:
    loaded = load(kit, backup, entry, kinds, names)
    notes = loaded.notes()
    if backup.manifest.status == "incomplete":
        notes["baseline_incomplete"] = "the backup's export did not finish: it holds only what was written"
    return Baseline(f"backup {backup.folder} ({entry.folder})", entry.workspace(), loaded.objects,
                    loaded.complete & set(loaded.objects), notes)


async def read_reference(kit: Kit, baseline: str | None, golden: str | None, baseline_workspace: str | None,
                         kinds: Sequence[str] | None, names: Sequence[str] | None) -> Reference:
    if (baseline is None) == (golden is None):
        raise KitError("give the baseline as either `baseline` (a backup folder, see backup_list) or `golden` (a "
                       "workspace whose content is the reference), not both or neither")
    if baseline is not None:
        opened = open_backup(kit, baseline)
        check_kind_names(kit, opened, kinds)
        if baseline_workspace is not None or len(opened.manifest.workspaces) == 1:
            base = _from_backup(kit, opened, opened.choose(baseline_workspace, what="baseline_workspace"), kinds, names)
            return Reference(base.label, base)
        return Reference(f"backup {opened.folder} (each workspace against its own state)", None, opened,
                         {w.id.lower(): w for w in opened.manifest.workspaces}, kinds, names)
    ws = await kit.workspace_details(await kit.workspace(str(golden)))
    read = await read_workspace(kit, ws, choose_kinds(kit, kinds))
    only = {key(n) for n in names} if names else None
    objects: dict[str, Objects] = {}
    notes: dict[str, Any] = {}
    for name, found in read.items():
        if found.error:
            notes.setdefault("unreadable_kinds", {})[name] = found.error
            continue
        if only is not None:
            for k in set(found.normalized) - only:
                found.normalized.pop(k), found.identities.pop(k), found.listed.pop(k, None)
        objects[name] = found
    complete = {n for n, o in objects.items() if not o.problems}
    base = Baseline(f"workspace {ws.label}", ws, objects, complete, notes)
    return Reference(base.label, base)


async def _targets(kit: Kit, ref: Reference, workspaces: list[str] | str | None, tenant: str | None) -> Targets:
    """The chosen workspaces (default: a backup's own, or every Sentinel workspace but the baseline's own), with
    what discovery missed and what a policy refuses."""
    named = workspaces is not None
    if not named and ref.golden is None:
        workspaces = [entry.id for entry in ref.own.values()]
    chosen = await kit.targets(workspaces=workspaces, tenant=tenant)
    golden = ref.golden.source.id.lower() if ref.golden is not None and not named else None
    others = tuple(ws for ws in chosen if ws.id.lower() != golden)
    if not others:
        raise KitError(f"no workspace to compare with the baseline ({ref.label}): name workspaces other than "
                       "the baseline's own")
    return Targets(others, unreachable=chosen.unreachable, refused=chosen.refused)


def _who(labels: list[str], tenants: list[str]) -> str:
    noun = "customers" if len(set(tenants)) == len(labels) > 1 else ("customer" if len(labels) == 1 else "workspaces")
    return f"{len(labels)} {noun} ({', '.join(labels)})"


def summary_lines(diffs: dict[str, tuple[Workspace, dict[str, KindDiff]]], titles: dict[str, str]) -> list[str]:
    """"analytics rules: 3 customers lack 'Brute force against Azure Portal' (...)", most widespread first."""
    missing: dict[tuple[str, str], list[Workspace]] = {}
    different: dict[tuple[str, str], tuple[list[Workspace], set[str]]] = {}
    extra: dict[tuple[str, str], list[Workspace]] = {}
    for ws, per_kind in diffs.values():
        for name, d in per_kind.items():
            for identity in d.removed:
                missing.setdefault((name, identity), []).append(ws)
            for identity, found in d.changed.items():
                entry = different.setdefault((name, identity), ([], set()))
                entry[0].append(ws)
                entry[1].update(x["path"] for x in found)
            for identity in d.added:
                extra.setdefault((name, identity), []).append(ws)
    lines: list[tuple[int, str]] = []
    for (name, identity), where in missing.items():
        lines.append((len(where) * 3, f"{titles[name]}: {_who([w.label for w in where], [w.tenant_label for w in where])}"
                                      f" lack {identity!r}"))
    for (name, identity), (where, paths) in different.items():
        fields = sorted(paths)
        lines.append((len(where) * 2, f"{titles[name]}: {identity!r} differs from the baseline in "
                                      f"{_who([w.label for w in where], [w.tenant_label for w in where])}: "
                                      + ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")))
    for (name, identity), where in extra.items():
        lines.append((len(where), f"{titles[name]}: {identity!r} is not in the baseline but "
                                  f"{_who([w.label for w in where], [w.tenant_label for w in where])} "
                                  f"{'has' if len(where) == 1 else 'have'} it"))
    return [text for _, text in sorted(lines, key=lambda x: (-x[0], x[1]))]


@tool(READ_ONLY, title="Configuration drift against a baseline")
async def drift_check(kit: Kit, baseline: str | None = None, golden: str | None = None,
                      baseline_workspace: str | None = None, workspaces: list[str] | str | None = None,
                      tenant: str | None = None, kinds: list[str] | None = None, names: list[str] | None = None,
                      limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Compare every chosen workspace, across tenants in one call, with a baseline: a backup folder or a "golden"
    workspace. Per workspace and kind: what is missing, extra or different (with the fields that differ),
    summarised across workspaces ("analytics rules: 3 customers lack 'Brute force against Azure Portal'").
    drift_fix applies the baseline.

    Args:
        baseline: A backup folder (see backup_list) holding the reference content.
        golden: Or a workspace (alias, name or ARM id) whose current content is the reference.
        baseline_workspace: Which of the backup's workspaces is the reference, when it holds several.
        workspaces: Workspaces to check (names, aliases or ids), or "all" (the default): every Sentinel workspace but the golden one.
        tenant: Only workspaces of this tenant.
        kinds: Only these kinds of content (default: every kind of the baseline).
        names: Only the objects with these names (identities).
        limit: Drift rows per page.
        cursor: next_cursor of the previous page.
    """
    ref = await read_reference(kit, baseline, golden, baseline_workspace, kinds, names)
    targets = await _targets(kit, ref, workspaces, tenant)
    kind_list = ref.kind_list(kit)
    progress = Progress(kit, len(targets) * max(1, len(kind_list)), "checked")
    only = {key(n) for n in names} if names else None
    notes: dict[str, Any] = {}

    async def one(ws: Workspace) -> dict[str, KindDiff]:
        base = ref.for_workspace(kit, ws)
        ws = await kit.workspace_details(ws)
        live = await read_workspace(kit, ws, [o.kind for o in base.objects.values()], progress)
        if base.notes:
            notes[ws.label] = base.notes
        out: dict[str, KindDiff] = {}
        for name, want in base.objects.items():
            if live[name].error:
                raise KitError(f"{want.kind.title} could not be read: {live[name].error}")
            have = live[name]
            if only is not None:
                have.normalized = {k: v for k, v in have.normalized.items() if k in only}
            out[name] = compare(pointed(want, base.source, ws), have)
        return out

    done = await kit.fan_out(targets, one, progress=False)
    diffs = {done.key(ws): (ws, d) for ws, d in done.results}
    rows: list[dict[str, Any]] = []
    per_workspace: dict[str, dict[str, int]] = {}
    for label, (_, per_kind) in diffs.items():
        counts = {"missing": 0, "extra": 0, "different": 0, "same": 0}
        for name, d in per_kind.items():
            counts["missing"] += len(d.removed)
            counts["extra"] += len(d.added)
            counts["different"] += len(d.changed)
            counts["same"] += d.same
            rows += [{"workspace": label, "kind": name, "name": i, "state": "missing"} for i in d.removed]
            rows += [{"workspace": label, "kind": name, "name": i, "state": "different",
                      "fields": [x["path"] for x in found][:20]} for i, found in d.changed.items()]
            rows += [{"workspace": label, "kind": name, "name": i, "state": "extra"} for i in d.added]
        per_workspace[label] = counts
    lines = summary_lines(diffs, {k.name: k.title for k in kit.content_kinds().values()})
    extra: dict[str, Any] = {"baseline": ref.label, "workspaces": per_workspace,
                             "summary": lines[:_LINES] + ([f"... and {len(lines) - _LINES} more lines"]
                                                          if len(lines) > _LINES else [])}
    if done.failed:
        extra["errors"] = done.error_messages()
    if notes:
        extra["notes"] = notes if ref.golden is None else next(iter(notes.values()))
    return kit.page(rows, limit=limit, cursor=cursor, key="drift", extra=extra)


@tool(ADDITIVE, title="Apply a baseline to drifted workspaces", can_remove=True)
async def drift_fix(kit: Kit, baseline: str | None = None, golden: str | None = None,
                    baseline_workspace: str | None = None, workspaces: list[str] | str | None = None,
                    tenant: str | None = None, kinds: list[str] | None = None, names: list[str] | None = None,
                    prune: bool = False) -> dict[str, Any]:
    """Make workspaces match a baseline (a backup folder or a golden workspace), across tenants: what drift_check
    finds missing is created and what differs is updated, with workspace references rewritten, through a plan per
    object, one confirmation for every workspace (use dry_run to see it), etags and per-object results. Extra
    objects are kept unless prune=true. Deleting, or an update that removes or lowers something, is confirmed like
    a destructive change.

    Args:
        baseline: A backup folder (see backup_list) holding the reference content.
        golden: Or a workspace (alias, name or ARM id) whose current content is the reference.
        baseline_workspace: Which of the backup's workspaces is the reference, when it holds several.
        workspaces: Workspaces to fix (names, aliases or ids), or "all" (the default): every Sentinel workspace but the golden one.
        tenant: Only workspaces of this tenant.
        kinds: Only these kinds of content (default: every kind of the baseline).
        names: Only the objects with these names (identities).
        prune: Also delete what a workspace has and the baseline lacks (kinds the baseline holds completely). Destructive.
    """
    ref = await read_reference(kit, baseline, golden, baseline_workspace, kinds, names)
    targets = await _targets(kit, ref, workspaces, tenant)
    progress = Progress(kit, len(targets) * max(1, len(ref.kind_list(kit))), "planned")
    only = {key(n) for n in names} if names else None

    async def one(ws: Workspace) -> Plan:
        base = ref.for_workspace(kit, ws)
        ws = await kit.workspace_details(ws)
        plan = await make_plan(kit, ws, base.source, base.objects, base=None,
                               prunable=base.complete if prune else set(), progress=progress, only=only)
        plan.notes.update(base.notes)
        return plan

    done = await kit.fan_out(targets, one, progress=False)
    return await carry_out(kit, [p for _, p in done.results], done.error_messages(),
                           f"apply baseline {ref.label}")
