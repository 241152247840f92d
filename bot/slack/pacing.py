"""Acks before answers: Slack gives an ack three seconds, an answer on response_url thirty minutes.

When many requests arrive at once (a team trying the app after an announcement), the work for the
first ones would otherwise share the event loop, and the garbage collector's pauses, with the acks
of the later ones. So work waits until requests have stopped arriving for a moment (`settle`), but
never longer than `patience`, so a steady stream of requests cannot starve it.
"""

from __future__ import annotations

import asyncio


class AckFirst:
    def __init__(self, settle: float = 0.01, patience: float = 0.25) -> None:
        self.settle = settle
        self.patience = patience
        self._last_arrival = float("-inf")

    def arrived(self) -> None:
        """Call as each request comes in."""
        self._last_arrival = asyncio.get_running_loop().time()

    async def turn(self) -> None:
        """Wait until no request has come in for `settle` seconds (or `patience` has passed)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.patience
        while True:
            now = loop.time()
            wait = min(self._last_arrival + self.settle, give_up) - now
            if wait <= 0:
                return
            await asyncio.sleep(wait)
