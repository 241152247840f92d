"""The catalog file (TOML): its schema and reading it, with errors that name the place in the file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.kernel.errors import InvalidInput

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
