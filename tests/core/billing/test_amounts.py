"""An invoice's amounts add up: net lines to the subtotal, subtotal and tax to the total, and the
total is always what was paid; where no tax is charged the whole amount paid is net."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from core.billing.amounts import Item, allocate, invoice_amounts
from core.billing.tax import EXEMPT, REVERSE_CHARGE, STANDARD, Treatment

RATE = Decimal(23)
STANDARD_23 = Treatment(STANDARD, RATE)
REVERSED = Treatment(REVERSE_CHARGE, Decimal(0), "Reverse charge", "FR40303265045")


def amounts(items: list[Item], paid: int, treatment: Treatment = STANDARD_23):  # type: ignore[no-untyped-def]
    return invoice_amounts(items, paid, treatment, store_rate=RATE, tax_name="VAT")


def test_a_consumer_pays_the_listed_price_with_the_tax_inside() -> None:
    result = amounts([Item("E-book", 1, 1900)], 1900)
    [line] = result.lines
    assert (line["net"], line["unit_net"], line["tax_rate"], line["tax"]) == (1545, "1545", "23", 355)
    assert (result.subtotal, result.tax_total, result.total) == (1545, 355, 1900)
    assert result.taxes == [{"name": "VAT", "rate": "23", "base": 1545, "amount": 355}]


def test_under_the_reverse_charge_the_whole_amount_paid_is_net() -> None:
    full = amounts([Item("Pixel Studio", 1, 14900)], 14900, REVERSED)
    assert (full.subtotal, full.tax_total, full.total) == (14900, 0, 14900)
    assert full.lines[0]["net"] == 14900 and full.lines[0]["tax_rate"] == "0"
    # Charged the net of the tax-inclusive price (as the test-mode provider does): no discount.
    netted = amounts([Item("Pixel Studio", 1, 14900)], 12114, REVERSED)
    assert [line["net"] for line in netted.lines] == [12114] and netted.total == 12114
    assert netted.taxes == [{"name": "VAT", "rate": "0", "base": 12114, "amount": 0}]


def test_paying_less_shows_a_discount_and_more_prices_the_lines_at_what_was_paid() -> None:
    less = amounts([Item("Pixel Studio", 8, 119200)], 100000)
    assert [line.get("kind") for line in less.lines] == [None, "discount"]
    assert sum(line["amount"] for line in less.lines) == 100000
    more = amounts([Item("A", 1, 1000), Item("B", 1, 3000)], 8000)
    assert [line["amount"] for line in more.lines] == [2000, 6000] and more.total == 8000


def test_a_unit_price_that_does_not_divide_keeps_its_fraction() -> None:
    result = amounts([Item("Seat", 3, 3000)], 3000)
    [line] = result.lines
    assert line["net"] == 2439 and line["unit_net"] == "813"
    odd = amounts([Item("Seat", 3, 1234)], 1234)
    assert odd.lines[0]["net"] == 1003 and odd.lines[0]["unit_net"] == "334.33"


@pytest.mark.parametrize("treatment", [STANDARD_23, Treatment(STANDARD, Decimal("5.5")), REVERSED,
                                       Treatment(EXEMPT, Decimal(0), "Exempt")])
def test_every_invoice_adds_up_to_what_was_paid(treatment: Treatment) -> None:
    rng = random.Random(226)
    for _ in range(400):
        items = [Item(f"item {n}", rng.randint(1, 9), rng.choice([0, 1, 99, 1900, 14900, 123457]))
                 for n in range(rng.randint(1, 5))]
        listed = sum(item.listed for item in items)
        paid = rng.choice([listed, 0, rng.randint(0, 2 * listed + 10), listed * 100 // 123])
        result = invoice_amounts(items, paid, treatment, store_rate=RATE, tax_name="VAT")
        assert result.total == paid
        assert result.subtotal + result.tax_total == paid
        assert sum(line["net"] for line in result.lines) == result.subtotal
        assert sum(line["tax"] for line in result.lines) == result.tax_total
        assert sum(tax["amount"] for tax in result.taxes) == result.tax_total
        assert [tax["base"] for tax in result.taxes] == [result.subtotal]
        if treatment.kind != STANDARD:
            assert result.tax_total == 0
        else:
            # The tax is the rate applied to the net, to within the rounding of one amount.
            assert abs(Decimal(result.subtotal) * treatment.rate / 100 - result.tax_total) <= 1
        for line in result.lines:
            assert abs(Decimal(line["unit_net"]) * line["quantity"] - line["net"]) <= Decimal(line["quantity"]) / 200


def test_allocation_is_exact_and_proportional() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 0]) == [5, 5]
    assert sum(allocate(-7, [1, 1])) == -7
    assert allocate(0, []) == []
