"""The test-mode payment page over HTTP: every outcome of the form, its CSRF and double-submission
guards, expired, used and tampered links, and the headers that keep the page to itself."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.web import create_app
from core.kernel.portal import Portal
from core.models import AuditEvent
from tests.conftest import Clock
from tests.handlers.cards import all_methods, billed_by_shopkeep, cards, forget_cards, pay_link, payment
from tests.helpers import sent_mail, text_of

ALICE = "alice@example.com"
GOOD = {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123", "name": "Alice Moreau"}
Client = TestClient[Any, Any]


@pytest.fixture
async def client(demo_portal: Portal) -> AsyncIterator[Client]:
    for email in (ALICE, "bob@example.com"):  # nobody has a card yet: each one saved here counts
        await forget_cards(demo_portal, email)
    await billed_by_shopkeep(demo_portal, ALICE)
    async with TestClient(TestServer(create_app(demo_portal))) as client:
        yield client


async def opened(client: Client, path: str) -> tuple[ClientResponse, str, str]:
    """GET the page: the response, its text and the form's CSRF token ("" when no form)."""
    response = await client.get(path)
    body = await response.text()
    found = re.search(r'name="csrf" value="([^"]+)"', body)
    return response, body, found.group(1) if found else ""


async def sent(client: Client, path: str, csrf: str, **fields: str) -> tuple[ClientResponse, str]:
    response = await client.post(path, data={"csrf": csrf, **{k: v for k, v in {**GOOD, **fields}.items()}})
    return response, await response.text()


def heading(body: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", body)
    assert found, body
    return found.group(1)


def assert_kept_to_itself(response: ClientResponse) -> None:
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "form-action 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_the_form_is_marked_test_mode_and_says_who_it_is_for(client: Client, demo_portal: Portal) -> None:
    response, body, csrf = await opened(client, await pay_link(demo_portal))

    assert response.status == 200 and heading(body) == "Add a card"
    assert "TEST MODE" in body and "4242 4242 4242 4242 (succeeds)" in body and ALICE in body
    for field in ("number", "expiry", "cvc", "name"):
        assert f'name="{field}"' in body
    assert len(csrf) == 32
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/pay/" in cookie
    assert_kept_to_itself(response)


async def test_the_test_card_is_saved_and_the_page_says_it_can_be_closed(
        client: Client, demo_portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    response, body = await sent(client, path, csrf)

    assert response.status == 200 and heading(body) == "Card saved"
    assert "Your Visa ending in 4242 (expires 12/30) is saved" in body and "You can close this page." in body
    assert "TEST MODE" in body
    assert_kept_to_itself(response)
    assert await cards(demo_portal, ALICE) == [("4242", True)]
    [method] = await all_methods(demo_portal)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("Visa", "4242", 12, 2030)
    listing = await payment(demo_portal, ALICE)
    assert listing.tables[0].rows == [["1", "Visa ending in 4242", "12/30", "yes", "Maker Pro Membership"]]
    [notice] = await sent_mail(demo_portal, to=ALICE, kind="payment")
    assert "A Visa ending in 4242 (expires 12/30) was added to your account and is now your default " \
           "payment method. Maker Pro Membership renews with it." in text_of(notice)
    # Nothing of the number but its last four, anywhere: the page, the database, the log.
    async with demo_portal.db.unit_of_work() as session:
        audit = list(await session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "payment_method_added")))
    assert audit == [{"method": "Visa ending in 4242", "expiry": "12/30"}]
    for kept in (body, repr(vars(method)), caplog.text):
        assert "4242424242424242" not in kept and "4242 4242 4242 4242" not in kept.replace(
            "4242 4242 4242 4242 (succeeds)", "")


@pytest.mark.parametrize(("number", "behaviour"), [
    ("4000 0000 0000 0002", "charges to this card fail: the card was declined"),
    ("4000000000009995", "charges to this card fail: the card has insufficient funds"),
])
async def test_the_failing_test_cards_are_saved_and_say_how_they_will_fail(
        client: Client, demo_portal: Portal, number: str, behaviour: str) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    response, body = await sent(client, path, csrf, number=number)

    assert response.status == 200 and heading(body) == "Card saved" and behaviour in body
    assert await cards(demo_portal, ALICE) == [(number[-4:], True)]


@pytest.mark.parametrize(("fields", "field", "said"), [
    ({"number": "4242 4242 4242 4241"}, "number", "That card number has a typo"),
    ({"number": ""}, "number", "Enter the card number."),
    ({"number": "4111 1111 1111 1111"}, "number", "This is test mode: only test cards work."),
    ({"number": "42"}, "number", "A card number is 12 to 19 digits."),
    ({"expiry": "1230"}, "expiry", "Enter the expiry as MM/YY, for example 12/30."),
    ({"expiry": "13/30"}, "expiry", "The expiry month must be 01 to 12."),
    ({"expiry": "02/26"}, "expiry", "This card has expired"),
    ({"cvc": "12"}, "cvc", "The security code (CVC) is the 3 digits on the back of the card."),
    ({"name": "x" * 101}, "name", "The name on the card is at most 100 characters."),
])
async def test_a_field_to_correct_comes_back_on_the_form(
        client: Client, demo_portal: Portal, fields: dict[str, str], field: str, said: str) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    response, body = await sent(client, path, csrf, **fields)

    assert response.status == 422 and heading(body) == "Add a card"
    problem = re.search(rf'<p class="problem" id="{field}-problem">(.*?)</p>', body)
    assert problem and said in problem.group(1).replace("&#39;", "'"), body
    assert f'id="{field}" name="{field}"' in body and 'aria-invalid="true"' in body
    typed_expiry = fields.get("expiry", GOOD["expiry"])
    assert f'value="{typed_expiry}"' in body, "the expiry typed is kept"
    for secret in ("number", "cvc"):
        tag = re.search(rf'<input id="{secret}"[^>]*>', body, re.S)
        assert tag and "value=" not in tag.group(), f"the {secret} typed is never sent back"
    if fields.get("number") in ("4242 4242 4242 4241", "4111 1111 1111 1111"):
        assert fields["number"] not in body and fields["number"].replace(" ", "") not in body
    assert await all_methods(demo_portal) == []
    # The link still works: the corrected form saves the card.
    again, _ = await sent(client, path, re.search(r'name="csrf" value="([^"]+)"', body).group(1))  # type: ignore[union-attr]
    assert again.status == 200 and await cards(demo_portal, ALICE) == [("4242", True)]


async def test_the_second_post_of_the_page_is_told_the_card_is_saved_and_adds_nothing(
        client: Client, demo_portal: Portal) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)
    assert (await sent(client, path, csrf))[0].status == 200

    response, body = await sent(client, path, csrf, number="4000 0000 0000 0002")

    assert response.status == 200 and heading(body) == "Your card is already saved"
    assert "This page already saved your Visa ending in 4242 (expires 12/30); sending it again added " \
           "nothing." in body and "You can close this page." in body
    assert [m.last4 for m in await all_methods(demo_portal)] == ["4242"]
    assert len(await sent_mail(demo_portal, to=ALICE, kind="payment")) == 1
    reopened, body, csrf = await opened(client, path)
    assert reopened.status == 410 and heading(body) == "This link was already used" and csrf == ""
    assert "<code>payment</code>" in body, "it says how to get a new link"
    assert_kept_to_itself(reopened)


async def test_two_links_add_two_cards_the_newest_the_default(client: Client, demo_portal: Portal) -> None:
    for number in ("4000 0000 0000 0002", "4242 4242 4242 4242"):
        path = await pay_link(demo_portal)
        _, _, csrf = await opened(client, path)
        assert (await sent(client, path, csrf, number=number))[0].status == 200
    assert await cards(demo_portal, ALICE) == [("4242", True), ("0002", False)]


async def test_an_expired_link_is_gone(client: Client, demo_portal: Portal, clock: Clock) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)
    clock.advance(minutes=30, seconds=1)

    response, body = await sent(client, path, csrf)
    assert response.status == 410 and heading(body) == "This link has expired"
    assert "links to add a card work for 30 minutes" in body and "<code>payment</code>" in body
    reopened, _, form = await opened(client, path)
    assert reopened.status == 410 and form == ""
    assert_kept_to_itself(reopened)
    assert await all_methods(demo_portal) == []


@pytest.mark.parametrize("change", ["customer", "signature", "truncated", "garbage"])
async def test_a_changed_link_is_refused_without_a_trace(client: Client, demo_portal: Portal, change: str) -> None:
    path = await pay_link(demo_portal)
    token = path.removeprefix("/pay/")
    customer, nonce, expiry, signature = token.split(".")
    changed = {"customer": f"{int(customer) + 1}.{nonce}.{expiry}.{signature}",
               "signature": f"{customer}.{nonce}.{expiry}.{signature[:-2]}aa",
               "truncated": token[: len(token) // 2],
               "garbage": "%F0%9F%92%B3..x.y.99999999999999999999999"}[change]

    response, body, csrf = await opened(client, f"/pay/{changed}")
    assert response.status == 403 and heading(body) == "This link is not valid" and csrf == ""
    assert "Traceback" not in body and "<code>payment</code>" in body
    assert_kept_to_itself(response)
    # A form for the real link does not make the changed one work either.
    _, _, real = await opened(client, path)
    posted, body = await sent(client, f"/pay/{changed}", real)
    assert posted.status == 403 and all(m.customer_id != int(customer) + 1 for m in await all_methods(demo_portal))
    assert await all_methods(demo_portal) == []


async def test_a_post_without_the_pages_token_or_cookie_is_refused(client: Client, demo_portal: Portal) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    wrong_token, body = await sent(client, path, "0" * 32)
    assert wrong_token.status == 403 and heading(body) == "This form could not be checked"
    missing, _ = await sent(client, path, "")
    assert missing.status == 403
    client.session.cookie_jar.clear()  # another browser: the token alone is not enough
    no_cookie, body = await sent(client, path, csrf)
    assert no_cookie.status == 403 and "Cookies must be allowed" in body
    assert_kept_to_itself(no_cookie)
    assert await all_methods(demo_portal) == []


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "https://attacker.example"}, 403),
    ({"Origin": "null"}, 403),  # a sandboxed frame elsewhere
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://shop.portal.test"}, 403),
    ({"Origin": "http://portal.test"}, 200),  # the public URL's origin
    ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 200),  # the page itself: no referrer
])
async def test_only_the_page_itself_may_post(client: Client, demo_portal: Portal, headers: dict[str, str],
                                             status: int) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    response = await client.post(path, data={"csrf": csrf, **GOOD}, headers=headers)

    assert response.status == status, await response.text()
    assert len(await all_methods(demo_portal)) == (1 if status == 200 else 0)


async def test_a_post_that_is_not_a_form_is_refused(client: Client, demo_portal: Portal) -> None:
    path = await pay_link(demo_portal)
    await opened(client, path)
    response = await client.post(path, json=GOOD)
    assert response.status == 403 and "Traceback" not in await response.text()


async def test_each_link_is_for_its_own_customer(client: Client, demo_portal: Portal) -> None:
    path = await pay_link(demo_portal, "bob@example.com")
    _, body, csrf = await opened(client, path)
    assert "bob@example.com" in body and ALICE not in body

    assert (await sent(client, path, csrf))[0].status == 200

    assert await cards(demo_portal, "bob@example.com") == [("4242", True)]
    assert await cards(demo_portal, ALICE) == []


async def test_a_double_click_saves_one_card(client: Client, demo_portal: Portal) -> None:
    path = await pay_link(demo_portal)
    _, _, csrf = await opened(client, path)

    answers = await asyncio.gather(*(sent(client, path, csrf) for _ in range(3)))

    assert sorted(heading(body) for _, body in answers) == [
        "Card saved", "Your card is already saved", "Your card is already saved"]
    assert {response.status for response, _ in answers} == {200}
    assert [m.last4 for m in await all_methods(demo_portal)] == ["4242"]
    assert len(await sent_mail(demo_portal, to=ALICE, kind="payment")) == 1
