"""The fake Slack API and the signed request builders work with the real slack-bolt and slack_sdk."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    app_home_opened_event,
    app_uninstalled_event,
    block_action_body,
    event_body,
    sign,
    signed_headers,
    slash_command_body,
    url_verification_body,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-t0shop"
INVOICE_PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_workspace(
            DEFAULT_TEAM_ID, BOT_TOKEN, users={DEFAULT_USER_ID: {"email": "alice@example.com"}}
        )
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@asynccontextmanager
async def serve(app: AsyncApp) -> AsyncIterator[str]:
    """Serve ``app`` over real HTTP on a free loopback port, the way bot/web will mount it."""

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    flow = app.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(flow.redirect_uri_path, redirect)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def shop_app(fake: FakeSlack) -> AsyncApp:
    """A single-workspace bolt app with one listener of each kind shopkeep needs."""
    app = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url))

    @app.command("/shop")
    async def shop(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        if command["text"] == "invoice":
            await ack()
            dm = await client.conversations_open(users=command["user_id"])
            await client.files_upload_v2(
                channel=dm["channel"]["id"],
                content=INVOICE_PDF,
                filename="invoice-2024-001.pdf",
                title="Invoice 2024-001",
                initial_comment="Here is your invoice.",
            )
        else:
            await ack("Looking up your orders…")
            await respond(text="You have no orders yet.")

    @app.action("revoke_device")
    async def revoke(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await client.chat_postEphemeral(
            channel=body["channel"]["id"], user=body["user"]["id"], text=f"Device {action['value']} revoked."
        )

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Orders"}}],
            },
        )

    return app


@pytest.fixture
async def bolt_url(fake: FakeSlack) -> AsyncIterator[str]:
    async with serve(shop_app(fake)) as url:
        yield url


async def post_signed(
    http: ClientSession, url: str, body: bytes, *, secret: str = SECRET, timestamp: int | None = None
) -> tuple[int, str]:
    headers = signed_headers(body, secret, timestamp)
    async with http.post(f"{url}/slack/events", data=body, headers=headers) as resp:
        return resp.status, await resp.text()


# ---------------------------------------------------------------- single workspace, over HTTP


async def test_slash_command_acks_at_once_then_answers_on_response_url(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    body = slash_command_body("/shop", "orders", response_url=fake.response_url("orders"))

    status, text = await post_signed(http, bolt_url, body)

    assert (status, text) == (200, "Looking up your orders…")
    answers = await fake.wait_for_responses("orders")
    assert answers[0]["text"] == "You have no orders yet."


async def test_bot_identity_is_checked_once_not_per_request(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    for name in ("first", "second"):
        await post_signed(http, bolt_url, slash_command_body(response_url=fake.response_url(name)))
        await fake.wait_for_responses(name)

    assert len(fake.calls("auth.test")) == 1


async def test_invoice_is_uploaded_to_the_customers_dm_in_three_steps(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    status, text = await post_signed(http, bolt_url, slash_command_body("/shop", "invoice"))
    assert (status, text) == (200, "")

    await fake.wait_for_calls("files.completeUploadExternal")
    assert fake.methods_called() == [
        "auth.test",
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [asked] = fake.calls("files.getUploadURLExternal")
    assert asked["filename"] == "invoice-2024-001.pdf"
    assert int(asked["length"]) == len(INVOICE_PDF)
    [upload] = fake.uploads.values()
    assert upload.data == INVOICE_PDF
    [completed] = fake.calls("files.completeUploadExternal")
    assert completed["channel_id"] == fake.dm_channel(DEFAULT_TEAM_ID, DEFAULT_USER_ID)
    assert completed["files"] == [{"id": upload.file_id, "title": "Invoice 2024-001"}]
    assert completed["initial_comment"] == "Here is your invoice."


async def test_button_click_reaches_its_action_listener(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    body = block_action_body("revoke_device", "3", response_url=fake.response_url("click"))

    status, _ = await post_signed(http, bolt_url, body)

    assert status == 200
    [posted] = await fake.wait_for_calls("chat.postEphemeral")
    assert posted["user"] == DEFAULT_USER_ID
    assert posted["text"] == "Device 3 revoked."


async def test_opening_app_home_publishes_the_home_view(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    status, _ = await post_signed(http, bolt_url, event_body(app_home_opened_event(DEFAULT_USER_ID)))

    assert status == 200
    [published] = await fake.wait_for_calls("views.publish")
    assert published["user_id"] == DEFAULT_USER_ID
    assert published["view"]["type"] == "home"


async def test_url_verification_echoes_the_challenge(bolt_url: str, http: ClientSession) -> None:
    status, text = await post_signed(
        http, bolt_url, url_verification_body("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    )

    assert status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_request_signed_with_another_secret_is_refused(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    status, _ = await post_signed(http, bolt_url, slash_command_body(), secret="not-the-secret")

    assert status == 401
    assert fake.recorded == []


async def test_request_older_than_five_minutes_is_refused(
    fake: FakeSlack, bolt_url: str, http: ClientSession
) -> None:
    status, _ = await post_signed(http, bolt_url, slash_command_body(), timestamp=int(time.time()) - 6 * 60)

    assert status == 401
    assert fake.recorded == []


def test_signature_matches_slacks_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" guide.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )

    headers = sign(body, SECRET, timestamp=1531420618)

    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


# ---------------------------------------------------------------- the fake itself, via slack_sdk


async def test_email_is_shown_only_to_workspaces_granted_the_email_scope(fake: FakeSlack) -> None:
    fake.add_workspace(
        "T0OTHER", "xoxb-other", users={"U0BOB": {"email": "bob@example.com"}}, scopes=["users:read"]
    )
    with_scope = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    without_scope = AsyncWebClient(token="xoxb-other", base_url=fake.api_url)

    alice = await with_scope.users_info(user=DEFAULT_USER_ID)
    bob = await without_scope.users_info(user="U0BOB")

    assert alice["user"]["profile"]["email"] == "alice@example.com"
    assert "email" not in bob["user"]["profile"]
    with pytest.raises(SlackApiError) as raised:
        await without_scope.users_info(user=DEFAULT_USER_ID)
    assert raised.value.response["error"] == "user_not_found"


async def test_unknown_token_and_unknown_method_fail_like_slack(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as bad_token:
        await AsyncWebClient(token="xoxb-nope", base_url=fake.api_url).auth_test()
    with pytest.raises(SlackApiError) as bad_method:
        await AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url).api_call(
            "pins.add", json={"channel": "C1"}
        )

    assert bad_token.value.response["error"] == "invalid_auth"
    assert bad_method.value.response["error"] == "unknown_method"
    assert fake.calls("pins.add") == [{"channel": "C1"}]


async def test_injected_failure_hits_only_the_next_call(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    fake.fail("chat.postMessage", "channel_not_found")

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=DEFAULT_USER_ID, text="hi")
    posted = await client.chat_postMessage(channel=DEFAULT_USER_ID, text="hi")

    assert raised.value.response["error"] == "channel_not_found"
    assert posted["channel"] == fake.dm_channel(DEFAULT_TEAM_ID, DEFAULT_USER_ID)


async def test_response_url_takes_at_most_five_posts(fake: FakeSlack, http: ClientSession) -> None:
    statuses = []
    for n in range(6):
        async with http.post(fake.response_url("r"), json={"text": str(n)}) as resp:
            statuses.append(resp.status)

    assert statuses == [200] * 5 + [404]
    assert [r["text"] for r in fake.responses_to("r")] == ["0", "1", "2", "3", "4"]


# ---------------------------------------------------------------- several workspaces, via OAuth


async def install(http: ClientSession, url: str, code: str) -> tuple[int, str]:
    """Walk the browser side of "Add to Slack": the install page, then Slack's redirect back."""
    async with http.get(f"{url}/slack/install") as page:
        assert page.status == 200
        state = page.cookies["slack-app-oauth-state"].value
        assert f"state={state}" in await page.text()
    # The cookie is Secure, so a client on plain http would not send it back by itself.
    cookie = {"Cookie": f"slack-app-oauth-state={state}"}
    async with http.get(
        f"{url}/slack/oauth_redirect", params={"code": code, "state": state}, headers=cookie
    ) as done:
        return done.status, await done.text()


async def test_oauth_installs_two_workspaces_that_each_use_their_own_token(
    tmp_path: Path, http: ClientSession
) -> None:
    async with FakeSlack(client_id="111.222", client_secret="oauth-secret") as fake:
        fake.add_oauth_code("code-a", "T0AAA", bot_token="xoxb-aaa", users={"U0ANN": {}})
        fake.add_oauth_code("code-b", "T0BBB", bot_token="xoxb-bbb", users={"U0BEN": {}})
        store = FileInstallationStore(base_dir=str(tmp_path / "installations"))
        app = AsyncApp(
            signing_secret=SECRET,
            client=AsyncWebClient(base_url=fake.api_url),
            oauth_settings=AsyncOAuthSettings(
                client_id="111.222",
                client_secret="oauth-secret",
                scopes=["commands", "chat:write"],
                installation_store=store,
                state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
            ),
            # Listeners finish before the HTTP answer, so the checks below need no waiting.
            process_before_response=True,
        )
        app.enable_token_revocation_listeners()

        @app.command("/shop")
        async def shop(ack: AsyncAck, command: dict[str, Any], say: AsyncSay) -> None:
            await ack()
            await say(f"Hello {command['user_id']}")

        async with serve(app) as url:
            installed_a = await install(http, url, "code-a")
            installed_b = await install(http, url, "code-b")
            reused_code = await install(http, url, "code-a")
            for team, user in (("T0AAA", "U0ANN"), ("T0BBB", "U0BEN")):
                await post_signed(
                    http, url, slash_command_body(team_id=team, user_id=user, channel_id=f"D{user}")
                )
            await post_signed(http, url, event_body(app_uninstalled_event(), team_id="T0AAA"))
            after_uninstall = slash_command_body(
                team_id="T0AAA", user_id="U0ANN", response_url=fake.response_url("a")
            )
            await post_signed(http, url, after_uninstall)

        assert installed_a[0] == installed_b[0] == 200
        assert "team=T0AAA" in installed_a[1]
        assert reused_code[0] == 401
        [exchange, *_] = fake.calls("oauth.v2.access")
        assert exchange["code"] == "code-a"
        said = [
            (call.token, call.params["text"]) for call in fake.recorded if call.method == "chat.postMessage"
        ]
        assert said == [("xoxb-aaa", "Hello U0ANN"), ("xoxb-bbb", "Hello U0BEN")]
        assert await store.async_find_bot(enterprise_id=None, team_id="T0AAA") is None
        assert await store.async_find_bot(enterprise_id=None, team_id="T0BBB") is not None
        assert "reinstall" in fake.responses_to("a")[0]["text"]


async def test_install_without_the_state_cookie_is_refused(tmp_path: Path, http: ClientSession) -> None:
    async with FakeSlack() as fake:
        fake.add_oauth_code("code-a", "T0AAA")
        app = AsyncApp(
            signing_secret=SECRET,
            client=AsyncWebClient(base_url=fake.api_url),
            oauth_settings=AsyncOAuthSettings(
                client_id="111.222",
                client_secret="oauth-secret",
                scopes=["commands"],
                installation_store=FileInstallationStore(base_dir=str(tmp_path / "installations")),
                state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
            ),
        )
        async with serve(app) as url, http.get(f"{url}/slack/install") as page:
            state = page.cookies["slack-app-oauth-state"].value
            async with http.get(
                f"{url}/slack/oauth_redirect", params={"code": "code-a", "state": state}
            ) as done:
                status = done.status

    assert status == 400
    assert fake.calls("oauth.v2.access") == []
