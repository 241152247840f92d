"""An invoice's amounts: net lines, the tax per rate, and a total that is always what was paid.

Catalog prices include the store's tax. Under the standard rate the amount paid is split into
its tax (computed once on the total, half up) and its net subtotal; each line's net is its share
of that subtotal, so the net lines add up to the subtotal to the minor unit. Where no tax is
charged (reverse charge, exemption) the whole amount paid is net. A buyer who paid less than the
lines come to gets a discount line; one who paid more gets lines priced at what was paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.billing.tax import STANDARD, Treatment, net_of

DISCOUNT = "discount"


@dataclass(frozen=True)
class Item:
    description: str
    quantity: int
    listed: int  # the catalog amount of the whole line, the store's tax included
    period: tuple[datetime, datetime] | None = None  # what a subscription line pays for


@dataclass(frozen=True)
class Amounts:
    lines: list[dict[str, Any]]
    taxes: list[dict[str, Any]]  # one per rate: name, rate, base (net), amount
    subtotal: int  # net
    tax_total: int
    total: int  # what was paid


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, in whole units that add up to it exactly."""
    if not weights:
        return []
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [Decimal(total) * weight / whole for weight in weights]
    floors = [int(share.to_integral_value(rounding="ROUND_FLOOR")) for share in shares]
    left = total - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (floors[i] - shares[i], i))
    for index in by_remainder[:left]:
        floors[index] += 1
    return floors


def invoice_amounts(items: list[Item], paid: int, treatment: Treatment, *, store_rate: Decimal,
                    tax_name: str) -> Amounts:
    charged_tax = treatment.kind == STANDARD
    # What each line costs this buyer: the listed price, or its net where no tax is charged.
    targets = [item.listed if charged_tax else net_of(item.listed, store_rate) for item in items]
    lines: list[dict[str, Any]] = [
        {"description": item.description, "quantity": item.quantity,
         **({"period": {"start": item.period[0].isoformat(), "end": item.period[1].isoformat()}}
            if item.period else {})}
        for item in items]
    if paid >= sum(targets):
        charged = allocate(paid, [item.listed for item in items]) if paid > sum(targets) else targets
    else:
        charged = [*targets, paid - sum(targets)]
        # "kind" lets the PDF name it in the buyer's language; the description is the fallback.
        lines.append({"kind": DISCOUNT, "description": "Discount", "quantity": 1})

    rate = treatment.rate if charged_tax else Decimal(0)
    tax_total = paid - net_of(paid, rate)
    subtotal = paid - tax_total
    nets = [net_of(amount, rate) for amount in charged]
    if nets:
        largest = max(range(len(charged)), key=lambda i: abs(charged[i]))
        nets[largest] += subtotal - sum(nets)  # the rounding of the lines, onto the largest
    for line, amount, net in zip(lines, charged, nets, strict=True):
        line.update(unit_net=str(unit_net(net, line["quantity"])), net=net, tax_rate=str(rate),
                    tax=amount - net, amount=amount)
    taxes = [{"name": tax_name, "rate": str(rate), "base": subtotal, "amount": tax_total}]
    return Amounts(lines=lines, taxes=taxes, subtotal=subtotal, tax_total=tax_total, total=paid)


def unit_net(net: int, quantity: int) -> Decimal:
    """The net unit price in minor units; to a hundredth of one where the quantity does not
    divide the line."""
    unit = Decimal(net) / quantity
    return unit if unit == unit.to_integral_value() else unit.quantize(Decimal("0.01"), ROUND_HALF_UP)
