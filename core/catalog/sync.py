"""Making the database match the catalog file, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.catalog.spec import CatalogSpec, DeliverableSpec, LicenseSpec, PlanSpec
from core.licenses.policy import apply_device_limit
from core.models import Deliverable, Plan, Product


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
            **_license_policy(product_spec.license),
            "subscription_policy": product_spec.subscription.overrides() if product_spec.subscription else {},
            "active": True,
        }
        if product is None:
            product = Product(slug=product_spec.slug, plans=[], deliverables=[], **values)
            session.add(product)
            report.created.append(product_spec.slug)
        limit_before = product.activation_limit
        changed = _apply(product, values)
        if product.id is not None and product.activation_limit != limit_before:
            await apply_device_limit(session, product)
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


def _license_policy(spec: LicenseSpec | None) -> dict[str, Any]:
    """The product's license columns. Lowering a limit keeps every activation and seat already
    given; it only blocks new ones (the limits are checked when something is added)."""
    if spec is None:
        return {"activation_limit": None, "seats": None, "license_days": None,
                "customer_can_deactivate": True, "lemonsqueezy_store_id": None,
                "lemonsqueezy_product_id": None, "lemonsqueezy_variant_id": None}
    return {"activation_limit": spec.activation_limit, "seats": spec.seats, "license_days": spec.days,
            "customer_can_deactivate": spec.customer_can_deactivate,
            "lemonsqueezy_store_id": spec.lemonsqueezy_store_id,
            "lemonsqueezy_product_id": spec.lemonsqueezy_product_id,
            "lemonsqueezy_variant_id": spec.lemonsqueezy_variant_id}


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
