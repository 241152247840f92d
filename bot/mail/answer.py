"""The reply email: every command's answer in order, the ignored lines, short help.

It follows the shape of mailing-list command servers: one message, never the original
quoted in full, threaded to the customer's message, marked as an automatic reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from html import escape

from bot.mail.headers import header_text
from bot.mail.policy import confirmation_address
from bot.mail.render import reply_html
from core.kernel.cards import looks_like_card_number
from core.kernel.formatting import moment
from core.kernel.portal import Portal
from core.mail import composing
from handlers.reply import Choice, Reply
from handlers.text import reply_text

SHORT_HELP = ("Write one command per line, in the subject or at the top of the message, for "
              "example \"orders\", \"product 1\" or \"help\".")
QUESTION = ("Thanks for writing! This address answers commands, one per line in the subject or "
            "at the top of a message, and we found none in yours. Send any of these to start:")


@dataclass
class Answer:
    """What one incoming message gets back."""

    sections: list[tuple[str, Reply]] = field(default_factory=list)  # (command line, reply)
    ignored: list[str] = field(default_factory=list)
    notice: str | None = None  # a message that replaces the sections (no account, limits)
    # The message held no command: the commands to send instead, and no short help.
    suggested: list[Choice] = field(default_factory=list)

    @property
    def confirmation_token(self) -> str | None:
        tokens = [r.confirmation.token for _, r in self.sections if r.confirmation]
        return tokens[-1] if tokens else None


def _confirm_hint(portal: Portal, reply: Reply) -> str | None:
    if reply.confirmation is None:
        return None
    return (f"To go ahead, reply to this message (the reply goes to a one-time address), or send "
            f"\"{reply.confirmation.typed}\" to {portal.settings.portal_address}. "
            f"It expires {moment(reply.confirmation.expires_at, reply.timezone)}.")


FORM_HINT = ("Reply with these lines, changed where you want (keep the Form line). A line you "
             "leave out stays as it is; one with nothing after its colon is emptied.")


def compose(portal: Portal, original: EmailMessage, to: str, answer: Answer) -> EmailMessage:
    subject = " ".join(header_text(original, "Subject").split())
    if not subject or looks_like_card_number(subject):
        subject = "your message"
    text_parts: list[str] = []
    html_parts: list[str] = []
    if answer.notice:
        text_parts.append(answer.notice)
        html_parts.append(f"<p>{escape(answer.notice)}</p>")
    for line, reply in answer.sections:
        hint = _confirm_hint(portal, reply)
        text_parts.append(f"> {line}\n\n{reply_text(reply, confirm_hint=hint, form_hint=FORM_HINT)}")
        html_parts.append(f"<p style='color:#6b7280;margin:18px 0 0'>&gt; {escape(line)}</p>"
                          + reply_html(reply, confirm_hint=hint, form_hint=FORM_HINT))
    if answer.suggested:
        width = max(len(choice.command) for choice in answer.suggested)
        text_parts.append(QUESTION + "\n\n" + "\n".join(
            f"  {choice.command.ljust(width)}   {choice.label}" for choice in answer.suggested))
        html_parts.append(f"<p>{escape(QUESTION)}</p><ul>" + "".join(
            f"<li><code>{escape(choice.command)}</code>: {escape(choice.label)}</li>"
            for choice in answer.suggested) + "</ul>")
    if answer.ignored:
        text_parts.append("Not understood or ignored:\n" + "\n".join(f"  {line}" for line in answer.ignored))
        html_parts.append("<p><b>Not understood or ignored:</b></p><ul>" + "".join(
            f"<li><code>{escape(line)}</code></li>" for line in answer.ignored) + "</ul>")
    if not answer.notice and not answer.suggested:
        text_parts.append(f"-- \n{SHORT_HELP}\nSend \"help\" for everything you can do.")
        html_parts.append(f"<hr><p style='color:#6b7280'>{escape(SHORT_HELP)} Send "
                          "<code>help</code> for everything you can do.</p>")
    message = composing.new_message(
        portal, to=to,
        subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
        text="\n\n".join(text_parts) + "\n",
        html="<html><body style='font-family:sans-serif;line-height:1.45;color:#111827'>"
             + "\n".join(html_parts) + "</body></html>",
    )
    message.replace_header("Auto-Submitted", "auto-replied")
    original_id = header_text(original, "Message-ID").strip()
    if original_id.isascii() and original_id:
        message["In-Reply-To"] = original_id
        references = [r for r in header_text(original, "References").split() if r.isascii()]
        message["References"] = " ".join([*references[-10:], original_id])
    if answer.confirmation_token:
        message["Reply-To"] = confirmation_address(portal.settings.portal_address,
                                                   answer.confirmation_token)
    for _, reply in answer.sections:
        for attachment in reply.attachments:
            maintype, _, subtype = attachment.mime_type.partition("/")
            message.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                                   filename=attachment.filename)
    return message
