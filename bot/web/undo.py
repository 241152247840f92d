"""The undo link of an account move: a page that says what it undoes and a button that does it.

Opening the link (GET, or HEAD) changes nothing, so a mail scanner that follows links cannot
undo a move; the page's button posts to the same address."""

from __future__ import annotations

from aiohttp import web

from bot.web.pages import page
from core.identity import transfer as transfers
from core.kernel.errors import Conflict, NotFound
from core.kernel.portal import Portal
from core.kernel.security import TokenExpired, TokenInvalid

PATH = "/account/undo/{token}"


def add_routes(app: web.Application, portal: Portal) -> None:
    async def show(request: web.Request) -> web.Response:
        return await _answer(portal, request.match_info["token"], undo=False)

    async def carry_out(request: web.Request) -> web.Response:
        return await _answer(portal, request.match_info["token"], undo=True)

    app.router.add_get(PATH, show)
    app.router.add_post(PATH, carry_out)


async def _answer(portal: Portal, token: str, *, undo: bool) -> web.Response:
    try:
        transfer_id = transfers.transfer_in(portal, token)
        async with portal.db.unit_of_work() as session:
            if not undo:
                record = await transfers.undoable(session, portal, transfer_id)
                return page(200, "Undo the move of your account?",
                            f"Your {portal.settings.store_name} account was moved from "
                            f"{record.old_email} to {record.new_email}. Undoing it gives it back to "
                            f"{record.old_email} and signs out every chat account signed in with "
                            f"{record.new_email}.", button=f"Give the account back to {record.old_email}")
            record = await transfers.undo(session, portal, transfer_id)
    except TokenExpired:
        return page(410, "This link has expired",
                    f"An undo link works for {transfers.UNDO_DAYS} days. Please write to the store.")
    except TokenInvalid:
        return page(403, "This link is not valid",
                    "The link is incomplete or was changed. Copy the whole link from the email.")
    except NotFound as exc:
        return page(404, "Not available", exc.message)
    except Conflict as exc:
        return page(409, "This move cannot be undone", exc.message)
    return page(200, "The account is back",
                f"Your account is {record.old_email} again. Sign in with `login {record.old_email}` "
                "where you use it; write to the store if something is still not as it was.")
