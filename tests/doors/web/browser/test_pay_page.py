"""The test-mode payment page in a real browser: a customer follows the link `payment` gave
them, types a test card, and sees it saved; a typo is shown on the form; sending the page again
(another tab of the same link, or back) adds nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.web import create_app
from core.kernel.portal import Portal
from tests.fakes.relay import free_port
from tests.handlers.cards import all_methods, billed_by_shopkeep, cards, forget_cards, pay_link, payment

ALICE = "alice@example.com"


@pytest.fixture
async def site(demo_portal: Portal) -> AsyncIterator[Portal]:
    """shopkeep's HTTP server on a loopback port that is also its public URL, as links say."""
    port = free_port()
    portal = dataclasses.replace(demo_portal, settings=demo_portal.settings.model_copy(
        update={"public_url": f"http://127.0.0.1:{port}"}))
    for email in (ALICE, "bob@example.com"):  # nobody has a card yet: each one saved here counts
        await forget_cards(portal, email)
    await billed_by_shopkeep(portal, ALICE)
    runner = web.AppRunner(create_app(portal))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield portal
    finally:
        await runner.cleanup()


async def in_browser(work: Any) -> Any:
    return await asyncio.to_thread(work)


def fill(browser: Any, number: str, expiry: str = "12/30", cvc: str = "123", name: str = "") -> None:
    """Type into the form and send it; returns once the answer's page has replaced the form."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    for field, value in (("number", number), ("expiry", expiry), ("cvc", cvc), ("name", name)):
        element = browser.find_element("id", field)
        element.clear()
        element.send_keys(value)
    form = browser.find_element("tag name", "form")
    browser.find_element("id", "save").click()
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(form))
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")


def page(browser: Any) -> tuple[str, str]:
    return browser.find_element("tag name", "h1").text, browser.find_element("tag name", "body").text


async def test_a_test_card_typed_in_the_form_is_saved_and_listed(browser: Any, site: Portal, tmp_path: Path) -> None:
    url = site.settings.public_url + await pay_link(site)

    def add() -> tuple[str, str, tuple[str, str]]:
        browser.get(url)
        before = page(browser)
        fill(browser, "4242 4242 4242 4242", name="Alice Moreau")
        browser.save_screenshot(str(tmp_path / "saved.png"))
        return before[0], before[1], page(browser)

    title, form, (done, said) = await in_browser(add)

    assert title == "Add a card" and "TEST MODE" in form and ALICE in form
    assert done == "Card saved"
    assert "Your Visa ending in 4242 (expires 12/30) is saved" in said and "You can close this page." in said
    listing = await payment(site, ALICE)
    assert listing.tables[0].rows == [["1", "Visa ending in 4242", "12/30", "yes", "Maker Pro Membership"]]


async def test_a_typo_in_the_number_is_shown_on_the_form(browser: Any, site: Portal) -> None:
    url = site.settings.public_url + await pay_link(site)

    def mistype() -> tuple[tuple[str, str], str, str, str]:
        browser.get(url)
        fill(browser, "4242 4242 4242 4241", expiry="11/31")
        problem = browser.find_element("id", "number-problem").text
        return (page(browser), problem, browser.find_element("id", "number").get_attribute("value"),
                browser.find_element("id", "expiry").get_attribute("value"))

    (title, text), problem, number, expiry = await in_browser(mistype)

    assert title == "Add a card" and "Please correct the field marked below." in text
    assert problem.startswith("That card number has a typo")
    assert number == "" and expiry == "11/31", "the expiry is kept, the number never comes back"
    assert await all_methods(site) == []

    def correct() -> str:
        fill(browser, "4242 4242 4242 4242", expiry="11/31")
        return page(browser)[0]

    assert await in_browser(correct) == "Card saved"
    assert await cards(site, ALICE) == [("4242", True)]


async def test_sending_the_page_again_adds_nothing(browser: Any, site: Portal) -> None:
    url = site.settings.public_url + await pay_link(site)

    def twice() -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
        browser.get(url)
        first_tab = browser.current_window_handle
        browser.switch_to.new_window("tab")
        browser.get(url)  # the same link open twice, both forms ready
        second_tab = browser.current_window_handle
        browser.switch_to.window(first_tab)
        fill(browser, "4242 4242 4242 4242")
        saved = page(browser)
        browser.switch_to.window(second_tab)
        fill(browser, "4000 0000 0000 0002")
        again = page(browser)
        browser.switch_to.window(first_tab)
        browser.back()  # the page is not cached: going back asks the server, which says it is used
        back = page(browser)
        return saved, again, back

    saved, again, back = await in_browser(twice)

    assert saved[0] == "Card saved"
    assert again[0] == "Your card is already saved"
    assert "This page already saved your Visa ending in 4242 (expires 12/30); sending it again added nothing." in again[1]
    assert back[0] == "This link was already used" and "payment" in back[1]
    assert [method.last4 for method in await all_methods(site)] == ["4242"]
