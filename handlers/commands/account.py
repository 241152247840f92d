"""Your account as a whole: transfer it to another address, see its activity, export its data."""

from __future__ import annotations

import io
import json
import zipfile

from pydantic import Field

from core.accounts import activity as audit_log
from core.accounts import confirmations
from core.accounts.export import everything
from core.billing import archive
from core.billing.periods import FORMS, PeriodError, parse_period
from core.identity import transfer as transfers
from core.identity.customers import normalize_email
from core.kernel import formatting
from core.kernel.errors import InvalidInput, NotFound
from handlers.callers import EMAIL
from handlers.context import Context
from handlers.paging import PAGE_ROWS, page_of, split_page
from handlers.registry import Arguments, command
from handlers.reply import Attachment, Choice, Reply, Table
from handlers.text import clipped

# What one answer may carry as files on every door: Discord takes 10 MiB per file, and mail
# relays commonly refuse messages over 10 MB, which base64 makes of 7 MiB.
MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024
INVOICES = ("invoices", "invoice", "documents", "pdf", "pdfs")


class TransferArguments(Arguments):
    email: str = Field(description="the address your account moves to", min_length=1, max_length=320)


@command("transfer", summary="Move your whole account to another email address", mutates=True,
         examples=("transfer alice@new.example",))
async def transfer(ctx: Context, args: TransferArguments) -> Reply:
    """Everything moves: orders, subscriptions, licenses and seats, invoices and billing
    details (invoices already issued keep the address they were issued to). We email a code to
    the new address; send `confirm <code>` here to move. Your old address gets a link that
    undoes the move for 7 days. Chat accounts signed in with the old address are signed out."""
    customer = await ctx.customer()
    new_email = normalize_email(args.email)
    if ctx.proven_address is None:
        return await _ask_the_new_address(ctx, new_email)
    if ctx.proven_address != new_email:  # a code is bound to the move it was mailed for
        raise InvalidInput("That code was sent for another address. Ask again.")
    old_email = customer.email
    moved = await transfers.carry_out(ctx.session, ctx.portal, customer, new_email, actor=ctx.caller.actor)
    until = formatting.moment(moved.undo_until, customer.timezone)
    if ctx.caller.operator:
        after = "Support mode goes on acting for the account at its new address."
    elif ctx.caller.platform == EMAIL:
        after = f"From now on, write from {new_email}."
    else:
        ctx.caller.customer_id = None  # signed in with the old address, signed out with it
        after = f"You are signed out here: sign in again with `login {new_email}`."
    return Reply.text(
        f"Your account is {new_email} now: everything that was {old_email}'s moved with it.",
        f"We sent {old_email} a link that undoes the move until {until}.", after,
        title="Account moved")


async def _ask_the_new_address(ctx: Context, new_email: str) -> Reply:
    customer = await ctx.customer()
    pending = await confirmations.create(
        ctx.session, ctx.portal, customer_id=customer.id, action=ctx.command.name,
        arguments={"email": new_email}, summary=f"Move your account to {new_email}", typed=False)
    expires = await transfers.request(ctx.session, ctx.portal, customer, new_email,
                                      caller=ctx.caller.key, pending_action_id=pending.id)
    until = formatting.moment(expires, customer.timezone)
    # The same answer whether or not the address has an account here: only whoever reads its
    # mail learns that, when the code is entered.
    return Reply.text(
        f"To move your account from {customer.email} to {new_email}, we emailed a code to "
        f"{new_email}. Send `confirm <code>` here before {until}.",
        "Everything moves: orders, subscriptions, licenses and seats, invoices and billing "
        "details. Invoices already issued keep the address they were issued to.",
        f"Afterwards chat accounts signed in as {customer.email} are signed out, and "
        f"{customer.email} gets a link that undoes the move for {transfers.UNDO_DAYS} days.",
        title="Check the new address")


class ActivityArguments(Arguments):
    page: str | None = Field(default=None, description='"page 2" and on for older changes',
                             max_length=20)


@command("activity", summary="What changed on your account, newest first", aliases=("log",),
         examples=("activity", "activity page 2"), reads_only=True)
async def activity(ctx: Context, args: ActivityArguments) -> Reply:
    """Every change to your account: what, when (in your time zone), from which front door,
    and whether the store's operator made it for you in support mode."""
    customer = await ctx.customer()
    rest, number = split_page(args.page or "")
    if rest.isdecimal() and number == 1:
        number = max(1, int(rest))
    elif rest:
        raise InvalidInput(f"{rest!r} is not a page: send `activity` or `activity page 2`.")
    total = await audit_log.count(ctx.session, customer.id)
    page = page_of(range(total), number, what="activity")
    if not total:
        return Reply.text("Nothing has changed on your account yet.", title="Activity")
    events = await audit_log.newest_first(ctx.session, customer.id, offset=(number - 1) * PAGE_ROWS,
                                          limit=PAGE_ROWS)
    names = await audit_log.product_names(ctx.session, events)
    rows = [[formatting.moment(event.at, customer.timezone), audit_log.described(event, names),
             audit_log.origin_of(event.actor).text] for event in events]
    title = "Activity" if number == 1 else f"Activity, page {number}"
    reply = Reply(title=title, tables=[Table(["When", "What", "From"], rows)])
    if any(audit_log.origin_of(event.actor).support_mode for event in events):
        reply.paragraphs.append("Operator support mode: the store's operator did it for you.")
    if page.more:
        reply.choices.append(Choice("Older", f"activity page {number + 1}"))
    return reply


class ExportArguments(Arguments):
    what: str | None = Field(default=None, max_length=60, description=(
        '"invoices" for your invoices, receipts and credit notes as PDFs in a zip, '
        'or "invoices 2025" (any period) for some of them'))


@command("export", summary="Everything we store about you, as a file", slow=True,
         examples=("export", "export invoices", "export invoices 2025"))
async def export(ctx: Context, args: ExportArguments) -> Reply:
    """`export` gives a JSON file of everything stored about you: account, billing details,
    orders, subscriptions, licenses and devices, seats, invoices, chat links, activity and the
    mail you sent us. `export invoices` gives their PDFs. Only you get them."""
    customer = await ctx.customer()
    what, _, period_text = (args.what or "").strip().partition(" ")
    today = ctx.portal.now().astimezone(formatting.zone(customer.timezone)).date().isoformat()
    if what.lower() in INVOICES:
        return await _invoices(ctx, period_text.strip(), today)
    if what:
        raise InvalidInput(f"I can export your data (`export`) or your invoices (`export invoices`), "
                           f"not {clipped(args.what or '', 40)!r}.")
    data = json.dumps(await everything(ctx.session, ctx.portal, customer.id), indent=2,
                      ensure_ascii=False).encode()
    name = f"shopkeep-data-{today}.json"
    attachment = Attachment(name, "application/json", data)
    if len(data) > MAX_ATTACHMENT_BYTES:
        attachment = Attachment(name + ".zip", "application/zip", _zip(name, data))
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            raise NotFound("Your data is more than one message can carry. Please ask the store "
                           "for it: they can hand you the whole file.")
    return Reply(title="Your data", attachments=[attachment], paragraphs=[
        "Everything we store about you, as JSON. Send `export invoices` for your invoices as PDFs."])


async def _invoices(ctx: Context, period_text: str, today: str) -> Reply:
    customer = await ctx.customer()
    try:
        period = parse_period(period_text or "all", now=ctx.portal.now(), tz=customer.timezone,
                              locale=customer.locale)
    except PeriodError as exc:
        raise InvalidInput(exc.message) from None
    documents = await archive.documents_in(ctx.session, customer.id, period)
    if not documents:
        raise NotFound("You have no invoices yet." if period.kind == "all" else
                       f"You have no invoices for {period.label}.")
    try:
        data = await archive.zipped(ctx.session, ctx.portal.settings, documents, limit=MAX_ATTACHMENT_BYTES)
    except archive.ArchiveTooLarge:
        raise InvalidInput(f"Your {len(documents)} documents are more than one message can carry. "
                           f"Ask for a part at a time, e.g. `export invoices {documents[0].issued_at.year}`"
                           f" (a period: {FORMS}).") from None
    label = "" if period.kind == "all" else f"-{period.label.replace(' ', '-')}"
    kinds = sorted({document.kind.replace("_", " ") for document in documents})
    return Reply(title="Your invoices", attachments=[
        Attachment(f"shopkeep-invoices{label}-{today}.zip", "application/zip", data)], paragraphs=[
        f"{len(documents)} documents ({', '.join(kinds)}) as PDFs, in one zip file."])


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        packed.writestr(name, data)
    return buffer.getvalue()
