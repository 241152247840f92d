"""The composition root: which adapters core works with and who reacts to which domain event.
Front doors, `serve` and the CLI build their workers here, so the choice is made in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.mail.eml_files import FileTransport
from adapters.mail.smtp_relay import SmtpRelay
from adapters.merchant.webhook import HttpWebhook
from adapters.payments.testmode import TestModeProvider
from adapters.tax.vies import Vies
from config.settings import Settings
from core.billing.tax_registry import TaxIdRegistry, check_customer, check_online
from core.kernel.event_delivery import EventWorker, Subscribers
from core.kernel.events import (
    AccessChanged,
    AccountTransferred,
    AccountTransferUndone,
    BillingDetailsChanged,
    ChatAccountLinked,
    ChatAccountUnlinked,
    PaymentMethodChanged,
    PurchaseRecorded,
    RefundChanged,
    RenewalPaymentFailed,
    RenewalsDue,
    SeatAssigned,
    SubscriptionChanged,
    TaxIdAdded,
)
from core.kernel.portal import Portal
from core.mail.sending import OutboxSender
from core.mail.transport import Transport
from core.payments.provider import PaymentProvider
from core.subscriptions.merchant import MerchantNotifier
from core.subscriptions.refunding import end_refunded_access
from core.subscriptions.renewals import RenewalWorker
from handlers.dispatcher import Dispatcher

if TYPE_CHECKING:  # the CLI imports this module and should not load discord.py or bolt for it
    from bot.discord.door import DiscordDoor
    from bot.slack.door import SlackDoor


def mail_transport(settings: Settings) -> Transport:
    """The operator's relay, or .eml files in the outbox folder when none is set."""
    if settings.mail_relay:
        return SmtpRelay(settings.mail_relay, sender=settings.portal_address)
    return FileTransport(settings.outbox_dir)


def payment_provider(portal: Portal) -> PaymentProvider:
    """Who moves the money: the embedded test-mode provider (test cards only) until a real
    provider is configured."""
    return TestModeProvider(portal)


def renewal_worker(portal: Portal) -> RenewalWorker:
    return RenewalWorker(portal, payment_provider(portal))


def merchant_notifier(portal: Portal) -> MerchantNotifier:
    """Sends the store's notices of changes it bills (SHOPKEEP_MERCHANT_WEBHOOK_URL)."""
    return MerchantNotifier(portal, HttpWebhook())


def dispatcher(portal: Portal) -> Dispatcher:
    """The commands as every front door runs them, with the payment provider they use."""
    return Dispatcher(portal, payments=payment_provider(portal))


def tax_id_registry(settings: Settings) -> TaxIdRegistry | None:
    """The registry asked whether tax IDs are registered (SHOPKEEP_TAX_ID_CHECK), or none."""
    return Vies(settings.vies_url) if settings.tax_id_check == "vies" else None


def outbox_sender(portal: Portal, *, batch: int = 20) -> OutboxSender:
    return OutboxSender(portal, mail_transport(portal.settings), batch=batch)


def event_subscribers(*, outbox: OutboxSender | None = None,
                      discord: DiscordDoor | None = None,
                      slack: SlackDoor | None = None,
                      renewals: RenewalWorker | None = None,
                      merchant: MerchantNotifier | None = None,
                      portal: Portal | None = None,
                      tax_ids: TaxIdRegistry | None = None) -> Subscribers:
    """Who reacts to which domain event. Every effect is idempotent: an event may be delivered
    again after a worker died mid-way."""
    subscribers = Subscribers()
    if portal is not None:
        refunds_at, payments = portal, payment_provider(portal)

        async def end_access(event: RefundChanged) -> None:
            if event.ends_access:
                await end_refunded_access(refunds_at, payments, event.refund_id)

        subscribers.subscribe(RefundChanged, end_access)
    if portal is not None and tax_ids is not None:
        where, registry = portal, tax_ids

        # A registry that cannot answer now raises: the event is retried later, and the ID
        # stays "not verified" meanwhile.
        async def check_added(event: TaxIdAdded) -> None:
            await check_online(where, registry, event.tax_id_id)

        async def check_after_country(event: BillingDetailsChanged) -> None:
            if "country" in event.fields:  # IDs that fit the new country are asked about anew
                await check_customer(where, registry, event.customer_id)

        subscribers.subscribe(TaxIdAdded, check_added)
        subscribers.subscribe(BillingDetailsChanged, check_after_country)
    if outbox is not None:
        async def send_queued_mail(event: PurchaseRecorded | SeatAssigned | SubscriptionChanged
                                   | PaymentMethodChanged | AccountTransferred
                                   | AccountTransferUndone | RefundChanged) -> None:
            # The invite, the confirmation or the notice the change queued: out at once.
            outbox.wakeup.set()

        subscribers.subscribe(PurchaseRecorded, send_queued_mail)
        subscribers.subscribe(SeatAssigned, send_queued_mail)
        subscribers.subscribe(SubscriptionChanged, send_queued_mail)  # its confirmation mail
        subscribers.subscribe(PaymentMethodChanged, send_queued_mail)
        subscribers.subscribe(AccountTransferred, send_queued_mail)
        subscribers.subscribe(AccountTransferUndone, send_queued_mail)
        subscribers.subscribe(RefundChanged, send_queued_mail)  # the refund's notice
    if renewals is not None:
        worker = renewals

        async def renew_now(event: RenewalsDue) -> None:
            worker.wakeup.set()  # a card added while past due: tried at once

        subscribers.subscribe(RenewalsDue, renew_now)
    if merchant is not None:
        notifier = merchant

        async def tell_store(event: SubscriptionChanged) -> None:
            notifier.wakeup.set()  # the notice the change queued goes out at once

        subscribers.subscribe(SubscriptionChanged, tell_store)
    if discord is not None:
        door = discord

        async def sync_customer(event: AccessChanged) -> None:
            await door.sync_members(event.customer_id)

        async def sync_linked(event: ChatAccountLinked | ChatAccountUnlinked) -> None:
            # An unlinked account is no longer the customer's: it is synced by its id, which
            # removes the roles it held through them.
            accounts = [int(event.account_id)] if event.platform == "discord" else []
            if accounts:
                await door.sync_members(event.customer_id, account_ids=accounts)

        subscribers.subscribe(AccessChanged, sync_customer)
        subscribers.subscribe(ChatAccountLinked, sync_linked)
        subscribers.subscribe(ChatAccountUnlinked, sync_linked)
        # A failed renewal: a DM to the linked members, beside the email (each sent once).
        subscribers.subscribe(RenewalPaymentFailed, door.tell_renewal_failed)
    if slack is not None:
        subscribers.subscribe(RenewalPaymentFailed, slack.tell_renewal_failed)
    return subscribers


def event_worker(portal: Portal, *, outbox: OutboxSender | None = None,
                 discord: DiscordDoor | None = None, slack: SlackDoor | None = None,
                 renewals: RenewalWorker | None = None,
                 merchant: MerchantNotifier | None = None) -> EventWorker:
    return EventWorker(portal, event_subscribers(outbox=outbox, discord=discord, slack=slack,
                                                 renewals=renewals, merchant=merchant, portal=portal,
                                                 tax_ids=tax_id_registry(portal.settings)))
