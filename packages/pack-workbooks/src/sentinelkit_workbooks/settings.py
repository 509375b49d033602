"""The pack's settings: ``[packs.workbooks]`` of sentinelkit.toml, or ``SENTINELKIT_WORKBOOKS_*``."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from sentinelkit import PackSettings


class WorkbooksSettings(PackSettings):
    """How large a workbook file or text ``workbook_import`` reads."""

    model_config = SettingsConfigDict(env_prefix="SENTINELKIT_WORKBOOKS_", extra="forbid")
    #: Azure keeps at most 2 MB of workbook content; the pretty-printed file of that content is larger
    max_file_bytes: int = 8 * 1024 * 1024
