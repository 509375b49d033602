"""KQL functions Sentinel content calls that duckdb-kql (a dependency) does not translate, added to its
function registry.

duckdb-kql keeps its KQL -> DuckDB mappings as data (``duckdb_kql.translate.functions``: one
``FunctionSpec`` per scalar function, one ``AggregateSpec`` per aggregation); the rows below extend those
tables, each a SQL template over DuckDB builtins with Kusto's meaning. :func:`install` adds them once per
process, before the first translation; a name duckdb-kql already maps is left to duckdb-kql.
"""

from __future__ import annotations

import dataclasses
import functools

#: A dotted IPv4 address with an optional CIDR prefix (no leading zeros: Kusto rejects ``01.2.3.4``).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}(/(3[0-2]|[12]?[0-9]))?$"
#: RFC 1918: 10/8, 172.16/12, 192.168/16 (what ``ipv4_is_private`` checks).
_PRIVATE = r"^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.)"


#: an IPv4 address inside text, not part of a longer run of digits and dots (group 2)
_IPV4_IN_TEXT = r"(^|[^0-9.])([0-9]{1,3}(\.[0-9]{1,3}){3})($|[^0-9.])"


def _prefixed(ip: str, prefixes: str) -> str:
    """SQL: ``ip`` is a valid address that one of ``prefixes`` (a SQL list) starts (a valid prefix is a whole
    address or ends with a dot; Kusto ignores any other)."""
    valid = f"regexp_matches({ip}, {_sql_regex(_IPV4)})"
    return (f"{valid} AND len(list_filter({prefixes}, lambda p: p = {ip} OR (right(p, 1) = '.' "
            f"AND starts_with({ip}, p)))) > 0")


def _sql_regex(pattern: str) -> str:
    """A regex as a SQL literal inside a ``str.format`` template (braces doubled)."""
    return "'" + pattern.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def _ip(arg: str) -> str:
    return f"trim(CAST({arg} AS VARCHAR))"


#: name -> (SQL template over {0}, {1}..., accepted argument counts, note)
SCALAR_TEMPLATES: dict[str, tuple[str, tuple[int, ...], str]] = {
    "ipv4_is_private": (
        f"(CASE WHEN regexp_matches({_ip('{0}')}, {_sql_regex(_IPV4)}) "
        f"THEN regexp_matches({_ip('{0}')}, {_sql_regex(_PRIVATE)}) END)",
        (1,), "null for text that is not an IPv4 address, as Kusto answers",
    ),
    "indexof_regex": (
        "(CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL "
        "WHEN regexp_matches(CAST({0} AS VARCHAR), {1}) "
        "THEN length(regexp_split_to_array(CAST({0} AS VARCHAR), {1})[1]) ELSE -1 END)",
        (2,), "0-based position of the first match, -1 when none (the text before it is its length)",
    ),
    "has_ipv4_prefix": (
        "(len(list_filter(regexp_extract_all(CAST({0} AS VARCHAR), " + _sql_regex(_IPV4_IN_TEXT) + ", 2), "
        "lambda ip: " + _prefixed("ip", "[{1}]") + ")) > 0)",
        (2,), "an IPv4 address in the text starts with the prefix (a full address, or one ending in a dot)",
    ),
    "has_any_ipv4_prefix": (
        "(len(list_filter(regexp_extract_all(CAST({0} AS VARCHAR), " + _sql_regex(_IPV4_IN_TEXT) + ", 2), "
        "lambda ip: " + _prefixed("ip", "CAST(to_json({1}) AS VARCHAR[])") + ")) > 0)",
        (2,), "as has_ipv4_prefix, for any prefix of the array",
    ),
    "parse_command_line": (
        "(CASE WHEN lower({1}) = 'windows' THEN to_json(list_transform(regexp_extract_all(CAST({0} AS VARCHAR), "
        + _sql_regex(r'(?:[^\s"]+|"[^"]*")+') + "), lambda a: replace(a, '\"', ''))) END)",
        (2,), "the arguments as Windows splits them (spaces outside quotes; quotes removed; backslash escapes "
              "before quotes are not interpreted)",
    ),
    "bag_keys": (
        "(CASE WHEN json_type(CAST({0} AS JSON)) = 'OBJECT' THEN to_json(json_keys(CAST({0} AS JSON))) END)",
        (1,), "the keys of a property bag, null for anything else",
    ),
}

#: name -> (SQL template, argument counts, output-name prefix)
AGGREGATE_TEMPLATES: dict[str, tuple[str, tuple[int, ...], str]] = {
    # property bags merged, later keys winning; no bag in the group gives {} (Kusto's empty bag)
    "make_bag": (
        "coalesce(list_reduce(list(CAST({0} AS JSON)) FILTER (WHERE json_type(CAST({0} AS JSON)) = 'OBJECT'), "
        "lambda a, b: json_merge_patch(a, b)), CAST('{{}}' AS JSON))",
        (1, 2), "bag",
    ),
}


def _dynamic(template: str) -> str:
    """A list-valued aggregation as a dynamic (JSON) array."""
    return template if template.startswith("to_json(") else f"to_json({template})"


def _arrays_only_if_dynamic(template: str) -> str:
    """``make_set``'s template with its array test limited to dynamic (JSON) input."""
    test = "json_type(TRY_CAST({0} AS JSON)) = 'ARRAY'"
    if test not in template:
        raise LookupError(f"duckdb-kql's make_set template changed shape: {template!r}")
    return template.replace(test, f"typeof({{0}}) = 'JSON' AND {test}")


def _conditional(base: str) -> str:
    """``make_list``'s / ``make_set``'s template with the predicate ``{1}`` added to its filter."""
    marker = "FILTER (WHERE {0} IS NOT NULL)"
    if marker not in base:
        raise LookupError(f"duckdb-kql's template changed shape: {base!r}")
    return base.replace(marker, "FILTER (WHERE {0} IS NOT NULL AND ({1}))")


@functools.cache
def install() -> None:
    """Add the rows above to duckdb-kql's registries (once; rows it already has are kept)."""
    from duckdb_kql.translate import functions as registry

    for name, (template, arities, note) in SCALAR_TEMPLATES.items():
        registry.SCALAR_FUNCTIONS.setdefault(name, registry.FunctionSpec(name, "template", template, arities,
                                                                          note=note))
    # make_set unions the arrays of a dynamic column; a string column holding "[...]" text is strings
    make_set = registry.AGGREGATE_FUNCTIONS["make_set"]
    registry.AGGREGATE_FUNCTIONS["make_set"] = dataclasses.replace(make_set, template=_arrays_only_if_dynamic(
        make_set.template))
    aggregates = dict(AGGREGATE_TEMPLATES)
    for name, base in (("make_list_if", "make_list"), ("make_set_if", "make_set")):
        spec = registry.AGGREGATE_FUNCTIONS[base]
        aggregates[name] = (_dynamic(_conditional(spec.template)), (2, 3), spec.prefix)
    # make_list is dynamic in Kusto (make_set already is here): string operators, mv-expand and the
    # answer then treat its result as the array it is, with its items as values, not as JSON text
    make_list = registry.AGGREGATE_FUNCTIONS["make_list"]
    registry.AGGREGATE_FUNCTIONS["make_list"] = dataclasses.replace(make_list, template=_dynamic(make_list.template))
    for name, (template, arities, prefix) in aggregates.items():
        registry.AGGREGATE_FUNCTIONS.setdefault(name, registry.AggregateSpec(name, template, arities,
                                                                              name_prefix=prefix))
