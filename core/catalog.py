"""The catalog file (TOML) and its idempotent sync into the database."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.errors import InvalidInput
from core.models import Deliverable, Plan, Product

SLUG = r"^[a-z0-9][a-z0-9-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanSpec(_Spec):
    slug: str = Field(pattern=SLUG)
    name: str
    interval: Literal["month", "year"] | None = None
    price: int = Field(ge=0, description="minor units (cents)")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    rank: int = 0


class LicenseSpec(_Spec):
    seats: int = Field(gt=0)


class DeliverableSpec(_Spec):
    kind: Literal["file", "link", "discord_role", "discord_invite"]
    label: str
    key: str | None = Field(default=None, pattern=SLUG)
    file: str | None = None  # relative to <data dir>/files
    url: str | None = None
    role_id: int | None = None
    channel_id: int | None = None
    max_age: int = Field(default=86400, ge=0, description="seconds a Discord invite lives")

    @model_validator(mode="after")
    def _target_matches_kind(self) -> DeliverableSpec:
        needed = {"file": "file", "link": "url", "discord_role": "role_id",
                  "discord_invite": "channel_id"}[self.kind]
        if getattr(self, needed) in (None, ""):
            raise ValueError(f"a {self.kind} deliverable needs `{needed}`")
        if self.file and (Path(self.file).is_absolute() or ".." in Path(self.file).parts):
            raise ValueError("`file` must be a path inside the data dir's files/ folder")
        if self.url and not re.match(r"^https?://", self.url):
            raise ValueError("`url` must start with http:// or https://")
        return self

    @property
    def target(self) -> str:
        value = {"file": self.file, "link": self.url, "discord_role": self.role_id,
                 "discord_invite": self.channel_id}[self.kind]
        return str(value)

    @property
    def stable_key(self) -> str:
        return self.key or re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-") or self.kind


class ProductSpec(_Spec):
    slug: str = Field(pattern=SLUG)
    name: str
    kind: Literal["one_time", "subscription"]
    description: str | None = None
    plans: list[PlanSpec] = Field(min_length=1)
    deliverables: list[DeliverableSpec] = Field(default_factory=list)
    license: LicenseSpec | None = None

    @model_validator(mode="after")
    def _plans_fit_kind(self) -> ProductSpec:
        for plan in self.plans:
            if (self.kind == "subscription") != (plan.interval is not None):
                raise ValueError(
                    f"plan {plan.slug!r}: subscription plans need an interval, one-time plans none"
                )
        keys = [d.stable_key for d in self.deliverables]
        if len(keys) != len(set(keys)):
            raise ValueError("two deliverables share a key; give them distinct `key`s")
        return self


class CatalogSpec(_Spec):
    products: list[ProductSpec]

    @field_validator("products")
    @classmethod
    def _unique_slugs(cls, products: list[ProductSpec]) -> list[ProductSpec]:
        slugs = [p.slug for p in products]
        if len(slugs) != len(set(slugs)):
            raise ValueError("two products share a slug")
        return products


def read_catalog(path: Path) -> CatalogSpec:
    """Parse and validate a catalog file; errors name the place in the file."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    try:
        return CatalogSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _location(data, error["loc"])
        raise InvalidInput(f"{path}: {where}: {error['msg'].removeprefix('Value error, ')}") from None


def _location(data: Any, loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            slug = node[step].get("slug") if isinstance(node, list) and isinstance(
                node[step], dict) else None
            parts[-1] = f"{parts[-1]}[{slug or step}]" if parts else f"[{step}]"
        else:
            parts.append(str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "catalog"


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)

    def summary(self) -> str:
        if not self.changed:
            return "catalog is up to date"
        return "; ".join(
            f"{label}: {', '.join(items)}"
            for label, items in (("created", self.created), ("updated", self.updated),
                                 ("deactivated", self.deactivated))
            if items
        )


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


async def sync_catalog(session: AsyncSession, spec: CatalogSpec) -> SyncReport:
    """Make the database match the file. Removed items are deactivated, never deleted,
    because past orders still point at them."""
    report = SyncReport()
    existing = {
        p.slug: p
        for p in await session.scalars(
            select(Product).options(selectinload(Product.plans), selectinload(Product.deliverables))
        )
    }
    for product_spec in spec.products:
        product = existing.pop(product_spec.slug, None)
        values = {
            "name": product_spec.name,
            "kind": product_spec.kind,
            "description": product_spec.description,
            "license_seats": product_spec.license.seats if product_spec.license else None,
            "active": True,
        }
        if product is None:
            product = Product(slug=product_spec.slug, plans=[], deliverables=[], **values)
            session.add(product)
            report.created.append(product_spec.slug)
        changed = _apply(product, values)
        changed |= _sync_plans(product, product_spec.plans)
        changed |= _sync_deliverables(product, product_spec.deliverables)
        if changed and product_spec.slug not in report.created:
            report.updated.append(product_spec.slug)
    for slug, product in existing.items():
        if product.active:
            product.active = False
            report.deactivated.append(slug)
    await session.flush()
    return report


def _sync_plans(product: Product, specs: list[PlanSpec]) -> bool:
    changed = False
    by_slug = {plan.slug: plan for plan in product.plans}
    for spec in specs:
        values = {"name": spec.name, "interval": spec.interval, "price": spec.price,
                  "currency": spec.currency, "rank": spec.rank, "active": True}
        plan = by_slug.pop(spec.slug, None)
        if plan is None:
            product.plans.append(Plan(slug=spec.slug, **values))
            changed = True
        else:
            changed |= _apply(plan, values)
    for plan in by_slug.values():
        changed |= _apply(plan, {"active": False})
    return changed


def _sync_deliverables(product: Product, specs: list[DeliverableSpec]) -> bool:
    changed = False
    by_key = {d.key: d for d in product.deliverables}
    for position, spec in enumerate(specs):
        options: dict[str, Any] = {"max_age": spec.max_age} if spec.kind == "discord_invite" else {}
        values = {"kind": spec.kind, "label": spec.label, "target": spec.target,
                  "options": options, "position": position, "active": True}
        deliverable = by_key.pop(spec.stable_key, None)
        if deliverable is None:
            product.deliverables.append(Deliverable(key=spec.stable_key, **values))
            changed = True
        else:
            changed |= _apply(deliverable, values)
    for deliverable in by_key.values():
        changed |= _apply(deliverable, {"active": False})
    return changed


async def product_by_slug(session: AsyncSession, slug: str) -> Product | None:
    return await session.scalar(select(Product).where(Product.slug == slug))
