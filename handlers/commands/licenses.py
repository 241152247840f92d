"""License keys and their devices: licenses, devices <product>, deactivate <product> <device>."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field

from core.kernel import formatting
from core.kernel.errors import NotAllowed, NotFound
from core.licenses import activations, queries, seats
from core.licenses.keys import masked
from core.licenses.queries import EVERY_DEVICE, Device
from core.licenses.status import ACTIVE, EXPIRED, expires_at, status_label
from core.models import Customer, License, Product
from core.orders import ownership
from handlers.context import Context
from handlers.paging import page_of, split_page
from handlers.registry import Arguments, NoArguments, command
from handlers.reply import Choice, Reply, Table
from handlers.tables import STALE, devices_table

NEVER = "never"
MORE_CHOICES = 4  # per-product buttons under `licenses`


class ProductListArguments(Arguments):
    product: str = Field(description='the product\'s number from `orders`, its slug or name; add '
                         '"page 2" for more', json_schema_extra={"suggest": "products"},
                         min_length=1, max_length=220)


class DeactivateArguments(Arguments):
    product: str = Field(description="the product's number from `orders`, or its slug",
                         json_schema_extra={"suggest": "products"}, min_length=1, max_length=200)
    # Long enough for the instance ids a confirmation carries for `all`.
    device: str = Field(description="the device's number from `devices`, its name, or `all`",
                        min_length=1, max_length=4000)


def _expiry(moment: datetime | None, customer: Customer) -> str:
    return NEVER if moment is None else formatting.date(moment, customer.locale, customer.timezone)


@command("licenses", summary="Every license key you hold or manage: devices, seats, expiry",
         aliases=("licences", "licence"), examples=("licenses",), reads_only=True)
async def licenses(ctx: Context, args: NoArguments) -> Reply:
    """Keys are masked; `reveal <product>` shows them in full, `devices <product>` what uses
    them, `seats <product>` who has a seat of a team you bought."""
    customer = await ctx.customer()
    now = ctx.portal.now()
    held = await queries.licenses_held(ctx.session, customer.id)
    teams = await seats.teams_of(ctx.session, customer.id, None)
    member_keys = [seat.license for team in teams for seat in team.seats]
    usage = await queries.usage_of(ctx.session, [key.id for key in [*held, *member_keys]])
    owners = await seats.seats_owners(ctx.session, customer.id)
    rows: list[list[str]] = []
    choices: list[Choice] = []
    for key in held:
        rows.append([key.product.name, masked(key.key), f"{usage.get(key.id, 0)}/{key.activation_limit}",
                     f"a seat from {owners[key.id]}" if key.id in owners else "-",
                     status_label(key, now), _expiry(key.expires_at, customer)])
        choices.append(Choice(f"Devices: {key.product.name}", f"devices {key.product.slug}"))
    by_product: dict[int, list[seats.Team]] = {}
    for team in teams:
        by_product.setdefault(team.product.id, []).append(team)
    for product_teams in by_product.values():
        rows.append(_team_row(product_teams, usage, customer, now))
        slug = product_teams[0].product.slug
        choices.append(Choice(f"Seats: {product_teams[0].product.name}", f"seats {slug}"))
    if not rows:
        return Reply.text("You have no license keys. Products that come with one show it in "
                          "`product <name>`.", title="Your licenses")
    reply = Reply(title="Your licenses", tables=[Table(
        ["Product", "License key", "Devices", "Seats", "Status", "Expires"], rows,
        title="Licenses", numeric=(2,))])
    reply.paragraphs.append("Send `devices <product>` to see and free a key's devices, "
                            "`reveal <product>` for the full keys"
                            + (", `seats <product>` for a team's seats." if teams else "."))
    reply.choices = list(dict.fromkeys(choices))[:MORE_CHOICES]
    return reply


def _team_row(teams: list[seats.Team], usage: dict[int, int], customer: Customer, now: datetime
              ) -> list[str]:
    """A team purchase as one row: its members' keys summed up, its seats used of the total."""
    product = teams[0].product
    keys = [seat.license for team in teams for seat in team.seats]
    taken, total = sum(len(team.seats) for team in teams), sum(team.total for team in teams)
    ends = [expires_at(product, team.item.order.placed_at) for team in teams]
    last = None if any(end is None for end in ends) else max(e for e in ends if e is not None)
    devices = (f"{sum(usage.get(k.id, 0) for k in keys)}/{sum(k.activation_limit for k in keys)}"
               if keys else "-")
    status = EXPIRED if last is not None and last <= now else ACTIVE
    return [product.name, "one per member", devices, f"{taken}/{total}", status,
            _expiry(last, customer)]


async def _product(ctx: Context, ref: str) -> Product:
    owned = await ownership.find_owned_product(ctx.session, ctx.customer_id, ref)
    return owned.product


async def _no_keys(ctx: Context, product: Product) -> NotFound:
    if await seats.teams_of(ctx.session, ctx.customer_id, product.id):
        return NotFound(f"No one on your {product.name} team has a key yet: each member you "
                        f"assign gets one (`seats {product.slug}`).")
    return NotFound(f"{product.name} has no license keys.")


@command("devices", summary="The devices using a product's license keys",
         aliases=("activations",), examples=("devices pixel-studio", "devices 3 page 2"),
         reads_only=True)
async def devices(ctx: Context, args: ProductListArguments) -> Reply:
    """Numbered oldest first, with when each was activated and last checked its key. A device
    not seen for a while is marked stale: often a machine that was replaced or reinstalled."""
    customer = await ctx.customer()
    ref, page_number = split_page(args.product)
    product = await _product(ctx, ref)
    keys = await queries.reachable_keys(ctx.session, customer.id, product.id)
    if not keys:
        raise await _no_keys(ctx, product)
    listed = await queries.devices(ctx.session, customer.id, product.id)
    title = f"{product.name}: devices"
    if not listed:
        return Reply.text(f"No device is using your {product.name} keys yet: all "
                          f"{_slots(keys)} are free.", title=title)
    page = page_of(listed, page_number, what="devices")
    now, stale_days = ctx.portal.now(), ctx.portal.settings.device_stale_days
    actions = [Choice(f"Deactivate {d.number}",
                      f"deactivate {product.slug} {d.activation.instance_id}") for d in page.items]
    reply = Reply(title=title if page.number == 1 else f"{title}, page {page.number}", tables=[
        devices_table(page.items, customer, now=now, stale_days=stale_days,
                      actions=actions if product.customer_can_deactivate else ())])
    reply.paragraphs.append(f"{len(listed)} device{'s' if len(listed) != 1 else ''} in use of "
                            f"{_slots(keys)}.")
    if any(device.stale(now, stale_days) for device in listed):
        reply.paragraphs.append(f"Marked {STALE}: not seen for {stale_days} days or more. "
                                "Deactivating it frees its slot for a new machine.")
    if product.customer_can_deactivate:
        reply.paragraphs.append(f"Send `deactivate {product.slug} <number>` to free a slot, or "
                                f"`deactivate {product.slug} all`.")
    else:
        reply.paragraphs.append(_managed_by_store(ctx, product))
    if page.more:
        reply.choices.append(Choice("Next page", f"devices {product.slug} page {page.number + 1}"))
    return reply


def _slots(keys: Sequence[tuple[License, str | None]]) -> str:
    """"3 slots on your key", "4 slots on 2 keys"."""
    total = sum(key.activation_limit for key, _ in keys)
    where = "your key" if len(keys) == 1 else f"{len(keys)} keys"
    return f"{total} slot{'s' if total != 1 else ''} on {where}"


def _managed_by_store(ctx: Context, product: Product) -> str:
    store = ctx.portal.settings.store
    ask = f" ({store.contact_email})" if store.contact_email else ""
    return (f"{product.name} devices can't be deactivated from here: {ctx.portal.settings.store_name}"
            f"{ask} frees them on request.")


def _names(chosen: Sequence[Device]) -> str:
    names = [f"'{device.activation.name}'" for device in chosen]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _frees(chosen: Sequence[Device]) -> str:
    """How many slots freeing `chosen` gives back, of how many."""
    keys = {device.license.id: device.license for device in chosen}
    if len(keys) == 1:
        [key] = keys.values()
        return f"{len(chosen)} of {key.activation_limit} slot{'s' if key.activation_limit != 1 else ''}"
    return f"{len(chosen)} slots on {len(keys)} keys"


@command("deactivate", summary="Free a device's slot on a license key (or every device's)",
         aliases=("revoke",), mutates=True, previews=True,
         examples=("deactivate pixel-studio 2", "deactivate pixel-studio Old ThinkPad",
                   "deactivate pixel-studio all"))
async def deactivate(ctx: Context, args: DeactivateArguments) -> Reply:
    """Asks first. The app on that device stops working at its next check; activating it
    again later takes a slot again. A team's owner can free the devices of its members."""
    product = await _product(ctx, args.product)
    if not product.customer_can_deactivate:
        raise NotAllowed(_managed_by_store(ctx, product))
    if not await queries.reachable_keys(ctx.session, ctx.customer_id, product.id):
        raise await _no_keys(ctx, product)
    chosen = await queries.find_devices(ctx.session, ctx.customer_id, product, args.device)
    active = [device for device in chosen if device.activation.active]
    if not active:
        return Reply.text(f"{_names(chosen)} {'was' if len(chosen) == 1 else 'were'} deactivated "
                          "already; nothing changed.", title="Already free")
    if not ctx.confirmed:
        return await _ask_to_deactivate(ctx, product, active, every=args.device.strip().lower()
                                        == EVERY_DEVICE)
    freed = [device for device in active if await activations.deactivate(
        ctx.session, ctx.portal, device.activation, actor=ctx.caller.actor,
        acting_customer_id=ctx.customer_id)]
    if not freed:
        return Reply.text(f"{_names(active)} {'was' if len(active) == 1 else 'were'} deactivated "
                          "already; nothing changed.", title="Already free")
    usage = await queries.usage_of(ctx.session, list({d.license.id for d in freed}))
    free = sum(d.license.activation_limit - usage.get(d.license.id, 0)
               for d in {d.license.id: d for d in freed}.values())
    return Reply.text(f"Deactivated {_names(freed)} on {product.name}. {free} slot"
                      f"{'s are' if free != 1 else ' is'} free now for a new device.",
                      title="Deactivated")


async def _ask_to_deactivate(ctx: Context, product: Product, chosen: list[Device], *,
                             every: bool) -> Reply:
    customer = await ctx.customer()
    apps = "the app on" if len(chosen) == 1 else "the apps on"
    when = "its next check" if len(chosen) == 1 else "their next check"
    preview = Reply(title=f"Deactivate {'every device' if every else _names(chosen)}?", paragraphs=[
        f"This frees {_frees(chosen)}; {apps} {_names(chosen)} will stop working at {when}."])
    members = sorted({device.member for device in chosen if device.member})
    if members:
        preview.paragraphs.append("On your team members' keys: " + ", ".join(members) + ".")
    if len(chosen) > 1:
        preview.tables.append(devices_table(chosen, customer, now=ctx.portal.now(),
                                            stale_days=ctx.portal.settings.device_stale_days))
    # The confirmation names the devices themselves: by then number 2 may be another one.
    return await ctx.confirm(
        preview, summary=f"Deactivate {_names(chosen)} on {product.name}",
        arguments={"product": product.slug,
                   "device": " ".join(device.activation.instance_id for device in chosen)},
        confirm_label="Deactivate")

