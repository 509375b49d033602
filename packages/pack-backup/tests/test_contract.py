"""The core's contract tests, for this pack: loads, documented, safety classes, read-only mode, fast
tools/list. Its writes are ADDITIVE; what they delete or overwrite is confirmed like a destructive change
(``can_remove``), which test_restore and test_drift check."""

from __future__ import annotations

from sentinelkit_devkit.contract import PackContract


class TestBackupPackContract(PackContract):
    pack = "backup"
