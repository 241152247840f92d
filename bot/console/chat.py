"""`shopkeep chat`: the portal in a terminal, one-shot (-c) or interactive with line editing."""

from __future__ import annotations

import getpass
import socket
import sys
from pathlib import Path

from bot import bootstrap
from bot.bootstrap import outbox_sender
from bot.console.render import render, save_attachments
from core.kernel.portal import Portal
from handlers.callers import caller_for, operator_as
from handlers.context import Caller
from handlers.reply import LINES, Form, Reply, answer_line


class ConsoleSession:
    def __init__(self, portal: Portal, caller: Caller, downloads_dir: Path) -> None:
        self.portal = portal
        self.caller = caller
        self.dispatcher = bootstrap.dispatcher(portal)
        self.downloads_dir = downloads_dir
        self.outbox = outbox_sender(portal)

    async def run_line(self, line: str, *, interactive: bool = False) -> Reply:
        reply = await self.dispatcher.handle_line(self.caller, line)
        saved = save_attachments(reply, self.downloads_dir) if reply.attachments else None
        print(render(reply, saved, prompt_for_confirmation=interactive))
        if interactive and reply.form:
            reply = await self.fill(reply.form)
        if interactive and reply.confirmation:
            answer = await _ask(f"{reply.confirmation.summary}. Go ahead? [y/N] ")
            accept = answer.strip().lower() in ("y", "yes")
            reply = await self.run_line(answer_line(reply.confirmation.code, accept=accept))
        # Codes and invites go out at once, whether or not `shopkeep serve` is running.
        await self.outbox.send_due()
        return reply


    async def fill(self, form: Form) -> Reply:
        """Ask for each field in turn (Enter keeps what it holds, `-` empties it), send the
        form, and ask again for the fields that were wrong until it is saved or given up on
        (an end of input: Ctrl-D)."""
        print(FIELD_HELP)
        values: dict[str, str] = {}
        asked = list(form.fields)
        while True:
            for item in asked:
                current = values.get(item.name, item.value)
                shown = current.replace("\n", LINE_SEPARATOR)
                answer = await _answer(f"{item.label}{' (required)' if item.required else ''}"
                                       f"{f' [{shown}]' if shown else ''}: ")
                if answer is None:
                    reply = Reply.text("Nothing was changed.")
                    print(render(reply))
                    return reply
                typed = answer.strip()
                values[item.name] = current if not typed else "" if typed == "-" else (
                    typed.replace(LINE_SEPARATOR.strip(), "\n") if item.kind == LINES else typed)
            reply = await self.dispatcher.handle(self.caller, self.dispatcher.submission(form.token, values))
            print(render(reply, prompt_for_confirmation=True))
            if reply.ok or reply.form is None or not reply.form.errors:
                return reply
            form = reply.form
            asked = [item for item in form.fields if item.error]


async def _answer(prompt: str) -> str | None:
    """The line typed in answer, or None at the end of input (Ctrl-D)."""
    try:
        line = await _ask(prompt)
    except (EOFError, KeyboardInterrupt):
        return None
    if not sys.stdin.isatty() and not line:
        return None
    return line.rstrip("\r\n")


async def _ask(prompt: str) -> str:
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession

        return await PromptSession().prompt_async(prompt)
    print(prompt, end="", flush=True)
    return sys.stdin.readline()


LINE_SEPARATOR = " / "  # several lines typed on one (an address)
FIELD_HELP = (f"Press Enter to keep what a field holds, type - to empty it; separate lines with "
              f"'{LINE_SEPARATOR.strip()}'. Ctrl-D gives up.")


async def console_caller(portal: Portal, as_email: str | None) -> Caller:
    """The operator's own terminal, or (with --as) support mode acting for a customer."""
    if as_email is None:
        return await caller_for(portal, platform="console",
                                account_id=f"{getpass.getuser()}@{socket.gethostname()}")
    return await operator_as(portal, as_email, platform="console", operator=getpass.getuser())


async def chat(portal: Portal, *, as_email: str | None, commands: list[str],
               downloads_dir: Path) -> int:
    caller = await console_caller(portal, as_email)
    session = ConsoleSession(portal, caller, downloads_dir)
    if commands:
        failed = False
        for line in commands:
            reply = await session.run_line(line)
            failed |= not reply.ok
        return 1 if failed else 0
    return await _interactive(session)


async def _interactive(session: ConsoleSession) -> int:
    if sys.stdin.isatty():
        print(f"{session.portal.settings.store_name} customer portal. Type `help`, or `quit` to leave.")
    prompt = None
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        prompt = PromptSession(history=FileHistory(str(session.portal.settings.data_dir / ".chat_history")))
    while True:
        try:
            if prompt is not None:
                line = await prompt.prompt_async("shop> ")
            else:
                line = sys.stdin.readline()
                if not line:
                    return 0
        except (EOFError, KeyboardInterrupt):
            return 0
        if line.strip().lower() in ("quit", "exit", "q"):
            return 0
        if line.strip():
            await session.run_line(line, interactive=True)
            print()
