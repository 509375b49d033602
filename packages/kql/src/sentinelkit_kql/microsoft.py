"""Microsoft's KQL parser (Kusto.Language, its JavaScript build) running in V8 through mini-racer.

One :class:`MicrosoftParser` holds one V8 isolate with the parser loaded (~0.8 s, ~170 MB). It is not
thread-safe: :class:`sentinelkit_kql.KqlValidator` serialises calls. Declared schemas are kept in V8
by fingerprint (a few, least recently used dropped first), so checking many queries against one
workspace declares its tables once.
"""

from __future__ import annotations

import atexit
import bisect
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from . import package
from .errors import EngineError
from .result import Diagnostic, Positions, Result, Severity, diagnostic
from .schema import Schema, Table

#: Our glue over Kusto.Language's API: declare a schema once under a key, check queries against it.
_GLUE = r"""
var sentinelkit = (function () {
  var K = Kusto.Language, S = K.Symbols, globals = {};
  function collect(list) {
    var n = System.Array.getCount(list, K.Diagnostic), out = [];
    for (var i = 0; i < n; i++) {
      var d = System.Array.getItem(list, i, K.Diagnostic);
      out.push([d.Code, d.Severity, d.Message, d.Start, d.Length]);
    }
    return out;
  }
  function table(t) {  // [name, "(columns)", open]
    var symbol = new S.TableSymbol.$ctor7(t[0], t[1], null);
    return t[2] ? symbol.WithIsOpen(true) : symbol;
  }
  function func(f) {  // [name, "(parameters)", body or null, "(result columns)", open result]
    if (f[2] !== null) return new S.FunctionSymbol.$ctor16(f[0], f[1], f[2], null);
    return new S.FunctionSymbol.$ctor6(f[0], table([f[0], f[3], f[4]]), S.Parameter.ParseList(f[1]), null);
  }
  function guard(what, action) {
    try { return action(); }
    catch (e) { throw new Error(what + ": " + String((e && e.message) || e).slice(0, 300)); }
  }
  return {
    declare: function (key, database, tables, functions) {
      return guard("declaring the schema", function () {
        var members = tables.map(table).concat(functions.map(func));
        globals[key] = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.ctor(database, members));
        return true;
      });
    },
    forget: function (key) { delete globals[key]; return true; },
    check: function (query, key) {
      return guard("checking the query", function () {
        if (key === null) return collect(K.KustoCode.Parse(query).GetSyntaxDiagnostics());
        return collect(K.KustoCode.ParseAndAnalyze(query, globals[key]).GetDiagnostics());
      });
    }
  };
})();
"""

#: Log Analytics' cross-resource functions; Kusto.Language does not know them (KS211 "unknown function").
CROSS_RESOURCE_FUNCTIONS = frozenset({"workspace", "app", "resource", "adx", "arg"})

PARSER = f"Kusto.Language ({package.NAME} {package.VERSION})"


def _new_context() -> Any:
    """A MiniRacer made on a thread with no running asyncio loop, so that it runs its own.

    MiniRacer adopts the caller's running loop if there is one; a validator created inside a
    coroutine would then hang once that loop is gone.
    """
    from py_mini_racer import MiniRacer

    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["context"] = MiniRacer()
        except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
            made["error"] = e

    thread = threading.Thread(target=make, name="sentinelkit-kql-v8")
    thread.start()
    thread.join()
    if "error" in made:
        raise EngineError(f"V8 (mini-racer) could not start: {made['error']}") from made["error"]
    return made["context"]


def _utf16_to_index(text: str) -> Any:
    """A function mapping JavaScript (UTF-16) offsets in ``text`` to Python string offsets."""
    if not text or max(text) <= "\uffff":
        return lambda offset: offset
    starts, unit = [], 0
    for ch in text:
        starts.append(unit)
        unit += 2 if ch > "\uffff" else 1
    starts.append(unit)
    return lambda offset: bisect.bisect_left(starts, offset)


def _severity(name: str) -> Severity:
    lowered = str(name).lower()
    return lowered if lowered in ("error", "warning", "suggestion", "information") else "warning"  # type: ignore[return-value]


def _declaration(schema: Schema) -> tuple[list[list[Any]], list[list[Any]]]:
    tables = [[t.name, t.declaration(), t.open] for t in schema.tables]
    functions = [[f.name, f.parameter_list(), None if f.body is None else f.body_text(),
                  Table(f.name, f.result).declaration(), f.open_result] for f in schema.functions]
    return tables, functions


class MicrosoftParser:
    """Kusto.Language loaded into one V8 isolate. Not thread-safe (see module docstring)."""

    def __init__(self, directory: Path, *, timeout: float = 30.0, schemas_kept: int = 16) -> None:
        package.verify(directory)
        self.timeout = timeout
        self._schemas_kept = schemas_kept
        self._declared: OrderedDict[str, None] = OrderedDict()
        self._context = _new_context()
        atexit.register(self.close)  # V8 must be torn down before the interpreter, or exit hangs
        from py_mini_racer import JSEvalException

        try:
            self._context.eval("globalThis.global = globalThis;")
            for name in ("bridge.min.js", "Kusto.Language.Bridge.min.js"):
                self._context.eval((directory / name).read_text(encoding="utf-8"))
            self._context.eval(_GLUE)
        except (JSEvalException, OSError, UnicodeDecodeError) as e:
            self.close()
            raise EngineError(f"Microsoft's KQL parser did not load from {directory}: {str(e)[:300]}") from None

    def close(self) -> None:
        context, self._context = getattr(self, "_context", None), None
        atexit.unregister(self.close)
        if context is not None:
            context.close()

    def _call(self, function: str, *args: Any, timeout: float | None = None) -> Any:
        from py_mini_racer import JSEvalException, JSTimeoutException

        if self._context is None:
            raise EngineError("the parser was closed")
        limit = timeout or self.timeout
        try:
            return self._context.call(f"sentinelkit.{function}", *args, timeout_sec=limit)
        except JSTimeoutException:
            raise EngineError(f"Microsoft's KQL parser did not finish within {limit:g} s") from None
        except JSEvalException as e:
            raise EngineError(f"Microsoft's KQL parser failed: {str(e)[:300]}") from None

    def _key(self, schema: Schema, timeout: float | None) -> str:
        key = schema.key
        if key in self._declared:
            self._declared.move_to_end(key)
            return key
        tables, functions = _declaration(schema)
        self._call("declare", key, schema.database, tables, functions, timeout=timeout)
        self._declared[key] = None
        while len(self._declared) > self._schemas_kept:
            old, _ = self._declared.popitem(last=False)
            self._call("forget", old)
        return key

    def check(self, query: str, schema: Schema | None, *, timeout: float | None = None) -> Result:
        """Syntax only when ``schema`` is None; syntax, names and types against it otherwise."""
        raw = self._call("check", query, None if schema is None else self._key(schema, timeout), timeout=timeout)
        to_index = _utf16_to_index(query)
        positions = Positions(query)
        diagnostics: list[Diagnostic] = []
        unchecked: set[str] = set()
        for code, severity, message, start, length in raw:
            begin, end = to_index(start), to_index(start + length)
            if code == "KS211" and query[begin:end] in CROSS_RESOURCE_FUNCTIONS:
                unchecked.add(query[begin:end])
                continue
            diagnostics.append(diagnostic(positions, code, _severity(severity), message, begin, end - begin))
        reason = None
        if unchecked:
            names = ", ".join(f"{n}()" for n in sorted(unchecked))
            reason = (f"{names} and what it reads were not checked: Microsoft's parser does not know "
                      f"Log Analytics' cross-resource functions")
        return Result(query, tuple(diagnostics), "microsoft", "syntax" if schema is None else "schema",
                      complete=not unchecked, reason=reason)
