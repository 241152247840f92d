"""Composing the portal's own messages: the headers every outgoing mail carries."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from core.kernel.portal import Portal

LOOP_HEADER = "X-Shopkeep-Loop"


def new_message(portal: Portal, *, to: str, subject: str, text: str, html: str | None = None
                ) -> EmailMessage:
    """A message from the portal, with the headers every outgoing mail carries."""
    message = EmailMessage()
    message["From"] = f"{portal.settings.store_name} <{portal.settings.portal_address}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=portal.settings.portal_domain)
    message["Auto-Submitted"] = "auto-generated"
    message[LOOP_HEADER] = portal.settings.portal_address
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
