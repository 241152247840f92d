"""Installing into many workspaces through OAuth, uninstalling, revoked tokens, and the modes the
door starts in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, web
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.slack import mount
from bot.slack.manifest import manifest
from bot.slack.stores import SqlInstallationStore, SqlOAuthStateStore
from config.settings import SettingsError
from core.kernel.portal import Portal
from core.models import ChatInstallation, ChatLink
from tests.conftest import Clock
from tests.doors.slack.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET,
    Slack,
    StartSlack,
    everything_said,
    latest_code,
    slack_portal,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import (
    app_home_opened_event,
    app_uninstalled_event,
    tokens_revoked_event,
)

REDIRECT = "http://portal.test/slack/oauth_redirect"
ANN = "U0ANN"  # the same user id in both workspaces: Slack ids are only unique per workspace


async def install(http: ClientSession, url: str, code: str, state: str | None = None
                  ) -> tuple[int, str]:
    """The browser side of "Add to Slack": the install page, then Slack's redirect back."""
    if state is None:
        async with http.get(f"{url}/slack/install") as page:
            assert page.status == 200
            state = page.cookies["slack-app-oauth-state"].value
            assert f"state={state}" in await page.text()
    # The cookie is Secure, so a client on plain http would not send it back by itself.
    async with http.get(f"{url}/slack/oauth_redirect", params={"code": code, "state": state},
                        headers={"Cookie": f"slack-app-oauth-state={state}"}) as done:
        return done.status, await done.text()


@pytest.fixture
async def many(start_slack: StartSlack, demo_portal: Portal, fake: FakeSlack) -> AsyncIterator[Slack]:
    """The demo store as an app any workspace can install; two workspaces have."""
    for team, token, address in (("T0AAA", "xoxb-aaa", "alice@example.com"),
                                 ("T0BBB", "xoxb-bbb", "bob@example.com")):
        fake.add_oauth_code(f"code-{team}", team, bot_token=token, redirect_uri=REDIRECT,
                            installer_user_id=ANN, users={ANN: {"email": address}})
    async with start_slack(demo_portal, slack_client_id=CLIENT_ID,
                           slack_client_secret=CLIENT_SECRET) as slack:
        for team in ("T0AAA", "T0BBB"):
            status, page = await install(slack.http, slack.url, f"code-{team}")
            assert status == 200, page
        yield slack


async def installation(portal: Portal, team: str) -> ChatInstallation | None:
    async with portal.db.unit_of_work() as session:
        return await session.scalar(select(ChatInstallation).where(ChatInstallation.team_id == team))


async def linked_accounts(portal: Portal) -> list[str]:
    async with portal.db.unit_of_work() as session:
        return sorted(await session.scalars(select(ChatLink.account_id)))


async def test_two_workspaces_install_and_each_answers_with_its_own_token(
    many: Slack, fake: FakeSlack
) -> None:
    for team in ("T0AAA", "T0BBB"):
        assert await many.event(app_home_opened_event(ANN), team=team) == 200
    await fake.wait_for_calls("views.publish", 2)

    stored = {team: await installation(many.portal, team) for team in ("T0AAA", "T0BBB")}
    assert {team: row.bot_token for team, row in stored.items() if row} == {
        "T0AAA": "xoxb-aaa", "T0BBB": "xoxb-bbb"}
    assert all(row and row.installer_user_id == ANN and "commands" in row.scopes
               for row in stored.values())
    publishes = sorted((call.team_id, call.token) for call in fake.recorded
                       if call.method == "views.publish")
    assert publishes == [("T0AAA", "xoxb-aaa"), ("T0BBB", "xoxb-bbb")]
    [exchange, _] = fake.calls("oauth.v2.access")
    assert exchange["redirect_uri"] == REDIRECT


async def test_the_same_user_id_in_two_workspaces_is_two_separate_people(many: Slack) -> None:
    await many.run("login alice@example.com", team="T0AAA", user=ANN)
    await many.run(f"verify {await latest_code(many.portal, 'alice@example.com')}",
                   team="T0AAA", user=ANN)

    in_a = await many.run("whoami", team="T0AAA", user=ANN)
    in_b = await many.run("whoami", team="T0BBB", user=ANN)

    assert "alice@example.com" in everything_said(in_a)
    assert "Not signed in" in everything_said(in_b)
    assert await linked_accounts(many.portal) == [f"T0AAA:{ANN}"]


async def test_an_install_state_works_once(many: Slack, fake: FakeSlack) -> None:
    fake.add_oauth_code("code-again", "T0CCC", redirect_uri=REDIRECT)
    async with many.http.get(f"{many.url}/slack/install") as page:
        state = page.cookies["slack-app-oauth-state"].value

    first = await install(many.http, many.url, "code-again", state)
    fake.add_oauth_code("code-replayed", "T0DDD", redirect_uri=REDIRECT)
    replayed = await install(many.http, many.url, "code-replayed", state)

    assert first[0] == 200
    assert replayed[0] != 200
    assert await installation(many.portal, "T0DDD") is None


async def test_uninstall_forgets_the_workspace_and_its_links_but_not_the_other(
    many: Slack, fake: FakeSlack
) -> None:
    await many.sign_in("alice@example.com", team="T0AAA", user=ANN)
    await many.sign_in("bob@example.com", team="T0BBB", user=ANN)

    assert await many.event(app_uninstalled_event(), team="T0AAA") == 200
    fake.revoke("xoxb-aaa")
    gone = await many.run("orders", team="T0AAA", user=ANN)
    still = await many.run("orders", team="T0BBB", user=ANN)

    row = await installation(many.portal, "T0AAA")
    assert row is not None and row.bot_token is None and row.revoked_at is not None
    assert await SqlInstallationStore(many.portal).installed_teams() == ["T0BBB"]
    assert await linked_accounts(many.portal) == [f"T0BBB:{ANN}"]
    assert "no longer installed" in everything_said(gone)
    assert "/slack/install" in everything_said(gone)
    assert "The Indie Maker's Handbook" in everything_said(still)


async def test_a_revoked_bot_token_stops_the_workspace_until_it_installs_again(
    many: Slack, fake: FakeSlack
) -> None:
    assert await many.event(tokens_revoked_event(bot_user_ids=["UBT0BBB"]), team="T0BBB") == 200
    stopped = await many.run("help", team="T0BBB", user=ANN)
    fake.add_oauth_code("code-back", "T0BBB", bot_token="xoxb-bbb-2", redirect_uri=REDIRECT)
    status, _ = await install(many.http, many.url, "code-back")
    back = await many.run("help", team="T0BBB", user=ANN)

    assert "no longer installed" in everything_said(stopped)
    assert status == 200
    assert "What you can do" in everything_said(back)
    row = await installation(many.portal, "T0BBB")
    assert row is not None and row.bot_token == "xoxb-bbb-2" and row.revoked_at is None


async def test_revoking_a_users_token_keeps_the_workspace(many: Slack) -> None:
    assert await many.event(tokens_revoked_event(user_ids=[ANN]), team="T0AAA") == 200

    answer = await many.run("help", team="T0AAA", user=ANN)

    assert "What you can do" in everything_said(answer)


async def test_the_store_keeps_one_record_per_workspace_through_rotation_and_revocation(
    portal: Portal
) -> None:
    store = SqlInstallationStore(portal)
    await store.async_save(Installation(
        app_id="A1", team_id="T1", team_name="One", bot_token="xoxb-1", bot_id="B1",
        bot_user_id="UB1", bot_scopes="commands,chat:write", user_id="U1", user_token="xoxp-1",
        user_scopes="identify"))
    await store.async_save_bot(Bot(app_id="A1", team_id="T1", team_name="One", bot_token="xoxb-2",
                                   bot_id="B1", bot_user_id="UB1", bot_scopes="commands",
                                   installed_at=1773576000.0))

    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    installer = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    stranger = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert bot is not None and (bot.bot_token, bot.bot_scopes) == ("xoxb-2", ["commands"])
    assert installer is not None and installer.user_token == "xoxp-1" and installer.bot_token == "xoxb-2"
    assert stranger is None

    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U1")
    kept = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert kept is not None and kept.user_token is None and kept.bot_token == "xoxb-2"

    await store.async_delete_bot(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await store.installed_teams() == []

    await store.async_save(Installation(app_id="A1", team_id="T1", bot_token="xoxb-3", bot_id="B1",
                                        bot_user_id="UB1", user_id="U1"))
    assert await store.installed_teams() == ["T1"]
    async with portal.db.unit_of_work() as session:
        assert len(list(await session.scalars(select(ChatInstallation.id)))) == 1


async def test_oauth_state_expires(portal: Portal, clock: Clock) -> None:
    store = SqlOAuthStateStore(portal, expiration_seconds=600)
    fresh, stale = await store.async_issue(), await store.async_issue()

    assert await store.async_consume(fresh)
    assert not await store.async_consume(fresh)
    clock.advance(minutes=11)
    assert not await store.async_consume(stale)
    assert not await store.async_consume("never-issued")


# ---------------------------------------------------------------- which door starts


def routes(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


def door_for(portal: Portal, **settings: Any) -> tuple[web.Application, Any]:
    app = web.Application()
    return app, mount(app, slack_portal(portal, **settings))


async def test_without_slack_settings_nothing_is_mounted(portal: Portal) -> None:
    app = web.Application()

    assert mount(app, portal) is None
    assert routes(app) == set()


async def test_single_workspace_mounts_only_the_events_endpoint(portal: Portal) -> None:
    app, door = door_for(portal, slack_bot_token="xoxb-one")

    assert door is not None and not door.socket_mode and door.oauth_flow is None
    assert routes(app) == {"/slack/events"}


async def test_many_workspaces_mount_the_install_pages_too(portal: Portal) -> None:
    app, _ = door_for(portal, slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET)

    assert routes(app) == {"/slack/events", "/slack/install", "/slack/oauth_redirect"}


async def test_socket_mode_takes_no_events_over_http(portal: Portal) -> None:
    app, door = door_for(portal, slack_bot_token="xoxb-one", slack_app_token="xapp-1-A0-1-abc",
                         slack_signing_secret=None, slack_api_url="http://127.0.0.1:9/api/")

    assert door is not None and door.socket_mode
    assert routes(app) == set()
    handler = door.socket_mode_handler()  # built, not connected: there is no Slack to reach
    assert handler.app is door.app and handler.app_token == "xapp-1-A0-1-abc"
    assert handler.client.web_client.base_url == "http://127.0.0.1:9/api/"
    await handler.close_async()


async def test_a_signing_secret_without_a_token_or_client_is_a_clear_error(portal: Portal) -> None:
    with pytest.raises(SettingsError, match="SHOPKEEP_SLACK_BOT_TOKEN"):
        door_for(portal, slack_signing_secret=SECRET)


def test_the_manifest_points_slack_at_this_server(portal: Portal) -> None:
    settings = slack_portal(portal, slack_bot_token="xoxb-one").settings

    app = manifest(settings)

    [command] = app["features"]["slash_commands"]
    assert command["command"] == "/shop" and command["should_escape"] is True
    assert command["url"] == app["settings"]["interactivity"]["request_url"] == \
        app["settings"]["event_subscriptions"]["request_url"] == "http://portal.test/slack/events"
    assert app["oauth_config"]["redirect_urls"] == ["http://portal.test/slack/oauth_redirect"]
    assert {"commands", "users:read.email", "files:write", "im:write"} <= set(
        app["oauth_config"]["scopes"]["bot"])
    assert "app_home_opened" in app["settings"]["event_subscriptions"]["bot_events"]
    assert app["features"]["app_home"]["home_tab_enabled"] is True


async def test_a_workspace_is_answered_while_slacks_auth_test_is_failing(
    many: Slack, fake: FakeSlack
) -> None:
    # A fresh process: nothing cached yet, and Slack's API answers auth.test with errors.
    before = len(fake.calls("auth.test"))
    fake.fail("auth.test", "internal_error", times=10)

    answers = [await many.run("help", team=team, user=ANN) for team in ("T0AAA", "T0BBB")]

    assert all("What you can do" in everything_said(answer) for answer in answers)
    assert len(fake.calls("auth.test")) == before, "authorized from the stored bot"
