"""Reading commands from real-looking mail: clients' quoting styles, charsets, limits, stop words."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from bot.mail.reading import MailCommands, clean_subject, html_to_text, read_commands
from handlers.parser import Invocation
from handlers.registry import REGISTRY

KNOWN = {"orders", "product", "help", "invoice", "confirm", "reveal"}


def parse(raw: str | bytes) -> EmailMessage:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    message = message_from_bytes(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), policy=default)
    assert isinstance(message, EmailMessage)
    return message


def known_only(line: str) -> Invocation:
    invocation = Invocation.parse(line)
    return invocation.resolved(REGISTRY.get(invocation.word) if invocation.word in KNOWN else None)


def by_email(line: str) -> Invocation:
    return REGISTRY.invocation(line, "email")


def read(raw: str | bytes, **limits: int) -> MailCommands:
    return read_commands(parse(raw), parse=known_only, **limits)


def lines(invocations: list[Invocation]) -> list[str]:
    return [invocation.line for invocation in invocations]


def plain(body: str, subject: str = "hello", charset: str = "utf-8") -> str:
    return (f"From: Alice <alice@example.com>\nTo: portal@shop.test\nSubject: {subject}\n"
            f"Message-ID: <a1@example.com>\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n{body}")


def test_one_command_per_line_arguments_keep_their_case() -> None:
    found = read(plain("orders\nproduct Pixel-Studio\n\ninvoice March 2026\n"))
    assert lines(found.commands) == ["orders", "product Pixel-Studio", "invoice March 2026"]
    assert lines(found.ignored) == [] and found.subject_command is None


@pytest.mark.parametrize("subject", [
    "Re: orders", "RE: orders", "Fwd: orders", "FW: orders", "AW: orders", "WG: orders",
    "SV: orders", "VS: orders", "Antw: orders", "Re: [Shop] Re: orders", "[ticket 12] orders",
])
def test_subject_prefixes_and_tags_are_stripped(subject: str) -> None:
    found = read(plain("", subject=subject))
    assert found.subject_command is not None and found.subject_command.line == "orders" and lines(found.commands) == ["orders"]


def test_subject_that_is_not_a_command_is_not_read_or_reported() -> None:
    found = read(plain("orders\n", subject="Re: my purchase last week"))
    assert lines(found.commands) == ["orders"] and lines(found.ignored) == []


def test_subject_repeated_in_the_body_runs_once() -> None:
    assert lines(read(plain("Orders\nproduct 3\n", subject="Re: orders")).commands) == ["orders", "product 3"]


def test_encoded_word_subjects_in_any_charset() -> None:
    utf8 = read(plain("", subject="=?UTF-8?B?cHJvZHVjdCBNw7xsbGVyIEPDtmRl?="))
    assert lines(utf8.commands) == ["product Müller Cöde"]
    latin = read(plain("", subject="=?ISO-8859-1?Q?Re=3A_product_caf=E9?="))
    assert lines(latin.commands) == ["product café"]


def test_reading_stops_at_stop_words() -> None:
    for stop in ("end", "stop", "Thanks!", "thank you", "Cheers,"):
        found = read(plain(f"orders\n{stop}\nproduct 3\n"))
        assert lines(found.commands) == ["orders"], stop


@pytest.mark.parametrize("marker", ["-- ", "--", "__", "________________________________"])
def test_reading_stops_at_a_signature(marker: str) -> None:
    found = read(plain(f"orders\n{marker}\nproduct 3\nAlice Example\n"))
    assert lines(found.commands) == ["orders"] and lines(found.ignored) == []


def test_phone_footer_is_not_an_unknown_line() -> None:
    found = read(plain("orders\n\nSent from my iPhone\n"))
    assert lines(found.commands) == ["orders"] and lines(found.ignored) == []


GMAIL = """orders

On Tue, Mar 3, 2026 at 10:00 AM Test Store <
portal@shop.test> wrote:

> Re: orders
> product 3
> help
"""
OUTLOOK_SEPARATOR = """orders

________________________________
From: Test Store <portal@shop.test>
Sent: Tuesday, March 3, 2026 10:00 AM
To: Alice <alice@example.com>
Subject: Re: help

product 3
"""
OUTLOOK_ORIGINAL = """orders\r
\r
-----Original Message-----\r
From: Test Store <portal@shop.test> \r
Sent: Tuesday, March 3, 2026 10:00 AM\r
To: alice@example.com\r
Subject: RE: help\r
\r
product 3\r
"""
APPLE = """orders

> On 3 Mar 2026, at 10:00, Test Store <portal@shop.test> wrote:
>
> product 3
"""
APPLE_UNQUOTED_HEADER = """orders
Sent from my iPhone

On 3 Mar 2026, at 10:00, Test Store <portal@shop.test> wrote:

product 3
"""


@pytest.mark.parametrize("body", [GMAIL, OUTLOOK_SEPARATOR, OUTLOOK_ORIGINAL, APPLE, APPLE_UNQUOTED_HEADER],
                         ids=["gmail", "outlook", "outlook-original", "apple", "apple-iphone"])
def test_quoted_replies_are_stripped(body: str) -> None:
    found = read(plain(body, subject="Re: your message"))
    assert lines(found.commands) == ["orders"]
    assert not any("product" in line or "wrote" in line for line in lines(found.ignored))


def test_outlook_reply_with_nothing_above_the_quote_runs_nothing() -> None:
    body = ("From: Test Store <portal@shop.test>\nSent: Tuesday, March 3, 2026 10:00 AM\n"
            "To: alice@example.com\nSubject: Please confirm\n\nnote hello\nproduct 3\n")
    assert read(plain(body, subject="RE: Please confirm")) == MailCommands()


def test_german_outlook_headers_are_stripped() -> None:
    body = "orders\n\nVon: Test Store <portal@shop.test>\nGesendet: Dienstag, 3. März 2026 10:00\nAn: Alice\n" \
           "Betreff: AW: help\n\nproduct 3\n"
    assert lines(read(plain(body)).commands) == ["orders"]


def html_mail(html: str) -> str:
    return ("From: alice@example.com\nTo: portal@shop.test\nSubject: hi\nMIME-Version: 1.0\n"
            f"Content-Type: text/html; charset=utf-8\n\n{html}")


def test_html_only_mail_is_converted() -> None:
    html = ("<html><body><div dir='ltr'><div>orders</div><div>product my_ebook</div>"
            "<p>invoice 2026-03</p><div><br></div></div></body></html>")
    assert lines(read(html_mail(html)).commands) == ["orders", "product my_ebook", "invoice 2026-03"]


@pytest.mark.parametrize("quote", [
    "<hr style='display:inline-block;width:98%'><div id='divRplyFwdMsg' dir='ltr'><b>From:</b> Shop"
    "<br><b>Sent:</b> Tuesday<br></div><div>product 3</div>",
    "<div class='gmail_quote'><div class='gmail_attr'>On Tue, Mar 3, 2026 at 10:00 AM Shop wrote:"
    "</div><blockquote class='gmail_quote'>product 3</blockquote></div>",
    "<div><br><blockquote type='cite'><div>On 3 Mar 2026, at 10:00, Shop wrote:</div>"
    "<div>product 3</div></blockquote></div>",
], ids=["outlook", "gmail", "apple"])
def test_html_quotes_are_cut_off(quote: str) -> None:
    found = read(html_mail(f"<html><body><div>orders</div>{quote}</body></html>"))
    assert lines(found.commands) == ["orders"] and lines(found.ignored) == []


def test_html_to_text_keeps_plain_words() -> None:
    text = html_to_text("<p>1. product A_B-C</p><ul><li>- help</li></ul>")
    assert "1. product A_B-C" in text and "\\" not in text


def test_multipart_alternative_prefers_the_plain_part() -> None:
    raw = ("From: alice@example.com\nTo: portal@shop.test\nSubject: hi\nMIME-Version: 1.0\n"
           "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
           "orders\n--b\nContent-Type: text/html\n\n<p>help</p>\n--b--\n")
    assert lines(read(raw).commands) == ["orders"]


def test_iso_8859_1_body() -> None:
    raw = plain("product Café Crème\nDanke schön\n", charset="iso-8859-1").encode("latin-1")
    found = read(raw)
    assert lines(found.commands) == ["product Café Crème"] and lines(found.ignored) == ["Danke schön"]


def test_windows_1252_body_and_mislabelled_latin1() -> None:
    body = "product Maker\u2019s \u201cPro\u201d \u2013 2026\n"
    assert lines(read(plain(body, charset="windows-1252").encode("cp1252")).commands) == [body.strip()]
    # Labelled ISO-8859-1 but written in Windows-1252, as many mailers do.
    assert lines(read(plain(body, charset="iso-8859-1").encode("cp1252")).commands) == [body.strip()]


def test_unknown_charset_still_reads_ascii_commands() -> None:
    assert lines(read(plain("orders\n", charset="x-made-up")).commands) == ["orders"]


def test_unknown_lines_are_reported_and_after_five_the_rest_is_ignored() -> None:
    body = "\n".join(["orders", "hello there", "what", "is", "this", "mail", "product 3", "more", "text"])
    found = read(plain(body))
    assert lines(found.commands) == ["orders"]
    assert lines(found.ignored) == ["hello there", "what", "is", "this", "mail"]
    assert found.unread == 3


def test_at_most_max_lines_commands() -> None:
    found = read(plain("\n".join(f"product {n}" for n in range(12))), max_lines=10)
    assert lines(found.commands) == [f"product {n}" for n in range(10)]
    assert found.ignored == [] and found.unread == 2
    assert lines(read(plain("orders\nhelp\n"), max_lines=1).ignored) == ["help"]


def test_the_subject_counts_towards_the_line_limit() -> None:
    found = read(plain("help\nproduct 1\n", subject="orders"), max_lines=2)
    assert lines(found.commands) == ["orders", "help"] and lines(found.ignored) == ["product 1"]


def test_chat_habits_work_as_in_the_console() -> None:
    found = read_commands(parse(plain("/orders\n!help\nPRODUCT Ebook\n")), parse=by_email)
    assert [(c.word, c.text) for c in found.commands] == [("orders", ""), ("help", ""), ("product", "Ebook")]


def test_login_is_not_offered_by_email() -> None:
    found = read_commands(parse(plain("login alice@example.com\norders\n")), parse=by_email)
    assert lines(found.commands) == ["orders"] and lines(found.ignored) == ["login alice@example.com"]


def test_subject_prefix_cleaning_leaves_words_alone() -> None:
    assert clean_subject("Re: Fwd: [Shop]  invoice   March") == "invoice March"
    assert clean_subject("Rebate question") == "Rebate question"


def subject_command(subject: str) -> str | None:
    found = read_commands(parse(plain("", subject=subject)), parse=by_email)
    return found.subject_command.line if found.subject_command else None


def test_the_subject_is_a_command_only_when_all_of_it_is_one() -> None:
    for subject in ("orders", "Re: orders", "invoices", "invoice March", "orders page 2", "my",
                    "invoices last quarter page 2", "help product", "?"):
        assert subject_command(subject) == clean_subject(subject), subject
    # `my` is `orders`, which takes a page number; the rest are sentences after a command word.
    for subject in ("my stuff", "My orders", "orders please", "Invoice for March?",
                    "invoice I never got", "product Pixel Studio crashes on startup since the update"):
        assert subject_command(subject) is None, subject
    # The rule never turns away a command written the way `help` shows it.
    examples = [e for c in REGISTRY.commands("email") for e in c.examples]
    assert len(examples) > 10 and [e for e in examples if subject_command(e) != e] == []


def test_a_sentence_that_starts_with_a_command_word_is_not_a_command() -> None:
    # `cancel` and `payment` are commands named like the first word of everyday subjects.
    assert subject_command("Cancel my order") is None
    assert subject_command("Re: Payment failed") is None
    assert subject_command("Cancel your subscription?") is None
    assert subject_command("cancel Pixel Studio") == "cancel Pixel Studio"
    assert subject_command("Re: payment") == "payment"
    # Not read as a command, the subject is not reported as a line we did not understand either.
    found = read_commands(parse(plain("orders\n", subject="Cancel my order")), parse=by_email)
    assert lines(found.commands) == ["orders"] and found.ignored == []
