"""Check emulator JSON responses against the Azure REST API (swagger 2.0) response schemas.

Test-support module, not a test file. The specs live in ``<repo>/../shared/azure-rest-specs``, which exists in
CI but not on users' machines, so every test using this module must carry :data:`requires_specs`.

Swagger 2.0 schemas are validated as JSON Schema draft 4 (``jsonschema`` + ``referencing``) after a rewrite of the
Azure extensions that draft 4 does not know: ``x-nullable``, ``x-ms-enum.modelAsString``, ``type: file`` and
``discriminator`` polymorphism (see :func:`_swaggerize` and :func:`_add_polymorphism`).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin

import pytest
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

__all__ = ["SPECS_DIR", "operation_ids", "requires_specs", "response_schema", "validate_response"]

SPECS_ENV_VAR = "SENTINELKIT_SPECS_DIR"


def _find_specs_dir() -> Path:
    """The env var wins; else the nearest ancestor's ``shared/azure-rest-specs`` (a sibling of the repo root)."""
    override = os.environ.get(SPECS_ENV_VAR)
    if override:
        return Path(override).expanduser()
    here = Path(__file__).resolve().parent
    for ancestor in here.parents:
        candidate = ancestor / "shared" / "azure-rest-specs"
        if candidate.is_dir():
            return candidate
    repo = next((p for p in here.parents if (p / ".git").exists()), here.parents[2])
    return repo.parent / "shared" / "azure-rest-specs"


SPECS_DIR: Path = _find_specs_dir()

requires_specs = pytest.mark.skipif(
    not SPECS_DIR.is_dir(),
    reason=(
        f"Azure REST specs not found at {SPECS_DIR}; conformance checks need ../shared/azure-rest-specs "
        f"(present in CI; or set {SPECS_ENV_VAR})"
    ),
)

# Documents get a fake, never-fetched base URI so relative ``$ref``s join like paths under the specs folder.
_ROOT_URI = "https://azure-rest-specs.invalid/"
# Private keywords the rewrite introduces; handled by the validator class below.
_NULLABLE = "x-sk-nullable"
_DISPATCH = "x-sk-discriminator"
_PLAIN = "x-sk-plain"
_HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
_MAX_MESSAGE = 300


# ---------------------------------------------------------------------------------------------------------------
# Loading and rewriting documents


def _uri(rel: str) -> str:
    return _ROOT_URI + quote(rel)


def _rel_from_uri(uri: str) -> str:
    """Map a document URI back to a path under SPECS_DIR, applying the README's ``common-types/`` rule."""
    if not uri.startswith(_ROOT_URI):
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    rel = unquote(uri[len(_ROOT_URI) :])
    if "common-types/" in rel:  # upstream refs climb more ``../`` than this folder is deep
        rel = "common-types/" + rel.split("common-types/", 1)[1]
    return rel


@functools.cache
def _raw(rel: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SPECS_DIR / rel).read_text(encoding="utf-8"))
    return doc


@functools.cache
def _document(rel: str) -> dict[str, Any]:
    """A spec file rewritten for draft-4 validation (a fresh copy; the raw file stays untouched)."""
    doc: dict[str, Any] = _swaggerize(_raw(rel))
    _add_polymorphism(doc, _uri(rel))
    return doc


def _swaggerize(node: Any, prop_map: bool = False) -> Any:
    """Rewrite the swagger extensions draft 4 lacks, anywhere in the document (non-schema parts are harmless).

    - ``x-ms-enum.modelAsString: true`` marks an extensible enum: drop ``enum`` so new values pass.
    - ``type: file`` (a stream) has no JSON meaning: drop the type.
    - ``x-nullable: true``: wrap in a keyword that accepts ``null`` and otherwise validates the schema. Wrapping
      (rather than adding ``"null"`` to ``type``) also works for ``$ref`` schemas, whose siblings draft 4 ignores.
    - A property missing from ``required`` also accepts ``null`` unless it says ``x-nullable: false``: ARM
      services send ``null`` for unset optional properties, the spec examples do too, and Azure's own response
      validator (oav) treats them so. Without this, 5 of the 8 Sentinel alert-rule examples fail.

    ``prop_map`` marks the value of a ``properties`` keyword, whose keys are property names, not keywords.
    """
    if isinstance(node, list):
        return [_swaggerize(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _swaggerize(value, key == "properties" and not prop_map) for key, value in node.items()}
    if prop_map:
        return out
    props, required = out.get("properties"), out.get("required")
    if isinstance(props, dict):
        optional = set(props) - set(required if isinstance(required, list) else [])
        for name in optional:
            prop = props[name]
            if isinstance(prop, dict) and _NULLABLE not in prop and prop.get("x-nullable") is not False:
                props[name] = {_NULLABLE: prop}
    x_ms_enum = out.get("x-ms-enum")
    if isinstance(x_ms_enum, dict) and x_ms_enum.get("modelAsString") is True:
        out.pop("enum", None)
    if out.get("type") == "file":
        del out["type"]
    if out.get("x-nullable") is True:
        del out["x-nullable"]
        return {_NULLABLE: out}
    return out


def _core(schema: dict[str, Any]) -> dict[str, Any]:
    inner = schema.get(_NULLABLE)
    return inner if isinstance(inner, dict) else schema


def _add_polymorphism(doc: dict[str, Any], doc_uri: str) -> None:
    """Make each ``discriminator`` base also validate the subtype its discriminator value names.

    A base gets a dispatch keyword mapping values (``x-ms-discriminator-value`` or the definition name) to the
    definitions of this file that ``allOf``-inherit from it, directly or not. Subtypes' ``allOf`` refs to a base are
    pointed at a dispatch-free copy under ``#/x-sk-plain/``, which breaks the base -> subtype -> base cycle.
    """
    defs: dict[str, Any] = doc.get("definitions") or {}
    bases = {n for n, s in defs.items() if isinstance(s, dict) and isinstance(_core(s).get("discriminator"), str)}
    if not bases:
        return

    def parents(name: str) -> list[str]:
        refs = (item.get("$ref") for item in _core(defs[name]).get("allOf") or [] if isinstance(item, dict))
        return [r.removeprefix("#/definitions/") for r in refs if isinstance(r, str) and r.startswith("#/definitions/")]

    def ancestors(name: str) -> set[str]:
        seen: set[str] = set()
        todo = parents(name)
        while todo:
            parent = todo.pop()
            if parent in defs and parent not in seen:
                seen.add(parent)
                todo.extend(parents(parent))
        return seen

    mappings: dict[str, dict[str, str]] = {base: {} for base in bases}
    for name, schema in defs.items():
        if not isinstance(schema, dict):
            continue
        core = _core(schema)
        value = core.get("x-ms-discriminator-value", name)
        for base in ancestors(name) & bases:
            mappings[base].setdefault(value, f"{doc_uri}#/definitions/{quote(name)}")
        for item in core.get("allOf") or []:
            if isinstance(item, dict) and item.get("$ref", "").removeprefix("#/definitions/") in bases:
                item["$ref"] = f"#/{_PLAIN}/" + item["$ref"].removeprefix("#/definitions/")

    plain: dict[str, Any] = doc.setdefault(_PLAIN, {})
    for base in bases:
        core = _core(defs[base])
        plain[base] = {key: value for key, value in core.items() if key != "discriminator"}
        core[_DISPATCH] = {"property": core["discriminator"], "mapping": mappings[base]}


@functools.cache
def _retrieve(uri: str) -> Resource[Any]:
    """Registry fallback: serve a spec file from disk, rewritten."""
    rel = _rel_from_uri(uri)
    if not (SPECS_DIR / rel).is_file():
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    return DRAFT4.create_resource(_document(rel))


def _external_refs(node: Any, base: str) -> Iterator[str]:
    """Absolute URIs (without fragment) of the other files a document refers to, examples excepted."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
                yield urldefrag(urljoin(base, value)).url
            elif key != "x-ms-examples":
                yield from _external_refs(value, base)
    elif isinstance(node, list):
        for item in node:
            yield from _external_refs(item, base)


@functools.cache
def _registry(spec_file: str) -> Registry[Any]:
    """A crawled registry holding ``spec_file`` and every file it reaches through ``$ref``s.

    Preloading matters: a resource the registry has to retrieve during validation is re-crawled on each lookup
    (``referencing`` registries are immutable), which made a 50-incident list take ~200 ms instead of ~20 ms.
    """
    resources: dict[str, Resource[Any]] = {}
    todo = [_uri(spec_file)]
    while todo:
        uri = todo.pop()
        if uri in resources:
            continue
        try:
            resources[uri] = _retrieve(uri)
        except NoSuchResource:
            continue  # reported by the lookup that needs it, if a response schema ever does
        todo.extend(_external_refs(resources[uri].contents, uri))
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return registry.with_resources(resources.items()).crawl()


# ---------------------------------------------------------------------------------------------------------------
# Validator class: draft 4 plus the private keywords and the formats ARM uses


def _nullable(validator: Any, inner: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if instance is not None:
        yield from validator.descend(instance, inner)


def _dispatch(validator: Any, spec: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """Validate against the subtype the discriminator names; unknown or missing values only get the base."""
    if not isinstance(instance, dict):
        return
    value = instance.get(spec["property"])
    target = spec["mapping"].get(value) if isinstance(value, str) else None
    if target is not None:
        yield from validator.descend(instance, {"$ref": target})


_DATE_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|[+-](\d\d):(\d\d))$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DURATION = re.compile(
    r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
_FORMATS = FormatChecker(formats=())  # only the checks below; other formats (uri, arm-id, int32...) pass


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 with any number of fraction digits (ARM sends 7) and a required offset."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second, off_h, off_m = (int(g) if g else 0 for g in match.groups())
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # 60 = leap second
    except ValueError:
        return False
    return off_h < 24 and off_m < 60


@_FORMATS.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return len(value) == 10 and date.fromisoformat(value) is not None
    except ValueError:
        return False


@_FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or _UUID.match(value) is not None


@_FORMATS.checks("duration")
def _is_duration(value: object) -> bool:
    """ISO 8601 duration such as ``PT5H`` or ``P1DT2H`` (the form ARM uses for ``format: duration``)."""
    return not isinstance(value, str) or _DURATION.match(value) is not None


_SwaggerValidator = extend(  # type: ignore[no-untyped-call]
    Draft4Validator, validators={_NULLABLE: _nullable, _DISPATCH: _dispatch}
)


# ---------------------------------------------------------------------------------------------------------------
# Operations and responses


@functools.cache
def _operations(spec_file: str) -> dict[str, tuple[str, str, str]]:
    """operationId -> (``paths`` or ``x-ms-paths``, path template, method)."""
    doc = _document(spec_file)
    found: dict[str, tuple[str, str, str]] = {}
    for section in ("paths", "x-ms-paths"):
        for path, item in (doc.get(section) or {}).items():
            for method in _HTTP_METHODS:
                op = item.get(method)
                if isinstance(op, dict) and "operationId" in op:
                    found[op["operationId"]] = (section, path, method)
    return found


def operation_ids(spec_file: str) -> list[str]:
    """All operationIds of a spec file (``paths`` and ``x-ms-paths``), sorted."""
    return sorted(_operations(spec_file))


def _pointer(*segments: str) -> str:
    return "".join("/" + quote(s.replace("~", "~0").replace("/", "~1"), safe="~") for s in segments)


@functools.cache
def _schema_uri(spec_file: str, operation_id: str, status: int) -> str | None:
    """Absolute URI of the response schema, or None when that response declares no body."""
    ops = _operations(spec_file)
    if operation_id not in ops:
        raise KeyError(f"{operation_id!r} is not an operationId of {spec_file}; known: {', '.join(sorted(ops))}")
    section, path, method = ops[operation_id]
    doc = _document(spec_file)
    responses: dict[str, Any] = doc[section][path][method]["responses"]
    key = str(status)
    if key not in responses:
        if status >= 400 and "default" in responses:
            key = "default"
        else:
            raise AssertionError(
                f"{spec_file} {operation_id}: status {status} is not declared (declared: {', '.join(responses)})"
            )
    uri = f"{_uri(spec_file)}#{_pointer(section, path, method, 'responses', key)}"
    resolved = _registry(spec_file).resolver().lookup(uri)
    while isinstance(resolved.contents, dict) and "$ref" in resolved.contents:  # shared ``#/responses/...``
        uri = urljoin(uri, resolved.contents["$ref"])
        resolved = resolved.resolver.lookup(uri)
    if not isinstance(resolved.contents, dict) or "schema" not in resolved.contents:
        return None
    return f"{uri}/schema"


def response_schema(spec_file: str, operation_id: str, status: int) -> dict[str, Any] | None:
    """A copy of the (rewritten) schema of a response, top-level ``$ref``s followed; None if it has no body.

    Nested ``$ref``s are left in place: Azure schemas are recursive, so they cannot be fully inlined. Nullable
    schemas appear wrapped as ``{"x-sk-nullable": <schema>}`` (see :func:`_swaggerize`).
    """
    uri = _schema_uri(spec_file, operation_id, status)
    if uri is None:
        return None
    resolved = _registry(spec_file).resolver().lookup(uri)
    while isinstance(resolved.contents, dict) and set(resolved.contents) == {"$ref"}:
        resolved = resolved.resolver.lookup(resolved.contents["$ref"])
    schema: dict[str, Any] = copy.deepcopy(resolved.contents)  # callers must not mutate the cached documents
    return schema


@functools.cache
def _validator(spec_file: str, operation_id: str, status: int) -> Validator | None:
    uri = _schema_uri(spec_file, operation_id, status)
    if uri is None:
        return None
    validator: Validator = _SwaggerValidator({"$ref": uri}, registry=_registry(spec_file), format_checker=_FORMATS)
    return validator


def _json_pointer(error: ValidationError) -> str:
    path = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path)
    return path or "(root)"


def validate_response(spec_file: str, operation_id: str, status: int, body: Any) -> None:
    """Assert that ``body`` conforms to the schema ``spec_file`` declares for the operation and status.

    ``spec_file`` is relative to :data:`SPECS_DIR`. An undeclared status falls back to ``default`` only for
    error statuses (>= 400). A response without a declared schema accepts any body. Raises ``AssertionError``
    listing every violation as ``<JSON pointer>: <message>``; ``KeyError`` for an unknown operationId.
    """
    validator = _validator(spec_file, operation_id, status)
    if validator is None:
        return
    problems: dict[str, None] = {}  # a set of lines; identical errors from different schema paths count once
    for error in validator.iter_errors(body):
        message = error.message if len(error.message) <= _MAX_MESSAGE else error.message[:_MAX_MESSAGE] + "..."
        problems[f"{_json_pointer(error)}: {message}"] = None
    if problems:
        lines = "\n".join(f"  {p}" for p in sorted(problems))
        raise AssertionError(f"{spec_file} {operation_id} {status}: {len(problems)} spec violation(s):\n{lines}")
