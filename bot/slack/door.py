"""The Slack front door: one slash command, buttons, the App Home, and install/uninstall events.

Every request is acknowledged at once (Slack allows three seconds); the command runs afterwards in
a background task and answers through the request's response_url, or in a direct message where
there is none (the Home tab). Redeliveries are recognised by the request's own id (trigger_id for
commands and clicks, event_id for events), claimed in the database when the work starts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import bootstrap
from bot.slack.blocks import (
    ACTION_PATTERN,
    CANCEL,
    CONFIRM,
    FORM_CALLBACK,
    INPUT,
    LINK,
    METADATA_LIMIT,
    RUN,
    BlockKit,
    action_kind,
)
from bot.slack.identity import BotIdentity, StoredBotAuthorize
from bot.slack.pacing import AckFirst
from bot.slack.stores import PLATFORM, DeliveryLog, SqlInstallationStore, SqlOAuthStateStore
from config.settings import Settings, SettingsError
from core.identity import chat_links
from core.kernel.events import RenewalPaymentFailed
from core.kernel.portal import Portal
from handlers import notices
from handlers.callers import caller_for
from handlers.commands import overview
from handlers.context import Caller
from handlers.dispatcher import Dispatcher
from handlers.parser import Invocation, mentioned_users, replace_mentions
from handlers.reply import Choice, Form, Reply, answer_line

log = logging.getLogger("shopkeep.slack")

# What the app asks for when a workspace installs it.
BOT_SCOPES = ("commands", "chat:write", "im:write", "users:read", "users:read.email", "files:write")
WORKING = "Working on it…"
FAILED = "Something went wrong on our side and nothing was changed. Please try again in a moment."
SHUTDOWN_GRACE = 10.0  # seconds answers already acknowledged get to finish on shutdown
# A modal's submit is answered with its field errors, so it is saved before the acknowledgement,
# for at most this long (Slack waits three seconds); past it the modal closes and the answer,
# errors too, follows as a message.
SUBMIT_BUDGET = 2.0
ERROR_LIMIT = 300


@dataclass
class Origin:
    """Who asked, in which workspace, and where the answer goes."""

    team_id: str
    user_id: str
    client: AsyncWebClient  # carries the workspace's bot token
    user_name: str | None = None
    response_url: str | None = None
    delivery_id: str | None = None  # Slack's id for this request, to spot redeliveries
    replace_original: bool = False
    trigger_id: str | None = None  # opens a modal, for three seconds

    @property
    def account_id(self) -> str:
        # A Slack user id is only unique within its workspace.
        return f"{self.team_id}:{self.user_id}"


@dataclass
class SlackDoor:
    portal: Portal
    dispatcher: Dispatcher
    app: AsyncApp
    render: BlockKit
    deliveries: DeliveryLog
    installations: SqlInstallationStore | None = None
    identity: BotIdentity | None = None  # one workspace: its bot, known before requests come
    pacing: AckFirst = field(default_factory=AckFirst)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: aiohttp.ClientSession | None = None
    _socket: Any = None  # AsyncSocketModeHandler, when Socket Mode is on

    # ------------------------------------------------------------------ building

    @classmethod
    def create(cls, portal: Portal, *, dispatcher: Dispatcher | None = None) -> SlackDoor:
        """The door for the configured mode; SettingsError names what is missing."""
        settings = portal.settings
        dispatcher = dispatcher or bootstrap.dispatcher(portal)
        # The token reaches each request through `authorize`, not the shared client.
        client = AsyncWebClient(base_url=settings.slack_api_url)
        installations = SqlInstallationStore(portal) if _multi(settings) else None
        identity = BotIdentity(settings.slack_bot_token, client) if (
            installations is None and settings.slack_bot_token) else None
        app = AsyncApp(
            name="shopkeep",
            logger=log,
            signing_secret=settings.slack_signing_secret or "",
            client=client,
            # Our listeners only acknowledge and hand the work to a task, so answering after
            # them is immediate and skips bolt's polling for the ack.
            process_before_response=True,
            **_authorization(portal, settings, client, installations, identity),
        )
        door = cls(portal=portal, dispatcher=dispatcher, app=app, installations=installations,
                   identity=identity,
                   deliveries=DeliveryLog(portal),
                   render=BlockKit(slash=settings.slack_command, is_command=_offered(dispatcher)))
        door._listen()
        return door

    @property
    def oauth_flow(self) -> AsyncOAuthFlow | None:
        return self.app.oauth_flow

    @property
    def socket_mode(self) -> bool:
        return bool(self.portal.settings.slack_app_token)

    def socket_mode_handler(self) -> Any:
        """A Socket Mode connection for this app (not yet connected); it opens its own session."""
        # Imported here: only Socket Mode deployments need the websocket client.
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        return AsyncSocketModeHandler(self.app, self.portal.settings.slack_app_token)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Share one HTTP connection pool for Slack calls; connect when in Socket Mode."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
            self.app.client.session = self._http
        if self.identity is not None and self.identity.known is None:
            await self.identity.fetch()
        if self.socket_mode and self._socket is None:
            self._socket = self.socket_mode_handler()
            await self._socket.connect_async()
            log.info("Slack: connected in Socket Mode")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        try:
            await asyncio.wait_for(self.idle(), SHUTDOWN_GRACE)
        except TimeoutError:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def idle(self) -> None:
        """Wait until every acknowledged request has been answered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` once the requests arriving with this one are acknowledged."""
        self.pacing.arrived()

        async def after_acks() -> None:
            await self.pacing.turn()
            await work

        task = asyncio.ensure_future(after_acks())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ listeners

    def _listen(self) -> None:
        app = self.app
        app.command(self.portal.settings.slack_command)(self._on_command)
        app.action(ACTION_PATTERN)(self._on_action)
        app.view_submission(FORM_CALLBACK)(self._on_form)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_tokens_revoked)

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
                          ) -> None:
        invocation = self._invocation(str(body.get("text", "")))
        slow = invocation.command is not None and invocation.command.slow
        # A slow command (a PDF) says so at once; its answer then takes that message's place.
        await ack(WORKING if slow else "")
        origin = self._origin(context, body, delivery_id=body.get("trigger_id"))
        origin.replace_original = slow
        self.spawn(self._run(origin, invocation))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                         context: AsyncBoltContext) -> None:
        await ack()
        kind = action_kind(str(action.get("action_id", "")))
        value = str(action.get("value", ""))
        if kind == LINK or not value:
            return  # the link opened in the browser; nothing to run
        line = {RUN: value, CONFIRM: answer_line(value, accept=True),
                CANCEL: answer_line(value, accept=False)}[kind or RUN]
        origin = self._origin(context, body, delivery_id=body.get("trigger_id") or action.get("action_ts"))
        # A settled confirmation replaces its buttons, so the message no longer invites a click.
        origin.replace_original = kind in (CONFIRM, CANCEL)
        self.spawn(self._run(origin, self._invocation(line)))

    async def _on_form(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                       context: AsyncBoltContext) -> None:
        """A form's modal sent back: saved before the acknowledgement, so what is wrong shows
        beside its field (response_action errors) and the modal stays open to fix it."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        values = {block_id: str((inputs.get(INPUT) or {}).get("value") or "")
                  for block_id, inputs in ((view.get("state") or {}).get("values") or {}).items()}
        origin = self._origin(context, body, delivery_id=None)
        # The answer goes where the form was asked for, if it is the same person sending it.
        opener = meta.get("account")
        origin.response_url = meta.get("response_url") if opener == origin.account_id else None
        work = asyncio.ensure_future(self._submit(origin, str(meta.get("token") or ""), values))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), SUBMIT_BUDGET)
        except TimeoutError:
            await ack()
            self.spawn(self._deliver_when_done(origin, work))
            return
        except Exception:
            log.exception("Slack: saving a form for %s failed", origin.account_id)
            await ack()
            self.spawn(self._deliver(origin, Reply.error(FAILED), quiet=True))
            return
        errors = reply.form.errors if reply.form is not None and not reply.ok else {}
        if errors:
            await ack(response_action="errors",
                      errors={name: message[:ERROR_LIMIT] for name, message in errors.items()})
            return
        await ack()
        self.spawn(self._deliver(origin, reply, quiet=True))

    async def _submit(self, origin: Origin, token: str, values: dict[str, str]) -> Reply:
        caller = await self._caller(origin)
        return await self.dispatcher.handle(caller, self.dispatcher.submission(token, values))

    async def _deliver_when_done(self, origin: Origin, work: asyncio.Future[Reply]) -> None:
        try:
            reply = await work
        except Exception:
            log.exception("Slack: saving a form for %s failed", origin.account_id)
            reply = Reply.error(FAILED)
        await self._deliver(origin, reply, quiet=True)

    async def _open_form(self, origin: Origin, form: Form) -> bool:
        """Open the form as a modal with the request's trigger (valid three seconds)."""
        if not origin.trigger_id:
            return False
        meta = json.dumps({"token": form.token, "account": origin.account_id,
                           "response_url": origin.response_url})
        if len(meta) > METADATA_LIMIT:
            meta = json.dumps({"token": form.token, "account": origin.account_id})
        try:
            await origin.client.views_open(trigger_id=origin.trigger_id, view=self.render.modal(form, meta))
        except SlackApiError as exc:
            log.info("Slack: views.open for %s: %s", origin.account_id, exc.response.get("error"))
            return False
        return True

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any],
                              context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        origin = self._origin(context, body, delivery_id=body.get("event_id"))
        self.spawn(self._publish_home(origin))

    async def _on_uninstalled(self, context: AsyncBoltContext) -> None:
        # Done before the ack: if it fails, Slack delivers the event again.
        if self.installations is not None:
            await self.installations.async_delete_all(enterprise_id=context.enterprise_id,
                                                      team_id=context.team_id)
        if context.team_id:
            await self._forget_workspace(context.team_id)
        log.info("Slack: uninstalled from %s", context.team_id)

    async def _on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if self.installations is None:
            return
        tokens = event.get("tokens", {})
        for user_id in tokens.get("oauth", []):
            await self.installations.async_delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id)
        if tokens.get("bot"):
            await self.installations.async_delete_bot(enterprise_id=context.enterprise_id,
                                                      team_id=context.team_id)
            log.info("Slack: bot token revoked for %s", context.team_id)

    # ------------------------------------------------------------------ the work after the ack

    async def _run(self, origin: Origin, invocation: Invocation) -> None:
        try:
            if not await self._first_delivery(origin):
                return
            caller = await self._caller(origin)
            reply = await self._answer(origin, caller, invocation)
            await self._deliver(origin, reply)
        except Exception:
            log.exception("Slack: answering %r for %s failed", invocation.shown[:80], origin.account_id)
            await self._deliver(origin, Reply.error(FAILED), quiet=True)

    async def _publish_home(self, origin: Origin) -> None:
        try:
            if not await self._first_delivery(origin):
                return
            caller = await self._caller(origin)
            reply = await self.dispatcher.view(caller, overview.build)
            if caller.customer_id is None:
                offer = await self._login_offer(origin)
                if offer is not None:
                    reply.choices[:0] = offer.choices
            await origin.client.views_publish(user_id=origin.user_id, view=self.render.home(reply))
        except Exception:
            log.exception("Slack: publishing the Home tab for %s failed", origin.account_id)

    async def _first_delivery(self, origin: Origin) -> bool:
        if origin.delivery_id is None:
            return True
        if await self.deliveries.first_time(origin.delivery_id):
            return True
        log.info("Slack: %s was redelivered; it already ran", origin.delivery_id)
        return False

    async def _caller(self, origin: Origin) -> Caller:
        return await caller_for(self.portal, platform=PLATFORM, account_id=origin.account_id,
                                display_name=origin.user_name)

    async def _answer(self, origin: Origin, caller: Caller, invocation: Invocation) -> Reply:
        command = invocation.command
        if command is not None and command.name == "login" and not invocation.text and not invocation.card:
            offer = await self._login_offer(origin)
            if offer is not None:
                return offer
        mentioned = mentioned_users(invocation.text)
        if mentioned:
            emails = await self._emails(origin, mentioned)
            if len(emails) < len(set(mentioned)):
                return Reply.error(
                    "I can't see the email address of everyone you mentioned (the workspace "
                    "doesn't share it with this app). Type their email address instead.")
            invocation = invocation.with_text(replace_mentions(invocation.text, emails))
        return await self.dispatcher.handle(caller, invocation)

    async def _login_offer(self, origin: Origin) -> Reply | None:
        """`login` without an address: offer the one on the Slack profile. It still needs the code."""
        email = await self._profile_email(origin.client, origin.user_id)
        if email is None:
            return None
        return Reply(
            title="Sign in",
            paragraphs=[f"Your Slack profile says your email address is {email}. We can email a "
                        "sign-in code there; you then send `verify <code>`.",
                        "Bought with another address? Send `login you@example.com` instead."],
            choices=[Choice(f"Email a code to {email}", f"login {email}")],
        )

    async def _emails(self, origin: Origin, user_ids: list[str]) -> dict[str, str]:
        emails: dict[str, str] = {}
        for user_id in dict.fromkeys(user_ids):
            email = await self._profile_email(origin.client, user_id)
            if email is not None:
                emails[user_id] = email
        return emails

    async def _profile_email(self, client: AsyncWebClient, user_id: str) -> str | None:
        """The member's email as the workspace shares it (needs users:read.email), else None."""
        try:
            found = await client.users_info(user=user_id)
        except SlackApiError as exc:
            log.info("Slack: users.info for %s: %s", user_id, exc.response.get("error"))
            return None
        user = found.get("user") or {}
        email = (user.get("profile") or {}).get("email")
        if not email or user.get("deleted") or user.get("is_bot"):
            return None
        return str(email)

    async def _deliver(self, origin: Origin, reply: Reply, *, quiet: bool = False) -> None:
        """Files to the user's DM first, then the answer where the request came from. A form
        opens as a modal; where it cannot, it comes as a message with a button that opens it."""
        try:
            if reply.ok and reply.form is not None and await self._open_form(origin, reply.form):
                return
            if reply.attachments:
                await self._send_files(origin, reply)
            message = self.render.message(reply, replace_original=origin.replace_original)
            if origin.response_url and await self._respond(origin.response_url, message):
                return
            await origin.client.chat_postMessage(channel=origin.user_id, text=message["text"],
                                                 blocks=message["blocks"])
        except Exception:
            if not quiet:
                raise
            log.exception("Slack: could not tell %s about a failure", origin.account_id)

    async def _respond(self, response_url: str, message: dict[str, Any]) -> bool:
        response = await AsyncWebhookClient(response_url, session=self._http).send_dict(message)
        if response.status_code == 200:
            return True
        # A response_url lasts 30 minutes and 5 uses; past that the answer goes to the DM.
        log.info("Slack: response_url answered %s %s", response.status_code, response.body[:100])
        return False

    async def _send_files(self, origin: Origin, reply: Reply) -> None:
        names = ", ".join(a.filename for a in reply.attachments)
        try:
            opened = await origin.client.conversations_open(users=origin.user_id)
            await origin.client.files_upload_v2(
                channel=opened["channel"]["id"],
                file_uploads=[{"content": a.data, "filename": a.filename, "title": a.filename}
                              for a in reply.attachments],
                initial_comment=reply.title or "Here is what you asked for.",
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            log.warning("Slack: uploading %s for %s failed: %s", names, origin.account_id, error)
            reply.paragraphs.append(f"I couldn't send {names} to you here (Slack said "
                                    f"\"{error}\"). Please ask again later, or by email.")
            reply.attachments = []
            return
        reply.paragraphs.append(f"I sent {names} to you as a direct message.")

    # ------------------------------------------------------------------ direct messages

    async def tell_renewal_failed(self, event: RenewalPaymentFailed) -> None:
        """DM each Slack account linked to the customer, once however often the event comes."""
        notice = await notices.renewal_failed(self.portal, event, platform=PLATFORM)
        for account in notice.accounts:
            team_id, _, user_id = account.partition(":")
            client = await self._bot_client(team_id)
            if client is None:
                log.info("Slack: no bot token for %s; %s is told by email only", team_id, account)
                continue
            await notices.send_once(
                self.portal, PLATFORM, f"{notice.key}:{account}",
                lambda client=client, user_id=user_id: self._direct_message(client, user_id, notice.reply))

    async def _bot_client(self, team_id: str) -> AsyncWebClient | None:
        """A Web API client with the workspace's bot token, outside any request."""
        if self.installations is not None:
            bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
            token = bot.bot_token if bot is not None else None
        else:
            token = self.identity.token if self.identity is not None else None
        if not token:
            return None
        return AsyncWebClient(token=token, base_url=self.portal.settings.slack_api_url,
                              session=self._http)

    async def _direct_message(self, client: AsyncWebClient, user_id: str, reply: Reply) -> None:
        opened = await client.conversations_open(users=user_id)
        message = self.render.message(reply)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=message["text"],
                                      blocks=message["blocks"])

    async def _forget_workspace(self, team_id: str) -> None:
        """Unlink every account of a workspace that removed the app; a reinstall signs in anew."""
        async with self.portal.db.unit_of_work() as session:
            await chat_links.unlink_chat_accounts_under(
                session, platform=PLATFORM, prefix=f"{team_id}:", actor=f"slack:{team_id}",
                reason="the workspace removed the app")

    # ------------------------------------------------------------------ helpers

    def _invocation(self, line: str) -> Invocation:
        """The request's one parse: the door and the dispatcher both read the result."""
        return self.dispatcher.invocation(line, PLATFORM)

    def _origin(self, context: AsyncBoltContext, body: dict[str, Any], *, delivery_id: Any
                ) -> Origin:
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        return Origin(
            team_id=context.team_id or context.enterprise_id or "",
            user_id=context.user_id or "",
            client=context.client,
            user_name=body.get("user_name") or user.get("username") or user.get("name"),
            response_url=context.response_url,
            delivery_id=str(delivery_id) if delivery_id else None,
            trigger_id=str(body["trigger_id"]) if body.get("trigger_id") else None,
        )


def _multi(settings: Settings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


def _offered(dispatcher: Dispatcher) -> Callable[[str], bool]:
    def is_command(word: str) -> bool:
        command = dispatcher.registry.get(word)
        return command is not None and command.offered_on(PLATFORM)

    return is_command


def _authorization(portal: Portal, settings: Settings, client: AsyncWebClient,
                   installations: SqlInstallationStore | None,
                   identity: BotIdentity | None) -> dict[str, Any]:
    """AsyncApp arguments: a bot token for one workspace, or OAuth installs for many."""
    if installations is None:
        if identity is None:
            raise SettingsError(
                "SHOPKEEP_SLACK_BOT_TOKEN: set it (one workspace) or SHOPKEEP_SLACK_CLIENT_ID and "
                "SHOPKEEP_SLACK_CLIENT_SECRET (installable in many workspaces)")
        return {"authorize": identity.authorizer()}
    assert settings.slack_client_id and settings.slack_client_secret
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        redirect_uri=portal.url("/slack/oauth_redirect"),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=SqlOAuthStateStore(portal),
        logger=log,
    )
    return {
        "oauth_settings": oauth,
        "installation_store_bot_only": True,
        # From the stored bot: nothing on the way to the acknowledgement waits for Slack.
        "authorize": StoredBotAuthorize(
            installation_store=installations, client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret, logger=log, bot_only=True,
            cache_enabled=True, client=client),
        "user_facing_authorize_error_message": (
            f"{settings.store_name} is no longer installed in this workspace. A workspace admin "
            f"can add it again at {portal.url('/slack/install')}"),
    }
