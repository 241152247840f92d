"""Download links: signed, expiring, bound to one customer and one file."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core.kernel.errors import NotFound
from core.kernel.portal import Portal
from core.kernel.security import TokenInvalid, sign, verify
from core.models import Customer, Deliverable, Download
from core.orders.ownership import owns_product

PURPOSE = "download"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


def link_for(portal: Portal, customer_id: int, deliverable: Deliverable) -> DownloadLink:
    ttl = portal.settings.download_link_ttl
    now = portal.now()
    token = sign(portal.secret, PURPOSE, [customer_id, deliverable.id], ttl, now=now.timestamp())
    return DownloadLink(portal.url(f"/d/{token}"), now + timedelta(seconds=ttl))


@dataclass(frozen=True)
class DownloadableFile:
    path: Path
    filename: str
    content_type: str
    customer_id: int
    deliverable_id: int


async def resolve(session: AsyncSession, portal: Portal, token: str) -> DownloadableFile:
    """The file a token grants. Raises TokenInvalid / TokenExpired from core.security,
    or NotFound when access or the file is gone."""
    customer_id, deliverable_id = (int(x) for x in
                                   _two(verify(portal.secret, PURPOSE, token,
                                               now=portal.now().timestamp())))
    deliverable = await session.get(Deliverable, deliverable_id)
    customer = await session.get(Customer, customer_id)
    if (deliverable is None or customer is None or deliverable.kind != "file"
            or not deliverable.active
            or not await owns_product(session, customer_id, deliverable.product_id)):
        raise NotFound("This download is no longer available to you.")
    root = portal.settings.files_dir.resolve()
    path = (root / deliverable.target).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("The file is missing on the server. The store has been told.")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return DownloadableFile(path, path.name, content_type, customer_id, deliverable_id)


def _two(fields: list[str]) -> list[str]:
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise TokenInvalid("malformed")
    return fields


async def count(session: AsyncSession, file: DownloadableFile, byte_range: str | None) -> None:
    session.add(Download(customer_id=file.customer_id, deliverable_id=file.deliverable_id,
                         byte_range=byte_range))
