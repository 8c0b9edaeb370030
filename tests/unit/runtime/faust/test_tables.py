"""The app's table manager finalises the tables and starts recovery at once, without
Faust's one-second pause (streams/runtime/faust/tables.py)."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from unittest.mock import AsyncMock

import pytest
from faust.tables import TableManager

from streams.runtime.app import create_app
from streams.runtime.faust.tables import PromptTableManager
from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_the_app_starts_its_tables_without_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = create_app(Settings(home=tmp_path))
    manager = app.tables
    assert isinstance(manager, PromptTableManager)
    assert manager, "the pipelines registered their tables with the app"
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    update, recovery = AsyncMock(), AsyncMock()
    monkeypatch.setattr(manager, "sleep", sleep)
    monkeypatch.setattr(manager, "_update_channels", update)
    monkeypatch.setattr(manager.recovery, "start", recovery)  # type: ignore[attr-defined]
    asyncio.run(manager.on_start())
    assert pauses == []
    update.assert_awaited_once()
    recovery.assert_awaited_once()


def test_faust_start_still_does_only_what_the_override_repeats() -> None:
    # A tripwire for faust-streaming upgrades: the override repeats Faust's on_start minus
    # the pause, so any new step there must be copied into it.
    source = inspect.getsource(TableManager.on_start)
    calls = re.findall(r"await ([\w.]+)\(", source)
    assert calls == ["self.sleep", "self._update_channels", "self.recovery.start"]
