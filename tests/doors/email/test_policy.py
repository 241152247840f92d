"""Sender policy: who wrote, when never to answer, which authentication results to believe."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.mail.policy import (
    confirmation_address,
    is_portal_recipient,
    sender_address,
    should_not_reply,
    token_from_recipients,
    trusted_authentication,
)

PORTAL = "portal@shop.test"
LOOP = "X-Shopkeep-Loop"


def parse(headers: str, body: str = "orders\n") -> EmailMessage:
    raw = (headers.strip() + "\n\n" + body).replace("\n", "\r\n").encode("utf-8")
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


ORDINARY = """
Return-Path: <alice@example.com>
Received: from mail.example.com by mx.shop.test; Tue, 3 Mar 2026 10:00:00 +0000
From: Alice Example <alice@example.com>
To: portal@shop.test
Subject: orders
Message-ID: <CAF=abc@mail.gmail.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
"""


def why(extra: str = "", *, envelope_from: str | None = "alice@example.com",
        headers: str = ORDINARY) -> str | None:
    return should_not_reply(parse(headers + extra), envelope_from=envelope_from,
                            portal_address=PORTAL, loop_header=LOOP)


def test_an_ordinary_message_gets_an_answer() -> None:
    assert why() is None
    assert why("Auto-Submitted: no\nPrecedence: first-class\n") is None


@pytest.mark.parametrize("envelope_from", ["", "<>"])
def test_bounces_with_an_empty_envelope_sender(envelope_from: str) -> None:
    assert why(envelope_from=envelope_from) == "bounce (empty envelope sender)"


BOUNCE = """
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.com>
To: portal@shop.test
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status; boundary="b"
"""


@pytest.mark.parametrize(("extra_headers", "envelope_from"), [
    (BOUNCE, "bounces@mail.example.com"),
    (ORDINARY.replace("Alice Example <alice@example.com>", "postmaster@example.com"), "alice@example.com"),
    (ORDINARY, "MAILER-DAEMON@mail.example.com"),
])
def test_mail_daemons_and_postmasters(extra_headers: str, envelope_from: str) -> None:
    reason = why(headers=extra_headers, envelope_from=envelope_from)
    assert reason is not None and reason.startswith("sent by")


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; owner-email=x@y.z"])
def test_auto_submitted_other_than_no(value: str) -> None:
    assert why(f"Auto-Submitted: {value}\n") == f"Auto-Submitted: {value.split(';')[0]}"


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk"])
def test_bulk_precedence(value: str) -> None:
    assert why(f"Precedence: {value}\n") == f"Precedence: {value.lower()}"


def test_mailing_list_mail() -> None:
    assert why("List-Id: Makers <makers.lists.example.com>\n") == "mailing-list mail"


@pytest.mark.parametrize("sender", ["portal@shop.test", "Shop <PORTAL@shop.test>", "portal+abc.123.xyz@shop.test"])
def test_mail_from_the_portal_itself(sender: str) -> None:
    headers = ORDINARY.replace("Alice Example <alice@example.com>", sender)
    assert why(headers=headers) == "sent by the portal itself"
    assert why(envelope_from="portal@shop.test") == "sent by the portal itself"


def test_our_own_loop_header() -> None:
    assert why(f"{LOOP}: portal@shop.test\n") == "carries our own loop header"


@pytest.mark.parametrize("header", ["X-Autoreply: yes", "X-Autorespond: Out of office"])
def test_auto_responders(header: str) -> None:
    assert why(header + "\n") == "auto-responder"


@pytest.mark.parametrize(("value", "silent"), [("All", True), ("OOF, AutoReply", True),
                                               ("DR, RN, NRN", False)])
def test_outlook_auto_response_suppress(value: str, silent: bool) -> None:
    assert (why(f"X-Auto-Response-Suppress: {value}\n") is not None) is silent


@pytest.mark.parametrize(("from_header", "expected"), [
    ("Alice Example <Alice@Example.COM>", "alice@example.com"),
    ("\"Müller, Alice\" <alice@example.com>", "alice@example.com"),
    ("=?ISO-8859-1?Q?Alice_M=FCller?= <alice@example.com>", "alice@example.com"),
    ("alice@example.com", "alice@example.com"),
    ("Alice <alice@example.com>, Bob <bob@example.com>", None),
    ("undisclosed-recipients:;", None),
    ("Alice <alice@localhost>", None),
    ("not an address", None),
])
def test_sender_address(from_header: str, expected: str | None) -> None:
    headers = ORDINARY.replace("Alice Example <alice@example.com>", from_header)
    assert sender_address(parse(headers)) == expected


def test_two_from_headers_are_refused() -> None:
    assert sender_address(parse(ORDINARY + "From: mallory@example.net\n")) is None


def test_no_from_at_all() -> None:
    assert sender_address(parse("To: portal@shop.test\nSubject: orders\n")) is None


def authenticated(*results: str, sender: str = "alice@example.com") -> bool:
    extra = "".join(f"Authentication-Results: {result}\n" for result in results)
    return trusted_authentication(parse(extra + ORDINARY), trusted_authserv_id="mx.shop.test",
                                  sender=sender)


def test_dmarc_pass_from_our_mta() -> None:
    assert authenticated("mx.shop.test; spf=pass smtp.mailfrom=example.com; "
                         "dkim=pass header.d=example.com header.s=s1; dmarc=pass (p=none) header.from=example.com")
    assert authenticated("mx.shop.test 1; dmarc=pass header.from=example.com")


def test_aligned_dkim_pass_from_our_mta() -> None:
    assert authenticated("mx.shop.test;\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com "
                         "header.i=@example.com header.s=20230601 header.b=AbCdEf12")
    assert authenticated('mx.shop.test; dkim=pass reason="good signature" header.d="example.com"')
    assert authenticated("mx.shop.test; dkim=pass header.d=example.com", sender="alice@eu.example.com")


def test_unaligned_or_failing_results_are_not_trusted() -> None:
    assert not authenticated("mx.shop.test; dkim=pass header.d=mailer.example.net")
    assert not authenticated("mx.shop.test; dkim=pass header.d=com")
    assert not authenticated("mx.shop.test; dkim=pass header.d=eu.example.com")  # sender is the parent
    assert not authenticated("mx.shop.test; dkim=fail header.d=example.com; dmarc=fail header.from=example.com")
    assert not authenticated("mx.shop.test; spf=pass smtp.mailfrom=example.com")  # SPF alone: no
    assert not authenticated("mx.shop.test; dmarc=pass header.from=example.net")
    assert not authenticated("mx.shop.test; dkim=none; dmarc=none")


def test_forged_results_from_other_authserv_ids_are_ignored() -> None:
    assert not authenticated("mx.attacker.test; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")
    assert not authenticated("mx.shop.test.attacker.test; dmarc=pass header.from=example.com")
    assert not authenticated("attacker; (mx.shop.test; dmarc=pass) dkim=fail")
    assert not authenticated('mx.shop.test; dkim=fail reason="dkim=pass header.d=example.com"')
    assert not authenticated()


def test_a_pass_inside_another_value_is_not_a_result() -> None:
    # RFC 8601: only a method's own result counts, not text that looks like one.
    assert not authenticated("mx.shop.test; x=dmarc=pass header.from=example.com")
    assert not authenticated("mx.shop.test; spf=fail smtp.mailfrom=dmarc=pass")
    assert not authenticated("mx.shop.test; dkim=fail (dmarc=pass header.from=example.com) header.d=example.com")


def test_no_trusted_authserv_id_configured_trusts_nothing() -> None:
    message = parse("Authentication-Results: mx.shop.test; dmarc=pass header.from=example.com\n" + ORDINARY)
    assert not trusted_authentication(message, trusted_authserv_id=None, sender="alice@example.com")
    assert not trusted_authentication(message, trusted_authserv_id="", sender="alice@example.com")


def test_portal_recipients_and_confirmation_addresses() -> None:
    address = confirmation_address(PORTAL, "17.1773574400.abcdefghij0123456789")
    assert address == "portal+17.1773574400.abcdefghij0123456789@shop.test"
    assert len(address.split("@")[0]) <= 64
    assert is_portal_recipient(address, PORTAL) and is_portal_recipient("<Portal@Shop.Test>", PORTAL)
    assert not is_portal_recipient("portalx@shop.test", PORTAL)
    assert not is_portal_recipient("portal@shop.test.evil", PORTAL)
    assert not is_portal_recipient("sales@shop.test", PORTAL)
    assert token_from_recipients(["portal@shop.test", address.upper()], PORTAL) == \
        "17.1773574400.abcdefghij0123456789"
    assert token_from_recipients(["portal@shop.test"], PORTAL) is None
    assert token_from_recipients(["other+tok@shop.test"], PORTAL) is None
