"""Billing details by email: `billing edit` answers with `Field: value` lines, and a reply that
carries the form's token is read as that form (every line of it, past the line limit), whether
the customer writes the lines above the quote or fills them in where they are quoted. The usual
sender policy holds: a trusted DKIM pass saves at once, anything else asks to confirm first."""

from __future__ import annotations

import re
from email.message import EmailMessage

from core.kernel.portal import Portal
from core.models import BillingDetails
from tests.doors.email.conftest import MailDesk, mail, text
from tests.doors.email.test_email_e2e import TRUSTED, code_in

TOKEN = re.compile(r"^Form: (\S+)\r?$", re.M)


async def details(portal: Portal, customer_id: int = 1) -> BillingDetails:
    async with portal.db.unit_of_work() as session:
        found = await session.get(BillingDetails, customer_id)
    assert found is not None
    return found


def quoted(message: EmailMessage) -> str:
    return "\n".join(f"> {line}" for line in text(message).splitlines())


def form_reply(asked: EmailMessage, body: str, **headers: str) -> EmailMessage:
    return mail(body, subject=f"Re: {asked['Subject']}", **headers)


async def test_the_form_comes_as_lines_with_what_is_stored(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("billing edit"))
    said = text(asked)
    assert TOKEN.search(said)
    for line in ("Name: Alice Moreau", "Company: Atelier Moreau", "Address: 12 Rue des Lilas",
                 "Postal code: 75011", "City: Paris", "Country: France", "Invoice email:"):
        assert re.search(rf"^{re.escape(line)}\r?$", said, re.M), line
    assert "keep the Form line" in said
    html = asked.get_body(preferencelist=("html",))
    assert html is not None and "Postal code: 75011" in str(html.get_content())


async def test_lines_written_above_the_quote_are_saved_with_a_trusted_pass(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("billing edit"))
    token = TOKEN.search(text(asked)).group(1)  # type: ignore[union-attr]
    # More lines than SHOPKEEP_MAIL_MAX_LINES (10): a form is read whole.
    body = (f"Form: {token}\nName: Alice Moreau\nCompany: Atelier Moreau\nInvoice email: compta@moreau.example\n"
            "Address: 3 Quai de la Tournelle\nAddress: Bâtiment B\nPostal code: 75005\nCity: Paris\n"
            "State or region:\nCountry: FR\nSomething else: ignored\nthanks\n\n"
            f"On Tue, Shop wrote:\n{quoted(asked)}")
    saved = await desk.exchange(form_reply(asked, body, Authentication_Results=TRUSTED))
    assert "Billing details saved" in text(saved), text(saved)
    stored = await details(desk.portal)
    assert stored.address_lines == ["3 Quai de la Tournelle", "Bâtiment B"]
    assert (stored.postal_code, stored.city, stored.country, stored.invoice_email) == (
        "75005", "Paris", "FR", "compta@moreau.example")


async def test_lines_filled_in_where_they_are_quoted_need_a_confirmation(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("billing edit"))
    edited = quoted(asked).replace("> City: Paris", "> City: Lyon").replace("> Postal code: 75011",
                                                                         "> Postal code: 69001")
    confirm = await desk.exchange(form_reply(asked, f"Here you go\n\n{edited}"))
    assert "Change your billing details?" in text(confirm) and "City: Lyon" in text(confirm)
    assert (await details(desk.portal)).city == "Paris"  # nothing changed yet
    done = await desk.exchange(mail(f"confirm {code_in(confirm)}"))
    assert "Billing details saved" in text(done) and "postal code and city" in text(done)
    stored = await details(desk.portal)
    assert (stored.postal_code, stored.city) == ("69001", "Lyon")


async def test_a_wrong_field_is_named_and_the_form_comes_back_to_fix(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("billing edit"))
    token = TOKEN.search(text(asked)).group(1)  # type: ignore[union-attr]
    answer = await desk.exchange(form_reply(asked, f"Form: {token}\nPostal code: 7501\nCountry: Frnace\n",
                                            Authentication_Results=TRUSTED))
    said = text(answer)
    assert "Please check your billing details" in said
    assert "Country: We don't know a country called 'Frnace'. Did you mean France?" in said
    assert "Country: Frnace" in said and TOKEN.search(said)  # what was sent, ready to fix
    assert (await details(desk.portal)).postal_code == "75011"

    fixed = await desk.exchange(form_reply(answer, f"Form: {token}\nPostal code: 7501\nCountry: France\n",
                                           Authentication_Results=TRUSTED))
    assert "Postal code: 7501 isn't a postal code of France; they look like" in text(fixed)


async def test_someone_elses_form_and_a_forged_token_are_refused(desk: MailDesk) -> None:
    asked = await desk.exchange(mail("billing edit"))
    token = TOKEN.search(text(asked)).group(1)  # type: ignore[union-attr]
    bobs = await desk.exchange(mail(f"Form: {token}\nCity: Nowhere\n", sender="Bob <bob@example.com>",
                                    Authentication_Results=TRUSTED.replace("example.com", "example.com")),
                               sender="bob@example.com")
    assert "made for another account" in text(bobs)
    forged = await desk.exchange(mail(f"Form: {token[:-3]}abc\nCity: Nowhere\n",
                                      Authentication_Results=TRUSTED))
    assert "not one we sent" in text(forged)
    assert (await details(desk.portal)).city == "Paris"


async def test_tax_ids_by_email(desk: MailDesk) -> None:
    added = await desk.exchange(mail("taxid add FR 23 334 175 221", Authentication_Results=TRUSTED))
    assert "FR23334175221 is a French VAT number" in text(added)
    wrong = await desk.exchange(mail("taxid add DE136695976", Authentication_Results=TRUSTED))
    assert "is a tax ID of Germany, but your billing country is France" in text(wrong)
    asked = await desk.exchange(mail("taxid remove FR23334175221"))  # unverified: asks first
    done = await desk.exchange(mail(f"confirm {code_in(asked)}"))
    assert "FR23334175221 is no longer on your billing details" in text(done)
    shown = await desk.exchange(mail("billing"))
    assert "FR40303265045" in text(shown) and "FR23334175221" not in text(shown)
