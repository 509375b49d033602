"""``[packs.hunting]`` settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sentinelkit import PackSettings


class HuntingSettings(PackSettings):
    model_config = SettingsConfigDict(env_prefix="SENTINELKIT_HUNTING_", extra="forbid")

    #: the most CSV one watchlist PUT carries (rawContent); Sentinel's limit is 3.8 MB
    max_upload_bytes: int = Field(default=3_800_000, ge=1_000, le=3_800_000)
    #: items a watchlist upload may write one by one once the CSV passes 3.8 MB (ARM throttles writes at
    #: about 10 a second per subscription: 5,000 items is ~10 minutes)
    max_item_uploads: int = Field(default=5_000, ge=0, le=100_000)
    #: item writes in flight per workspace
    item_concurrency: int = Field(default=8, ge=1, le=32)
