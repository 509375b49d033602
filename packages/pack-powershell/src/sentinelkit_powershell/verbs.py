"""Which safety class a PowerShell verb implies (overridable per function in the configuration)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

READ_ONLY_VERBS = frozenset({"get", "show", "view", "export", "test", "find", "search", "measure", "compare",
                             "resolve", "read", "select", "format", "convertto", "convertfrom", "trace"})
ADDITIVE_VERBS = frozenset({"new", "add", "set", "update", "enable", "import", "assign", "start", "register",
                            "initialize", "connect", "copy", "send", "publish", "edit", "merge",
                            "install", "grant", "rename", "sync", "backup", "save", "write", "push"})
DESTRUCTIVE_VERBS = frozenset({"remove", "disable", "close", "clear", "stop", "reset", "delete", "unregister",
                               "uninstall", "revoke", "restore", "suspend", "disconnect", "block", "deny",
                               "dismount", "move", "undo", "unpublish", "purge", "invoke"})


def verb_safety(verb: str) -> str | None:
    """``read_only`` / ``additive`` / ``destructive``, or None for a verb this table does not know."""
    v = verb.lower()
    if v in READ_ONLY_VERBS:
        return "read_only"
    if v in ADDITIVE_VERBS:
        return "additive"
    if v in DESTRUCTIVE_VERBS:
        return "destructive"
    return None


def matches(name: str, patterns: list[str]) -> bool:
    """Case-insensitive glob match, as PowerShell names are case-insensitive."""
    return any(fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)


def override_for(name: str, overrides: Mapping[str, str]) -> str | None:
    for pattern, value in overrides.items():
        if fnmatch.fnmatchcase(name.lower(), pattern.lower()):
            return value
    return None
