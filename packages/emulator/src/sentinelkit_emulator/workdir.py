"""Where a running emulator keeps its files (CA certificate, client certificates with their keys,
sentinelkit.toml with client secrets), so that none outlives the emulator however it ends.

- ``--data-dir``: the caller's folder, left in place.
- with a state file: ``<state file>-files`` beside it (0700), emptied when the emulator starts and
  removed when it stops. If the process is killed, it stays until the next start on that state file,
  and holds nothing the state file does not (the state file keeps the same client secrets).
- otherwise: a new 0700 temporary folder ``sentinelkit-emulator-*``, removed when the emulator stops.
  Its owner holds a lock on a file in it for as long as it lives (the system releases it when the
  process dies, even by SIGKILL); each start removes the folders whose lock nobody holds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no sweeping of folders left by killed emulators
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = "sentinelkit-emulator-"
OWNER_LOCK = ".owner.lock"
#: Marks a folder beside a state file as the emulator's, to be emptied by the next start.
MARKER = ".sentinelkit-emulator"


class WorkDir:
    """A folder for the emulator's files, and whether (and how) this process removes it."""

    def __init__(self, path: Path, *, owned: bool, lock_fd: int | None = None) -> None:
        self.path = path
        self.owned = owned
        self._lock_fd = lock_fd

    @classmethod
    def given(cls, path: Path) -> WorkDir:
        path.mkdir(parents=True, exist_ok=True)
        return cls(path, owned=False)

    @classmethod
    def beside(cls, state_file: Path) -> WorkDir:
        """``<state file>-files``: call only while holding the state file (its lock keeps other emulators out).

        Raises ``FileExistsError`` if a folder of that name exists that an emulator did not make.
        """
        path = state_file.with_name(state_file.name + "-files")
        if path.exists():  # a killed predecessor's, or someone else's
            if not (path / MARKER).exists() and (not path.is_dir() or any(path.iterdir())):
                raise FileExistsError(f"{path} exists and is not the emulator's folder of {state_file.name}; move it "
                                      "away (the emulator keeps its keys there while it runs)")
            shutil.rmtree(path)
        path.mkdir(mode=0o700, parents=True)
        (path / MARKER).touch()
        return cls(path, owned=True)

    @classmethod
    def temporary(cls) -> WorkDir:
        sweep_dead()
        path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # mode 0700
        return cls(path, owned=True, lock_fd=_hold_owner_lock(path))

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _hold_owner_lock(folder: Path) -> int | None:
    """Lock a file in ``folder`` for this process's lifetime. It is locked under another name and then
    renamed, so that a sweeping emulator never finds the lock file unlocked while its owner lives."""
    if fcntl is None:
        return None
    pending = folder / (OWNER_LOCK + ".new")
    fd = os.open(pending, os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.replace(pending, folder / OWNER_LOCK)
    return fd


def sweep_dead(parent: Path | None = None) -> list[Path]:
    """Remove the temporary folders of emulators that died without removing them; returns those removed.

    Folders without a lock file (being created, or made by an older version) are left alone.
    """
    if fcntl is None:
        return []
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            fd = os.open(folder / OWNER_LOCK, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # its owner is alive
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed
