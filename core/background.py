"""Background loops: do the work now, then again when woken or after an interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def poll(work: Callable[[], Awaitable[object]], wakeup: asyncio.Event, *, interval: float,
               log: logging.Logger) -> None:
    """Run `work` forever. A wake-up (new mail stored, a message queued) runs it at once;
    the interval catches what no wake-up announced (other processes, retries coming due)."""
    while True:
        try:
            await work()
        except Exception:  # a database hiccup must not end the loop
            log.exception("background pass failed")
        wakeup.clear()
        try:
            await asyncio.wait_for(wakeup.wait(), timeout=interval)
        except TimeoutError:
            pass
