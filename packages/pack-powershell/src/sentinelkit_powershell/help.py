"""Comment-based help (``.SYNOPSIS``, ``.DESCRIPTION``, ``.PARAMETER`` ...) as PowerShell reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_KEYWORD_RE = re.compile(
    r"^\s*\.(SYNOPSIS|DESCRIPTION|PARAMETER|EXAMPLE|INPUTS|OUTPUTS|NOTES|LINK|COMPONENT|ROLE|FUNCTIONALITY|"
    r"FORWARDHELPTARGETNAME|FORWARDHELPCATEGORY|REMOTEHELPRUNSPACE|EXTERNALHELP)\b\s*(.*)$",
    re.IGNORECASE,
)


@dataclass
class HelpInfo:
    synopsis: str = ""
    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)  # lower-case name → text
    examples: list[str] = field(default_factory=list)
    notes: str = ""
    outputs: str = ""


def _lines(comment: str) -> list[str]:
    text = comment.strip()
    if text.startswith("<#"):
        text = text[2:]
        text = text[:-2] if text.endswith("#>") else text
        return text.splitlines()
    return [line.strip().removeprefix("#") for line in text.splitlines()]


def is_help_comment(comment: str) -> bool:
    return any(_KEYWORD_RE.match(line) for line in _lines(comment))


def _dedent(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:].rstrip() for line in lines)


def parse_help(comment: str) -> HelpInfo:
    info = HelpInfo()
    section: tuple[str, str] | None = None
    buffer: list[str] = []

    def flush() -> None:
        if section is None:
            return
        keyword, arg = section
        text = _dedent(list(buffer))
        if keyword == "synopsis":
            info.synopsis = text
        elif keyword == "description":
            info.description = text
        elif keyword == "parameter" and arg:
            info.parameters[arg.lower()] = " ".join(text.split())
        elif keyword == "example":
            info.examples.append(text)
        elif keyword == "notes":
            info.notes = text
        elif keyword == "outputs":
            info.outputs = text

    for line in _lines(comment):
        match = _KEYWORD_RE.match(line)
        if match:
            flush()
            section = (match.group(1).lower(), match.group(2).strip())
            buffer = []
        elif section is not None:
            buffer.append(line)
    flush()
    return info
