"""The PDF render process: started off the event loop, kept warm, recycled."""

from __future__ import annotations

import threading

import pytest

from core.billing import render
from core.billing.render import RenderWorker

HTML = "<html><body><h1>Invoice</h1></body></html>"
PLENTY = 10**12


async def test_the_render_process_starts_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    started_on: list[int] = []
    original = render._new_pool

    def recording() -> render.ProcessPoolExecutor:
        started_on.append(threading.get_ident())
        return original()

    monkeypatch.setattr(render, "_new_pool", recording)
    worker = RenderWorker()
    try:
        await worker.start()
        pdf = await worker.render(HTML, recycle_after=100, memory_limit=PLENTY)
    finally:
        await worker.close()
    assert pdf.startswith(b"%PDF")
    assert started_on and threading.get_ident() not in started_on, "started on the loop's thread"
    assert len(started_on) == 1, "warm: one process for both calls"


async def test_the_process_is_replaced_after_a_number_of_renders() -> None:
    worker = RenderWorker()
    pids = []
    try:
        for _ in range(3):
            assert (await worker.render(HTML, recycle_after=2, memory_limit=PLENTY)).startswith(b"%PDF")
            pids.append(worker.pid)
    finally:
        await worker.close()
    assert pids[0] == pids[1] != pids[2]


async def test_the_process_is_replaced_above_its_memory_ceiling() -> None:
    worker = RenderWorker()
    pids = []
    try:
        for _ in range(2):
            await worker.render(HTML, recycle_after=100, memory_limit=1)
            pids.append(worker.pid)
    finally:
        await worker.close()
    assert pids[0] != pids[1]
