"""A local stand-in for the Slack Web API, so the real slack_sdk and slack-bolt can run in tests.

Usage::

    async with FakeSlack() as fake:
        fake.add_workspace("T1", "xoxb-t1", users={"U1": {"email": "ann@example.com"}})
        client = AsyncWebClient(token="xoxb-t1", base_url=fake.api_url)
        ...
        assert fake.calls("chat.postMessage")[0]["text"] == "hi"

It answers the handful of methods shopkeep uses, the way slack_sdk 3.x sends them: JSON bodies
(chat.*, views.*), query strings on POST (auth.test, conversations.open, files.*), GET queries
(users.info, auth.revoke) and a form body with HTTP Basic client credentials (oauth.v2.access).
Anything else is answered ``unknown_method`` and still recorded, so a test sees what was tried.

Failures mirror Slack: HTTP 200 with ``{"ok": false, "error": ...}``; slack_sdk turns that into
``SlackApiError``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import mimetypes
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

DEFAULT_BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "files:write",
)
EMAIL_SCOPE = "users:read.email"

# Parameters Slack accepts either as JSON values or as JSON encoded into a form/query string;
# decoding them makes recorded calls look the same whichever way the client sent them.
_JSON_STRING_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks"})

# Slack lets a response_url be used at most five times.
RESPONSE_URL_USES = 5

_MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class SlackError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": <code>}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str
    email: str | None = None
    tz: str = "UTC"
    locale: str = "en-US"
    is_bot: bool = False
    deleted: bool = False


@dataclass
class Workspace:
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    scopes: tuple[str, ...]
    users: dict[str, FakeUser] = field(default_factory=dict)
    dm_channels: dict[str, str] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.team_name.lower().replace(" ", "-")


@dataclass
class OAuthGrant:
    """What the fake hands out when bolt exchanges ``code`` at oauth.v2.access."""

    code: str
    team_id: str
    team_name: str
    bot_token: str | None
    installer_user_id: str
    scopes: tuple[str, ...]
    users: dict[str, dict[str, Any]]
    user_token: str | None
    user_scopes: tuple[str, ...]
    redirect_uri: str | None


@dataclass(frozen=True)
class RecordedCall:
    method: str
    params: dict[str, Any]
    token: str | None
    team_id: str | None  # the workspace the token belongs to, if any
    error: str | None  # None when the call was answered ok


@dataclass
class UploadedFile:
    file_id: str
    team_id: str
    filename: str
    length: int  # as announced in files.getUploadURLExternal
    data: bytes | None = None  # set by the POST to the upload URL
    title: str | None = None  # set by files.completeUploadExternal
    channel_id: str | None = None
    initial_comment: str | None = None
    completed: bool = False


Handler = Callable[[dict[str, Any], Workspace], Awaitable[dict[str, Any]]]


class FakeSlack:
    """An aiohttp server on a free loopback port that behaves like slack.com for tests."""

    def __init__(
        self,
        *,
        app_id: str = "A0SHOPKEEP",
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.app_id = app_id
        # When set, oauth.v2.access checks the client credentials like Slack does.
        self.client_id = client_id
        self.client_secret = client_secret
        self.recorded: list[RecordedCall] = []
        self.uploads: dict[str, UploadedFile] = {}
        self.responses: list[dict[str, Any]] = []
        self._responses_by_name: dict[str, list[dict[str, Any]]] = {}
        self._workspaces: dict[str, Workspace] = {}
        self._by_token: dict[str, Workspace] = {}
        self._grants: dict[str, OAuthGrant] = {}
        self._failures: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._triggers_used: set[str] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeSlack:
        app = web.Application(client_max_size=_MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{name}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """Use as ``AsyncWebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose posts are collected under ``name``."""
        return f"{self.base_url}/response/{name}"

    # ------------------------------------------------------------------ test setup

    def add_workspace(
        self,
        team_id: str,
        bot_token: str,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        team_name: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        scopes: Sequence[str] = DEFAULT_BOT_SCOPES,
    ) -> Workspace:
        """Register a workspace whose bot token the fake accepts.

        ``users`` maps a user id to optional fields: email, name, real_name, tz, locale, is_bot,
        deleted. Without ``users:read.email`` in ``scopes``, users.info leaves out the email.
        """
        workspace = Workspace(
            team_id=team_id,
            team_name=team_name or f"Team {team_id}",
            bot_token=bot_token,
            bot_user_id=bot_user_id or f"UB{team_id}",
            bot_id=bot_id or f"B{team_id}",
            scopes=tuple(scopes),
        )
        old = self._workspaces.get(team_id)
        if old is not None:
            self._by_token.pop(old.bot_token, None)
        self._workspaces[team_id] = workspace
        self._by_token[bot_token] = workspace
        for user_id, fields in (users or {}).items():
            self.add_user(team_id, user_id, **fields)
        return workspace

    def add_user(self, team_id: str, user_id: str, **fields: Any) -> FakeUser:
        name = fields.pop("name", user_id.lower())
        user = FakeUser(id=user_id, name=name, real_name=fields.pop("real_name", name.title()), **fields)
        self._workspaces[team_id].users[user_id] = user
        return user

    def workspace(self, team_id: str) -> Workspace:
        return self._workspaces[team_id]

    def add_oauth_code(
        self,
        code: str,
        team_id: str,
        *,
        team_name: str | None = None,
        bot_token: str | None = None,
        installer_user_id: str = "UINSTALLER",
        scopes: Sequence[str] = DEFAULT_BOT_SCOPES,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        user_token: str | None = None,
        user_scopes: Sequence[str] = (),
        redirect_uri: str | None = None,
    ) -> None:
        """Make ``code`` exchangeable once at oauth.v2.access; the exchange installs the workspace.

        Without ``bot_token`` the workspace keeps its token if it exists, else gets ``xoxb-<team_id>``.
        """
        self._grants[code] = OAuthGrant(
            code=code,
            team_id=team_id,
            team_name=team_name or f"Team {team_id}",
            bot_token=bot_token,
            installer_user_id=installer_user_id,
            scopes=tuple(scopes),
            users={user_id: dict(fields) for user_id, fields in (users or {}).items()},
            user_token=user_token,
            user_scopes=tuple(user_scopes),
            redirect_uri=redirect_uri,
        )

    def revoke(self, token: str) -> None:
        """Make ``token`` invalid from now on, as after an uninstall."""
        self._by_token.pop(token, None)

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, []).extend([error] * times)

    def dm_channel(self, team_id: str, user_id: str) -> str:
        """The DM channel id conversations.open returns for this user (stable per user)."""
        workspace = self._workspaces[team_id]
        if user_id not in workspace.dm_channels:
            workspace.dm_channels[user_id] = f"D{next(self._ids):08d}"
        return workspace.dm_channels[user_id]

    # ------------------------------------------------------------------ what tests read

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method`` so far, in order (failed calls included)."""
        return [call.params for call in self.recorded if call.method == method]

    def methods_called(self) -> list[str]:
        return [call.method for call in self.recorded]

    def responses_to(self, name: str) -> list[dict[str, Any]]:
        return list(self._responses_by_name.get(name, []))

    async def wait_for_calls(self, method: str, count: int = 1, within: float = 5.0) -> list[dict[str, Any]]:
        """Wait until ``method`` was called ``count`` times; for work bolt does after acking."""
        await self._wait(lambda: len(self.calls(method)) >= count, within)
        return self.calls(method)

    async def wait_for_responses(
        self, name: str, count: int = 1, within: float = 5.0
    ) -> list[dict[str, Any]]:
        await self._wait(lambda: len(self._responses_by_name.get(name, [])) >= count, within)
        return self.responses_to(name)

    async def _wait(self, done: Callable[[], bool], within: float) -> None:
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(done), within)
        except TimeoutError:
            # Say what did happen: the usual cause is a listener that raised inside bolt.
            raise AssertionError(
                f"waited {within}s in vain; Slack API calls so far: {self.methods_called()}, "
                f"response_url posts: {len(self.responses)}"
            ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        token = _bearer_token(request) or params.pop("token", None)
        workspace = self._by_token.get(token) if token else None
        headers: dict[str, str] = {}
        try:
            if self._failures.get(method):
                raise SlackError(self._failures[method].pop(0))
            if method == "oauth.v2.access":
                body = self._oauth_v2_access(params, request)
            elif method not in self._methods:
                raise SlackError("unknown_method")
            elif not token:
                raise SlackError("not_authed")
            elif workspace is None:
                raise SlackError("invalid_auth")
            else:
                body = await self._methods[method](params, workspace)
                # Bolt reads the granted scopes from this header of auth.test.
                headers["X-OAuth-Scopes"] = ",".join(workspace.scopes)
            error = None
        except SlackError as failure:
            body, error = {"ok": False, "error": failure.code}, failure.code
        self.recorded.append(
            RecordedCall(
                method=method,
                params=params,
                token=token,
                team_id=workspace.team_id if workspace else None,
                error=error,
            )
        )
        await self._notify()
        return web.json_response(body, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None or upload.completed:
            return web.Response(status=404, text="file_not_found")
        upload.data = await request.read()
        await self._notify()
        return web.Response(text=f"OK - {len(upload.data)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        seen = self._responses_by_name.setdefault(name, [])
        if len(seen) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        seen.append(body)
        self.responses.append(body)
        await self._notify()
        return web.Response(text="ok")

    # ------------------------------------------------------------------ methods

    async def _auth_test(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{ws.domain}.slack.com/",
            "team": ws.team_name,
            "user": "shopkeep",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    async def _auth_revoke(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        testing = str(params.get("test", "")).lower() in {"1", "true"}
        if not testing:
            self.revoke(ws.bot_token)
        return {"ok": True, "revoked": not testing}

    async def _chat_post_message(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = self._channel(params, ws)
        _require_content(params)
        ts = self._ts()
        message = {
            "type": "message",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": self.app_id,
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
        }
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    async def _chat_post_ephemeral(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        self._channel(params, ws)
        if params.get("user") not in ws.users:
            raise SlackError("user_not_in_channel")
        _require_content(params)
        return {"ok": True, "message_ts": self._ts()}

    async def _chat_update(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = self._channel(params, ws)
        if not params.get("ts"):
            raise SlackError("message_not_found")
        _require_content(params)
        return {"ok": True, "channel": channel, "ts": params["ts"], "text": params.get("text", "")}

    async def _views_publish(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        if params.get("user_id") not in ws.users:
            raise SlackError("user_not_found")
        return {"ok": True, "view": self._view(params, ws)}

    async def _views_open(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        trigger = params.get("trigger_id")
        if not trigger:
            raise SlackError("invalid_trigger_id")
        if trigger in self._triggers_used:  # a trigger opens one view
            raise SlackError("expired_trigger_id")
        _check_modal(params.get("view"))
        self._triggers_used.add(trigger)
        return {"ok": True, "view": self._view(params, ws)}

    async def _users_info(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user = ws.users.get(params.get("user", ""))
        if user is None:
            raise SlackError("user_not_found")
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "display_name": user.name,
        }
        if EMAIL_SCOPE in ws.scopes and user.email is not None:
            profile["email"] = user.email
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": ws.team_id,
                "name": user.name,
                "real_name": user.real_name,
                "deleted": user.deleted,
                "is_bot": user.is_bot,
                "tz": user.tz,
                "locale": user.locale,
                "profile": profile,
            },
        }

    async def _conversations_open(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            # Group DMs are not needed by shopkeep; say so rather than pretend.
            raise SlackError("not_supported_by_fake")
        if users[0] not in ws.users:
            raise SlackError("user_not_found")
        return {"ok": True, "channel": {"id": self.dm_channel(ws.team_id, users[0])}}

    async def _files_get_upload_url(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or length is None:
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = UploadedFile(
            file_id=file_id, team_id=ws.team_id, filename=filename, length=int(length)
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _files_complete_upload(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments")
        channel_id = params.get("channel_id")
        channels = [channel_id] if channel_id else []
        channels += [c for c in str(params.get("channels", "")).split(",") if c]
        uploads = []
        for item in items:
            upload = self.uploads.get(item.get("id", ""))
            if upload is None or upload.team_id != ws.team_id or upload.data is None:
                raise SlackError("file_not_found")
            uploads.append((upload, item.get("title") or upload.filename))
        files = []
        for upload, title in uploads:
            upload.title, upload.completed = title, True
            upload.channel_id = channels[0] if channels else None
            upload.initial_comment = params.get("initial_comment")
            files.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "mimetype": mimetypes.guess_type(upload.filename)[0] or "application/octet-stream",
                    "size": len(upload.data or b""),
                    "user": ws.bot_user_id,
                    "channels": channels,
                }
            )
        return {"ok": True, "files": files}

    def _oauth_v2_access(self, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        client_id, client_secret = _basic_credentials(request)
        client_id = client_id or params.get("client_id")
        client_secret = client_secret or params.get("client_secret")
        if self.client_id is not None and client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if self.client_secret is not None and client_secret != self.client_secret:
            raise SlackError("bad_client_secret")
        grant = self._grants.pop(params.get("code", ""), None)
        if grant is None:
            raise SlackError("invalid_code")
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            raise SlackError("bad_redirect_uri")
        ws = self._install(grant)
        authed_user: dict[str, Any] = {"id": grant.installer_user_id}
        if grant.user_token is not None:
            authed_user.update(
                scope=",".join(grant.user_scopes), access_token=grant.user_token, token_type="user"
            )
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": authed_user,
            "scope": ",".join(ws.scopes),
            "token_type": "bot",
            "access_token": ws.bot_token,
            "bot_user_id": ws.bot_user_id,
            "team": {"id": ws.team_id, "name": ws.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------ helpers

    def _install(self, grant: OAuthGrant) -> Workspace:
        existing = self._workspaces.get(grant.team_id)
        token = grant.bot_token or (existing.bot_token if existing else f"xoxb-{grant.team_id}")
        ws = self.add_workspace(grant.team_id, token, team_name=grant.team_name, scopes=grant.scopes)
        if existing is not None:
            ws.users.update(existing.users)
            ws.dm_channels.update(existing.dm_channels)
        for user_id, fields in grant.users.items():
            self.add_user(ws.team_id, user_id, **fields)
        if grant.installer_user_id not in ws.users:
            self.add_user(ws.team_id, grant.installer_user_id)
        return ws

    def _channel(self, params: dict[str, Any], ws: Workspace) -> str:
        channel = params.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        # Like Slack, posting to a user id lands in the bot's DM with that user.
        if channel in ws.users:
            return self.dm_channel(ws.team_id, channel)
        return str(channel)

    def _view(self, params: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        return {
            **view,
            "id": f"V{next(self._ids):08d}",
            "team_id": ws.team_id,
            "app_id": self.app_id,
            "bot_id": ws.bot_id,
            "hash": f"{next(self._ids)}.hash",
        }

    def _ts(self) -> str:
        return f"1700000000.{next(self._ids):06d}"


def _check_modal(view: Any) -> None:
    """Slack's limits on a modal: a title and buttons of at most 24 characters, at most 100
    blocks, private_metadata of at most 3000, input blocks with a label and an element, a submit
    button where there are inputs."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise SlackError("invalid_arguments")
    blocks = view.get("blocks") or []
    texts = [view.get("title")] + [view[key] for key in ("submit", "close") if key in view]
    if any(not isinstance(t, dict) or not 0 < len(t.get("text", "")) <= 24 for t in texts):
        raise SlackError("invalid_arguments")
    if len(blocks) > 100 or len(view.get("private_metadata") or "") > 3000:
        raise SlackError("invalid_arguments")
    inputs = [block for block in blocks if block.get("type") == "input"]
    for block in inputs:
        if not (block.get("label") or {}).get("text") or not isinstance(block.get("element"), dict):
            raise SlackError("invalid_arguments")
        if len(block.get("element", {}).get("initial_value") or "") > 3000:
            raise SlackError("invalid_arguments")
    if inputs and "submit" not in view:
        raise SlackError("invalid_arguments")
    if len({block.get("block_id") for block in inputs}) != len(inputs):
        raise SlackError("duplicate_block_id")


def _require_content(params: Mapping[str, Any]) -> None:
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        raise SlackError("no_text")


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _basic_credentials(request: web.Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({k: v if isinstance(v, str) else getattr(v, "filename", "") for k, v in form.items()})
    for key in _JSON_STRING_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            params[key] = json.loads(value)
    return params
