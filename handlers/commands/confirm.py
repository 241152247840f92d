"""confirm and cancel: the second step of every change (pending actions)."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field

from core.accounts import confirmations
from core.identity import codes
from core.kernel.errors import NotFound
from handlers.context import Context
from handlers.registry import REGISTRY, Arguments, command
from handlers.reply import Refused, Reply


class ConfirmArguments(Arguments):
    code: str = Field(description="the code shown with the request", min_length=4, max_length=80)


def _digits(code: str) -> bool:
    """Codes mailed to an address are digits only; those shown with a request never are."""
    return "".join(code.split()).isdigit()


async def _find(ctx: Context, code: str) -> confirmations.PendingAction:
    # Buttons and reply addresses carry the signed token; people type the short code.
    if "." in code:
        return await confirmations.find(ctx.session, ctx.portal, ctx.customer_id, token=code)
    return await confirmations.find(ctx.session, ctx.portal, ctx.customer_id, code=code)


@command("confirm", summary="Confirm a change you asked for", examples=("confirm 4KQ7PX",))
async def confirm(ctx: Context, args: ConfirmArguments) -> Reply:
    """The code shown with the request, or the one we emailed to an address the change needs
    (moving your account: the code sent to the new address), entered where you asked."""
    proven: str | None = None
    mailed = await codes.check_confirmation_code(ctx.session, ctx.portal, code=args.code,
                                                 caller=ctx.caller.key) if _digits(args.code) else None
    if mailed is not None and mailed.pending_action_id is None:
        return Reply.error(mailed.message)  # an answer, not a refusal: the wrong guess counts
    if mailed is not None and mailed.pending_action_id is not None:
        action = await confirmations.mailed(ctx.session, ctx.customer_id, mailed.pending_action_id)
        proven = mailed.email
    else:
        action = await _find(ctx, args.code)
    target = REGISTRY.named(action.action)
    if target is None:
        raise NotFound("That request can no longer be carried out.")
    await confirmations.claim(ctx.session, ctx.portal, action)
    arguments = target.parse_arguments(action.arguments)
    confirmed_ctx = replace(ctx, command=target, line=action.summary, confirmed=True,
                            proven_address=proven)
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
