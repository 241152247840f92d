"""help and help <command>, generated from the registry."""

from __future__ import annotations

from pydantic import Field

from handlers.context import Context
from handlers.registry import REGISTRY, Access, Arguments, command
from handlers.reply import Reply, Table


class HelpArguments(Arguments):
    command: str | None = Field(default=None, description="a command to explain")


@command("help", summary="List what you can do, or explain one command", access=Access.ANYONE,
         aliases=("?", "commands"), examples=("help", "help product"), reads_only=True)
async def help_command(ctx: Context, args: HelpArguments) -> Reply:
    platform = ctx.caller.platform
    if args.command:
        wanted = args.command.split()[0].lower()
        found = REGISTRY.get(wanted)
        if found is not None and not found.offered_on(platform):
            return Reply.error(found.not_here())
        if found is None:
            close = REGISTRY.suggestions(wanted, platform)
            hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
            return Reply.error(f"There is no command {wanted!r}.{hint} Send `help` for the list.")
        reply = Reply(title=f"help: {found.name}", paragraphs=[found.summary + "."])
        reply.paragraphs.append(f"Usage: `{found.usage}`")
        for name, info in found.arguments.given_fields().items():
            if info.description:
                reply.paragraphs.append(f"{name}: {info.description}")
        if found.details:
            reply.paragraphs.append(found.details)
        if found.examples:
            reply.paragraphs.append("Examples: " + ", ".join(f"`{e}`" for e in found.examples))
        if found.aliases:
            reply.paragraphs.append("Also: " + ", ".join(found.aliases))
        return reply
    signed_in = ctx.caller.customer_id is not None
    rows = [[f"{c.usage}", c.summary] for c in REGISTRY.commands(platform)
            if signed_in or c.access is Access.ANYONE or platform == "email"]
    reply = Reply(title="What you can do", tables=[Table(["Command", "What it does"], rows)])
    if not signed_in and platform != "email":
        reply.paragraphs.append("Sign in first with `login you@example.com` to see your orders.")
    reply.paragraphs.append("Send `help <command>` for details.")
    return reply
