"""The test-mode payment provider's hosted page, `/pay/<token>`: the one place a card number is
typed. The `payment` command links to it; the link is signed, bound to one customer, single use
and valid for 30 minutes (adapters/payments/testmode.py checks all of that and saves the card).

GET shows the form, or a page saying why the link cannot be used (410 expired or already used,
403 not valid). POST is accepted only from the page itself:

- a token in the form, bound to the link and to a random value in a SameSite=Lax, HttpOnly
  cookie the page set (a signed double-submit cookie): another site can neither read it nor
  make the browser send the cookie with its POST;
- the browser's Origin, or with `Origin: null` (sent because the page asks for no referrer)
  its Sec-Fetch-Site, must say the POST came from this site.

A field the provider refuses comes back on the form with its sentence, keeping the expiry and
name typed but never the card number or CVC. The second POST of a page that saved a card is
told so and adds nothing. Every answer is uncacheable, unframeable and sends no referrer.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import hdrs, web
from markupsafe import Markup

from adapters.payments.testmode import (
    LINK_EXPIRED,
    LINK_USED,
    TEST_CARD_LIST,
    TEST_CARDS,
    SetupOutcome,
    TestModeProvider,
)
from core.kernel.formatting import moment
from core.kernel.validation import without_controls
from core.payments.provider import failure_words
from handlers.text import html_inline

PROVIDER: web.AppKey[TestModeProvider] = web.AppKey("payments", TestModeProvider)
COOKIE = "shopkeep_pay"
_COOKIE_VALUE = re.compile(r"^[0-9a-f]{32}$")
NAME_LIMIT = 100
FIELDS = ("number", "expiry", "cvc", "name")
CLOSE = "You can close this page."

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
    autoescape=True, undefined=jinja2.StrictUndefined)
_TEMPLATES.filters["inline"] = lambda text: Markup(html_inline(str(text)))


def add_routes(app: web.Application, provider: TestModeProvider) -> None:
    app[PROVIDER] = provider
    app.router.add_get("/pay/{token}", show)
    app.router.add_post("/pay/{token}", submit)


def _render(request: web.Request, template: str, status: int, title: str, **values: Any) -> web.Response:
    provider = request.app[PROVIDER]
    nonce = secrets.token_urlsafe(16)
    body = _TEMPLATES.get_template(template).render(
        title=title, nonce=nonce, test_mode=provider.test_mode, test_cards=TEST_CARD_LIST,
        store=provider.portal.settings.store_name, **values)
    response = web.Response(status=status, text=body, content_type="text/html")
    response.headers.update({
        hdrs.CACHE_CONTROL: "no-store", "Pragma": "no-cache",
        "Content-Security-Policy": f"default-src 'none'; style-src 'nonce-{nonce}'; "
                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
    })
    return response


def _message(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return _render(request, "pay_message.html", status, title, message=message)


def _link_problem(request: web.Request, problem: str | None, message: str) -> web.Response:
    if problem == LINK_EXPIRED:
        return _message(request, 410, "This link has expired", message)
    if problem == LINK_USED:
        return _message(request, 410, "This link was already used", message)
    return _message(request, 403, "This link is not valid", message)


def _form(request: web.Request, token: str, browser: str, *, status: int = 200,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          email: str, expires: str) -> web.Response:
    provider = request.app[PROVIDER]
    errors = errors or {}
    response = _render(
        request, "pay_form.html", status, "Add a card", email=email, expires=expires,
        csrf=provider.form_secret(token, browser), name_limit=NAME_LIMIT,
        errors={field: errors.get(field) for field in FIELDS},
        values={"expiry": "", "name": "", **(values or {})},
        problem="Please correct the field marked below." if errors else None)
    public = urlsplit(provider.portal.settings.public_url)
    response.set_cookie(COOKIE, browser, path=public.path.rstrip("/") + "/pay/", httponly=True,
                        samesite="Lax", secure=public.scheme == "https")
    return response


def _browser(request: web.Request) -> str:
    """The value of this browser's page cookie: kept when it has one, so two tabs of the same
    link both stay valid."""
    given = request.cookies.get(COOKIE, "")
    return given if _COOKIE_VALUE.match(given) else secrets.token_hex(16)


def _expires(request: web.Request, at: datetime | None) -> str:
    portal = request.app[PROVIDER].portal
    return moment(at, portal.settings.store.timezone) if at is not None else "it expires"


async def show(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    token = request.match_info["token"]
    page = await provider.open_setup(token)
    if not page.ok:
        return _link_problem(request, page.problem, page.message)
    return _form(request, token, _browser(request), email=page.email or "",
                 expires=_expires(request, page.expires_at))


def _from_this_site(request: web.Request) -> bool:
    """Whether the browser says the POST came from one of this site's own pages."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:  # not a browser, or an old one: the form token and cookie still decide
        return True
    if origin == "null":  # what a no-referrer page sends on its own POSTs
        return site == "same-origin"
    public = urlsplit(request.app[PROVIDER].portal.settings.public_url)
    return origin in (f"{public.scheme}://{public.netloc}", f"{request.scheme}://{request.host}")


async def submit(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    token = request.match_info["token"]
    refused = ("This form can only be sent from its own page. Open the link from the portal "
               "again (it still works if it has not expired) and enter the card there.")
    if not _from_this_site(request):
        return _message(request, 403, "This form was not sent from its page", refused)
    form = await request.post()
    browser = request.cookies.get(COOKIE, "")
    given = str(form.get("csrf", ""))
    if not (_COOKIE_VALUE.match(browser)
            and hmac.compare_digest(given.encode(), provider.form_secret(token, browser).encode())):
        return _message(request, 403, "This form could not be checked", refused
                        + " Cookies must be allowed for this page.")
    fields = {name: str(form.get(name, "")) for name in FIELDS}
    name = without_controls(fields["name"]).strip()
    kept = {"expiry": without_controls(fields["expiry"]).strip()[:10], "name": name[:NAME_LIMIT]}
    if len(name) > NAME_LIMIT:
        return await _again(request, token, browser, {"name": f"The name on the card is at most "
                                                              f"{NAME_LIMIT} characters."}, kept)
    outcome = await provider.complete_setup(token, number=fields["number"], expiry=fields["expiry"],
                                            cvc=fields["cvc"])
    if outcome.ok:
        said = outcome.message.removesuffix(CLOSE).rstrip()
        return _message(request, 200, "Card saved", f"{said}{_how_it_charges(outcome)} {CLOSE}")
    if outcome.problem == LINK_USED:
        return _message(request, 200, "Your card is already saved", _already_saved(outcome))
    if outcome.field is None:
        return _link_problem(request, outcome.problem, outcome.message)
    return await _again(request, token, browser, {outcome.field: outcome.message}, kept)


async def _again(request: web.Request, token: str, browser: str, errors: dict[str, str],
                 values: dict[str, str]) -> web.Response:
    """The form once more, with what to correct, for a link that can still be used."""
    page = await request.app[PROVIDER].open_setup(token)
    if not page.ok:
        return _link_problem(request, page.problem, page.message)
    return _form(request, token, browser, status=422, errors=errors, values=values,
                 email=page.email or "", expires=_expires(request, page.expires_at))


def _how_it_charges(outcome: SetupOutcome) -> str:
    """What charging a failing test card will do, so nobody is surprised by the renewal."""
    last4 = outcome.method.last4 if outcome.method is not None else ""
    code = next((code for number, code in TEST_CARDS.items() if number.endswith(last4)), None)
    return f" Test mode: charges to this card fail: {failure_words(code)}." if code else ""


def _already_saved(outcome: SetupOutcome) -> str:
    method = outcome.method
    card = f"your {method.label} (expires {method.expiry})" if method is not None else "a card"
    return (f"This page already saved {card}; sending it again added nothing. To add another "
            f"card, send `payment` in the portal for a new link. {CLOSE}")
