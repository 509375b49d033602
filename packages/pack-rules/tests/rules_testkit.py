"""Reading tool results and the test data in the rules pack's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def out(result: Any) -> Any:
    """A successful tool result's JSON (structured content, or the text of the first block)."""
    assert not result.is_error, result.content[0].text
    if getattr(result, "structured_content", None) is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def failure(result: Any) -> str:
    """The message of a tool result that must be an error."""
    assert result.is_error, f"expected an error, got {result.content[0].text[:500]}"
    return str(result.content[0].text)


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")
