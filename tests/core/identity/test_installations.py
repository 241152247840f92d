"""Workspace installs in core: each workspace its own record, through rotations and revocations."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.identity import installations
from core.identity.installations import BotCredentials, Installed, Workspace
from core.kernel.portal import Portal
from core.models import ChatInstallation

SLACK = "slack"


def installed(token: str, *, installer: str = "U1", **details: str) -> Installed:
    return Installed(team_name=f"Team of {token}", installer_user_id=installer, details=details,
                     bot=BotCredentials(token, "UBOT", "B1", ("commands", "chat:write")))


async def save(portal: Portal, where: Workspace, install: Installed) -> None:
    async with portal.db.unit_of_work() as session:
        await installations.save_installation(session, SLACK, where, install, now=portal.now())


async def find(portal: Portal, where: Workspace, platform: str = SLACK) -> Installed | None:
    async with portal.db.unit_of_work() as session:
        return await installations.find(session, platform, where)


async def records(portal: Portal) -> int:
    async with portal.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count(ChatInstallation.id))) or 0)


async def test_each_workspace_keeps_its_own_token_and_revoking_one_leaves_the_other(
    portal: Portal
) -> None:
    one, two = Workspace(None, "T1"), Workspace(None, "T2")
    await save(portal, one, installed("xoxb-1"))
    await save(portal, two, installed("xoxb-2"))

    found_one, found_two = await find(portal, one), await find(portal, two)
    assert found_one is not None and found_one.bot.token == "xoxb-1"
    assert found_two is not None and found_two.bot.token == "xoxb-2"
    assert found_one.bot.scopes == ("commands", "chat:write")
    assert await find(portal, Workspace(None, "T3")) is None
    assert await find(portal, one, platform="discord") is None, "ids are per platform"

    async with portal.db.unit_of_work() as session:
        await installations.revoke(session, SLACK, one, now=portal.now())
        assert await installations.installed_teams(session, SLACK) == ["T2"]
    assert await find(portal, one) is None
    assert (found := await find(portal, two)) is not None and found.bot.token == "xoxb-2"


async def test_an_org_wide_install_answers_for_its_workspaces_and_ends_with_any_of_them(
    portal: Portal
) -> None:
    await save(portal, Workspace("E1", "T1", org_wide=True), installed("xoxb-org"))

    in_t5 = await find(portal, Workspace("E1", "T5", org_wide=True))
    assert in_t5 is not None and in_t5.bot.token == "xoxb-org"
    assert await find(portal, Workspace("E1", "T5")) is None, "no install of T5 itself"

    async with portal.db.unit_of_work() as session:
        await installations.revoke(session, SLACK, Workspace("E1", "T5"), now=portal.now())
    assert await find(portal, Workspace("E1", "T1", org_wide=True)) is None


async def test_a_rotated_bot_token_keeps_the_installer_and_a_reinstall_reuses_the_record(
    portal: Portal
) -> None:
    where = Workspace(None, "T1")
    await save(portal, where, installed("xoxb-1", user_token="xoxp-1", app_id="A1"))
    async with portal.db.unit_of_work() as session:
        await installations.save_bot(session, SLACK, where, team_name="One",
                                     bot=BotCredentials("xoxb-2", "UBOT", "B1", ("commands",)),
                                     details={"bot_refresh_token": "xoxe-2"})
        await installations.forget_details(session, SLACK, where, ["user_token"])

    rotated = await find(portal, where)
    assert rotated is not None and rotated.bot.token == "xoxb-2" and rotated.installer_user_id == "U1"
    assert rotated.details == {"app_id": "A1", "bot_refresh_token": "xoxe-2"}

    async with portal.db.unit_of_work() as session:
        await installations.revoke(session, SLACK, where, now=portal.now())
    await save(portal, where, installed("xoxb-3"))
    back = await find(portal, where)
    assert back is not None and back.bot.token == "xoxb-3"
    assert await records(portal) == 1


async def test_two_installs_of_one_workspace_at_once_leave_one_record(portal: Portal) -> None:
    where = Workspace(None, "T1")

    await asyncio.gather(*(save(portal, where, installed(f"xoxb-{n}")) for n in range(4)))

    found = await find(portal, where)
    assert found is not None and found.bot.token in {f"xoxb-{n}" for n in range(4)}
    assert await records(portal) == 1
