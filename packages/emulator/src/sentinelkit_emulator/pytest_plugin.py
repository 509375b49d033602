"""pytest fixtures for tests that need the emulator (auto-loaded through the ``pytest11`` entry point).

- ``emulator``: one running emulator per test session (state shared; faults cleared after each test
  that used ``emulator_faults``)
- ``fresh_emulator``: an emulator of its own for a test that changes state and must not leak it
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .runner import Emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emulator_faults(emulator: Emulator) -> Iterator[Emulator]:
    """The session emulator, with every fault removed when the test ends."""
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu
