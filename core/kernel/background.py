"""Background loops: do the work now, then again when woken or after an interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


async def poll(work: Callable[[], Awaitable[object]], wakeup: asyncio.Event, *, interval: float,
               log: logging.Logger) -> None:
    """Run `work` forever. A wake-up (new mail stored, a message queued) runs it at once;
    the interval catches what no wake-up announced (other processes, retries coming due)."""
    task = asyncio.current_task()
    while True:
        # Cleared before the pass, not after: a wake-up that lands while `work` runs is work
        # the pass may have missed, so it runs the loop again at once.
        wakeup.clear()
        try:
            await work()
        except Exception:  # a database hiccup must not end the loop
            log.exception("background pass failed")
        if task is not None and task.cancelling():
            # Asked to stop while `work` ran, and a library (asyncio.wait_for on 3.11, which
            # aiosmtplib uses) swallowed the cancel: stop now, not at some later await.
            raise asyncio.CancelledError
        # Not asyncio.wait_for: on 3.11 it swallows a cancel that lands as the event is set,
        # and the loop would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await wakeup.wait()
