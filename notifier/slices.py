"""Long work on the event loop, cut into short slices so requests and sends keep their turn.

Rescheduling every block (a time-zone change) is pure Python for a few hundred ms
with thousands of blocks. A worker thread does not help: it holds the GIL, and the
loop thread waits for it after every read from a socket. So such work runs on the
loop and calls `await slicer.pause()` between small steps (one block, one row):
once a slice has used its budget, the loop gets a turn before the next one.
"""

from __future__ import annotations

import asyncio
import time

SLICE_SECONDS = 0.004  # the longest one slice holds the loop
# Turns the loop gets at each pause. One wakes a task that was ready; a request or a
# timer needs two or three in a row (the wake-up, then the task it schedules), and
# turns with nothing else to do cost microseconds.
TURNS = 3


class Slicer:
    """Counts the time since the loop last had a turn and gives it one when the budget is used."""

    def __init__(self, budget: float = SLICE_SECONDS) -> None:
        self.budget = budget
        self.pauses = 0  # how often the loop had a turn
        self._since = time.perf_counter()

    async def pause(self) -> None:
        """Let the loop run other tasks if this slice has lasted `budget` seconds."""
        if time.perf_counter() - self._since >= self.budget:
            for _ in range(TURNS):
                await asyncio.sleep(0)
            self.pauses += 1
            self._since = time.perf_counter()
