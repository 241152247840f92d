"""The payment provider interface: what core asks of whoever moves the money.

A provider adapter (adapters/payments/: the embedded test-mode provider, Stripe) implements
`PaymentProvider`; the composition root chooses one and hands it to the services that charge.
Core keeps its own record of everything (core/models/payments.py) and never sees a card number:
methods are added on the provider's hosted page, and core only learns their brand, last four
and expiry.

Charges and refunds carry an idempotency key. A provider must answer a second request with the
same key with the first one's result, without charging (or refunding) again: that is what makes
a renewal that crashed after the charge, before its commit, charge once when it runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

# Why a charge failed, as providers report it (Stripe's decline codes).
CARD_DECLINED = "card_declined"
INSUFFICIENT_FUNDS = "insufficient_funds"
EXPIRED_CARD = "expired_card"
PROCESSING_ERROR = "processing_error"
NO_PAYMENT_METHOD = "no_payment_method"  # ours: nothing to charge

FAILURE_WORDS = {
    CARD_DECLINED: "the card was declined",
    INSUFFICIENT_FUNDS: "the card has insufficient funds",
    EXPIRED_CARD: "the card has expired",
    PROCESSING_ERROR: "the payment could not be processed",
    NO_PAYMENT_METHOD: "there is no payment method on file",
}


def failure_words(code: str | None) -> str:
    """A failure code as a sentence part: "the card was declined"."""
    return FAILURE_WORDS.get(code or "", "the payment failed")


@dataclass(frozen=True)
class ProviderCustomer:
    """Who a provider customer is created for."""

    customer_id: int
    email: str
    name: str | None = None


@dataclass(frozen=True)
class ProviderMethod:
    """A payment method as the provider holds it; all core keeps of it."""

    ref: str  # the provider's id for it
    brand: str  # "Visa"
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SetupLink:
    """Where the customer adds or updates a method on the provider's page."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class ChargeRequest:
    customer_ref: str
    method_ref: str
    amount: int  # minor units, > 0
    currency: str
    idempotency_key: str
    description: str


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    provider_ref: str | None = None  # the provider's id for the charge
    failure_code: str | None = None  # CARD_DECLINED, INSUFFICIENT_FUNDS, ...
    message: str | None = None  # the provider's own words, for the log and the operator


@dataclass(frozen=True)
class RefundResult:
    """What became of a refund: done, refused, or taken and settled later (`pending`: ask again
    with `refund_status`); `canceled` when the provider called it off after taking it."""

    succeeded: bool
    provider_ref: str | None = None  # the provider's id for the refund
    message: str | None = None  # the provider's own words, for the log and the operator
    pending: bool = False
    canceled: bool = False


@dataclass(frozen=True)
class ProviderSubscription:
    """A subscription as a provider that keeps subscriptions of its own is told about it."""

    subscription_id: int
    customer_ref: str
    method_ref: str | None
    plan: str
    price: int
    currency: str
    interval: str
    current_period_end: datetime
    cancel_at_period_end: bool


@runtime_checkable
class PaymentProvider(Protocol):
    name: str  # stored with every method and charge: "testmode", "stripe"
    test_mode: bool  # no real money moves; every page and listing says so
    # True when the provider bills renewals itself (and reports them); False when shopkeep's
    # renewals worker charges each period through `charge`.
    owns_renewals: bool

    async def ensure_customer(self, customer: ProviderCustomer) -> str:
        """The provider's id for the customer, created if needed (idempotent per customer)."""
        ...

    async def list_methods(self, customer_ref: str) -> list[ProviderMethod]:
        ...

    async def attach_method(self, customer_ref: str, method_token: str) -> ProviderMethod:
        """Attach a method the provider already knows by a token (its own hosted page's result,
        or a test token such as "pm_card_visa"). Raises core.kernel.errors.InvalidInput."""
        ...

    async def setup_link(self, customer: ProviderCustomer, customer_ref: str) -> SetupLink:
        """A single-use link to the provider's hosted page for adding a method."""
        ...

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per idempotency key. A decline is a result, not an exception; an
        exception means the outcome is unknown, and the same key is tried again later."""
        ...

    async def refund(self, charge_ref: str, amount: int, currency: str, idempotency_key: str
                     ) -> RefundResult:
        """Give back `amount` of the charge once per idempotency key. A refusal is a result; an
        exception means the outcome is unknown, and the same key is tried again later."""
        ...

    async def refund_status(self, provider_ref: str) -> RefundResult:
        """Where a refund that was pending stands now."""
        ...

    # The subscription operations a provider owns (no-ops where shopkeep bills the renewals).
    async def create_subscription(self, subscription: ProviderSubscription) -> str | None:
        """Returns the provider's id for it, if it keeps one."""
        ...

    async def update_subscription(self, provider_ref: str | None,
                                  subscription: ProviderSubscription) -> None:
        ...

    async def cancel_subscription(self, provider_ref: str | None, *, at_period_end: bool) -> None:
        ...
