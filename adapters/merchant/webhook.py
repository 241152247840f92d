"""Posting notices to the merchant's webhook URL (aiohttp), as core.subscriptions.merchant's
WebhookTransport."""

from __future__ import annotations

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=15)


class HttpWebhook:
    """One client session for all notices; an unreachable endpoint is an OSError or a timeout,
    which the notifier retries with backoff."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.post(url, data=body, headers=headers,
                                          allow_redirects=False) as response:
                await response.read()
                return response.status
        except aiohttp.ClientError as exc:
            raise OSError(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
