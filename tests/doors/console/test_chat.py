"""`shopkeep chat`, `purchase` and `outbox` as an operator runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.cli import build_parser, run
from bot.console.chat import ConsoleSession, console_caller
from config.settings import load_settings
from core.kernel.portal import Portal


def newest_mail(data_dir: Path, kind: str) -> str:
    files = sorted((data_dir / "mail" / "outbox").glob(f"*-{kind}.eml"))
    assert files, f"no {kind} mail in the outbox"
    message = message_from_bytes(files[-1].read_bytes(), policy=default)
    return str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


def test_support_mode_lists_what_alice_owns(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "orders", "-c", "product 1"]) == 0
    out = capsys.readouterr().out
    assert "Pixel Studio Pro" in out and "Workshop recordings" in out


def test_invoices_are_listed_and_saved_as_files(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["chat", "--as", "alice@example.com", "-c", "invoices", "-c", "receipt last"]) == 0
    out = capsys.readouterr().out
    assert "Your invoices" in out and "INV-" in out
    saved = [Path(line.strip()) for line in out.splitlines() if line.strip().endswith(".pdf")]
    assert saved and saved[0].name.startswith("RCT-") and saved[0].read_bytes().startswith(b"%PDF")


def test_failures_exit_non_zero(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["chat", "--as", "alice@example.com", "-c", "product 99"]) == 1
    assert run(["chat", "--as", "nobody@example.com", "-c", "orders"]) == 1
    assert capsys.readouterr().err.strip().endswith("--as: there is no customer nobody@example.com")


async def test_sign_in_as_a_customer_would(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    portal = Portal.open(load_settings())
    try:
        session = ConsoleSession(portal, await console_caller(portal, None), data_dir / "downloads")
        await session.run_line("login bob@example.com")
        code = re.search(r"\b(\d{6})\b", newest_mail(data_dir, "code"))
        assert code
        assert (await session.run_line(f"verify {code.group(1)}")).ok
        orders = await session.run_line("orders")
    finally:
        await portal.close()
    assert [row[1] for row in orders.tables[0].rows] == ["The Indie Maker's Handbook", "Sprite Club",
                                                         "Tileset Forge Teams"]  # his seat on alice's team


def test_purchase_and_outbox(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["purchase", "--email", "carol@example.com", "--product", "ebook", "--json"]) == 0
    assert '"new_customer": true' in capsys.readouterr().out
    assert "carol@example.com" in newest_mail(data_dir, "invite")
    assert run(["outbox"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"sent .*invite\s+carol@example.com", listing)
    assert run(["purchase", "--email", "carol@example.com", "--product", "nope"]) == 1


def test_a_purchase_recorded_on_the_demo_is_invoiced_by_the_demo_seller_with_its_receipt(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["purchase", "--email", "carol@example.com", "--product", "ebook"]) == 0
    capsys.readouterr()
    assert run(["chat", "--as", "carol@example.com", "-c", "invoice last"]) == 0
    [invoice] = [Path(line.strip()) for line in capsys.readouterr().out.splitlines() if line.strip().endswith(".pdf")]
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(invoice).pages).split())
    for expected in ("Shopkeep Demo Store Ltd", "12 Canal Walk", "VAT number: IE3141592S", "VAT 23 %", "$19.00"):
        assert expected in text, expected
    number = invoice.stem
    assert run(["chat", "--as", "carol@example.com", "-c", f"receipt {number}"]) == 0
    out = capsys.readouterr().out
    [receipt] = [Path(line.strip()) for line in out.splitlines() if line.strip().endswith(".pdf")]
    assert receipt.name.startswith("RCT-") and number in out
    assert f"For invoice {number}" in " ".join(" ".join(p.extract_text() for p in PdfReader(receipt).pages).split())


def test_purchase_speaks_plainly_and_names_the_option(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["purchase", "--email", "erin@example.com", "--product", "ebook"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Order SK-") and "erin@example.com (a new customer)" in out and "{" not in out
    for args, expected in ((["--email", "not-an-email"], "--email: 'not-an-email' doesn't look like an email address."),
                           (["--email", "erin@example.com", "--quantity", "0"], "--quantity: must be more than 0"),
                           (["--email", "erin@example.com", "--amount", "-5"], "--amount: must be at least 0"),
                           (["--email", "erin@example.com", "--product", "nope"], "--product: unknown product 'nope'")):
        product = [] if "--product" in args else ["--product", "ebook"]
        assert run(["purchase", *product, *args]) == 1, args
        err = capsys.readouterr().err.strip()
        assert err == f"shopkeep: {expected}" and "pydantic" not in err, err


def test_a_repeated_purchase_of_something_owned_says_so(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["purchase", "--email", "bob@example.com", "--product", "ebook"]) == 1
    assert "bob@example.com already owns The Indie Maker's Handbook. Add --again" in capsys.readouterr().err
    assert run(["purchase", "--email", "bob@example.com", "--product", "ebook", "--again"]) == 0
    assert capsys.readouterr().out.startswith("Order SK-")


def test_version_and_help_for_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["--version"])
    assert re.fullmatch(r"shopkeep \S+\n", capsys.readouterr().out)
    parser = build_parser()
    actions = list(parser._actions)
    for sub in parser._subparsers._group_actions[0].choices.values():  # type: ignore[union-attr]
        actions += sub._actions
        for nested in sub._subparsers._group_actions[0].choices.values() if sub._subparsers else []:  # type: ignore[union-attr]
            actions += nested._actions
    undocumented = [a.dest for a in actions if not a.help and a.dest not in ("help", "command",
                    "catalog_command", "db_command")]
    assert undocumented == []


def shopkeep_process(data_dir: Path, *args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHOPKEEP_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", *args], env=env,
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parents[3])


def test_chat_piped_into_head_stops_quietly(data_dir: Path) -> None:
    process = shopkeep_process(data_dir, "chat", "--as", "alice@example.com", *["-c", "help"] * 300)
    assert process.stdout is not None and process.stdout.readline()
    process.stdout.close()  # what `head -1` does after its line
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0 and err == b"", err.decode()


def test_chat_reading_a_pipe_prints_no_banner(data_dir: Path) -> None:
    process = shopkeep_process(data_dir, "chat", "--as", "alice@example.com", stdin=subprocess.PIPE)
    out, _ = process.communicate(b"whoami\n", timeout=60)
    assert "alice@example.com" in out.decode() and "Type `help`" not in out.decode()
