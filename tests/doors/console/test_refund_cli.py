"""`shopkeep refund` as an operator runs it on the demo store, and `refunds` in `shopkeep chat`:
a clear line for how each refund ended, the provider followed until it is final, one sentence
and a non-zero exit for what cannot be refunded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.payments.testmode import TestModeProvider
from bot import refund_command
from bot.cli import build_parser, run
from core.payments.provider import RefundResult
from tests.doors.console.test_chat import newest_mail


def newest_renewal(data_dir: Path) -> str:
    """Alice's newest Maker Pro renewal, charged through the test-mode provider."""
    with sqlite3.connect(data_dir / "shopkeep.db") as db:
        [(order_id,)] = db.execute(
            "SELECT orders.id FROM orders JOIN charges ON charges.order_id = orders.id"
            " WHERE charges.status = 'succeeded' ORDER BY orders.placed_at DESC LIMIT 1").fetchall()
    return f"SK-{order_id:05d}"


def key_states(data_dir: Path, email: str, product: str) -> list[str]:
    with sqlite3.connect(data_dir / "shopkeep.db") as db:
        return [state for (state,) in db.execute(
            "SELECT licenses.status FROM licenses JOIN customers ON customers.id = licenses.customer_id"
            " JOIN products ON products.id = licenses.product_id"
            " WHERE customers.email = ? AND products.slug = ? ORDER BY licenses.id", (email, product))]


def test_refunds_shows_the_demos_refund_and_its_credit_note(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "refunds"]) == 0
    out = capsys.readouterr().out
    assert "Your refunds" in out and "SK-00008" in out and "$49.00 (partial)" in out and "succeeded" in out
    number = next(word for word in out.split() if word.startswith("CN-")).strip("`.")
    assert run(["chat", "--as", "alice@example.com", "-c", f"invoice {number}"]) == 0
    saved = list((data_dir / "downloads").glob(f"{number}.pdf"))
    assert saved and saved[0].read_bytes().startswith(b"%PDF")


def test_a_store_paid_order_is_recorded_as_the_stores_refund(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["refund", "SK-00015", "--amount", "500", "--reason", "Wrong edition sent"]) == 0
    said = capsys.readouterr().out.strip()
    assert said.startswith("Recorded $5.00 of order SK-00015 (bob@example.com) as refunded by your store: "
                           "its checkout was paid, not shopkeep's payment provider, so no money moved here")
    assert "Order partially refunded, $14.00 left to refund." in said and "The customer keeps access." in said
    mail = newest_mail(data_dir, "refund")
    assert "$5.00 of what you paid for order SK-00015" in mail and "Reason: Wrong edition sent" in mail
    assert run(["chat", "--as", "bob@example.com", "-c", "refunds"]) == 0
    assert "$5.00 (partial)" in capsys.readouterr().out


def test_what_cannot_be_refunded_is_one_sentence(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, sentence in (
            (["SK-99999"], "There is no order SK-99999."),
            (["tuesday"], "There is no order tuesday."),
            (["SK-00015", "--amount", "0"], "The amount to refund must be more than 0"),
            (["SK-00015", "--amount", "1901"], "Only $19.00 of order SK-00015 is left to refund (paid $19.00, "
                                               "refunded $0.00); $19.01 is more than that."),
    ):
        capsys.readouterr()
        assert run(["refund", *args]) == 1, args
        err = capsys.readouterr().err
        assert err.startswith(f"shopkeep: {sentence}") and err.count("\n") == 1 and "Traceback" not in err
    assert run(["refund", "SK-00015"]) == 0
    capsys.readouterr()
    assert run(["refund", "SK-00015", "--amount", "100"]) == 1
    assert capsys.readouterr().err == "shopkeep: Order SK-00015 is already refunded in full ($19.00).\n"


class SettlesLater(TestModeProvider):
    """A provider that takes a refund and settles it after being asked twice."""

    asked_about = 0

    async def refund(self, charge_ref: str, amount: int, currency: str, idempotency_key: str
                     ) -> RefundResult:
        done = await super().refund(charge_ref, amount, currency, idempotency_key)
        return RefundResult(False, done.provider_ref, pending=True)

    async def refund_status(self, provider_ref: str) -> RefundResult:
        SettlesLater.asked_about += 1
        return RefundResult(SettlesLater.asked_about >= 2, provider_ref, pending=SettlesLater.asked_about < 2)


def test_a_charge_is_refunded_through_the_provider_and_followed_until_final(
        data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refund_command, "payment_provider", lambda portal: SettlesLater(portal))
    monkeypatch.setattr(refund_command, "POLL_EVERY", 0)
    renewal = newest_renewal(data_dir)
    capsys.readouterr()
    assert run(["refund", renewal, "--reason", "Workshop cancelled", "--key", "ops-1"]) == 0
    said = capsys.readouterr().out.strip()
    assert said.startswith(f"Refunded $12.00 of order {renewal} (alice@example.com) through testmode. "
                           "Order refunded, nothing left to refund. Credit note CN-")
    assert said.endswith("Access to what the order gave has ended.") and SettlesLater.asked_about == 2
    assert "is on its way" not in newest_mail(data_dir, "refund")
    assert run(["refund", renewal, "--key", "ops-1"]) == 0
    again = capsys.readouterr().out
    assert again.startswith("A refund with --key ops-1 was asked for before; following it.\nRefunded $12.00")
    assert SettlesLater.asked_about == 2, "a final refund is not asked about again"


def test_a_partial_refund_ends_access_when_asked(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert key_states(data_dir, "alice@example.com", "pixel-studio") == ["active"]
    capsys.readouterr()
    assert run(["refund", "SK-00008", "--amount", "1000", "--end-access"]) == 0
    assert capsys.readouterr().out.strip().endswith("Access to what the order gave has ended.")
    assert key_states(data_dir, "alice@example.com", "pixel-studio") == ["disabled"]


def test_refund_is_listed_in_the_command_line_help() -> None:
    usage = build_parser().format_help()
    assert "refund" in usage and "refund an order, in full or in part" in usage


class Down(TestModeProvider):
    async def refund(self, charge_ref: str, amount: int, currency: str, idempotency_key: str
                     ) -> RefundResult:
        raise ConnectionError("no route to the provider")


def test_a_provider_that_does_not_answer_is_asked_again_with_the_same_key(
        data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    renewal = newest_renewal(data_dir)
    monkeypatch.setattr(refund_command, "payment_provider", lambda portal: Down(portal))
    capsys.readouterr()
    assert run(["refund", renewal, "--amount", "600", "--key", "ops-2"]) == 1
    assert capsys.readouterr().err == ("shopkeep: The payment provider did not answer, so the refund is still "
                                       "pending. Run the same command with --key ops-2 to ask again; it "
                                       "refunds once.\n")
    monkeypatch.setattr(refund_command, "payment_provider", lambda portal: TestModeProvider(portal))
    assert run(["refund", renewal, "--amount", "600", "--key", "ops-2"]) == 0
    assert f"Refunded $6.00 of order {renewal}" in capsys.readouterr().out
    assert run(["chat", "--as", "alice@example.com", "-c", f"refunds {renewal}"]) == 0
    assert capsys.readouterr().out.count("$6.00 (partial)") == 1, "refunded once"
