"""payment (card): the saved cards, a link to the provider's page to add or update one, choosing
the default, removing one. Card numbers are typed only on that page, never in chat or email.

Choosing the default and removing a card show a preview and wait for a confirmation; the
confirmation names the card by its id, so it acts on the card the preview showed even if a card
added meanwhile moved the numbers. Core does the change once, under a lock on the customer, with
its audit entry and domain event (core/payments/methods.py).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from core.kernel.errors import InvalidInput, NotFound
from core.models import PaymentMethod
from core.payments import methods
from core.payments.provider import PaymentProvider
from core.payments.setup import setup_link
from handlers.context import Context
from handlers.registry import Arguments, command
from handlers.reply import Choice, Link, Reply, Table

ACTIONS = {"default": "default", "make-default": "default", "primary": "default",
           "remove": "remove", "delete": "remove"}
MAX_CHOICES = 6
# A card as `payment` numbers it ("2"), or as a confirmation names it ("#17": its id).
_NUMBER = re.compile(r"^\d{1,4}$")
_ID = re.compile(r"^#(\d{1,18})$")


class PaymentArguments(Arguments):
    action: Literal["default", "remove"] | None = Field(
        default=None, description='"default" to choose the card renewals use, "remove" to delete one')
    card: str | None = Field(default=None, description="the card's number from `payment`",
                             json_schema_extra={"suggest": "cards"}, min_length=1, max_length=40)

    @field_validator("action", mode="before")
    @classmethod
    def _action_words(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        word = ACTIONS.get(value.strip().lower())
        if word is None:
            raise ValueError("must be `default` or `remove`, as in `payment default 2`")
        return word


def _provider(ctx: Context) -> PaymentProvider:
    if ctx.payments is None:
        raise NotFound("Payment methods can't be managed here: no payment provider is set up.")
    return ctx.payments


def _expired(ctx: Context, method: PaymentMethod) -> bool:
    now = ctx.portal.now()
    return (method.exp_year, method.exp_month) < (now.year, now.month)


def _products(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@command("payment", summary="Your saved cards and a secure link to add or update one",
         aliases=("card",), mutates=True, previews=True,
         examples=("payment default 2", "payment remove 2", "payment"))
async def payment(ctx: Context, args: PaymentArguments) -> Reply:
    """Lists your cards (brand, last four, expiry, the default, and which subscriptions renew
    with each) with a single-use link to the payment provider's secure page, where a new card
    is added; it becomes your default. `payment default <n>` chooses the card your
    subscriptions renew with, `payment remove <n>` deletes one (not the last card of a paid
    subscription that renews). Both ask first. Never send a card number in a message."""
    provider = _provider(ctx)
    if args.action is None:
        if args.card is not None:
            raise InvalidInput(f"What should happen to card {args.card}? Send `payment default "
                               f"{args.card}` or `payment remove {args.card}`.")
        return await _listing(ctx, provider)
    if args.card is None:
        raise InvalidInput(f"Which card? Send `payment {args.action} <number>` with its number "
                           "from `payment`.")
    number, method_id = _which(args.card)
    chosen = await methods.find_method(ctx.session, ctx.customer_id, number, method_id=method_id)
    if args.action == "default":
        return await _make_default(ctx, chosen)
    return await _remove(ctx, chosen)


def _which(card: str) -> tuple[int | None, int | None]:
    """(number, id) of the card named."""
    card = card.strip()
    if _NUMBER.match(card):
        return int(card), None
    found = _ID.match(card)
    if found:
        return None, int(found[1])
    raise InvalidInput(f"Name the card by its number from `payment`, like `payment default 2`; "
                       f"{card[:20]!r} is not one.")


async def _listing(ctx: Context, provider: PaymentProvider) -> Reply:
    customer = await ctx.customer()
    listing = await methods.methods_of(ctx.session, customer.id)
    link = await setup_link(ctx.session, provider, customer)
    reply = Reply(title="Your payment methods")
    if not listing:
        reply.paragraphs.append("You have no saved card yet. Add one on the payment page: it "
                                "becomes the card your subscriptions renew with.")
    else:
        reply.tables.append(Table(["#", "Card", "Expires", "Default", "Pays for"], [
            [str(item.number), item.method.label,
             item.method.expiry + (" (expired)" if _expired(ctx, item.method) else ""),
             "yes" if item.is_default else "", ", ".join(item.used_by) or "-"]
            for item in listing], title="Cards", numeric=(0,)))
        several = len(listing) > 1
        reply.paragraphs.append(
            ("Send `payment default <n>` to choose the card your subscriptions renew with, or "
             "`payment remove <n>` to delete one." if several else
             "Send `payment remove 1` to delete it.")
            + " A card added on the payment page becomes your default.")
    reply.links.append(Link("Add or update a card", link.url, link.expires_at))
    reply.paragraphs.append("The link opens the payment provider's secure page and works once. "
                            "Card numbers are typed only there, never in a chat or an email.")
    if provider.test_mode:
        reply.paragraphs.append("Test mode: only test cards work there, and no real money moves.")
    for item in listing:
        if not item.is_default:
            reply.choices.append(Choice(f"Make {item.number} the default", f"payment default {item.number}"))
        reply.choices.append(Choice(f"Remove {item.number}", f"payment remove {item.number}"))
    reply.choices = reply.choices[:MAX_CHOICES]
    return reply


async def _make_default(ctx: Context, chosen: methods.MethodListing) -> Reply:
    method = chosen.method
    if not ctx.confirmed:
        listing = await methods.methods_of(ctx.session, ctx.customer_id)
        preview = Reply(title=f"Make your {method.label} the default?",
                        paragraphs=[methods.preview_default(chosen, listing)])
        return await ctx.confirm(preview, summary=f"Make your {method.label} your default payment method",
                                 arguments={"action": "default", "card": f"#{method.id}"},
                                 confirm_label="Make default")
    await methods.set_default(ctx.session, ctx.portal, ctx.customer_id, method_id=method.id,
                              actor=ctx.caller.actor)
    now = await methods.find_method(ctx.session, ctx.customer_id, method_id=method.id)
    renews = f" {_products(now.used_by)} will renew with it." if now.used_by else ""
    return Reply.text(f"Your {method.label} (expires {method.expiry}) is now your default payment "
                      f"method.{renews}", title="Default card changed")


async def _remove(ctx: Context, chosen: methods.MethodListing) -> Reply:
    method = chosen.method
    if not ctx.confirmed:
        text = await methods.preview_remove(ctx.session, ctx.customer_id, method_id=method.id)
        preview = Reply(title=f"Remove your {method.label}?", paragraphs=[text])
        return await ctx.confirm(preview, summary=f"Remove your {method.label}",
                                 arguments={"action": "remove", "card": f"#{method.id}"},
                                 confirm_label="Remove card")
    was_default = chosen.is_default
    await methods.remove(ctx.session, ctx.portal, ctx.customer_id, method_id=method.id,
                         actor=ctx.caller.actor)
    reply = Reply.text(f"Your {method.label} is removed.", title="Card removed")
    default = await methods.default_method(ctx.session, ctx.customer_id)
    if default is not None and was_default:
        reply.paragraphs.append(f"Your {default.label} is your default payment method now.")
    elif default is None:
        reply.paragraphs.append("You have no saved card now; send `payment` for a link to add one.")
    return reply
