"""The background loops stop when asked, however their wake-ups are timed."""

from __future__ import annotations

import asyncio
import logging

from core.kernel.background import poll


async def test_a_loop_stops_when_cancelled_as_it_is_woken() -> None:
    wakeup = asyncio.Event()
    passes = 0

    async def work() -> None:
        nonlocal passes
        passes += 1

    for _ in range(20):
        task = asyncio.create_task(poll(work, wakeup, interval=60, log=logging.getLogger("test")))
        await asyncio.sleep(0)  # the loop is now waiting to be woken
        wakeup.set()  # woken and cancelled in the same turn, as at shutdown under load
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout=5)
        assert task.cancelled()
    assert passes >= 20


async def test_a_wake_up_runs_the_work_again_before_the_interval() -> None:
    wakeup = asyncio.Event()
    ran = asyncio.Queue[int]()

    async def work() -> None:
        ran.put_nowait(1)

    task = asyncio.create_task(poll(work, wakeup, interval=60, log=logging.getLogger("test")))
    await asyncio.wait_for(ran.get(), timeout=5)
    wakeup.set()
    await asyncio.wait_for(ran.get(), timeout=5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_loop_stops_when_its_work_swallows_the_cancel() -> None:
    wakeup = asyncio.Event()
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass  # what a library caught between a reply and a cancel does

    task = asyncio.create_task(poll(work, wakeup, interval=60, log=logging.getLogger("test")))
    await started.wait()
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout=5)
    assert task.cancelled()
