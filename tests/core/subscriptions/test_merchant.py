"""Store-billed subscriptions with the store's webhook set: a confirmed change is applied here,
never charged, and reaches the store as a signed notice, retried until the store takes it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider
from core.kernel.portal import Portal
from core.models import MerchantNotice
from core.subscriptions import changes
from core.subscriptions.merchant import MerchantNotifier
from tests.conftest import WEBHOOK_SECRET, Clock
from tests.core.subscriptions.conftest import charges, confirm, preview, subscribe, subscription_of

HOOK = "https://store.example/shopkeep"


class Store:
    """The merchant's endpoint: down for the first `down` posts, then 200."""

    def __init__(self, down: int = 0) -> None:
        self.down = down
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self.down:
            self.down -= 1
            raise OSError("connection refused")
        self.received.append((url, body, headers))
        return 200

    async def close(self) -> None:
        pass


@pytest.fixture
def hooked(store: Portal) -> Portal:
    store.settings = store.settings.model_copy(update={"merchant_webhook_url": HOOK})
    return store


async def test_a_change_reaches_the_store_signed_once_it_answers(
        hooked: Portal, provider: TestModeProvider, clock: Clock) -> None:
    await subscribe(hooked, "mia@example.com", billed_by="merchant")
    shown = await preview(hooked, "mia@example.com", changes.preview_change, "club", "pro")
    assert shown.amount_due == 0 and "Test Store's store bills this subscription" in shown.text
    await confirm(hooked, provider, "mia@example.com", shown)
    assert (await subscription_of(hooked, "mia@example.com")).plan.slug == "pro"
    assert await charges(hooked, "mia@example.com") == []

    endpoint = Store(down=1)
    notifier = MerchantNotifier(hooked, endpoint)
    assert await notifier.send_due() == 0, "the store is down"
    assert await notifier.send_due() == 0, "not due again before its backoff"
    clock.advance(seconds=31)
    assert await notifier.send_due() == 1

    [(url, body, headers)] = endpoint.received
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert url == HOOK and headers["X-Shopkeep-Signature"] == expected
    notice = json.loads(body)
    assert notice["event"] == "subscription.plan_changed"
    assert notice["subscription"]["customer"] == "mia@example.com"
    assert (notice["subscription"]["plan"], notice["change"]["from"], notice["change"]["to"]) == (
        "pro", "basic", "pro")
    assert headers["X-Shopkeep-Delivery"] == notice["delivery_id"]
    clock.advance(hours=1)
    assert await notifier.send_due() == 0, "sent once"
    async with hooked.db.unit_of_work() as session:
        [stored] = list(await session.scalars(select(MerchantNotice)))
    assert (stored.status, stored.attempts) == ("sent", 2)
    assert stored.sent_at is not None and stored.sent_at - clock.now < timedelta(0)
