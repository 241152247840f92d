"""Your subscriptions: what each costs and does next, its plans, and every change to it.

`subscriptions` and `plans <product>` only read. `change`, `pause`, `resume`, `cancel`,
`uncancel` and `resubscribe` show core's preview (what happens, when, what is due now and the
price from then on) and wait for a confirmation that keeps the previewed quote; confirming
applies exactly that quote once (handlers/previews.py). Every refusal is core's own sentence.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from core.kernel.errors import NotAllowed
from core.models import PaymentMethod, Subscription
from core.models.subscriptions import LIVE, SHOPKEEP
from core.payments.methods import default_method
from core.subscriptions import changes, lifecycle, merchant, queries
from core.subscriptions.state import state_of
from core.subscriptions.wording import price
from handlers.context import Context
from handlers.previews import apply, ask_or_apply, provider
from handlers.registry import Arguments, NoArguments, command, confirmation_field
from handlers.reply import Choice, Reply, Table

PRODUCT = "the subscription's number from `subscriptions`, or its product's slug or name"
QUOTE = "the preview being confirmed"
NOW_WORDS = {"now", "immediately", "true", "yes"}
LATER_WORDS = {"false", "no", "later", ""}
MAX_CHOICES = 4


def _product_field() -> Any:
    return Field(description=PRODUCT, json_schema_extra={"suggest": "subscriptions"},
                 min_length=1, max_length=200)


class ProductArguments(Arguments):
    product: str = _product_field()
    quote: int | None = confirmation_field(QUOTE)


class PlansArguments(Arguments):
    product: str = _product_field()


class ChangeArguments(Arguments):
    product: str = _product_field()
    plan: str = Field(description='the plan\'s slug or name from `plans <product>`, or "keep" to '
                      "drop a plan change you planned", json_schema_extra={"suggest": "plans"},
                      min_length=1, max_length=200)
    quote: int | None = confirmation_field(QUOTE)


class PauseArguments(Arguments):
    product: str = _product_field()
    until: str | None = Field(default=None, description='the day it resumes, like 2026-05-01 or '
                              '"in 3 weeks"; left out, the longest pause allowed', max_length=60)
    quote: int | None = confirmation_field(QUOTE)

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: object) -> object:
        # `pause club until 2026-05-01` gives "until 2026-05-01".
        if isinstance(value, str):
            words = value.split()
            if words and words[0].lower() == "until":
                return " ".join(words[1:]) or None
        return value


class CancelArguments(Arguments):
    product: str = _product_field()
    now: bool = Field(default=False, description='"now" to end it at once instead of when the '
                      "current period ends")
    reason: str | None = Field(default=None, description="why you are leaving, one of the reasons "
                               "offered (optional)", json_schema_extra={"suggest": "cancel_reasons"},
                               max_length=100)
    quote: int | None = confirmation_field(QUOTE)

    @model_validator(mode="before")
    @classmethod
    def _now_or_reason(cls, data: object) -> object:
        """In words, "now" may come before the reason or not at all: `cancel club too expensive`
        fills `now` with "too", which belongs to the reason."""
        if not isinstance(data, dict) or not isinstance(data.get("now"), str):
            return data
        word = data["now"].strip().lower()
        if word in NOW_WORDS:
            return {**data, "now": True}
        if word in LATER_WORDS:
            return {**data, "now": False}
        reason = " ".join(part for part in (data["now"], data.get("reason")) if part)
        return {**data, "now": False, "reason": reason}


class ResubscribeArguments(Arguments):
    product: str = _product_field()
    plan: str | None = Field(default=None, description="the plan to start on, from `plans <product>`; "
                             "left out, the one you had", json_schema_extra={"suggest": "plans"},
                             max_length=200)
    quote: int | None = confirmation_field(QUOTE)


# Reading.

@command("subscriptions", summary="Your subscriptions: plan, price, what happens next, the card",
         aliases=("plan",), examples=("subscriptions",), reads_only=True)
async def subscriptions(ctx: Context, args: NoArguments) -> Reply:
    """Each subscription with its plan and price, whether it renews, ends or resumes and when,
    the changes planned for its period end, and the card it renews with. Send `plans <product>`
    to see what you can switch to."""
    customer = await ctx.customer()
    listed = await queries.subscriptions_of(ctx.session, customer.id)
    if not listed:
        return Reply.text("You have no subscriptions. Products you subscribe to show up here "
                          "with their plan, price and renewal date.", title="Your subscriptions")
    default = await default_method(ctx.session, customer.id)
    rows, actions = [], []
    for number, subscription in enumerate(listed, start=1):
        state = state_of(subscription, locale=customer.locale, tz=customer.timezone)
        slug = subscription.product.slug
        rows.append([str(number), subscription.product.name, subscription.plan.name,
                     price(customer, subscription.plan), "; ".join([state.text, *state.scheduled]),
                     _pays_with(ctx, subscription, default)])
        if subscription.status in LIVE:
            actions.append(Choice(f"Plans {number}", f"plans {slug}"))
        else:
            actions.append(Choice(f"Resubscribe {number}", f"resubscribe {slug}"))
    reply = Reply(title="Your subscriptions", tables=[Table(
        ["#", "Product", "Plan", "Price", "Status", "Pays with"], rows, title="Subscriptions",
        numeric=(0,), actions=tuple(actions))])
    reply.paragraphs.append("Send `plans <product>` to see its plans, then `change <product> <plan>`; "
                            "`pause`, `resume`, `cancel` or `uncancel <product>` for the rest. Each "
                            "shows what it does and asks first.")
    for subscription in listed:
        if subscription.cancel_at_period_end and subscription.status in LIVE:
            reply.choices.append(Choice(f"Keep {subscription.product.name}",
                                        f"uncancel {subscription.product.slug}"))
    if any(s.billed_by == SHOPKEEP for s in listed):
        reply.choices.append(Choice("Payment methods", "payment"))
    reply.choices = reply.choices[:MAX_CHOICES]
    return reply


def _pays_with(ctx: Context, subscription: Subscription, default: PaymentMethod | None) -> str:
    if subscription.billed_by != SHOPKEEP:
        return f"billed by {ctx.portal.settings.store_name}"
    if subscription.status not in LIVE:
        return "-"
    method = subscription.payment_method
    if method is None or method.removed_at is not None:
        method = default
    return method.label if method is not None else "no card: send `payment`"


@command("plans", summary="The plans of a subscription you can switch to, with their prices",
         examples=("plans maker-pro",), reads_only=True)
async def plans(ctx: Context, args: PlansArguments) -> Reply:
    """Marks the plan you are on; each plan you may move to has its `change` line (or button).
    A change shows what it costs before anything happens."""
    customer = await ctx.customer()
    subscription = await queries.find_subscription(ctx.session, customer.id, args.product)
    name, slug = subscription.product.name, subscription.product.slug
    live = subscription.status in LIVE
    offered = queries.switchable(ctx.portal, subscription)
    rows, actions = [], []
    for choice in offered:
        plan = choice.plan
        if live:
            mark = "your plan" if choice.current else ("" if choice.allowed else "not offered")
            action = Choice(f"Switch to {plan.name}", f"change {slug} {plan.slug}") \
                if choice.allowed else None
        else:
            mark = "your last plan" if choice.current else ""
            action = Choice(f"Resubscribe on {plan.name}", f"resubscribe {slug} {plan.slug}") \
                if plan.active else None
        rows.append([plan.name, price(customer, plan), mark])
        actions.append(action)
    reply = Reply(title=f"{name}: plans")
    try:
        merchant.only_cancel(ctx.portal, subscription)
    except NotAllowed as refusal:
        reply.tables.append(Table(["Plan", "Price", "Note"], rows, title="Plans"))
        reply.paragraphs.append(refusal.message)
        return reply
    reply.tables.append(Table(["Plan", "Price", "Note"], rows, title="Plans", actions=tuple(actions)))
    if not live:
        reply.paragraphs.append(f"Your {name} has ended. Send `resubscribe {slug} <plan>` to start "
                                "again; it shows the price first.")
    elif any(choice.allowed for choice in offered):
        reply.paragraphs.append(f"Send `change {slug} <plan>` to see what moving costs; nothing "
                                "changes until you confirm.")
    else:
        reply.paragraphs.append(f"{name} has no other plan you can move to here.")
    return reply


# Changing.

@command("change", summary="Move a subscription to another plan, with the price shown first",
         aliases=("upgrade", "downgrade"), mutates=True, previews=True,
         examples=("change maker-pro yearly", "upgrade maker-pro yearly", "downgrade maker-pro basic",
                   "change maker-pro keep"))
async def change(ctx: Context, args: ChangeArguments) -> Reply:
    """Asks first, showing what is due now (with the proration, to the second), the new price
    and when it takes effect. Upgrades apply at once; downgrades and shorter intervals wait for
    the period end. `change <product> keep` drops a plan change you planned."""
    keep = args.plan.strip().lower() == changes.KEEP
    done = "Plan kept" if keep else "Plan changed"
    if ctx.confirmed and args.quote is not None:  # its confirmation, keeping the quote
        return await apply(ctx, args.quote, title=done)
    provider(ctx)
    preview = await changes.preview_change(ctx.session, ctx.portal, ctx.customer_id, args.product,
                                           args.plan)
    subscription = await _subscription(ctx, preview.subscription_id)
    if keep:
        summary = f"Keep {preview.product} on {subscription.plan.name}"
        title, label = f"Keep {preview.product} on {subscription.plan.name}?", "Keep plan"
    else:
        target = queries.find_plan(subscription, args.plan)
        summary = f"Move {preview.product} to {target.name}"
        title, label = f"Move {preview.product} to {target.name}?", "Change plan"
    return await ask_or_apply(ctx, preview, title=title, summary=summary, done=done,
                              arguments={"product": preview.product_slug, "plan": args.plan},
                              confirm_label=label)


@command("pause", summary="Pause a subscription from its period end, until a date",
         mutates=True, previews=True,
         examples=("pause maker-pro", "pause maker-pro until 2026-06-01", "pause maker-pro in 3 weeks"))
async def pause(ctx: Context, args: PauseArguments) -> Reply:
    """Asks first. The pause starts when the current period ends and lasts until the date you
    give (or the longest pause the product allows); nothing is charged while paused. Send
    `resume <product>` to end it sooner."""
    if ctx.confirmed and args.quote is not None:
        return await apply(ctx, args.quote, title="Pause planned")
    provider(ctx)
    customer = await ctx.customer()
    until = lifecycle.resume_date(args.until, now=ctx.portal.now(), tz=customer.timezone) \
        if args.until else None
    preview = await lifecycle.preview_pause(ctx.session, ctx.portal, customer.id, args.product, until)
    return await ask_or_apply(ctx, preview, title=f"Pause {preview.product}?",
                              summary=f"Pause {preview.product}", done="Pause planned",
                              arguments={"product": preview.product_slug, "until": args.until},
                              confirm_label="Pause")


@command("resume", summary="Resume a paused subscription, or drop a planned pause",
         mutates=True, previews=True, examples=("resume maker-pro",))
async def resume(ctx: Context, args: ProductArguments) -> Reply:
    """Asks first. A pause that has not begun is dropped; a paused subscription runs again
    from today, with a new period charged now."""
    if ctx.confirmed and args.quote is not None:
        return await apply(ctx, args.quote, title="Resumed")
    provider(ctx)
    preview = await lifecycle.preview_resume(ctx.session, ctx.portal, ctx.customer_id, args.product)
    return await ask_or_apply(ctx, preview, title=f"Resume {preview.product}?",
                              summary=f"Resume {preview.product}", done="Resumed",
                              arguments={"product": preview.product_slug}, confirm_label="Resume")


@command("cancel", summary="Cancel a subscription at its period end (or now)",
         mutates=True, previews=True,
         examples=("cancel maker-pro", "cancel maker-pro too expensive", "cancel maker-pro now"))
async def cancel(ctx: Context, args: CancelArguments) -> Reply:
    """Asks first, saying exactly when access ends. You keep access until the period ends;
    `now` ends it at once where the product allows it, refunding nothing. A reason is welcome
    but never needed; `uncancel <product>` keeps the subscription while it has not ended."""
    if ctx.confirmed and args.quote is not None:
        return await apply(ctx, args.quote, title="Cancelled")
    provider(ctx)
    preview = await lifecycle.preview_cancel(ctx.session, ctx.portal, ctx.customer_id, args.product,
                                             now=args.now, reason=args.reason)
    subscription = await _subscription(ctx, preview.subscription_id)
    reasons = lifecycle.cancellation_reasons(ctx.portal, subscription)
    chosen = next((r for r in reasons if args.reason and r.lower() == " ".join(args.reason.lower().split())),
                  None)
    summary = f"Cancel {preview.product}" + (" now" if args.now else "") + \
        (f" ({chosen})" if chosen else "")
    reply = await ask_or_apply(ctx, preview, title=f"Cancel {preview.product}?", summary=summary,
                               done="Cancelled",
                               arguments={"product": preview.product_slug, "now": args.now,
                                          "reason": chosen},
                               confirm_label="Cancel subscription", cancel_label="Keep it")
    if reply.confirmation is not None and chosen is not None:
        reply.paragraphs.append(f"Your reason: {chosen}. Thank you for telling us.")
    if reply.confirmation is not None and chosen is None and reasons:
        reply.paragraphs.append("Would you tell us why? Choose a reason below to cancel with it "
                                "instead; it is up to you.")
        now = " now" if args.now else ""
        reply.choices += [Choice(reason.capitalize(), f"cancel {preview.product_slug}{now} {reason}")
                          for reason in reasons]
    return reply


@command("uncancel", summary="Keep a subscription you cancelled, while it has not ended",
         mutates=True, previews=True, examples=("uncancel maker-pro",))
async def uncancel(ctx: Context, args: ProductArguments) -> Reply:
    """Asks first. The subscription renews at its period end as before."""
    if ctx.confirmed and args.quote is not None:
        return await apply(ctx, args.quote, title="Kept")
    provider(ctx)
    preview = await lifecycle.preview_uncancel(ctx.session, ctx.portal, ctx.customer_id, args.product)
    return await ask_or_apply(ctx, preview, title=f"Keep {preview.product}?",
                              summary=f"Keep {preview.product}", done="Kept",
                              arguments={"product": preview.product_slug}, confirm_label="Keep it")


@command("resubscribe", summary="Start a subscription that ended again, on its plan or another",
         mutates=True, previews=True, examples=("resubscribe sprite-club", "resubscribe maker-pro yearly"))
async def resubscribe(ctx: Context, args: ResubscribeArguments) -> Reply:
    """Asks first, with the price due now. A new subscription starts today; the old one stays
    in your history."""
    if ctx.confirmed and args.quote is not None:
        return await apply(ctx, args.quote, title="Subscribed again")
    provider(ctx)
    preview = await lifecycle.preview_resubscribe(ctx.session, ctx.portal, ctx.customer_id,
                                                  args.product, args.plan)
    return await ask_or_apply(ctx, preview, title=f"Subscribe to {preview.product} again?",
                              summary=f"Subscribe to {preview.product} again", done="Subscribed again",
                              arguments={"product": preview.product_slug, "plan": args.plan},
                              confirm_label="Subscribe")


async def _subscription(ctx: Context, subscription_id: int) -> Subscription:
    """The subscription a preview of the caller's was made for, with its product's plans."""
    for subscription in await queries.subscriptions_of(ctx.session, ctx.customer_id):
        if subscription.id == subscription_id:
            return subscription
    raise AssertionError("a preview is made for one of the caller's own subscriptions")

