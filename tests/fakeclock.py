"""A clock the test moves by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta


class FakeClock:
    """`now()` is whatever the test set; `sleep_until` returns when woken or moved past `when`."""

    def __init__(self, start: datetime) -> None:
        self.t = start
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> datetime:
        self.t += timedelta(**delta)
        self._moved.set()
        return self.t

    def set(self, when: datetime) -> None:
        self.t = when
        self._moved.set()

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        while self.t < when and not wake.is_set():
            self._moved.clear()
            waiters = [
                asyncio.ensure_future(wake.wait()),
                asyncio.ensure_future(self._moved.wait()),
            ]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        wake.clear()
