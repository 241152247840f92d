"""The undo link of an account move as its old owner opens it in a browser: a page that says what
the button does, the button that gives the account back, and a page without it once it has been pressed."""

from __future__ import annotations

import asyncio
from typing import Any

from core.kernel.portal import Portal
from tests.doors.web.browser.test_download_pages import opened, site  # noqa: F401 - the fixture
from tests.doors.web.test_undo import NEW, address_of_the_account, moved


async def pressed(browser: Any) -> tuple[str, str]:
    def press() -> tuple[str, str]:
        browser.find_element("css selector", "form button, form input[type=submit]").click()
        return browser.title, browser.find_element("tag name", "body").text

    return await asyncio.to_thread(press)


async def test_the_button_gives_the_account_back_once(browser: Any, site: str,  # noqa: F811
                                                      demo_portal: Portal) -> None:
    url = site + await moved(demo_portal)
    title, text = await opened(browser, url)
    assert title == "Undo the move of your account?"
    assert f"was moved from alice@example.com to {NEW}" in text
    assert await address_of_the_account(demo_portal) == NEW, "opening the page undoes nothing"

    title, text = await pressed(browser)
    assert title == "The account is back" and "Your account is alice@example.com again" in text
    assert "`" not in text  # the sign-in line is shown as code
    assert await address_of_the_account(demo_portal) == "alice@example.com"

    title, text = await opened(browser, url)  # the same link again, as from the email
    assert title == "This move cannot be undone" and "already undone" in text
    assert "Give the account back" not in text
    assert "Traceback" not in text
