"""The tables several commands show, built once so a product, subscription, license or invoice
reads the same wherever it appears."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from core.kernel import formatting
from core.licenses.keys import masked
from core.licenses.queries import Device
from core.licenses.status import status_label
from core.models import Customer, Document, License, Order, Refund
from core.orders.ownership import OwnedProduct
from core.subscriptions.state import state_of
from handlers.reply import Choice, Table

STALE = "stale"


def product_status(owned: OwnedProduct, customer: Customer) -> str:
    """"ended", "owned", or the plan and what its subscription does next."""
    if not owned.active:
        return "ended"
    if owned.subscription is None:
        return "owned"
    state = state_of(owned.subscription, locale=customer.locale, tz=customer.timezone)
    return f"{owned.subscription.plan.name}, {state.text}"


def products_table(owned: Sequence[OwnedProduct], customer: Customer) -> Table:
    return Table(["#", "Product", "Status", "Since"], [
        [str(item.number), item.product.name, product_status(item, customer),
         formatting.date(item.since, customer.locale, customer.timezone)] for item in owned
    ], title="Products")


def subscriptions_table(owned: Sequence[OwnedProduct], customer: Customer) -> Table:
    """The owned products that come with a subscription (no rows when none does)."""
    return Table(["Product", "Plan", "Status"], [
        [item.product.name, item.subscription.plan.name,
         state_of(item.subscription, locale=customer.locale, tz=customer.timezone).text]
        for item in owned if item.subscription is not None
    ], title="Subscriptions")


def licenses_table(licenses: Sequence[License], *, usage: Mapping[int, int], now: datetime,
                   reveal: bool = False, product_names: Mapping[int, str] | None = None,
                   title: str = "License keys") -> Table:
    """Keys masked unless `reveal`, with their devices (used/limit, from `usage`: key id ->
    active devices); with `product_names` (product id -> name) a first column says whose key
    each one is."""
    columns = ["License key", "Devices", "Status"]
    rows = [[lic.key if reveal else masked(lic.key),
             f"{usage.get(lic.id, 0)}/{lic.activation_limit}", status_label(lic, now)]
            for lic in licenses]
    if product_names is not None:
        columns.insert(0, "Product")
        for lic, row in zip(licenses, rows, strict=True):
            row.insert(0, product_names[lic.product_id])
    return Table(columns, rows, title=title, numeric=(len(columns) - 2,))


def documents_table(documents: Sequence[Document], customer: Customer, *,
                    heading: str = "Invoice", title: str | None = None,
                    first_number: int | None = None, settles: Mapping[int, str] | None = None,
                    related: str = "For invoice") -> Table:
    """Billing documents, one a row: number (under `heading`), date, total, status. With
    `first_number`, a first column numbers the rows from it, as `invoice <n>` takes them. With
    `settles` (document id -> number), receipts name the invoice each one pays, and credit notes
    the invoice each one corrects (under `related`)."""
    rows = [[doc.number, formatting.date(doc.issued_at, customer.locale, customer.timezone),
             formatting.money(doc.total, doc.currency, customer.locale), doc.status]
            for doc in documents]
    if settles is not None:
        for doc, row in zip(documents, rows, strict=True):
            row.insert(1, settles.get(doc.related_document_id or 0, ""))
        return Table([heading, related, "Date", "Total", "Status"], rows, title=title, numeric=(3,))
    if first_number is None:
        return Table([heading, "Date", "Total", "Status"], rows, title=title, numeric=(2,))
    return Table(["#", heading, "Date", "Total", "Status"],
                 [[str(first_number + index), *row] for index, row in enumerate(rows)],
                 title=title, numeric=(0, 3))


def devices_table(devices: Sequence[Device], customer: Customer, *, now: datetime, stale_days: int,
                  actions: Sequence[Choice | None] = (), title: str = "Devices") -> Table:
    """Devices as `devices` numbers them: name, platform, whose key (on a team owner's list),
    activated and last seen in the customer's time zone, stale ones marked."""
    members = any(device.member for device in devices)
    columns = ["#", "Device", "Platform", *(["Member"] if members else []), "Activated", "Last seen"]
    rows = []
    for device in devices:
        seen = formatting.date(device.activation.last_seen_at, customer.locale, customer.timezone)
        rows.append([
            str(device.number), device.activation.name, device.activation.platform or "-",
            *([device.member or "you"] if members else []),
            formatting.date(device.activation.activated_at, customer.locale, customer.timezone),
            f"{seen} ({STALE})" if device.stale(now, stale_days) else seen,
        ])
    return Table(columns, rows, title=title, numeric=(0,), actions=tuple(actions))


def refunds_table(refunds: Sequence[Refund], customer: Customer, *, orders: Mapping[int, Order],
                  credit_notes: Mapping[int, str], title: str | None = "Refunds") -> Table:
    """Refunds, one a row: the order, the amount (the whole order or part of it), the reason,
    the state, when it was asked for and settled, and the credit note it issued."""
    def day(moment: datetime | None) -> str:
        return formatting.date(moment, customer.locale, customer.timezone) if moment else "-"

    rows = []
    for refund in refunds:
        order = orders[refund.order_id]
        whole = "full" if refund.amount >= order.total else "partial"
        rows.append([order.number, f"{formatting.money(refund.amount, refund.currency, customer.locale)} "
                     f"({whole})", refund.reason or "-", refund.state, day(refund.created_at),
                     day(refund.settled_at), credit_notes.get(refund.credit_note_id or 0, "-")])
    return Table(["Order", "Amount", "Reason", "State", "Asked", "Settled", "Credit note"], rows,
                 title=title, numeric=(1,))
