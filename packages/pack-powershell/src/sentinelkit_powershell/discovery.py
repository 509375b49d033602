"""Static discovery of a PowerShell script's functions with tree-sitter-powershell.

Reads function names, ``param()`` blocks (types, ``[Parameter()]`` flags, validation attributes,
literal defaults) and comment-based help without pwsh and without running the script, so that the
tools can be listed on any machine and nothing in the script executes at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .help import HelpInfo, is_help_comment, parse_help


class _NotLiteral:
    """A default value that is an expression (``(Get-Date).AddDays(-7)``): PowerShell computes it."""

    def __repr__(self) -> str:
        return "NOT_LITERAL"


NOT_LITERAL: Any = _NotLiteral()
NO_DEFAULT: Any = type("_NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()

_WRAPPERS = {
    "logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
    "multiplicative_expression", "format_expression", "range_expression", "array_literal_expression",
    "unary_expression", "pipeline", "pipeline_chain", "statement_list", "string_literal", "integer_literal",
    "parenthesized_expression", "attribute_argument",
}
_TYPE_ALIASES = {"system.string": "string", "system.int32": "int", "int32": "int", "system.boolean": "bool",
                 "boolean": "bool", "system.datetime": "datetime", "system.collections.hashtable": "hashtable",
                 "system.management.automation.switchparameter": "switch", "switchparameter": "switch",
                 "int64": "long", "system.int64": "long", "system.double": "double", "system.guid": "guid",
                 "system.object": "object"}

_SHORT_NAMES = {"string", "hashtable", "guid", "datetime", "pscredential", "scriptblock", "securestring", "timespan",
                "uri", "boolean", "double", "decimal", "ipaddress", "version", "pscustomobject", "psobject", "object",
                "datetimeoffset", "mailaddress", "regex"}


@dataclass
class ParamInfo:
    """One parameter of a function's ``param()`` block, as declared."""

    name: str
    type_name: str = "object"  # lower-case PowerShell type without the [] suffix
    is_array: bool = False
    mandatory: bool = False
    default: Any = NO_DEFAULT  # a Python literal, NOT_LITERAL (an expression) or NO_DEFAULT
    default_text: str | None = None
    validate_set: list[Any] | None = None
    validate_range: tuple[Any, Any] | None = None
    validate_length: tuple[int, int] | None = None
    validate_count: tuple[int, int] | None = None
    validate_pattern: str | None = None
    not_null_or_empty: bool = False
    help: str = ""
    aliases: list[str] = field(default_factory=list)
    position: int | None = None
    parameter_sets: list[str] = field(default_factory=list)
    value_from_pipeline: bool = False

    @property
    def is_switch(self) -> bool:
        return self.type_name == "switch"


@dataclass
class FunctionInfo:
    """One function found in a script: what the generated tool needs to know about it."""

    name: str
    script: Path
    line: int
    params: list[ParamInfo] = field(default_factory=list)
    help: HelpInfo = field(default_factory=HelpInfo)
    cmdlet_binding: bool = False
    supports_should_process: bool = False
    calls_should_process: bool = False
    default_parameter_set: str | None = None
    nested: bool = False  # defined inside another function: not callable from outside
    interactive: bool = False  # prompts (Read-Host, Out-GridView...): cannot run in a non-interactive host
    body_text: str = field(default="", repr=False)

    @property
    def verb(self) -> str:
        return self.name.split("-", 1)[0] if "-" in self.name else ""

    @property
    def noun(self) -> str:
        return self.name.split("-", 1)[1] if "-" in self.name else self.name

    @property
    def supports_whatif(self) -> bool:
        """``-WhatIf`` is only trusted when the function declares it and really asks ``ShouldProcess``."""
        return self.supports_should_process and self.calls_should_process


@dataclass
class ScriptInfo:
    path: Path
    functions: list[FunctionInfo]
    parse_errors: list[str] = field(default_factory=list)
    top_level_commands: list[str] = field(default_factory=list)

    def function(self, name: str) -> FunctionInfo | None:
        for fn in self.functions:
            if fn.name.lower() == name.lower():
                return fn
        return None


def _parser() -> Any:
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


class _Reader:
    def __init__(self, source: bytes) -> None:
        self.source = source

    def text(self, node: Any) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", errors="replace")

    # -- literals -----------------------------------------------------------------------------
    def unwrap(self, node: Any) -> Any:
        while node.type in _WRAPPERS and node.named_child_count == 1:
            node = node.named_children[0]
        return node

    def literal(self, node: Any) -> Any:
        """The Python value of a literal expression, or NOT_LITERAL."""
        node = self.unwrap(node)
        kind, text = node.type, self.text(node).strip()
        if kind == "decimal_integer_literal":
            return _int(text)
        if kind == "hexadecimal_integer_literal":
            try:
                return int(text, 16)
            except ValueError:
                return NOT_LITERAL
        if kind == "real_literal":
            try:
                return float(text.rstrip("dD"))
            except ValueError:
                return NOT_LITERAL
        if kind == "expression_with_unary_operator" and text.startswith("-"):
            value = self.literal(node.named_children[-1]) if node.named_child_count else NOT_LITERAL
            return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else NOT_LITERAL
        if kind == "variable":
            return {"$true": True, "$false": False, "$null": None}.get(text.lower(), NOT_LITERAL)
        if kind == "verbatim_string_characters":
            return text[1:-1].replace("''", "'") if len(text) >= 2 else NOT_LITERAL
        if kind == "expandable_string_literal":
            body = text[1:-1]
            return NOT_LITERAL if ("$" in body or "`" in body) else body.replace('""', '"')
        if kind == "verbatim_here_string_characters":
            return _here(text)
        if kind == "expandable_here_string_literal":
            body = _here(text)
            return NOT_LITERAL if ("$" in body or "`" in body) else body
        if kind == "array_literal_expression":
            items = [self.literal(c) for c in node.named_children]
            return NOT_LITERAL if any(i is NOT_LITERAL for i in items) else items
        if kind == "array_expression":
            inner = [c for c in node.named_children]
            if not inner:
                return []
            value = self.literal(inner[0])
            if value is NOT_LITERAL:
                return NOT_LITERAL
            return value if isinstance(value, list) else [value]
        if kind == "hash_literal_expression":
            return self._hashtable(node)
        if kind in ("simple_name", "generic_token", "command_name"):
            return text
        return NOT_LITERAL

    def _hashtable(self, node: Any) -> Any:
        out: dict[str, Any] = {}
        for body in node.named_children:
            for entry in body.named_children:
                if entry.type != "hash_entry" or entry.named_child_count < 2:
                    continue
                key = self.literal(entry.named_children[0].named_children[0]) if entry.named_children[0].named_child_count else NOT_LITERAL
                value = self.literal(entry.named_children[-1])
                if key is NOT_LITERAL or value is NOT_LITERAL:
                    return NOT_LITERAL
                out[str(key)] = value
        return out

    # -- attributes ---------------------------------------------------------------------------
    def attribute(self, node: Any) -> tuple[str, list[Any], dict[str, Any]] | None:
        """``[Name(arg, key = value)]`` → (lower-case name, positional, named); None for a type literal."""
        name_node = next((c for c in node.children if c.type == "attribute_name"), None)
        if name_node is None:
            return None
        positional: list[Any] = []
        named: dict[str, Any] = {}
        args = next((c for c in node.children if c.type == "attribute_arguments"), None)
        for arg in args.named_children if args is not None else []:
            if arg.type != "attribute_argument":
                continue
            parts = arg.named_children
            if parts and parts[0].type == "simple_name" and len(parts) == 1:
                named[self.text(parts[0]).lower()] = True  # [Parameter(Mandatory)]
            elif parts and parts[0].type == "simple_name":
                named[self.text(parts[0]).lower()] = self.literal(parts[-1])
            elif parts:
                positional.append(self.literal(parts[-1]))
        return self.text(name_node).lower().split(".")[-1].removesuffix("attribute"), positional, named

    def type_of(self, node: Any) -> tuple[str, bool]:
        spec = next((c for c in node.named_children if c.type == "type_spec"), None)
        raw = (self.text(spec) if spec is not None else self.text(node).strip("[]")).strip().lower()
        raw = re.sub(r"\s+", "", raw)
        is_array = raw.endswith("[]")
        base = raw[:-2] if is_array else raw
        generic = re.match(r"(?:system\.collections\.generic\.)?list\[(.+)\]$", base)
        if generic:
            base, is_array = generic.group(1), True
        base = _TYPE_ALIASES.get(base, base)
        if "." in base and base.rsplit(".", 1)[-1] in _SHORT_NAMES:  # System.Security.SecureString → securestring
            base = base.rsplit(".", 1)[-1]
        return base, is_array


def _int(text: str) -> Any:
    multipliers = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
    lowered = text.lower()
    for suffix, factor in multipliers.items():
        if lowered.endswith(suffix):
            value = _int(lowered[: -len(suffix)])
            return value * factor if isinstance(value, int) else NOT_LITERAL
    try:
        return int(lowered.rstrip("lnsuy"))
    except ValueError:
        return NOT_LITERAL


def _here(text: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[1:-1]) if len(lines) >= 2 else ""


def _param(reader: _Reader, node: Any, preceding_comment: str | None) -> ParamInfo:
    var = next(c for c in node.named_children if c.type == "variable")
    info = ParamInfo(name=reader.text(var).lstrip("$").removeprefix("{").removesuffix("}"))
    if preceding_comment:
        info.help = preceding_comment
    saw_type = False
    attributes = next((c for c in node.named_children if c.type == "attribute_list"), None)
    for attr in attributes.named_children if attributes is not None else []:
        literal = next((c for c in attr.named_children if c.type == "type_literal"), None)
        if literal is not None:
            if not saw_type:  # the first type literal is the declared type; later ones are casts
                info.type_name, info.is_array = reader.type_of(literal)
                saw_type = True
            continue
        parsed = reader.attribute(attr)
        if parsed is None:
            continue
        name, positional, named = parsed
        if name == "parameter":
            info.mandatory = named.get("mandatory") is True or info.mandatory
            if isinstance(named.get("position"), int):
                info.position = named["position"]
            if isinstance(named.get("parametersetname"), str):
                info.parameter_sets.append(named["parametersetname"])
            if isinstance(named.get("helpmessage"), str) and not info.help:
                info.help = named["helpmessage"]
            info.value_from_pipeline = named.get("valuefrompipeline") is True or info.value_from_pipeline
        elif name == "validateset":
            values = [v for v in positional if v is not NOT_LITERAL]
            if values:
                info.validate_set = values
        elif name == "validaterange" and len(positional) == 2:
            info.validate_range = tuple(v if isinstance(v, (int, float)) else None for v in positional)  # type: ignore[assignment]
        elif name == "validatelength" and len(positional) == 2 and all(isinstance(v, int) for v in positional):
            info.validate_length = (positional[0], positional[1])
        elif name == "validatecount" and len(positional) == 2 and all(isinstance(v, int) for v in positional):
            info.validate_count = (positional[0], positional[1])
        elif name == "validatepattern" and positional and isinstance(positional[0], str):
            info.validate_pattern = positional[0]
        elif name in ("validatenotnullorempty", "validatenotnull", "validatenotnullorwhitespace"):
            info.not_null_or_empty = True
        elif name == "alias":
            info.aliases.extend(str(v) for v in positional if isinstance(v, str))
    default = next((c for c in node.named_children if c.type == "script_parameter_default"), None)
    if default is not None and default.named_child_count:
        expr = default.named_children[-1]
        info.default_text = reader.text(expr).strip()
        info.default = reader.literal(expr)
    if not saw_type:
        info.type_name = "object"
    return info


def _comment_before(reader: _Reader, node: Any) -> str | None:
    """The comment block that ends on the line right above ``node`` (help placed before a function)."""
    lines: list[str] = []
    prev = node.prev_sibling
    if prev is None and node.parent is not None and node.parent.type == "statement_list":
        prev = node.parent.prev_sibling  # the first statement: the comment precedes the whole list
    expected_row = node.start_point[0]
    while prev is not None and prev.type == "comment" and prev.end_point[0] >= expected_row - 1:
        lines.insert(0, reader.text(prev))
        expected_row = prev.start_point[0]
        if reader.text(prev).startswith("<#"):
            break
        prev = prev.prev_sibling
    return "\n".join(lines) if lines else None


def _function(reader: _Reader, node: Any, path: Path) -> FunctionInfo:
    name_node = next(c for c in node.children if c.type == "function_name")
    fn = FunctionInfo(name=reader.text(name_node), script=path, line=node.start_point[0] + 1)
    body = next((c for c in node.children if c.type == "script_block"), None)
    # comment-based help: at the start of the body, at its end, or right before the function
    candidates: list[str] = []
    inner_comments = [c for c in node.children if c.type == "comment"]
    if body is not None:
        inner_comments += [c for c in body.children if c.type == "comment"]
        body_stmts = next((c for c in body.children if c.type == "script_block_body"), None)
        if body_stmts is not None and body_stmts.named_child_count:
            last = body_stmts.named_children[-1]
            inner_comments += [c for c in last.children if c.type == "comment"]
    candidates += [_group(reader, inner_comments)] if inner_comments else []
    before = _comment_before(reader, node)
    if before:
        candidates.append(before)
    for text in candidates:
        if is_help_comment(text):
            fn.help = parse_help(text)
            break
    param_lists: list[Any] = []
    param_block = next((c for c in body.children if c.type == "param_block"), None) if body is not None else None
    if param_block is not None:
        attrs = next((c for c in param_block.named_children if c.type == "attribute_list"), None)
        for attr in attrs.named_children if attrs is not None else []:
            parsed = reader.attribute(attr)
            if parsed and parsed[0] == "cmdletbinding":
                fn.cmdlet_binding = True
                fn.supports_should_process = parsed[2].get("supportsshouldprocess") is True
                if isinstance(parsed[2].get("defaultparametersetname"), str):
                    fn.default_parameter_set = parsed[2]["defaultparametersetname"]
        plist = next((c for c in param_block.named_children if c.type == "parameter_list"), None)
        if plist is not None:
            param_lists.append(plist)
    declared = next((c for c in node.children if c.type == "function_parameter_declaration"), None)
    if declared is not None:
        param_lists += [c for c in declared.named_children if c.type == "parameter_list"]
    for plist in param_lists:
        comment: list[str] = []
        for child in plist.children:
            if child.type == "comment":
                comment.append(reader.text(child))
            elif child.type == "script_parameter":
                help_text = _strip_comment("\n".join(comment)) if comment else None
                fn.params.append(_param(reader, child, help_text))
                comment = []
            elif child.type == ",":
                comment = []
    for param in fn.params:  # .PARAMETER help wins over inline comments
        described = fn.help.parameters.get(param.name.lower())
        if described:
            param.help = described
    if body is not None:
        fn.body_text = reader.text(body)
        fn.calls_should_process = bool(re.search(r"\.ShouldProcess\s*\(", fn.body_text, re.IGNORECASE))
        fn.interactive = bool(_INTERACTIVE_RE.search(fn.body_text))
    return fn


def _group(reader: _Reader, comments: list[Any]) -> str:
    first = comments[0]
    if reader.text(first).startswith("<#"):
        return reader.text(first)
    lines = [reader.text(first)]
    row = first.end_point[0]
    for c in comments[1:]:
        if c.start_point[0] != row + 1 or reader.text(c).startswith("<#"):
            break
        lines.append(reader.text(c))
        row = c.end_point[0]
    return "\n".join(lines)


def _strip_comment(text: str) -> str:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        line = line.removeprefix("<#").removesuffix("#>").lstrip("#").strip()
        if line:
            lines.append(line)
    return " ".join(lines)


_INTERACTIVE_RE = re.compile(r"\b(Read-Host|Out-GridView|Get-Credential|PromptForChoice|PromptForCredential|"
                             r"\$Host\.UI\.ReadLine|\[Console\]::ReadKey|\[Console\]::ReadLine)\b", re.IGNORECASE)
_TOP_LEVEL_OK = {"function_statement", "comment", "param_block", "assignment_expression", "class_statement",
                 "enum_statement", "using_statement", "empty_statement"}
_HARMLESS_COMMANDS = {"set-strictmode", "import-module", "requires", "add-type", "export-modulemember",
                      "set-variable", "new-variable"}


def parse_script(path: Path | str, source: bytes | None = None) -> ScriptInfo:
    """Every top-level and nested ``function`` of the script (in order of appearance)."""
    path = Path(path)
    if source is None:
        source = path.read_bytes()
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    reader = _Reader(source)
    tree = _parser().parse(source)
    functions: list[FunctionInfo] = []
    errors: list[str] = []
    stack: list[tuple[Any, bool]] = [(tree.root_node, False)]
    while stack:
        node, nested = stack.pop()
        if node.type == "function_statement":
            fn = _function(reader, node, path)
            fn.nested = nested
            functions.append(fn)
            nested = True
        elif node.type == "ERROR" or node.is_missing:
            errors.append(f"line {node.start_point[0] + 1}: cannot parse {reader.text(node)[:60]!r}")
        stack.extend((c, nested) for c in reversed(node.children))
    functions.sort(key=lambda f: f.line)
    _propagate_interactive(functions)
    top_level = _top_level_commands(reader, tree.root_node)
    return ScriptInfo(path=path, functions=functions, parse_errors=errors[:20], top_level_commands=top_level)


def _top_level_commands(reader: _Reader, root: Any) -> list[str]:
    """Commands the script runs when loaded (a menu loop, Connect-AzAccount, ...): worth a warning."""
    found: list[str] = []
    statements = next((c for c in root.children if c.type == "statement_list"), None)
    for stmt in statements.named_children if statements is not None else []:
        if stmt.type in _TOP_LEVEL_OK:
            continue
        if stmt.type == "if_statement" and re.search(r"\$MyInvocation\.InvocationName", reader.text(stmt), re.I):
            continue  # "run the menu unless dot-sourced": nothing runs when the host loads the script
        command = _first_command(stmt)
        if command is not None:
            name = reader.text(command).strip()
            if name.lower() not in _HARMLESS_COMMANDS:
                found.append(f"line {stmt.start_point[0] + 1}: {name}")
    return found


def _first_command(node: Any) -> Any:
    if node.type == "command_name":
        return node
    if node.type in ("assignment_expression", "function_statement", "script_block_expression"):
        return None
    for child in node.named_children:
        found = _first_command(child)
        if found is not None:
            return found
    return None


def _propagate_interactive(functions: list[FunctionInfo]) -> None:
    """A function that calls an interactive function of the same script is interactive too."""
    changed = True
    while changed:
        changed = False
        prompting = [f.name for f in functions if f.interactive]
        if not prompting:
            return
        calls = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in prompting) + r")(?![\w-])", re.IGNORECASE)
        for fn in functions:
            if not fn.interactive and calls.search(fn.body_text):
                fn.interactive = changed = True
