"""The test-mode provider: only the well-known test cards, each charged exactly as it says; a
hosted-page link that is signed, bound to one customer, single use and good for 30 minutes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adapters.payments.testmode import TestModeProvider, check_card
from core.models import AuditEvent, PaymentMethod
from core.payments.customers import as_provider_customer
from core.payments.provider import (
    CARD_DECLINED,
    EXPIRED_CARD,
    INSUFFICIENT_FUNDS,
    ChargeRequest,
    PaymentProvider,
)
from tests.conftest import FIXED_NOW, Clock
from tests.core.payments.conftest import customer
from tests.helpers import published


def test_it_is_a_payment_provider(provider: TestModeProvider) -> None:
    assert isinstance(provider, PaymentProvider)
    assert provider.test_mode and not provider.owns_renewals


@pytest.mark.parametrize(("number", "expiry", "cvc", "field", "words"), [
    ("", "12/30", "123", "number", "Enter the card number"),
    ("4242 4242", "12/30", "123", "number", "12 to 19 digits"),
    ("4242 4242 4242 4241", "12/30", "123", "number", "Luhn"),
    ("5555 5555 5555 4444", "12/30", "123", "number", "only test cards work"),
    ("4242 4242 4242 4242", "2030-12", "123", "expiry", "MM/YY"),
    ("4242 4242 4242 4242", "13/30", "123", "expiry", "01 to 12"),
    ("4242 4242 4242 4242", "02/26", "123", "expiry", "expired"),
    ("4242 4242 4242 4242", "12/30", "12", "cvc", "3 digits"),
    ("4242 4242 4242 4242", "12/30", "abc", "cvc", "3 digits"),
])
def test_card_fields_are_checked_with_clear_messages(number: str, expiry: str, cvc: str, field: str,
                                                     words: str) -> None:
    problem = check_card(number, expiry, cvc, now=FIXED_NOW)

    assert not isinstance(problem, tuple)
    assert problem.field == field and words in problem.message


def test_a_good_test_card_reads_as_digits_and_expiry() -> None:
    assert check_card("4242-4242-4242-4242", " 3/2031 ", "123", now=FIXED_NOW) == (
        "4242424242424242", 3, 2031)
    assert check_card("4242424242424242", "03/26", "123", now=FIXED_NOW) == ("4242424242424242", 3, 2026)


async def _link_token(provider: TestModeProvider, email: str) -> str:
    who = await customer(provider.portal, email)
    link = await provider.setup_link(as_provider_customer(who), "cus")
    assert link.url.startswith("http://portal.test/pay/")
    return link.url.rpartition("/")[2]


async def _methods(provider: TestModeProvider) -> list[PaymentMethod]:
    async with provider.portal.db.unit_of_work() as session:
        return list(await session.scalars(select(PaymentMethod).order_by(PaymentMethod.id)))


async def test_the_hosted_page_saves_one_card_per_link(store: Any, provider: TestModeProvider) -> None:
    token = await _link_token(provider, "ann@example.com")
    page = await provider.open_setup(token)
    assert page.ok and page.email == "ann@example.com" and "Test mode" in page.message

    wrong = await provider.complete_setup(token, number="4242 4242 4242 4241", expiry="12/30", cvc="123")
    assert not wrong.ok and wrong.can_retry and await _methods(provider) == []

    saved = await provider.complete_setup(token, number="4242 4242 4242 4242", expiry="12/30", cvc="123")
    assert saved.ok and "You can close this page" in saved.message
    again = await provider.complete_setup(token, number="4000 0000 0000 0002", expiry="12/30", cvc="123")
    assert not again.ok and not again.can_retry and "already used" in again.message
    assert not (await provider.open_setup(token)).ok

    [method] = await _methods(provider)
    assert (method.brand, method.last4, method.exp_month, method.exp_year, method.is_default) == (
        "Visa", "4242", 12, 2030, True)
    # Nothing of the number but its last four is kept anywhere.
    async with provider.portal.db.unit_of_work() as session:
        audit = list(await session.scalars(select(AuditEvent.details)))
    assert "4242424242424242" not in repr(audit) + repr(vars(method))
    assert [e.name for e in await published(provider.portal)][-1] == "payment_method_changed"


async def test_an_expired_or_tampered_link_is_refused_in_words(store: Any, provider: TestModeProvider,
                                                               clock: Clock) -> None:
    token = await _link_token(provider, "ann@example.com")
    body, _, signature = token.rpartition(".")
    tampered = body.replace(body.split(".")[0], "999", 1) + "." + signature
    refused = await provider.complete_setup(tampered, number="4242424242424242", expiry="12/30", cvc="123")
    assert not refused.ok and "not valid" in refused.message

    clock.advance(minutes=29)
    assert (await provider.open_setup(token)).ok
    clock.advance(minutes=2)
    late = await provider.complete_setup(token, number="4242424242424242", expiry="12/30", cvc="123")
    assert not late.ok and "expired" in late.message and "`payment`" in late.message
    assert await _methods(provider) == []


@pytest.mark.parametrize(("token", "succeeded", "code"), [
    ("pm_card_visa", True, None),
    ("pm_card_chargeDeclined", False, CARD_DECLINED),
    ("pm_card_chargeDeclinedInsufficientFunds", False, INSUFFICIENT_FUNDS),
])
async def test_each_test_card_charges_as_it_says(provider: TestModeProvider, token: str, succeeded: bool,
                                                 code: str | None) -> None:
    method = await provider.attach_method("cus_test_1", token)
    request = ChargeRequest("cus_test_1", method.ref, 1200, "USD", "key-1", "Pro monthly")

    first, second = await provider.charge(request), await provider.charge(request)

    assert (first.succeeded, first.failure_code) == (succeeded, code)
    assert first == second, "the same idempotency key answers the same charge"


async def test_a_card_past_its_expiry_is_charged_as_expired(provider: TestModeProvider, clock: Clock) -> None:
    method = await provider.attach_method("cus_test_1", "pm_card_visa")
    clock.advance(days=4 * 366)

    result = await provider.charge(ChargeRequest("cus_test_1", method.ref, 500, "USD", "k", "renewal"))

    assert (result.succeeded, result.failure_code) == (False, EXPIRED_CARD)
