"""A seeded fuzz of the email reader: malformed MIME, headers and charsets.

Whatever arrives was accepted with a 250, so reading it (the key it is stored under, who sent
it, whether to answer, its commands) and composing the answer must never raise.
"""

from __future__ import annotations

import random
from typing import Any

from bot.mail.answer import Answer, compose
from bot.mail.worker import MailWorker
from core.kernel.portal import Portal
from core.mail.inbox import message_key
from core.models import InboundMail

CASES = 3000
SEED = 20261201

NASTY_WORDS = [
    "=?utf-8?q?x=0D=0ABcc:_evil@example.com?=", "=?utf-8?b?AAEC/w==?=", "=?x-unknown?q?hi?=",
    "=?utf-8?q?M=C3=BCller=2C_Alice?=", "=?utf-8?q?unterminated", "=?iso-8859-1?q?caf=E9?=",
    "\"quoted, name\"", "(comment (nested) here)", "<>", "@", "a@b@c", "\udcff\udcfe",
    "=?utf-8?q?=0A=0A=0A?=", "a" * 2000, "ünïcödé", "\t", ";", ",,,,", "<<a@b>>", "\x00",
]
HEADERS = ["From", "To", "Subject", "Message-ID", "References", "In-Reply-To", "Reply-To",
           "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "Precedence",
           "Authentication-Results", "List-Id", "X-Auto-Response-Suppress", "Date"]
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "x-made-up", "utf-16", "", "us-ascii\""]
BODIES = ["orders\nproduct 1\n", "<html><body><p>invoice March</p><blockquote>orders</blockquote></body></html>",
          "\xff\xfe garbage \x00", "=E9=\n=ZZ quoted-printable gone wrong", "AAAA====bad base64",
          "> quoted\n> orders\n", ""]


def mutated(rng: random.Random) -> bytes:
    headers: list[tuple[str, str]] = [
        ("From", rng.choice([f"{rng.choice(NASTY_WORDS)} <alice@example.com>", "alice@example.com",
                             rng.choice(NASTY_WORDS), "a@example.com, b@example.com"])),
        ("To", "portal@shop.test"),
        ("Subject", " ".join(rng.choice([*NASTY_WORDS, "orders", "Re: invoice March"])
                             for _ in range(rng.randint(0, 3)))),
        ("Message-ID", rng.choice([f"<{rng.random()}@example.com>", rng.choice(NASTY_WORDS), ""])),
    ]
    for _ in range(rng.randint(0, 5)):
        headers.append((rng.choice(HEADERS), rng.choice(NASTY_WORDS)))
    charset = rng.choice(CHARSETS)
    boundary = rng.choice(["b1", "", "\"b2", "x" * 100])
    body = rng.choice(BODIES)
    if rng.random() < 0.4:
        headers.append(("Content-Type", f"multipart/{rng.choice(['mixed', 'alternative', 'weird'])}; "
                                        f"boundary={boundary}"))
        parts = "".join(f"--{boundary}\r\nContent-Type: text/{rng.choice(['plain', 'html', 'x'])}; "
                        f"charset={charset}\r\n\r\n{rng.choice(BODIES)}\r\n"
                        for _ in range(rng.randint(0, 3)))
        body = parts + (f"--{boundary}--\r\n" if rng.random() < 0.7 else "")
    elif rng.random() < 0.5:
        headers.append(("Content-Type", f"text/plain; charset={charset}"))
        headers.append(("Content-Transfer-Encoding", rng.choice(["base64", "quoted-printable", "8bit", "x"])))
    rng.shuffle(headers)
    text = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n" + body
    raw = text.encode("utf-8", "surrogateescape")
    if rng.random() < 0.2:  # a few bytes flipped anywhere
        data = bytearray(raw)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        raw = bytes(data)
    return raw


async def test_malformed_mail_is_read_and_answered_without_raising(settings_factory: Any) -> None:
    portal = Portal.open(settings_factory())
    worker = MailWorker(portal)
    rng = random.Random(SEED)
    try:
        for case in range(CASES):
            raw = mutated(rng)
            assert message_key(raw), case
            reading = worker.read(InboundMail(id=case, raw=raw, envelope_from="alice@example.com",
                                              recipients={"to": ["portal@shop.test"]}, attempts=1))
            if reading.no_reply is None:
                assert reading.sender
                compose(portal, reading.message, reading.sender, Answer())
    finally:
        await portal.close()


def test_an_encoded_line_break_in_the_sender_name_still_finds_the_sender(settings_factory: Any) -> None:
    raw = (b"From: =?utf-8?q?x=0D=0ABcc:_evil@example.com?= <alice@example.com>\r\n"
           b"To: portal@shop.test\r\nSubject: =?utf-8?q?orders=0D=0ABcc:_x@y.z?=\r\n"
           b"Message-ID: <m1@example.com>\r\n\r\norders\r\n")
    portal = Portal.open(settings_factory())
    reading = MailWorker(portal).read(InboundMail(id=1, raw=raw, envelope_from="alice@example.com",
                                                  recipients={"to": ["portal@shop.test"]}, attempts=1))
    assert reading.no_reply is None and reading.sender == "alice@example.com"
    reply = compose(portal, reading.message, reading.sender, Answer())
    assert "\n" not in str(reply["Subject"]) and "Bcc" not in {k for k, _ in reply.items()}
