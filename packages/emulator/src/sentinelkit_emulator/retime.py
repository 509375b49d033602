"""Moving saved changes to a new start time, so that a state reopened days later is "now" again.

The seeded scenario is relative to its anchor time (incidents of the last 30 days, heartbeats up to
the anchor). A state file keeps only changes, stamped with the times they were made; at the next
start the scenario is derived again for a new anchor close to the current time and every time in
the changes moves with it:

- times up to the old anchor (seeded values inside a changed resource, e.g. an incident's
  ``createdTimeUtc``) move exactly as the scenario did, so they agree with the derived seed;
- times of the changes themselves (between the old anchor and the last change) keep their order
  and stay after the seeded data, and the last change lands on the current time: nothing is in
  the future. Changes made over more than ``SQUEEZE`` are squeezed into the last ``SQUEEZE`` so
  that the scenario never lags the clock by more than that (heartbeats do not look stopped);
- later times (e.g. an expiry date) move as the last change did.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: At most this much time lies between the re-derived scenario's anchor and the current time.
SQUEEZE = timedelta(minutes=10)

# ISO 8601 date-time as Azure and the scenario write them: 0-7 fractional digits, Z or an offset.
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?")


@dataclass(frozen=True)
class Retime:
    """The move from a saved state's times (``anchor``, last change at ``clock``) to ``now``."""

    anchor: datetime
    clock: datetime
    now: datetime

    @property
    def span(self) -> timedelta:
        """How long the saved changes took, from the old anchor to the last one."""
        return max(self.clock - self.anchor, timedelta(0))

    @property
    def new_anchor(self) -> datetime:
        """Where the scenario is derived: ``now`` less the (squeezed) span, moved by whole seconds
        (rounded down, never past that point) so that seeded times keep their fractions."""
        shift = self.now - min(self.span, SQUEEZE) - self.anchor
        return self.anchor + timedelta(seconds=math.floor(shift.total_seconds()))

    def moved(self, when: datetime) -> datetime:
        new_anchor = self.new_anchor
        if when <= self.anchor:
            return when + (new_anchor - self.anchor)
        span = self.span
        if when <= self.anchor + span:
            return new_anchor + (when - self.anchor) * ((self.now - new_anchor) / span)
        return when + (self.now - self.anchor - span)

    def text(self, value: str) -> str:
        """``value`` moved if it is a date-time, in the same format; any other text as it is."""
        m = _STAMP.fullmatch(value)
        if m is None:
            return value
        base, fraction, zone = m.group(1), m.group(2) or "", m.group(3) or ""
        try:
            parsed = datetime.fromisoformat(base + (zone if zone != "Z" else "+00:00"))
        except ValueError:  # e.g. month 13: not a date-time after all
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed += timedelta(microseconds=int((fraction + "000000")[:6]))
        moved = self.moved(parsed).astimezone(parsed.tzinfo)
        out = moved.strftime("%Y-%m-%dT%H:%M:%S")
        if fraction:
            micro = f"{moved.microsecond:06d}"
            out += "." + (micro[: len(fraction)] if len(fraction) <= 6 else micro + fraction[6:])
        return out + zone

    def value(self, data: Any) -> Any:
        """A JSON value with every date-time string in it moved."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v) for v in data]
        return data
