"""billing, billing edit (the form sent back), taxid add|remove: what customers read, what is
saved, audited and published, what new invoices make of it, and that nobody reaches anyone
else's billing details or tax IDs."""

from __future__ import annotations

from sqlalchemy import select

from core.kernel.events import BillingDetailsChanged, TaxIdAdded, TaxIdRemoved
from core.kernel.portal import Portal
from core.models import AuditEvent, BillingDetails, Document, TaxId
from core.models.billing_details import DOES_NOT_FIT, NOT_VERIFIED
from core.orders.purchases import PurchaseItem, PurchaseRequest, record_purchase
from handlers.context import Caller
from handlers.dispatcher import ChangePolicy, Dispatcher
from handlers.reply import Reply
from tests.conftest import Clock
from tests.helpers import caller_for, published


async def form_of(dispatcher: Dispatcher, caller: Caller) -> str:
    reply = await dispatcher.handle_line(caller, "billing edit")
    assert reply.form is not None
    return reply.form.token


async def send(dispatcher: Dispatcher, caller: Caller, values: dict[str, str], *, token: str | None = None,
               policy: ChangePolicy = ChangePolicy.PREVIEW) -> Reply:
    token = token or await form_of(dispatcher, caller)
    return await dispatcher.handle(caller, dispatcher.submission(token, values), policy)


async def details_of(portal: Portal, email: str) -> BillingDetails | None:
    caller = await caller_for(portal, email)
    async with portal.db.unit_of_work() as session:
        return await session.get(BillingDetails, caller.customer_id)


async def tax_ids(portal: Portal, email: str) -> dict[str, str]:
    caller = await caller_for(portal, email)
    async with portal.db.unit_of_work() as session:
        return {t.value: t.state for t in await session.scalars(
            select(TaxId).where(TaxId.customer_id == caller.customer_id))}


async def newest_invoice(portal: Portal, email: str, external_id: str) -> Document:
    async with portal.db.unit_of_work() as session:
        result = await record_purchase(session, portal, PurchaseRequest(
            email=email, external_id=external_id, items=[PurchaseItem(product="ebook")]))
        invoice = await session.scalar(select(Document).where(
            Document.order_id == result.order.id, Document.kind == "invoice"))
    assert invoice is not None
    return invoice


async def test_billing_shows_the_details_and_address_is_the_same(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    shown = await dispatcher.handle_line(alice, "billing")
    said = shown.plain_text()
    assert shown.title == "Your billing details" and "Atelier Moreau" in said and "75011 Paris" in said
    assert "FR40303265045" in said and "format checked, not verified" in said
    assert "New invoices charge no VAT" in said and "reverse charge" in said
    assert (await dispatcher.handle_line(alice, "address")).plain_text() == said
    assert [c.command for c in shown.choices] == ["billing edit"]
    bob = await caller_for(demo_portal, "bob@example.com")
    assert "You have no billing details yet" in (await dispatcher.handle_line(bob, "billing")).plain_text()
    assert "Your invoices" in (await dispatcher.handle_line(alice, "invoices")).plain_text()


async def test_the_form_saves_what_was_sent_audited_and_published(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    form = (await dispatcher.handle_line(alice, "billing edit")).form
    assert form is not None and form.reopen == "billing edit"
    assert {f.name: f.value for f in form.fields} == {
        "name": "Alice Moreau", "company": "Atelier Moreau", "invoice_email": "", "address": "12 Rue des Lilas",
        "postal_code": "75011", "city": "Paris", "region": "", "country": "France"}
    assert [f.name for f in form.fields if f.required] == ["name", "address", "city", "country"]

    saved = await send(dispatcher, alice, {"address": "3 Quai de la Tournelle\nBâtiment B", "postal_code": "75005",
                                           "invoice_email": "Compta@Moreau.example"}, token=form.token)
    assert saved.ok and "Changed: address, postal code and invoice email." in saved.plain_text()
    details = await details_of(demo_portal, "alice@example.com")
    assert details is not None and details.invoice_email == "compta@moreau.example"
    async with demo_portal.db.unit_of_work() as session:
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "billing_details_changed",
                                                              AuditEvent.actor == alice.actor))
    assert audit is not None and audit.details["changed"]["postal_code"] == {"from": "75011", "to": "75005"}
    events = [e for e in await published(demo_portal) if isinstance(e, BillingDetailsChanged)]
    assert events[-1].fields == ["address", "invoice_email", "postal_code"]

    again = await send(dispatcher, alice, {"postal_code": "75005"})
    assert again.title == "Nothing changed"


async def test_each_wrong_field_is_named_and_nothing_is_saved(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    cases = [
        ({"postal_code": "7501"}, "postal_code", "Postal code: 7501 isn't a postal code of France; they look like"),
        ({"name": " "}, "name", "Name: Add the name invoices are made out to"),
        ({"country": "Atlantis"}, "country", "Country: We don't know a country called 'Atlantis'."),
        ({"invoice_email": "compta at moreau"}, "invoice_email", "Invoice email: 'compta at moreau' doesn't look like"),
        ({"country": "US", "postal_code": "62701", "city": "Springfield"}, "region",
         "State or region: Add the state: addresses in United States need one"),
        ({"country": "US", "postal_code": "62701", "region": "Narnia"}, "region",
         "State or region: Narnia isn't a state of United States"),
        ({"address": "a\nb\nc\nd\ne"}, "address", "Address: The address can have at most 4 lines"),
        ({"city": "Paris\x00"}, "city", "City: The city has characters nobody types"),
    ]
    for values, field, said in cases:
        reply = await send(dispatcher, alice, values)
        assert not reply.ok and reply.form is not None, values
        assert list(reply.form.errors) == [field], (values, reply.form.errors)
        assert said in reply.plain_text(), reply.plain_text()
    details = await details_of(demo_portal, "alice@example.com")
    assert details is not None and (details.postal_code, details.country, details.region) == ("75011", "FR", None)
    # A US address as the country writes it: the state as its code.
    fine = await send(dispatcher, alice, {"country": "United States", "postal_code": "62701",
                                          "city": "Springfield", "region": "illinois", "address": "1 Main St"})
    assert fine.ok and "Springfield, IL 62701" in fine.plain_text()


async def test_a_new_country_rechecks_the_tax_ids_and_new_invoices_follow(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    before = await newest_invoice(demo_portal, "alice@example.com", "before-move")
    assert before.tax_treatment == "reverse_charge"

    moved = await send(dispatcher, alice, {"address": "Torstraße 5", "postal_code": "10119", "city": "Berlin",
                                           "country": "Deutschland"})
    assert "FR40303265045 does not fit your new billing country" in moved.plain_text()
    assert await tax_ids(demo_portal, "alice@example.com") == {"FR40303265045": DOES_NOT_FIT}
    in_germany = await newest_invoice(demo_portal, "alice@example.com", "in-germany")
    assert in_germany.tax_treatment == "standard" and in_germany.snapshot["buyer"]["tax_ids"] == []
    assert in_germany.snapshot["buyer"]["address"] == ["Alice Moreau", "Torstraße 5", "10119 Berlin", "Germany"]
    assert in_germany.snapshot["buyer"]["name"] == "Atelier Moreau"

    back = await send(dispatcher, alice, {"address": "12 Rue des Lilas", "postal_code": "75011", "city": "Paris",
                                          "country": "FR"})
    assert "FR40303265045 fits your billing country again" in back.plain_text()
    assert await tax_ids(demo_portal, "alice@example.com") == {"FR40303265045": NOT_VERIFIED}
    assert (await newest_invoice(demo_portal, "alice@example.com", "back-home")).tax_treatment == "reverse_charge"
    async with demo_portal.db.unit_of_work() as session:
        kept = await session.get(Document, before.id)
    assert kept is not None and kept.snapshot["buyer"]["address"][-2:] == ["75011 Paris", "France"]


async def test_taxid_add_and_remove(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    added = await dispatcher.handle_line(alice, "taxid add FR 23 334 175 221")
    assert added.ok and "FR23334175221 is a French VAT number: its format and check digits fit France" in \
        added.plain_text()
    assert "not verified" in added.plain_text()
    twice = await dispatcher.handle_line(alice, "taxid add 23334175221")
    assert not twice.ok and "FR23334175221 is already on your billing details" in twice.plain_text()
    usage = await dispatcher.handle_line(alice, "taxid FR23334175221")
    assert not usage.ok and "Usage: `taxid <action> <id>`" in usage.plain_text()
    removed = await dispatcher.handle_line(alice, "taxid REMOVE 23334175221")  # without its prefix
    assert removed.ok and "FR23334175221 is no longer on your billing details" in removed.plain_text()
    missing = await dispatcher.handle_line(alice, "taxid remove FR23334175221")
    assert not missing.ok and "isn't one of your tax IDs (FR40303265045)" in missing.plain_text()
    events = await published(demo_portal)
    assert any(isinstance(e, TaxIdAdded) and e.value == "FR23334175221" for e in events)
    assert any(isinstance(e, TaxIdRemoved) and e.value == "FR23334175221" for e in events)
    async with demo_portal.db.unit_of_work() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.customer_id == alice.customer_id, AuditEvent.action.like("tax_id_%"))))
    assert actions == ["tax_id_added", "tax_id_added", "tax_id_removed"]  # the demo's, then these

    bob = await caller_for(demo_portal, "bob@example.com")
    first = await dispatcher.handle_line(bob, "taxid add DE136695976")
    assert not first.ok and "Tell us your billing country first" in first.plain_text()
    await send(dispatcher, bob, {"name": "Bob", "address": "1 Main Street", "city": "Cork", "country": "IE"})
    for number in ("IE6433435F", "IE6433435OA", "IE8D79739I", "IE1234567T", "IE3141592S"):
        assert (await dispatcher.handle_line(bob, f"taxid add {number}")).ok, number
    full = await dispatcher.handle_line(bob, "taxid add IE2345678I")
    assert not full.ok and "You have 5 tax IDs already" in full.plain_text()


async def test_an_unverified_email_asks_before_saving_and_the_confirmation_saves(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    wrong = await send(dispatcher, alice, {"postal_code": "1"}, policy=ChangePolicy.ROUND_TRIP)
    assert not wrong.ok and wrong.confirmation is None  # what is wrong is said before asking
    asked = await send(dispatcher, alice, {"city": "Lyon", "postal_code": "69001"}, policy=ChangePolicy.ROUND_TRIP)
    assert asked.confirmation is not None and "City: Lyon" in asked.plain_text()
    assert (await details_of(demo_portal, "alice@example.com")).city == "Paris"  # type: ignore[union-attr]
    done = await dispatcher.handle_line(alice, f"confirm {asked.confirmation.code}")
    assert done.ok and "Billing details saved" in done.plain_text()
    assert (await details_of(demo_portal, "alice@example.com")).city == "Lyon"  # type: ignore[union-attr]


async def test_forms_expire_and_cannot_be_forged(demo_portal: Portal, clock: Clock) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    token = await form_of(dispatcher, alice)
    forged = await send(dispatcher, alice, {"city": "Lyon"}, token=token[:-2] + "zz")
    assert not forged.ok and "not one we sent" in forged.plain_text()
    clock.advance(days=3, seconds=1)
    late = await send(dispatcher, alice, {"city": "Lyon"}, token=token)
    assert not late.ok and "That form has expired" in late.plain_text()
    assert (await details_of(demo_portal, "alice@example.com")).city == "Paris"  # type: ignore[union-attr]


async def test_nobody_reaches_anyone_elses_billing_details_or_tax_ids(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    bob = await caller_for(demo_portal, "bob@example.com")
    alices_form = await form_of(dispatcher, alice)

    taken = await send(dispatcher, bob, {"city": "Nowhere", "invoice_email": "bob@example.com"}, token=alices_form)
    assert not taken.ok and "made for another account" in taken.plain_text()
    assert "Atelier" not in taken.plain_text() and "Paris" not in taken.plain_text()
    removed = await dispatcher.handle_line(bob, "taxid remove FR40303265045")
    assert not removed.ok and "isn't one of your tax IDs; you have none" in removed.plain_text()
    shown = (await dispatcher.handle_line(bob, "billing")).plain_text()
    assert "FR40303265045" not in shown and "Moreau" not in shown and "Lilas" not in shown
    edit = await dispatcher.handle_line(bob, "billing edit")
    assert edit.form is not None and all("Moreau" not in f.value and "Lilas" not in f.value for f in edit.form.fields)

    # Alice's change waiting for her confirmation is hers alone.
    email_alice = await caller_for(demo_portal, "alice@example.com", platform="email")
    asked = await send(dispatcher, email_alice, {"city": "Lyon", "postal_code": "69001"},
                       policy=ChangePolicy.ROUND_TRIP)
    assert asked.confirmation is not None
    by_code = await dispatcher.handle_line(bob, f"confirm {asked.confirmation.code}")
    by_token = await dispatcher.handle_line(bob, f"confirm {asked.confirmation.token}")
    assert not by_code.ok and not by_token.ok
    details = await details_of(demo_portal, "alice@example.com")
    assert details is not None and details.city == "Paris" and details.invoice_email is None
    assert await tax_ids(demo_portal, "alice@example.com") == {"FR40303265045": NOT_VERIFIED}
    assert await details_of(demo_portal, "bob@example.com") is None


async def test_a_card_number_in_a_field_is_refused_and_not_stored(demo_portal: Portal) -> None:
    dispatcher = Dispatcher(demo_portal)
    alice = await caller_for(demo_portal, "alice@example.com")
    reply = await send(dispatcher, alice, {"company": "4242 4242 4242 4242"})
    assert not reply.ok and "looks like a card number" in reply.plain_text()
    assert "4242" not in reply.plain_text().replace("looks like a card number", "")
    assert (await details_of(demo_portal, "alice@example.com")).company == "Atelier Moreau"  # type: ignore[union-attr]
