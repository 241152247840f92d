"""The aiohttp application and its routes."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from pathlib import Path
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from adapters.payments.testmode import TestModeProvider
from bot import bootstrap
from bot.version import shopkeep_version
from bot.web import license_api, pay, undo
from bot.web.pages import page
from core.kernel.errors import Conflict, InvalidInput, NotFound
from core.kernel.portal import Portal
from core.kernel.security import TokenExpired, TokenInvalid
from core.kernel.validation import first_problem
from core.models import Order
from core.orders import downloads
from core.orders.purchases import PurchaseRequest, record_purchase
from core.payments.provider import PaymentProvider
from core.subscriptions.renewals import MerchantRenewal, record_merchant_renewal

log = logging.getLogger("shopkeep.http")
PORTAL: web.AppKey[Portal] = web.AppKey("portal", Portal)
SIGNATURE_HEADER = "X-Shopkeep-Signature"


@web.middleware
async def no_tracebacks(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return page(500, "Something went wrong", "Please try again in a moment.")


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a traceback for every malformed request (an over-long line, garbage bytes):
    anyone can send those, so each becomes one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "refused a malformed request: %s", (
                " ".join(str(error.message).split())[:120],)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("aiohttp.server").addFilter(OneLineBadRequests())


def create_app(portal: Portal, *, payments: PaymentProvider | None = None) -> web.Application:
    app = web.Application(middlewares=[no_tracebacks], client_max_size=2 * 1024 * 1024)
    app[PORTAL] = portal
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/d/{token}", download)  # aiohttp answers HEAD on GET routes
    app.router.add_post("/api/purchases", purchases)
    license_api.add_routes(app, portal)
    provider = payments or bootstrap.payment_provider(portal)
    if isinstance(provider, TestModeProvider):  # a real provider hosts its own page
        pay.add_routes(app, provider)
    undo.add_routes(app, portal)
    return app


def _sends_bytes(request: web.Request, path: Path) -> bool:
    """False when aiohttp will answer 416 (a range past the end, or one it cannot read): no
    download happened, so none is counted."""
    try:
        wanted = request.http_range
    except ValueError:
        return False
    return wanted.start is None or wanted.start < 0 or wanted.start < path.stat().st_size


async def healthz(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    database = await portal.db.ping()
    return web.json_response(
        {"status": "ok" if database else "degraded", "version": shopkeep_version(),
         "database": "ok" if database else "unreachable"},
        status=200 if database else 503,
    )


async def download(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL]
    try:
        async with portal.db.unit_of_work() as session:
            file = await downloads.resolve(session, portal, request.match_info["token"])
            if request.method == hdrs.METH_GET and _sends_bytes(request, file.path):
                await downloads.count(session, file, request.headers.get(hdrs.RANGE))
    except TokenExpired:
        return page(410, "This link has expired",
                    "Download links work for a limited time. Ask the portal for a fresh one "
                    "with `product <name>`.")
    except TokenInvalid:
        return page(403, "This link is not valid",
                    "The link is incomplete or was changed. Copy the whole link from the portal.")
    except NotFound as exc:
        return page(404, "Not available", exc.message)
    # No Content-Type here: aiohttp labels the file itself, and then only when it sends it
    # (a 416 for a range past the end is not a PDF).
    return web.FileResponse(file.path, headers={
        hdrs.CONTENT_DISPOSITION: attachment_disposition(file.filename),
        hdrs.CACHE_CONTROL: "private, no-store",
    })


def attachment_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old clients plus the exact UTF-8 name."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


MAX_NESTING = 16  # a purchase nests three levels; the JSON parser recurses per level


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting(body: bytes) -> int:
    """How deep the JSON's arrays and objects go, counted without parsing (strings skipped)."""
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _problem(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, str] = {"error": message}
    if field:
        body["field"] = field
    return web.json_response(body, status=status)


async def purchases(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    secret = portal.settings.webhook_secret
    if not secret:
        return _problem(503, "the purchases API is off: set SHOPKEEP_WEBHOOK_SECRET")
    body = await request.read()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, because compare_digest refuses non-ASCII text and a forged header may carry any.
    given = request.headers.get(SIGNATURE_HEADER, "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, expected.encode()):
        return _problem(401, f"bad or missing {SIGNATURE_HEADER}")
    if nesting(body) > MAX_NESTING:
        return _problem(422, f"the body nests deeper than {MAX_NESTING} levels")
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("event") == "renewal":
            return await _renewal(portal, MerchantRenewal.model_validate(data))
        purchase = PurchaseRequest.model_validate(data)
    except json.JSONDecodeError as exc:
        return _problem(422, f"the body is not JSON: {exc.msg}")
    except UnicodeDecodeError:
        return _problem(422, "the body is not JSON: it is not UTF-8 text")
    except ValidationError as exc:
        field, problem = first_problem(exc)
        return _problem(422, f"{field or 'body'}: {problem}", field or "body")
    try:
        async with portal.db.unit_of_work() as session:
            result = await record_purchase(session, portal, purchase)
            answer = _order_json(result.order, result.created)
    except InvalidInput as exc:
        return _problem(422, exc.message, exc.message.partition(":")[0])
    except Conflict as exc:
        return _problem(409, exc.message, exc.message.partition(":")[0])
    except IntegrityError:
        # A concurrent request stored the same order (same external id) or the same new
        # customer first; once more, now that its rows are visible, gives the right answer.
        async with portal.db.unit_of_work() as session:
            result = await record_purchase(session, portal, purchase)
            answer = _order_json(result.order, result.created)
    return web.json_response(answer, status=201 if answer["created"] else 200)


async def _renewal(portal: Portal, renewal: MerchantRenewal) -> web.Response:
    """The store billed one more period of a subscription it bills: the period moves."""
    try:
        async with portal.db.unit_of_work() as session:
            result = await record_merchant_renewal(session, portal, renewal)
            answer = _order_json(result.order, result.created)
    except (InvalidInput, NotFound, Conflict) as exc:
        return _problem(422 if not isinstance(exc, Conflict) else 409, exc.message,
                        exc.message.partition(":")[0])
    return web.json_response(answer, status=201 if answer["created"] else 200)


def _order_json(order: Order, created: bool) -> dict[str, object]:
    return {
        "created": created,
        "order": order.number,
        "external_id": order.external_id,
        "customer_id": order.customer_id,
        "total": order.total,
        "currency": order.currency,
        "status": order.status,
    }
