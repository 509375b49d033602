"""Where the shipped host script lives (package data), and its text for remote runspaces."""

from __future__ import annotations

from functools import cache
from pathlib import Path


def host_script_path() -> Path:
    return Path(__file__).with_name("host.ps1")


@cache
def host_script_text() -> str:
    return host_script_path().read_text(encoding="utf-8")
