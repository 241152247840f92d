"""Subscriptions: a plan renewed every period until it ends, who bills it, and what is scheduled.

States (spelled this way everywhere): trialing, active, past_due, paused (live: they hold the
customer's one subscription of a product), canceled (ended by the customer or the merchant) and
expired (ended by failed payment or a fixed term). "Cancels at period end", "pauses at period end"
and "changes plan at period end" are scheduled changes on a live subscription, each undoable.

Every change goes through the ORM, which checks and bumps `version` (SQLAlchemy's version
counter): a second change made from the same starting point finds no row to update and is
refused ("another change is in progress") instead of overwriting the first, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, BigId, CreatedMixin, IdMixin
from core.models.catalog import Plan, Product
from core.models.payments import PaymentMethod

TRIALING = "trialing"
ACTIVE = "active"
PAST_DUE = "past_due"
PAUSED = "paused"
CANCELED = "canceled"
EXPIRED = "expired"
LIVE = (TRIALING, ACTIVE, PAST_DUE, PAUSED)
ENDED_STATES = (CANCELED, EXPIRED)
STATES = (*LIVE, *ENDED_STATES)

# Who bills the renewals: shopkeep through its payment provider, or the merchant's own store
# (shopkeep never charges those; the merchant reports each renewal).
SHOPKEEP = "shopkeep"
MERCHANT = "merchant"
EXTERNAL = "external"  # the provider of a merchant-billed subscription

_LIVE_SQL = "status IN ('trialing', 'active', 'past_due', 'paused')"


class Subscription(IdMixin, CreatedMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        # One live subscription per product per customer; ended ones are kept as history.
        Index("uq_subscriptions_live", "customer_id", "product_id", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    plan_id: Mapped[int] = mapped_column(BigId, ForeignKey("plans.id"))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    # The day periods are counted from (a new period after a move to a longer interval, a
    # resume); None: the first order's day, as before.
    period_anchor: Mapped[datetime | None]

    billed_by: Mapped[str] = mapped_column(String(20), default=MERCHANT, server_default=MERCHANT)
    provider: Mapped[str] = mapped_column(String(30), default=EXTERNAL, server_default=EXTERNAL)
    provider_ref: Mapped[str | None] = mapped_column(String(200))  # the provider's own id, if any
    payment_method_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment_methods.id"))

    # Scheduled for the period end; each undoable until then.
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    pause_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=false())
    scheduled_plan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("plans.id"))
    # A pause: since when, and the day it resumes by itself (None: until `resume`).
    paused_at: Mapped[datetime | None]
    pause_until: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    canceled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    # An upgrade's difference owed with the next renewal (proration `next_period`), minor units.
    carry_over: Mapped[int] = mapped_column(default=0, server_default="0")
    # Dunning: failed renewal charges of the current period, and when the next one is tried.
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_retry_at: Mapped[datetime | None]
    # Held by the renewals worker that claimed it (a crashed worker's claim runs out).
    renewal_lease_until: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    product: Mapped[Product] = relationship()
    plan: Mapped[Plan] = relationship(foreign_keys=[plan_id])
    scheduled_plan: Mapped[Plan | None] = relationship(foreign_keys=[scheduled_plan_id])
    payment_method: Mapped[PaymentMethod | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def billed_by_shopkeep(self) -> bool:
        return self.billed_by == SHOPKEEP


class SubscriptionQuote(IdMixin, CreatedMixin, Base):
    """A preview as it was shown: confirming applies exactly this, or nothing.

    Bound to the customer and to the subscription's version at preview time: if the
    subscription changed since (another change, a renewal), the quote is refused, not re-priced.
    """

    __tablename__ = "subscription_quotes"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(BigId, ForeignKey("subscriptions.id"))
    subscription_version: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))  # change_plan, keep, pause, resume, cancel, ...
    plan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("plans.id"))
    # Lines, when it takes effect, the pause's end, the reason: what the preview said.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    amount_due: Mapped[int] = mapped_column(default=0)  # charged on confirmation, minor units
    currency: Mapped[str] = mapped_column(String(3))
    prorated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
