"""Every way existing clients send their request, the answers to a bad one, CORS and the rate
limits, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from core import demo
from core.kernel.portal import Portal
from tests.conftest import Clock
from tests.doors.license_api.conftest import LicenseServer, serve


@pytest.fixture
async def key(server: LicenseServer) -> str:
    return await server.key(demo.DEMO_CUSTOMER, "pixel-studio")


def _form(fields: dict[str, str]) -> dict[str, Any]:
    return {"data": fields}  # aiohttp sends a dict as application/x-www-form-urlencoded


def _multipart(fields: dict[str, str]) -> dict[str, Any]:
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    form._is_multipart = True  # FormData() in a browser or Node sends multipart/form-data
    return {"data": form}


def _json(fields: dict[str, str]) -> dict[str, Any]:
    return {"json": fields}  # fetch/axios/ofetch with a JSON body, Content-Type application/json


def _sdk(fields: dict[str, str]) -> dict[str, Any]:
    # @lemonsqueezy/lemonsqueezy.js 4.x: JSON.stringify of the snake_case fields, both headers
    # set to the JSON:API type (src/internal/fetch: Accept and Content-Type application/vnd.api+json).
    return {"data": json.dumps(fields), "headers": {"Accept": "application/vnd.api+json",
                                                    "Content-Type": "application/vnd.api+json"}}


def _json_as_text(fields: dict[str, str]) -> dict[str, Any]:
    # fetch(url, {method: "POST", body: JSON.stringify(...)}) without headers: text/plain.
    return {"data": json.dumps(fields), "headers": {"Content-Type": "text/plain;charset=UTF-8"}}


def _query_string(fields: dict[str, str]) -> dict[str, Any]:
    return {"params": fields}  # curl -X POST "...?license_key=..." (Laravel reads the query too)


def _form_with_charset(fields: dict[str, str]) -> dict[str, Any]:
    from urllib.parse import urlencode

    return {"data": urlencode(fields),
            "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}}


BODIES = [_form, _form_with_charset, _multipart, _json, _sdk, _json_as_text, _query_string]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: b.__name__.strip("_"))
async def test_every_body_clients_send_is_read(server: LicenseServer, key: str, body: Any) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/v1/licenses/activate",
                             **body({"license_key": key, "instance_name": "Ana's Mac"})) as response:
            activated = await response.json()
            assert (response.status, activated["activated"]) == (200, True)
        assert activated["instance"]["name"] == "Ana's Mac"
        instance_id = activated["instance"]["id"]
        async with http.post(f"{server.url}/v1/licenses/validate",
                             **body({"license_key": key, "instance_id": instance_id})) as response:
            assert response.status == 200
            assert (await response.json())["instance"]["id"] == instance_id
        async with http.post(f"{server.url}/v1/licenses/deactivate",
                             **body({"license_key": key, "instance_id": instance_id})) as response:
            assert (response.status, (await response.json())["deactivated"]) == (200, True)


@pytest.mark.parametrize("accept", [None, "application/json", "application/vnd.api+json", "*/*",
                                    "text/html,application/xhtml+xml", "text/plain"])
async def test_the_answer_is_json_whatever_the_accept_header(server: LicenseServer, key: str,
                                                             accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession(skip_auto_headers=["Accept"]) as http:
        for fields, status in (({"license_key": key}, 200), ({"license_key": "nope"}, 404), ({}, 422)):
            async with http.post(f"{server.url}/v1/licenses/validate", data=fields,
                                 headers=headers) as response:
                assert (response.status, response.content_type) == (status, "application/json")
                await response.json()


@pytest.mark.parametrize("charset", ["ISO-8859-1", "klingon"])
async def test_a_form_in_another_or_an_unknown_charset_is_read(server: LicenseServer, key: str,
                                                              charset: str) -> None:
    body = f"license_key={key}&instance_name=Jos%E9's%20PC".encode()
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/activate", data=body,
            headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}) as response:
        assert response.status == 200
        name = (await response.json())["instance"]["name"]
    assert name == ("José's PC" if charset == "ISO-8859-1" else "Jos\ufffd's PC")


async def test_spaces_around_a_pasted_key_do_not_matter(server: LicenseServer, key: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/validate", data={"license_key": f"  {key}\n"}) as response:
        assert (response.status, (await response.json())["valid"]) == (200, True)


# ---------------------------------------------------------------- bad requests


@pytest.mark.parametrize(("endpoint", "fields", "message", "errors"), [
    ("activate", {}, "The license key field is required. (and 1 more error)",
     {"license_key": ["The license key field is required."],
      "instance_name": ["The instance name field is required."]}),
    ("activate", {"license_key": "K"}, "The instance name field is required.",
     {"instance_name": ["The instance name field is required."]}),
    ("activate", {"license_key": "K", "instance_name": "   "}, "The instance name field is required.",
     {"instance_name": ["The instance name field is required."]}),
    ("validate", {"instance_id": "i"}, "The license key field is required.",
     {"license_key": ["The license key field is required."]}),
    ("validate", {"license_key": ""}, "The license key field is required.",
     {"license_key": ["The license key field is required."]}),
    ("deactivate", {"license_key": "K"}, "The instance id field is required.",
     {"instance_id": ["The instance id field is required."]}),
])
async def test_a_missing_field_gets_laravels_validation_answer(
        server: LicenseServer, endpoint: str, fields: dict[str, str], message: str,
        errors: dict[str, list[str]]) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/{endpoint}", data=fields) as response:
        assert response.status == 422
        assert await response.json() == {"message": message, "errors": errors}


@pytest.mark.parametrize("value", [["K"], {"k": "K"}, True])
async def test_a_field_that_is_not_text_is_named(server: LicenseServer, value: Any) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/validate", json={"license_key": value}) as response:
        assert response.status == 422
        assert (await response.json())["errors"] == {
            "license_key": ["The license key field must be a string."]}


JSON = "application/json"
MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.mark.parametrize(("kind", "raw"), [
    (JSON, b"{not json"), (JSON, b"[1, 2]"), (JSON, b"\xff\xfe\x00"), (JSON, b'"text"'),
    (JSON, b"[" * 20_000 + b"]" * 20_000), ("multipart/form-data", b"no boundary"),
    (MULTIPART, b"--xyz\r\ncut short"), (MULTIPART, b"--xyz--\r\n"),
], ids=["broken", "list", "bytes", "string", "deep", "no-boundary", "cut-short", "empty"])
async def test_a_body_that_cannot_be_read_is_a_request_without_fields(server: LicenseServer,
                                                                      kind: str, raw: bytes) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/validate", data=raw, headers={"Content-Type": kind}) as response:
        assert response.status == 422
        assert (await response.json())["errors"] == {
            "license_key": ["The license key field is required."]}


async def test_an_oversized_body_is_refused_unread(server: LicenseServer) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/validate", data={"license_key": "K" * 100_000}) as response:
        assert (response.status, await response.json()) == (
            413, {"message": "The request body is too large."})


async def test_a_huge_body_sent_in_chunks_is_refused_too(server: LicenseServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"license_key="
        for _ in range(64):
            yield b"K" * 65536  # 4 MiB in all, past the server's 2 MiB bound

    async with aiohttp.ClientSession() as http, http.post(
            f"{server.url}/v1/licenses/validate", data=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert (response.status, await response.json()) == (
            413, {"message": "The request body is too large."})


# ---------------------------------------------------------------- browsers


async def test_browsers_may_call_it_from_any_origin(server: LicenseServer, key: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{server.url}/v1/licenses/activate", headers={
                "Origin": "chrome-extension://abcdef", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type"}) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "POST" in response.headers["Access-Control-Allow-Methods"]
            assert response.headers["Access-Control-Allow-Headers"] == "content-type"
        async with http.post(f"{server.url}/v1/licenses/validate", json={"license_key": key},
                             headers={"Origin": "https://app.example.com"}) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"


# ---------------------------------------------------------------- rate limits


@pytest.fixture
async def limited(demo_portal: Portal) -> AsyncIterator[LicenseServer]:
    demo_portal.settings.license_api_requests_per_minute = 3
    async for server in serve(demo_portal):
        yield server


async def _from(address: str, server: LicenseServer, key: str) -> aiohttp.ClientResponse:
    """One validation from a client at `address` (another loopback address is another client)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http, http.post(
            f"{server.url}/v1/licenses/validate", data={"license_key": key}) as response:
        await response.read()
        return response


async def test_a_client_address_and_a_key_each_get_their_limit(limited: LicenseServer,
                                                               clock: Clock) -> None:
    key = await limited.key(demo.DEMO_CUSTOMER, "pixel-studio")
    other = await limited.key(demo.SECOND_CUSTOMER, demo.TEAM_PRODUCT)
    assert [(await _from("127.0.0.2", limited, key)).status for _ in range(3)] == [200, 200, 200]
    refused = await _from("127.0.0.2", limited, key)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "20", "3 a minute: the next one in 20 seconds"
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert (await _from("127.0.0.3", limited, key)).status == 429, "the key's own limit, elsewhere"
    assert (await _from("127.0.0.3", limited, other)).status == 200, "another key from there is fine"
    assert (await _from("127.0.0.2", limited, other)).status == 429, "the first address is spent"
    clock.advance(seconds=20)
    assert (await _from("127.0.0.2", limited, key)).status == 200, "after Retry-After, it passes"


async def test_a_throttled_answer_is_laravels(limited: LicenseServer) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            async with http.post(f"{limited.url}/v1/licenses/validate", data={"license_key": "x"}):
                pass
        async with http.post(f"{limited.url}/v1/licenses/activate", json={}) as response:
            assert response.status == 429
            # No `error` field: clients tell a throttled call from a refused key by its absence.
            assert await response.json() == {"message": "Too Many Attempts."}
            assert int(response.headers["Retry-After"]) >= 1
