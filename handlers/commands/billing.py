"""Billing details and tax IDs: billing [edit], taxid add <id>, taxid remove <id>."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from core.billing import details as billing_details
from core.billing import tax_ids as checks
from core.billing.buyer import USED_STATES, from_details
from core.billing.countries import country_name
from core.billing.tax import EXEMPT, REVERSE_CHARGE, seller_country, treatment_for
from core.kernel import formatting
from core.models import BillingDetails, Customer, TaxId
from core.models.billing_details import DOES_NOT_FIT, NOT_REGISTERED, VERIFIED
from handlers import forms
from handlers.context import Context
from handlers.registry import REGISTRY, Arguments, command
from handlers.reply import COUNTRY, EMAIL, LINES, Choice, Form, Reply, Table
from handlers.reply import Field as ReplyField

FORM_LINE = "billing edit"
SAVE = "save-billing"
TITLE = "Billing details"
FORM_LIMIT = 2000  # what a form's field may carry at all; the details say what fits where
WHO, WHERE = "who", "where"


class BillingArguments(Arguments):
    action: Literal["edit"] | None = Field(default=None, description="`edit` to change them in a form")

    @field_validator("action", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class BillingForm(Arguments):
    """The billing details form: each field its label (title), hint (description) and kind."""

    name: str | None = Field(None, title="Name", description="who invoices are made out to",
                             max_length=FORM_LIMIT, json_schema_extra={"required": True, "group": WHO})
    company: str | None = Field(None, title="Company", description="leave empty if you buy for yourself",
                                max_length=FORM_LIMIT, json_schema_extra={"group": WHO})
    invoice_email: str | None = Field(None, title="Invoice email",
                                      description="empty: your account's address",
                                      max_length=FORM_LIMIT,
                                      json_schema_extra={"kind": EMAIL, "group": WHO})
    address: str | None = Field(None, title="Address", description="street and number, one line each",
                                max_length=FORM_LIMIT,
                                json_schema_extra={"kind": LINES, "required": True, "group": WHERE})
    postal_code: str | None = Field(None, title="Postal code", description="e.g. 75011",
                                    max_length=FORM_LIMIT, json_schema_extra={"group": WHERE})
    city: str | None = Field(None, title="City", max_length=FORM_LIMIT,
                             json_schema_extra={"required": True, "group": WHERE})
    region: str | None = Field(None, title="State or region", description="where addresses need one",
                               max_length=FORM_LIMIT, json_schema_extra={"group": WHERE})
    country: str | None = Field(None, title="Country", description="a name or a code, like FR",
                                max_length=FORM_LIMIT,
                                json_schema_extra={"kind": COUNTRY, "required": True, "group": WHERE})


class TaxIdArguments(Arguments):
    action: Literal["add", "remove"] = Field(description="`add` or `remove`")
    id: str = Field(description="the tax ID, e.g. a VAT number like DE136695976", min_length=1,
                    max_length=60)

    @field_validator("action", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


# ---------------------------------------------------------------------------- in words


def _state(tax_id: TaxId, country: str | None, customer: Customer) -> str:
    when = (formatting.date(tax_id.checked_at, customer.locale, customer.timezone)
            if tax_id.checked_at else None)
    if tax_id.state == VERIFIED:
        return f"verified with {tax_id.checked_by} on {when}"
    if tax_id.state == NOT_REGISTERED:
        return f"not registered, {tax_id.checked_by} said on {when}; not used on invoices"
    if tax_id.state == DOES_NOT_FIT:
        where = country_name(country, customer.locale) if country else "your billing country"
        return f"does not fit {where}; not used on invoices"
    return "format checked, not verified"


def _kind(tax_id: TaxId) -> str:
    return checks.kind_for(tax_id.country).name if tax_id.country else tax_id.type


def _treatment(ctx: Context, details: BillingDetails, held: list[TaxId]) -> str:
    """What new invoices will charge, given these details."""
    store = ctx.portal.settings.store
    usable = [t.value for t in held if t.state in USED_STATES]
    treatment = treatment_for(store, details.country, usable)
    tax = store.tax_name
    if treatment.kind == REVERSE_CHARGE:
        seller = seller_country(store)
        where = country_name(seller) if seller else "another member state"
        return (f"New invoices charge no {tax}: as a business in another EU member state than "
                f"ours ({where}) with the {tax} number {treatment.buyer_vat_id}, you account for it "
                "yourself (reverse charge).")
    if treatment.kind == EXEMPT:
        return f"New invoices charge no {tax}: {treatment.mention}."
    rate = f"{treatment.rate.normalize():f} %"
    return f"New invoices charge {tax} at {rate}" + (
        f" and print your {tax} number {treatment.buyer_vat_id}." if treatment.buyer_vat_id else ".")


async def _details_reply(ctx: Context, customer: Customer, *, title: str) -> Reply:
    details = await billing_details.of(ctx.session, customer.id)
    held = await billing_details.tax_ids_of(ctx.session, customer.id)
    buyer = from_details(customer, details, [])
    locale = customer.locale
    reply = Reply(title=title)
    if details.updated_at is None and not held and not details.name:
        reply.paragraphs.append(f"You have no billing details yet: invoices name you as {buyer.name} "
                                f"and go to {customer.email}.")
    else:
        reply.fields += [ReplyField("Name", details.name or buyer.name)]
        if details.company:
            reply.fields.append(ReplyField("Company", details.company))
        address = [line for line in buyer.address if line not in (details.name, details.company)]
        reply.fields.append(ReplyField("Address", "\n".join(address) or "(none yet)", inline=False))
        reply.fields.append(ReplyField("Country", billing_details.country_label(details.country, locale)
                                       or "(none yet)"))
        reply.fields.append(ReplyField("Invoices go to", details.invoice_email
                                       or f"{customer.email} (your account's address)"))
    if held:
        reply.tables.append(Table(["Tax ID", "Kind", "State"],
                                  [[t.value, _kind(t), _state(t, details.country, customer)] for t in held],
                                  title="Tax IDs"))
    reply.paragraphs.append(_treatment(ctx, details, held))
    reply.paragraphs.append("Change them with `billing edit`; add a tax ID with `taxid add <id>`, "
                            "remove one with `taxid remove <id>`. Invoices already issued keep the "
                            "details they were issued with.")
    reply.choices.append(Choice("Edit billing details", FORM_LINE))
    return reply


def _form_values(details: BillingDetails, customer: Customer) -> dict[str, str]:
    return {"name": details.name or customer.name or "", "company": details.company or "",
            "invoice_email": details.invoice_email or "", "address": "\n".join(details.address_lines or ()),
            "postal_code": details.postal_code or "", "city": details.city or "",
            "region": details.region or "",
            "country": country_name(details.country, customer.locale) if details.country else ""}


def _form(ctx: Context, customer: Customer, values: dict[str, str],
          errors: dict[str, str] | None = None) -> Form:
    saver = REGISTRY.named(SAVE)
    assert saver is not None
    return forms.build(ctx.portal, customer.id, saver, values, title=TITLE, errors=errors,
                       intro="What invoices name from now on. Invoices already issued keep the "
                             "details they were issued with.")


# ---------------------------------------------------------------------------- commands


@command("billing", summary="Your billing details: name, address, tax IDs, where invoices go",
         aliases=("address",), examples=("billing", "billing edit"), reads_only=True)
async def billing(ctx: Context, args: BillingArguments) -> Reply:
    """`billing edit` opens a form: a window in Discord and Slack, questions in the console, and
    by email lines to fill in and send back. Tax IDs are checked against your billing country."""
    customer = await ctx.customer()
    if args.action != "edit":
        return await _details_reply(ctx, customer, title="Your billing details")
    details = await billing_details.of(ctx.session, customer.id)
    form = _form(ctx, customer, _form_values(details, customer))
    return Reply(title=TITLE, paragraphs=[form.intro or ""], form=form)


@command(SAVE, summary="Save the billing details form", mutates=True, previews=True, form=FORM_LINE)
async def save_billing(ctx: Context, args: BillingForm) -> Reply:
    customer = await ctx.customer()
    details = await billing_details.of(ctx.session, customer.id)
    sent = args.model_dump(exclude_none=True)
    proposed = billing_details.read(sent, details, locale=customer.locale)
    if not proposed.ok:
        labels = {name: forms.label_of(name, info) for name, info in BillingForm.model_fields.items()}
        values = {**_form_values(details, customer), **sent}
        return Reply(ok=False, title="Please check your billing details",
                     paragraphs=[f"{labels[name]}: {problem}" for name, problem in proposed.problems.items()],
                     form=_form(ctx, customer, values, proposed.problems))
    if ctx.round_trip and not ctx.confirmed:
        changes = [f"{billing_details.WHAT[name].capitalize()}: {_shown(value)}"
                   for name, value in proposed.values.items()
                   if value != billing_details.current_value(details, name)]
        preview = Reply(title="Change your billing details?",
                        paragraphs=changes or ["Nothing would change."])
        return await ctx.confirm(preview, summary="Change your billing details", arguments=sent,
                                 confirm_label="Save")
    saved = await billing_details.save(ctx.session, ctx.portal, customer, proposed, actor=ctx.caller.actor)
    if not saved.changed:
        reply = await _details_reply(ctx, customer, title="Nothing changed")
        reply.paragraphs.insert(0, "Your billing details are as they were.")
        return reply
    reply = await _details_reply(ctx, customer, title="Billing details saved")
    named = [billing_details.WHAT[name] for name in saved.changed]
    notes = [f"Changed: {_listed(named)}."]
    for tax_id, _, after in saved.rechecked:
        notes.append(f"{tax_id.value} does not fit your new billing country, so new invoices no "
                     f"longer use it (`taxid remove {tax_id.value}` removes it)." if after == DOES_NOT_FIT
                     else f"{tax_id.value} fits your billing country again.")
    reply.paragraphs[:0] = notes
    return reply


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(value) or "(empty)"
    return str(value) if value else "(empty)"


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@command("taxid", summary="Add or remove a tax ID (a VAT number) on your billing details",
         mutates=True, examples=("taxid add DE136695976", "taxid remove DE136695976"))
async def taxid(ctx: Context, args: TaxIdArguments) -> Reply:
    """The ID must fit your billing country (format and check digits: every EU member state's
    VAT number, the UK's, Switzerland's, Norway's, Australia's ABN, Canada's BN, India's GSTIN
    and more); set the country first with `billing edit`. An EU business buyer in another member
    state than the store's pays no VAT on new invoices (reverse charge)."""
    customer = await ctx.customer()
    if args.action == "remove":
        removed = await billing_details.remove_tax_id(ctx.session, ctx.portal, customer, args.id,
                                                      actor=ctx.caller.actor)
        details = await billing_details.of(ctx.session, customer.id)
        held = await billing_details.tax_ids_of(ctx.session, customer.id)
        return Reply.text(f"{removed.value} is no longer on your billing details.",
                          _treatment(ctx, details, held), title="Tax ID removed")
    tax_id, checked = await billing_details.add_tax_id(ctx.session, ctx.portal, customer, args.id,
                                                       actor=ctx.caller.actor)
    details = await billing_details.of(ctx.session, customer.id)
    held = await billing_details.tax_ids_of(ctx.session, customer.id)
    where = country_name(tax_id.country or "", customer.locale)
    online = ctx.portal.settings.tax_id_check != "off" and checked.kind.eu
    said = (f"{checked.shown} is a {checked.kind.name}: its format and check digits fit {where}."
            if checked.kind.module is not None else
            f"{checked.shown} is on your billing details; we have no format check for {where}'s tax IDs.")
    status = ("We're asking VIES whether it is registered; `billing` shows the answer." if online else
              "It is not verified: we check its form, not whether it is registered.")
    return Reply.text(said, status, _treatment(ctx, details, held), title="Tax ID added")
