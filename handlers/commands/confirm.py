"""confirm and cancel: the second step of every change (pending actions)."""

from __future__ import annotations

from pydantic import Field

from core.accounts import confirmations
from core.kernel.errors import NotFound
from handlers.context import Context
from handlers.registry import REGISTRY, Arguments, command
from handlers.reply import Refused, Reply


class ConfirmArguments(Arguments):
    code: str = Field(description="the code shown with the request", min_length=4, max_length=80)


async def _find(ctx: Context, code: str) -> confirmations.PendingAction:
    # Buttons and reply addresses carry the signed token; people type the short code.
    if "." in code:
        return await confirmations.find(ctx.session, ctx.portal, ctx.customer_id, token=code)
    return await confirmations.find(ctx.session, ctx.portal, ctx.customer_id, code=code)


@command("confirm", summary="Confirm a change you asked for", examples=("confirm 4KQ7PX",))
async def confirm(ctx: Context, args: ConfirmArguments) -> Reply:
    action = await _find(ctx, args.code)
    target = REGISTRY.named(action.action)
    if target is None:
        raise NotFound("That request can no longer be carried out.")
    await confirmations.claim(ctx.session, ctx.portal, action)
    arguments = target.parse_arguments(action.arguments)
    confirmed_ctx = type(ctx)(ctx.portal, ctx.session, ctx.caller, target, action.summary,
                              confirmed=True)
    reply = await target.run(confirmed_ctx, arguments)
    if not reply.ok:
        raise Refused(reply)  # the action stays pending, to be confirmed again once fixed
    return reply


@command("cancel-request", summary="Drop a change you asked for but no longer want",
         aliases=("deny",), examples=("cancel-request 4KQ7PX",))
async def cancel_request(ctx: Context, args: ConfirmArguments) -> Reply:
    action = await _find(ctx, args.code)
    await confirmations.cancel(ctx.session, ctx.portal, action)
    return Reply.text(f"Cancelled: {action.summary}. Nothing was changed.")
