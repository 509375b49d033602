"""Validate KQL the way Microsoft's own tooling does, offline.

``validate(query, schema)`` checks a query with Microsoft's parser (Kusto.Language, run in V8 by
mini-racer, fetched from the npm registry on first use and verified) against the tables and
functions a :class:`Schema` declares. Without the ``microsoft`` extra, or when the parser cannot be
fetched, the check is syntax-only (duckdb-kql's grammar) and the result says so
(``complete=False``, ``engine="syntax-only"``, ``reason``).

Importing this package is cheap: nothing is loaded or downloaded before the first validation.
"""

from .engine import KqlValidator, SchemaLike, avalidate, shared_validator, validate
from .errors import EngineError, KqlError, PackageError
from .result import Diagnostic, Engine, Result, Scope, Severity
from .schema import GET_WATCHLIST, KQL_TYPES, Function, Parameter, Schema, Table, kql_type

__all__ = [
    "GET_WATCHLIST",
    "KQL_TYPES",
    "Diagnostic",
    "Engine",
    "EngineError",
    "Function",
    "KqlError",
    "KqlValidator",
    "PackageError",
    "Parameter",
    "Result",
    "Schema",
    "SchemaLike",
    "Scope",
    "Severity",
    "Table",
    "avalidate",
    "kql_type",
    "shared_validator",
    "validate",
]
