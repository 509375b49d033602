"""Reading tool results in the tests."""

from __future__ import annotations

import json
from typing import Any


def data(result: Any) -> Any:
    """A tool result's JSON (structured content, or the text of the first block)."""
    if getattr(result, "structured_content", None) is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def error_text(result: Any) -> str:
    assert result.is_error, f"expected an error, got {data(result)}"
    return result.content[0].text
