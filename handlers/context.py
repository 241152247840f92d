"""Who is calling, and what a command sees while it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import confirmations
from core.identity import chat_links
from core.kernel.portal import Portal
from core.models import Customer
from core.payments.provider import PaymentProvider
from handlers.reply import Confirmation, Reply

if TYPE_CHECKING:
    from handlers.registry import Command

# Front doors whose accounts are linked to a customer by a stored chat link.
LINKED_PLATFORMS = ("discord", "slack")


# create_invite(channel_id, max_age_seconds) -> invite URL
InviteMaker = Callable[[int, int], Awaitable[str]]


@dataclass(frozen=True)
class DoorAbilities:
    """What the front door a command arrived through can do beyond answering."""

    create_invite: InviteMaker | None = None  # Discord: a single-use invite to a channel


@dataclass
class Caller:
    """The person behind a command, as the front door established it."""

    platform: str  # console, email, discord, slack
    account_id: str  # Discord user id, "T123:U456" for Slack, the sender for email
    customer_id: int | None = None
    display_name: str | None = None
    # Operator support mode (`shopkeep chat --as`): acts as the customer without a code.
    operator: bool = False
    # Changes run without a separate confirmation step (a DKIM-verified email).
    trusted_for_changes: bool = True
    abilities: DoorAbilities = field(default_factory=DoorAbilities)

    @property
    def key(self) -> str:
        """Identity used for rate limits and the audit log."""
        return f"{self.platform}:{self.account_id}"

    @property
    def actor(self) -> str:
        return f"operator as customer via {self.platform}" if self.operator else self.key


@dataclass
class Context:
    portal: Portal
    session: AsyncSession
    caller: Caller
    command: Command
    line: str  # the command as typed, for confirmations and the audit log
    confirmed: bool = False
    # Who moves the money, as the composition root chose (bot/bootstrap.py); None where no
    # provider was given (then payment commands say they are not available).
    payments: PaymentProvider | None = None
    # Confirmed with a code mailed to this address (core.identity.codes): its mailbox is the
    # caller's too. None for every other confirmation.
    proven_address: str | None = None
    # The door needs a confirmation round trip for every change (unverified email): a command
    # that asks for its own (`previews`) asks here even where it would not elsewhere.
    round_trip: bool = False
    _customer: Customer | None = None

    @property
    def customer_id(self) -> int:
        assert self.caller.customer_id is not None, "the dispatcher checks sign-in first"
        return self.caller.customer_id

    async def customer(self) -> Customer:
        if self._customer is None:
            self._customer = await self.session.get(Customer, self.customer_id)
            assert self._customer is not None
        return self._customer

    async def sign_in(self, customer: Customer) -> chat_links.LinkResult | None:
        """Bind the caller to the customer: a stored link for chat accounts, in memory otherwise."""
        self.caller.customer_id = customer.id
        self._customer = customer
        if self.caller.platform in LINKED_PLATFORMS:
            return await chat_links.link_chat_account(
                self.session, customer, platform=self.caller.platform,
                account_id=self.caller.account_id, display_name=self.caller.display_name)
        return None

    async def confirm(self, preview: Reply, *, summary: str, arguments: dict[str, Any],
                      confirm_label: str = "Confirm", cancel_label: str = "Cancel") -> Reply:
        """Store the change as a pending action and ask the customer to confirm it."""
        action = await confirmations.create(self.session, self.portal, customer_id=self.customer_id,
                                      action=self.command.name, arguments=arguments,
                                      summary=summary)
        preview.confirmation = Confirmation(
            summary=summary, token=confirmations.token_for(self.portal, action), code=action.code,
            expires_at=action.expires_at, confirm_label=confirm_label, cancel_label=cancel_label)
        return preview
