"""Faust's table manager without its start-up pause.

``faust.tables.TableManager.on_start`` sleeps one second before it finalises the tables,
so that an app can still add tables after the worker has started. ``create_app`` builds
every table before the worker starts, so that second was dead time in every worker
start: after a deploy, a crash, a rebalance onto a new worker, and inside every
benchmark stage's end-to-end time. A table added late still fails loudly (Faust raises
"Too late to add tables at this point").
"""

from __future__ import annotations

from faust.tables import TableManager


class PromptTableManager(TableManager):
    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
