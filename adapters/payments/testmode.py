"""The embedded test-mode payment provider: no account, no network, and no real money.

It accepts only the well-known test cards and charges each exactly as it says:

    4242 4242 4242 4242   succeeds
    4000 0000 0000 0002   is declined (card_declined)
    4000 0000 0000 9995   has insufficient funds (insufficient_funds)

Its hosted page (/pay/<token> on the HTTP server, bot/web/pay.py) is the only place a card number
is typed. The page calls `open_setup` to show who it is for and `complete_setup` with the form's
fields; both answer with a clear outcome, never an exception, and say what is wrong with the link
itself (`problem`: expired, invalid, used) so the page can answer 410 or 403. A setup link is
signed with the server secret, bound to one customer, valid for 30 minutes and good for one card:
the card is saved under the link's nonce, which the database keeps unique, so a double
submission saves one card and is told which one.

Only brand, last four and expiry are kept. The method's id at this "provider" carries the last
four and the expiry, which is all a test card's behaviour depends on.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from core.kernel.errors import InvalidInput
from core.kernel.portal import Portal
from core.kernel.security import TokenExpired, TokenInvalid, keyed_hash, sign, verify
from core.models import Customer, PaymentMethod
from core.payments import methods
from core.payments.provider import (
    CARD_DECLINED,
    EXPIRED_CARD,
    INSUFFICIENT_FUNDS,
    PROCESSING_ERROR,
    ChargeRequest,
    ChargeResult,
    ProviderCustomer,
    ProviderMethod,
    ProviderSubscription,
    RefundResult,
    SetupLink,
)

NAME = "testmode"
SETUP_PURPOSE = "payment-setup"
SETUP_TTL = timedelta(minutes=30)
BRAND = "Visa"

# Each test card and what charging it does (None: it succeeds).
TEST_CARDS: dict[str, str | None] = {
    "4242424242424242": None,
    "4000000000000002": CARD_DECLINED,
    "4000000000009995": INSUFFICIENT_FUNDS,
}
# Test tokens that name a test card without its number (as Stripe's test mode has them), for
# the demo and for scripts: attach_method(customer, "pm_card_visa").
TEST_TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
}
TEST_CARD_LIST = "4242 4242 4242 4242 (succeeds), 4000 0000 0000 0002 (declined) or " \
                 "4000 0000 0000 9995 (insufficient funds)"
_METHOD_REF = re.compile(r"^pm_test_(\d{4})_(\d{2})(\d{2})_[0-9a-f]+$")


@dataclass(frozen=True)
class CardProblem:
    field: str  # number, expiry, cvc
    message: str


def check_card(number: str, expiry: str, cvc: str, *, now: datetime) -> tuple[str, int, int] | CardProblem:
    """The card's digits and expiry month and year, or what is wrong with the fields."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        return CardProblem("number", "Enter the card number.")
    if not digits.isdecimal() or not 12 <= len(digits) <= 19:
        return CardProblem("number", "A card number is 12 to 19 digits.")
    if not luhn.is_valid(digits):
        return CardProblem("number", "That card number has a typo: its digits do not add up "
                                     "(Luhn check). Please check it.")
    if digits not in TEST_CARDS:
        return CardProblem("number", f"This is test mode: only test cards work. Use {TEST_CARD_LIST}.")
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry or "")
    if match is None:
        return CardProblem("expiry", "Enter the expiry as MM/YY, for example 12/30.")
    month, year = int(match[1]), int(match[2])
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        return CardProblem("expiry", "The expiry month must be 01 to 12.")
    if (year, month) < (now.year, now.month):
        return CardProblem("expiry", "This card has expired: its expiry date is in the past.")
    if year > now.year + 20:
        return CardProblem("expiry", "That expiry year is too far ahead; check it.")
    if not re.fullmatch(r"\d{3}", (cvc or "").strip()):
        return CardProblem("cvc", "The security code (CVC) is the 3 digits on the back of the card.")
    return digits, month, year


# What is wrong with a setup link, when something is.
LINK_EXPIRED = "expired"  # older than 30 minutes: a new link is needed
LINK_INVALID = "invalid"  # incomplete, changed, or for nobody we know
LINK_USED = "used"  # a card was saved with it already


@dataclass(frozen=True)
class SetupPage:
    """What the hosted page shows before the form: who it is for, or why it cannot be used."""

    ok: bool
    message: str
    email: str | None = None
    expires_at: datetime | None = None
    problem: str | None = None  # LINK_EXPIRED, LINK_INVALID, LINK_USED when not ok
    method: PaymentMethod | None = None  # the card saved with it (LINK_USED)


@dataclass(frozen=True)
class SetupOutcome:
    """The result of submitting the form.

    ok: the card was saved (message: "... You can close this page."). Otherwise `field` names the
    form field to correct (the link still works), or is None when the link itself cannot be
    used any more (expired, used, not valid) and a new one is needed."""

    ok: bool
    message: str
    field: str | None = None
    method: PaymentMethod | None = None  # the card saved (ok), or saved before (LINK_USED)
    problem: str | None = None  # what is wrong with the link: LINK_EXPIRED, LINK_INVALID, LINK_USED

    @property
    def can_retry(self) -> bool:
        return self.field is not None


NEW_LINK = "Send `payment` in the portal for a new link."


class TestModeProvider:
    """core.payments.provider.PaymentProvider, test mode."""

    __test__ = False  # not a pytest test class, whatever its name says
    name = NAME
    test_mode = True
    owns_renewals = False  # shopkeep's renewals worker charges each period

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    # Customers and methods.

    async def ensure_customer(self, customer: ProviderCustomer) -> str:
        return f"cus_test_{customer.customer_id}"

    async def list_methods(self, customer_ref: str) -> list[ProviderMethod]:
        customer_id = int(customer_ref.removeprefix("cus_test_"))
        async with self.portal.db.unit_of_work() as session:
            rows = await session.scalars(select(PaymentMethod).where(
                PaymentMethod.customer_id == customer_id, PaymentMethod.provider == NAME,
                PaymentMethod.removed_at.is_(None)).order_by(PaymentMethod.id))
            return [ProviderMethod(m.provider_ref, m.brand, m.last4, m.exp_month, m.exp_year)
                    for m in rows]

    async def attach_method(self, customer_ref: str, method_token: str) -> ProviderMethod:
        number = TEST_TOKENS.get(method_token)
        if number is None:
            raise InvalidInput(f"Test mode knows the tokens {', '.join(TEST_TOKENS)}; "
                               f"{method_token!r} is not one of them.")
        now = self.portal.now()
        return self._method(number, 12, now.year + 3)

    def _method(self, number: str, month: int, year: int) -> ProviderMethod:
        last4 = number[-4:]
        ref = f"pm_test_{last4}_{month:02d}{year % 100:02d}_{secrets.token_hex(6)}"
        return ProviderMethod(ref=ref, brand=BRAND, last4=last4, exp_month=month, exp_year=year)

    # The hosted page.

    async def setup_link(self, customer: ProviderCustomer, customer_ref: str) -> SetupLink:
        now = self.portal.now()
        token = sign(self.portal.secret, SETUP_PURPOSE, [customer.customer_id, secrets.token_hex(8)],
                     ttl=int(SETUP_TTL.total_seconds()), now=now.timestamp())
        return SetupLink(url=self.portal.url(f"/pay/{token}"), expires_at=now + SETUP_TTL)

    def form_secret(self, token: str, browser: str = "") -> str:
        """A value the page puts in its form and checks on submission (CSRF): only a page
        rendered by this server for this link (and, given `browser`, the value of the cookie
        it set in that browser) knows it."""
        return keyed_hash(self.portal.secret, "pay-form", f"{token}\x00{browser}")[:32]

    def _read(self, token: str) -> tuple[int, str, datetime]:
        """(customer id, nonce, expiry); raises LinkProblem with the page's sentence."""
        now = self.portal.now().timestamp()
        try:
            customer_id, nonce = verify(self.portal.secret, SETUP_PURPOSE, token, now=now)
            expiry = int(token.rpartition(".")[0].rpartition(".")[2])
            return int(customer_id), nonce, datetime.fromtimestamp(expiry, UTC)
        except TokenExpired:
            raise LinkProblem(LINK_EXPIRED, "This link has expired: links to add a card work for "
                                            f"30 minutes. {NEW_LINK}") from None
        except (TokenInvalid, ValueError, OverflowError):
            raise LinkProblem(LINK_INVALID, _invalid()) from None

    async def _saved_with(self, session: AsyncSession, nonce: str) -> PaymentMethod | None:
        return await session.scalar(select(PaymentMethod).where(PaymentMethod.setup_ref == nonce))

    async def open_setup(self, token: str) -> SetupPage:
        try:
            customer_id, nonce, expires_at = self._read(token)
        except LinkProblem as exc:
            return SetupPage(False, exc.message, problem=exc.problem)
        async with self.portal.db.unit_of_work() as session:
            customer = await session.get(Customer, customer_id)
            used = await self._saved_with(session, nonce)
        if customer is None:
            return SetupPage(False, _invalid(), problem=LINK_INVALID)
        if used is not None:
            return SetupPage(False, _used(used), problem=LINK_USED, method=used)
        return SetupPage(True, f"Add a card for {customer.email}. Test mode: use {TEST_CARD_LIST}; "
                               "no real money moves.", customer.email, expires_at)

    async def complete_setup(self, token: str, *, number: str, expiry: str, cvc: str) -> SetupOutcome:
        """Check the form's fields and save the card (brand, last four, expiry) as the customer's
        default method. Never raises for anything a person typed. A link that already saved a
        card answers so (LINK_USED, with that card) whatever the fields say this time."""
        try:
            customer_id, nonce, _ = self._read(token)
        except LinkProblem as exc:
            return SetupOutcome(False, exc.message, problem=exc.problem)
        async with self.portal.db.unit_of_work() as session:
            used = await self._saved_with(session, nonce)
        if used is not None:
            return SetupOutcome(False, _used(used), method=used, problem=LINK_USED)
        checked = check_card(number, expiry, cvc, now=self.portal.now())
        if isinstance(checked, CardProblem):
            return SetupOutcome(False, checked.message, checked.field)
        digits, month, year = checked
        try:
            async with self.portal.db.unit_of_work() as session:
                customer = await session.get(Customer, customer_id)
                if customer is None:
                    return SetupOutcome(False, _invalid(), problem=LINK_INVALID)
                method = await methods.add_method(
                    session, self.portal, customer_id, NAME, self._method(digits, month, year),
                    actor="customer via payment page", setup_ref=nonce)
        except IntegrityError:  # the same form submitted twice at once: the other one saved it
            async with self.portal.db.unit_of_work() as session:
                used = await self._saved_with(session, nonce)
            return SetupOutcome(False, _used(used), method=used, problem=LINK_USED)
        return SetupOutcome(True, f"Your {method.label} (expires {method.expiry}) is saved and is "
                                  "now your default payment method. You can close this page.",
                            method=method)

    # Money.

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.amount <= 0:
            raise ValueError("a charge is for a positive amount")
        match = _METHOD_REF.match(request.method_ref)
        if match is None:
            return ChargeResult(False, failure_code=PROCESSING_ERROR,
                                message="not a test-mode payment method")
        last4, month, year = match[1], int(match[2]), 2000 + int(match[3])
        now = self.portal.now()
        ref = f"ch_test_{keyed_hash(self.portal.secret, 'charge', request.idempotency_key)[:16]}"
        if (year, month) < (now.year, now.month):
            return ChargeResult(False, ref, EXPIRED_CARD, "Your card has expired.")
        outcome = next((code for number, code in TEST_CARDS.items() if number.endswith(last4)),
                       PROCESSING_ERROR)
        if outcome == CARD_DECLINED:
            return ChargeResult(False, ref, CARD_DECLINED, "Your card was declined.")
        if outcome == INSUFFICIENT_FUNDS:
            return ChargeResult(False, ref, INSUFFICIENT_FUNDS, "Your card has insufficient funds.")
        if outcome is not None:
            return ChargeResult(False, ref, outcome, "not a test card")
        # The charge's id comes from its idempotency key: asking again answers the same charge.
        return ChargeResult(True, ref)

    async def refund(self, charge_ref: str, amount: int, currency: str, idempotency_key: str
                     ) -> RefundResult:
        # Test-mode refunds succeed at once; the id comes from the key, so asking again answers
        # the same refund.
        return RefundResult(True, f"re_test_{keyed_hash(self.portal.secret, 'refund', idempotency_key)[:16]}")

    async def refund_status(self, provider_ref: str) -> RefundResult:
        return RefundResult(True, provider_ref)

    # Subscriptions: shopkeep keeps them; test mode has nothing to do.

    async def create_subscription(self, subscription: ProviderSubscription) -> str | None:
        return None

    async def update_subscription(self, provider_ref: str | None,
                                  subscription: ProviderSubscription) -> None:
        return None

    async def cancel_subscription(self, provider_ref: str | None, *, at_period_end: bool) -> None:
        return None


class LinkProblem(Exception):
    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem, self.message = problem, message


def _invalid() -> str:
    return f"This link is not valid: it is incomplete or was changed. {NEW_LINK}"


def _used(method: PaymentMethod | None) -> str:
    saved = f" (your {method.label}, expires {method.expiry})" if method is not None else ""
    return (f"This link was already used: a card was saved with it{saved}, and nothing more "
            f"can be added with it. {NEW_LINK}")
