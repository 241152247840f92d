"""Sender policy: whether a message may get an answer, who sent it, and whether it is authenticated."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import getaddresses

import authres

from bot.mail.headers import header_text, header_texts, raw_header_values

BULK_PRECEDENCE = {"bulk", "junk", "list"}
ROBOT_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "noreply", "no-reply",
                     "do-not-reply", "donotreply"}


# local@domain.tld: no spaces, quotes or brackets, a dot in the domain; any script (SMTPUTF8).
PLAIN_ADDRESS = re.compile(r"[^\s@\"<>(),;:\\\[\]]+@(?:[^\s@\"<>(),;:\\\[\].]+\.)+[^\s@\"<>(),;:\\\[\].]+")


ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    return local, domain


def _base_local(local: str) -> str:
    return local.split("+", 1)[0]


def is_portal_recipient(recipient: str, portal_address: str) -> bool:
    """The portal address or one of its +sub-addresses (confirmation replies)."""
    local, domain = _split(recipient)
    portal_local, portal_domain = _split(portal_address)
    return domain == portal_domain and _base_local(local) == portal_local


def confirmation_address(portal_address: str, token: str) -> str:
    local, domain = _split(portal_address)
    return f"{local}+{token}@{domain}"


def token_from_recipients(recipients: list[str], portal_address: str) -> str | None:
    for recipient in recipients:
        if not is_portal_recipient(recipient, portal_address):
            continue
        local, _ = _split(recipient)
        _, plus, token = local.partition("+")
        if plus and token:
            return token
    return None


def sender_address(message: EmailMessage) -> str | None:
    """The one address in From, lower-cased; None when missing, garbled or several.
    Internationalized addresses (SMTPUTF8) are fine."""
    headers = raw_header_values(message, "From")
    if len(headers) != 1:
        return None
    # Encoded words (RFC 2047) are single words of a display name whatever they encode: a
    # comma, a colon or a line break inside one must not split or break the address list.
    addresses = [addr for _, addr in getaddresses([ENCODED_WORD.sub("x", headers[0])]) if addr]
    if len(addresses) != 1 or not PLAIN_ADDRESS.fullmatch(addresses[0]):
        return None
    return addresses[0].lower()


def should_not_reply(message: EmailMessage, *, envelope_from: str | None, portal_address: str,
                     loop_header: str = "X-Shopkeep-Loop") -> str | None:
    """Why this message must never be answered (RFC 3834 and common practice), or None."""
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "bounce (empty envelope sender)"
    candidates = [envelope_from or ""] + [addr for _, addr in getaddresses(
        header_texts(message, "From"))]
    for address in candidates:
        if not address:
            continue
        local, _ = _split(address)
        if _base_local(local) in ROBOT_LOCAL_PARTS:
            return f"sent by {local}"
        if is_portal_recipient(address, portal_address):
            return "sent by the portal itself"
    auto_submitted = header_text(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if header_text(message, "List-Id") or header_text(message, "List-Unsubscribe"):
        return "mailing-list mail"
    if header_text(message, loop_header):
        return "carries our own loop header"
    if header_text(message, "X-Autoreply") or header_text(message, "X-Autorespond"):
        return "auto-responder"
    suppress = {part.strip().lower() for part in header_text(
        message, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        return "X-Auto-Response-Suppress"
    return None


def _aligned(domain: str, sender_domain: str) -> bool:
    # Relaxed alignment: the signing domain is the From domain or a parent of it (never a
    # bare top-level domain).
    domain = domain.lower().lstrip("@").rsplit("@", 1)[-1].rstrip(".")
    if "." not in domain:
        return False
    return sender_domain == domain or sender_domain.endswith("." + domain)


def trusted_authentication(message: EmailMessage, *, trusted_authserv_id: str | None,
                           sender: str) -> bool:
    """True when our own MTA (its authserv-id) stamped a DMARC pass, or a DKIM pass whose signing
    domain matches the From domain. Anyone can add such a header, so others' are ignored; the
    MTA must drop headers that arrive carrying its own authserv-id (RFC 8601, section 5).

    Each header is parsed by the RFC 8601 grammar (authres), so only a method's own result
    counts: not "x=dmarc=pass", not a reason="dkim=pass", not a comment."""
    if not trusted_authserv_id:
        return False
    _, sender_domain = _split(sender)
    for header in header_texts(message, "Authentication-Results"):
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(header)
        except authres.AuthResError:
            continue  # a header that does not follow the grammar says nothing we can trust
        if (parsed.authserv_id or "").lower() != trusted_authserv_id.lower():
            continue
        for result in parsed.results:
            if str(result.result).lower() != "pass":
                continue
            props = {f"{p.type}.{p.name}".lower(): str(p.value) for p in result.properties}
            method = str(result.method).lower()
            if method == "dmarc" and _aligned(props.get("header.from", sender_domain), sender_domain):
                return True
            if method == "dkim":
                domain = props.get("header.d") or props.get("header.i", "")
                if domain and _aligned(domain, sender_domain):
                    return True
    return False
