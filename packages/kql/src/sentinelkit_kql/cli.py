"""Command line: ``fetch`` Microsoft's parser into the cache, ``check`` a query (for humans and scripts).

    python -m sentinelkit_kql fetch [--tarball FILE] [--cache-dir DIR]
    python -m sentinelkit_kql check --table 'T(a:string)' 'T | where b == 1'
    python -m sentinelkit_kql check --schema workspace.json --get-watchlist --json - < query.kql

``check`` exits 0 when the query has no error, 1 when it has, 2 when it could not check (a bad
declaration, or no Microsoft parser with ``--require-microsoft``); ``fetch`` exits 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import package
from .engine import KqlValidator
from .errors import KqlError
from .schema import GET_WATCHLIST, Function, Schema, Table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sentinelkit_kql",
                                     description="Validate KQL with Microsoft's parser (Kusto.Language), offline.")
    commands = parser.add_subparsers(dest="command", required=True)

    fetch = commands.add_parser("fetch", help="download and verify Microsoft's parser into the cache; print where")
    fetch.add_argument("--tarball", type=Path, help=f"install from this local {package.TARBALL_NAME} instead")
    fetch.add_argument("--cache-dir", type=Path, help="cache folder (default: $SENTINELKIT_CACHE_DIR or the user cache)")

    check = commands.add_parser("check", help="validate a query; exit status 1 when it has errors")
    check.add_argument("query", help="the KQL text, or - to read it from standard input")
    check.add_argument("--table", action="append", default=[], metavar="'Name(col:type, ...)'",
                       help="declare a table (repeatable)")
    check.add_argument("--function", action="append", default=[], metavar="'Name(p:type) { body }'",
                       help="declare a stored function (repeatable)")
    check.add_argument("--schema", type=Path, help="a JSON schema file (the form of Schema.to_dict())")
    check.add_argument("--get-watchlist", action="store_true", help="declare Sentinel's _GetWatchlist(alias)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.add_argument("--cache-dir", type=Path, help="cache folder of Microsoft's parser")
    check.add_argument("--require-microsoft", action="store_true",
                       help="fail instead of falling back to a syntax-only check")
    return parser


def _schema(args: argparse.Namespace) -> Schema | None:
    base = Schema.from_dict(json.loads(args.schema.read_text())) if args.schema else Schema()
    tables = list(base.tables) + [Table.parse(t) for t in args.table]
    functions = list(base.functions) + [Function.parse(f) for f in args.function]
    if args.get_watchlist:
        functions.append(GET_WATCHLIST)
    if not (tables or functions or args.schema):
        return None
    return Schema(tables, functions, database=base.database)


def _fetch(args: argparse.Namespace) -> int:
    directory = package.ensure(args.cache_dir, tarball=args.tarball)
    print(f"{package.NAME} {package.VERSION} (verified) is in {directory}")
    return 0


def _check(args: argparse.Namespace) -> int:
    query = sys.stdin.read() if args.query == "-" else args.query
    validator = KqlValidator(cache_dir=args.cache_dir, require_microsoft=args.require_microsoft)
    try:
        result = validator.validate(query, _schema(args))
    finally:
        validator.close()
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.render())
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _fetch(args) if args.command == "fetch" else _check(args)
    except (KqlError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if args.command == "fetch" else 2
