"""The catalog file (TOML): its schema and reading it, with errors that name the place in the file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.kernel.errors import InvalidInput
from core.kernel.validation import reason

SLUG = r"^[a-z0-9][a-z0-9-]*$"
MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanSpec(_Spec):
    slug: str = Field(pattern=SLUG)
    name: str
    interval: Literal["month", "year"] | None = None
    price: int = Field(ge=0, description="minor units (cents)")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    rank: int = 0


DURATION = re.compile(r"^\s*(\d+)\s*([dwy])\s*$")
DAYS_PER_UNIT = {"d": 1, "w": 7, "y": 365}
RENAMED_SEATS = ("`seats` now means team members per purchase, and devices per license key are "
                 "`activation_limit` (it was called `seats`): rename `seats = {n}` to "
                 "`activation_limit = {n}`, or set `activation_limit` too to make a team product")


class LicenseSpec(_Spec):
    """A product's license policy: keys, the devices each may activate, and team seats."""

    activation_limit: int = Field(default=1, gt=0, le=10_000, description="devices per license key")
    seats: int | None = Field(default=None, gt=0, le=10_000,
                              description="team members per unit bought; the buyer assigns them")
    expires_after: str | None = Field(default=None, description='e.g. "365d", "52w" or "1y"')
    customer_can_deactivate: bool = True
    # For apps moving from Lemon Squeezy: the ids its license API reported, which the apps check.
    lemonsqueezy_store_id: int | None = None
    lemonsqueezy_product_id: int | None = None
    lemonsqueezy_variant_id: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_seats_key(cls, data: Any) -> Any:
        # Catalogs written before team seats said `seats` for devices; read that way now they
        # would silently become team products.
        if isinstance(data, dict) and "seats" in data and "activation_limit" not in data:
            raise ValueError(RENAMED_SEATS.format(n=data["seats"]))
        return data

    @field_validator("lemonsqueezy_store_id", "lemonsqueezy_product_id", "lemonsqueezy_variant_id",
                     mode="before")
    @classmethod
    def _lemonsqueezy_id(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        number = value if isinstance(value, int) and not isinstance(value, bool) else (
            int(value) if isinstance(value, str) and value.strip().isdigit() else None)
        if number is None or not 0 < number <= MAX_ID:
            raise ValueError(f"`{info.field_name}` must be the number Lemon Squeezy shows for it, "
                             f"a whole number such as 12345, not {value!r}")
        return number

    @field_validator("expires_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and (DURATION.match(value) is None or license_days(value) == 0):
            raise ValueError(f'`expires_after` {value!r} is not a duration like "365d", "52w" or "1y"')
        return value

    @property
    def days(self) -> int | None:
        return license_days(self.expires_after) if self.expires_after else None


def license_days(duration: str) -> int:
    match = DURATION.match(duration)
    assert match is not None
    return int(match[1]) * DAYS_PER_UNIT[match[2]]


class SubscriptionPolicySpec(_Spec):
    """A product's own subscription policy: each key given here replaces the `[portal]` default
    of the same name (config/settings.py SubscriptionPolicy says what each means)."""

    allow_plan_changes: bool | None = None
    change_plans: list[str] | None = Field(default=None, description="plan slugs one may move between")
    proration: Literal["prorate_now", "next_period", "none"] | None = None
    allow_pause: bool | None = None
    max_pause_days: int | None = Field(default=None, gt=0, le=3650)
    access_while_paused: bool | None = None
    allow_cancel_now: bool | None = None
    cancel_refund: Literal["none", "prorated"] | None = None
    cancellation_reasons: list[str] | None = Field(default=None, min_length=1)
    allow_resubscribe: bool | None = None

    def overrides(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


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
    subscription: SubscriptionPolicySpec | None = None

    @model_validator(mode="after")
    def _plans_fit_kind(self) -> ProductSpec:
        for plan in self.plans:
            if (self.kind == "subscription") != (plan.interval is not None):
                raise ValueError(
                    f"plan {plan.slug!r}: subscription plans need an interval, one-time plans none"
                )
        if self.subscription is not None:
            if self.kind != "subscription":
                raise ValueError("`subscription` policy is for subscription products only")
            unknown = sorted(set(self.subscription.change_plans or ()) - {p.slug for p in self.plans})
            if unknown:
                raise ValueError(f"subscription.change_plans: no plan {', '.join(unknown)} in this product")
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
        raise InvalidInput(f"{path}: {where}: {reason(error)}") from None


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
