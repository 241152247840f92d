"""The composition root: which adapters core works with. Front doors and the CLI build their
workers here, so the choice is made in one place."""

from __future__ import annotations

from adapters.mail.eml_files import FileTransport
from adapters.mail.smtp_relay import SmtpRelay
from config.settings import Settings
from core.kernel.portal import Portal
from core.mail.sending import OutboxSender
from core.mail.transport import Transport


def mail_transport(settings: Settings) -> Transport:
    """The operator's relay, or .eml files in the outbox folder when none is set."""
    if settings.mail_relay:
        return SmtpRelay(settings.mail_relay, sender=settings.portal_address)
    return FileTransport(settings.outbox_dir)


def outbox_sender(portal: Portal, *, batch: int = 20) -> OutboxSender:
    return OutboxSender(portal, mail_transport(portal.settings), batch=batch)
