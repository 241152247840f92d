"""The license API for the merchant's own apps, answering as Lemon Squeezy's does.

    POST /v1/licenses/activate    license_key, instance_name
    POST /v1/licenses/validate    license_key, instance_id (optional)
    POST /v1/licenses/deactivate  license_key, instance_id

An app written for Lemon Squeezy changes its base URL and nothing else: the same fields in (form
encoded as documented, JSON as the official JavaScript SDK and most apps send, multipart form
data, or the query string), the same JSON out whatever the Accept header says, the same status
codes and error strings, and the same open CORS. Unauthenticated, like the original: the key is
the credential. Rate-limited per client address and per key, with 429 and Retry-After.
"""

from __future__ import annotations

import codecs
import json
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from core.kernel.portal import Portal
from core.kernel.rate_limits import RateLimiter
from core.licenses import api
from core.licenses.api import Answer, KeyFacts, Problem

log = logging.getLogger("shopkeep.http.licenses")

PREFIX = "/v1/licenses"
MAX_BODY = 64 * 1024  # three short fields; anything near this is not an app asking about a key

# Lemon Squeezy's words, which apps compare against and show to their users.
ERRORS: dict[Problem, tuple[int, str]] = {
    Problem.UNKNOWN_KEY: (404, "license_key not found."),
    Problem.UNKNOWN_INSTANCE: (404, "instance_id not found."),
    Problem.DISABLED: (400, "This license key is disabled."),
    Problem.EXPIRED: (400, "This license key has expired."),
    Problem.LIMIT_REACHED: (400, "This license key has reached the activation limit."),
    Problem.NOT_DEACTIVATABLE: (400, "This license key's instances cannot be deactivated."),
}
# What each endpoint reads; all of it is required except validate's instance_id.
FIELDS = {"activate": ("license_key", "instance_name"), "validate": ("license_key", "instance_id"),
          "deactivate": ("license_key", "instance_id")}
OPTIONAL = {"validate": ("instance_id",)}
TOO_MANY = "Too Many Attempts."  # Laravel's throttle, as Lemon Squeezy answers it
CORS = {"Access-Control-Allow-Origin": "*"}


def add_routes(app: web.Application, portal: Portal) -> None:
    door = LicenseAPI(portal)
    for name, handler in (("activate", activate), ("validate", validate), ("deactivate", deactivate)):
        app.router.add_post(f"{PREFIX}/{name}", door.endpoint(handler, FIELDS[name],
                                                             OPTIONAL.get(name, ())))
        app.router.add_route(hdrs.METH_OPTIONS, f"{PREFIX}/{name}", preflight)


Handler = Callable[[Portal, dict[str, str], str], Awaitable[web.Response]]


class LicenseAPI:
    """What every request passes first: the rate limits, the body's size, its fields."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        per_minute = portal.settings.license_api_requests_per_minute

        def clock() -> float:
            return portal.now().timestamp()

        self.by_address = RateLimiter(per_minute, clock=clock)
        self.by_key = RateLimiter(per_minute, clock=clock)

    def endpoint(self, handler: Handler, names: tuple[str, ...], optional: tuple[str, ...]
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
        required = tuple(name for name in names if name not in optional)

        async def endpoint(request: web.Request) -> web.Response:
            address = request.remote or "unknown"
            if (wait := self.by_address.hit(address)) is not None:
                return _throttled(self.by_address.limit, wait)
            if (request.content_length or 0) > MAX_BODY:
                return _too_large()
            try:
                fields, problems = await _fields(request, names, required)
            except web.HTTPRequestEntityTooLarge:  # sent in chunks, past the server's own bound
                return _too_large()
            key = fields.get("license_key")
            if key and (wait := self.by_key.hit(key[:api.MAX_KEY_LENGTH + 1])) is not None:
                return _throttled(self.by_key.limit, wait)
            if problems:
                return _invalid(problems)
            try:
                return await handler(self.portal, fields, address)
            except Exception:
                log.exception("%s failed", request.path)
                return _json({"message": "Server Error"}, 500)
        return endpoint


async def preflight(request: web.Request) -> web.Response:
    """Browsers ask first before a cross-origin JSON POST (a browser extension, a web app)."""
    asked = request.headers.get("Access-Control-Request-Headers", "Accept, Content-Type")
    return web.Response(status=204, headers={
        **CORS, "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": asked[:1000], "Access-Control-Max-Age": "86400"})


# ---------------------------------------------------------------- the three endpoints


async def activate(portal: Portal, fields: dict[str, str], address: str) -> web.Response:
    async with portal.db.unit_of_work() as session:
        answer = await api.activate(session, portal, fields["license_key"], fields["instance_name"],
                                    actor=_actor(address))
    return _answer("activated", answer, instance=answer.ok)


async def validate(portal: Portal, fields: dict[str, str], address: str) -> web.Response:
    answer = await api.validate(portal, fields["license_key"], fields.get("instance_id"))
    return _answer("valid", answer, instance=True)


async def deactivate(portal: Portal, fields: dict[str, str], address: str) -> web.Response:
    async with portal.db.unit_of_work() as session:
        answer = await api.deactivate(session, portal, fields["license_key"], fields["instance_id"],
                                      actor=_actor(address))
    return _answer("deactivated", answer, instance=False)


def _actor(address: str) -> str:
    return f"app via license API ({address})"


# ---------------------------------------------------------------- the answers, as Lemon Squeezy shapes them


def _answer(verdict: str, answer: Answer, *, instance: bool) -> web.Response:
    status, error = (200, None) if answer.ok else ERRORS[answer.problem]  # type: ignore[index]
    body: dict[str, Any] = {verdict: answer.ok, "error": error}
    if answer.key is None:  # an unknown key: Lemon Squeezy says no more than this
        return _json(body, status)
    body["license_key"] = license_key_json(answer.key)
    if instance:
        device = answer.device
        body["instance"] = None if device is None else {
            "id": device.instance_id, "name": device.name, "created_at": timestamp(device.activated_at)}
    body["meta"] = meta_json(answer.key)
    return _json(body, status)


def license_key_json(key: KeyFacts) -> dict[str, Any]:
    return {"id": key.id, "status": key.status, "key": key.key,
            "activation_limit": key.activation_limit, "activation_usage": key.activation_usage,
            "created_at": timestamp(key.created_at),
            "expires_at": timestamp(key.expires_at) if key.expires_at else None,
            "test_mode": False}


def meta_json(key: KeyFacts) -> dict[str, Any]:
    return {"store_id": key.store_id, "order_id": key.order_id, "order_item_id": key.order_item_id,
            "product_id": key.product_id, "product_name": key.product_name,
            "variant_id": key.variant_id, "variant_name": key.variant_name,
            "customer_id": key.customer_id, "customer_name": key.customer_name,
            "customer_email": key.customer_email}


def timestamp(moment: datetime) -> str:
    """As Lemon Squeezy writes them: 2021-01-24T14:15:07.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json",
                        headers={**CORS, **(headers or {})})


def _too_large() -> web.Response:
    return _json({"message": "The request body is too large."}, 413)


def _throttled(limit: int, wait: float) -> web.Response:
    return _json({"message": TOO_MANY}, 429, {
        hdrs.RETRY_AFTER: str(max(1, math.ceil(wait))),
        "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"})


# ---------------------------------------------------------------- the request, however it is sent


async def _fields(request: web.Request, names: tuple[str, ...], required: tuple[str, ...]
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """The request's fields as text (trimmed, empty ones dropped, as Laravel reads them) and the
    problems with them ({field: sentence}), in Lemon Squeezy's validation words."""
    raw: dict[str, Any] = dict(request.query)
    raw.update(await _body(request))
    fields: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in names:
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float | type(None)):
            problems[name] = f"The {name.replace('_', ' ')} field must be a string."
        elif value is not None and (text := str(value).strip()):
            fields[name] = text
    for name in required:
        if name not in fields and name not in problems:
            problems[name] = f"The {name.replace('_', ' ')} field is required."
    return fields, {name: problems[name] for name in names if name in problems}


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    kind = request.content_type
    if kind == "multipart/form-data":
        try:
            form = await request.post()
        except (ValueError, HttpProcessingError):  # cut short, or not multipart at all
            return {}
        return {name: value for name, value in form.items() if isinstance(value, str)}
    body = await request.read()
    charset = _charset(request.charset)
    text = body.decode(charset, "replace").strip()
    if kind != "application/x-www-form-urlencoded" and (
            kind.endswith(("/json", "+json")) or text.startswith("{")):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}
    # The documented form encoding, and text/plain and the like read as one.
    return dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace"))


def _charset(named: str | None) -> str:
    """The body's charset when Python knows it; UTF-8, as nearly everyone sends, otherwise."""
    try:
        return codecs.lookup(named).name if named else "utf-8"
    except LookupError:
        return "utf-8"


def _invalid(problems: dict[str, str]) -> web.Response:
    """Laravel's validation answer, which is what Lemon Squeezy sends for a missing field."""
    first = next(iter(problems.values()))
    more = len(problems) - 1
    message = first if not more else f"{first} (and {more} more error{'s' if more > 1 else ''})"
    return _json({"message": message, "errors": {name: [text] for name, text in problems.items()}}, 422)
