"""``[packs.tables]``: the retention policy ``table_retention_report`` compares tables with, and the size
of an export's time slices.

```toml
[packs.tables.retention]
"*" = { total_days = 90 }                                 # every table with data, unless named below
SecurityEvent = { interactive_days = 90, total_days = 365 }
"*_CL" = { total_days = 180 }                             # glob patterns, in the order given
```
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from sentinelkit import PackSettings

#: Log Analytics' limits: interactive (analytics) retention and total retention, in days
INTERACTIVE_RANGE = (4, 730)
TOTAL_RANGE = (4, 4383)
#: the query API answers at most this many rows (more are cut: a partial result)
QUERY_MAX_ROWS = 500_000


class RetentionMinimum(BaseModel):
    """What a table must keep: interactive (queryable, analytics) days and total days (with long-term)."""

    model_config = ConfigDict(extra="forbid")

    interactive_days: int | None = Field(default=None, ge=INTERACTIVE_RANGE[0], le=INTERACTIVE_RANGE[1])
    total_days: int | None = Field(default=None, ge=TOTAL_RANGE[0], le=TOTAL_RANGE[1])


class TablesSettings(PackSettings):
    """The pack's settings; ``SENTINELKIT_TABLES_<FIELD>`` variables win over the table."""

    model_config = SettingsConfigDict(env_prefix="SENTINELKIT_TABLES_")

    #: table name or glob pattern → minimum retention; an exact name wins over patterns, patterns apply in
    #: the order given, and "*" (the default for every other table) last
    retention: dict[str, RetentionMinimum] = {"*": RetentionMinimum(total_days=90)}
    #: the most rows one slice of table_export asks for (the service answers at most 500,000; fewer keeps
    #: the server's memory low, since one slice is held at a time)
    export_max_rows_per_slice: int = Field(default=50_000, ge=1, le=QUERY_MAX_ROWS)
