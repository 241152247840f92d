"""Settings: one schema, read from an optional TOML file and SHOPKEEP_* environment variables.

The environment variable names are a public contract; operators and scripts rely on them.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.kernel.validation import reason

ENV_PREFIX = "SHOPKEEP_"
DEFAULT_CONFIG_FILE = Path("shopkeep.toml")
MAIL_RELAY_SCHEMES = ("smtp", "smtp+starttls", "smtps")


class SettingsError(Exception):
    """A setting is wrong; the message is one line naming it and what is wrong."""


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return value


def split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


class StoreSettings(BaseModel):
    """The seller as printed on invoices and receipts (`[store]` in shopkeep.toml)."""

    model_config = ConfigDict(extra="forbid")

    legal_name: str | None = None
    address: list[str] = Field(default_factory=list)
    country: str | None = Field(None, description="ISO 3166 code of the seller's country, e.g. IE; "
                                "read from an EU VAT number in tax_id when unset")
    tax_id: str | None = None  # the seller's VAT number (or other tax ID), printed on every invoice
    logo_file: Path | None = None
    contact_email: str | None = None
    footer: str | None = None
    invoice_number_format: str = "INV-{year}-{seq:04d}"
    receipt_number_format: str = "RCT-{year}-{seq:04d}"
    credit_note_number_format: str = "CN-{year}-{seq:04d}"
    template_file: Path | None = None
    locale: str = "en_US"
    timezone: str = "UTC"
    tax_name: str = "VAT"
    tax_rate: Decimal = Field(Decimal(0), ge=0, lt=100, description="percent, included in prices")
    # Printed where no tax is charged because tax_rate is 0 (the legal basis, e.g. a small
    # business exemption); reverse-charge invoices say so themselves.
    tax_exemption: str | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha() or code not in Locale("en").territories:
            raise ValueError(f"{value!r} is not a country code; use two letters like IE or DE")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; use an IANA name like Europe/Paris") from None
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            Locale.parse(value, sep="_" if "_" in value else "-")
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValueError(f"{value!r} is not a locale; use one like en_US or de_DE") from None
        return value

    @field_validator("invoice_number_format", "receipt_number_format", "credit_note_number_format")
    @classmethod
    def _format_has_sequence(cls, value: str) -> str:
        try:
            value.format(year=2026, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may use only {{year}} and {{seq}}: {exc}") from None
        if "{seq" not in value:
            raise ValueError("must contain {seq}")
        return value


CANCELLATION_REASONS = ["too expensive", "missing features", "switched service", "unused",
                        "customer service", "too complex", "low quality", "other"]
PRORATION_MODES = ("prorate_now", "next_period", "none")


class SubscriptionPolicy(BaseModel):
    """What customers may do with their subscriptions. The defaults are `[portal]` in
    shopkeep.toml (`SHOPKEEP_PORTAL__*`); a product overrides any of them in the catalog
    (`[products.subscription]`). Cancelling at the period end is always allowed."""

    model_config = ConfigDict(extra="forbid")

    allow_plan_changes: bool = True
    # Which plans of the product one may move between (slugs); empty: all of its active plans.
    change_plans: list[str] = Field(default_factory=list)
    # An upgrade's difference: charged now, added to the next renewal, or not charged at all.
    proration: Literal["prorate_now", "next_period", "none"] = "prorate_now"
    allow_pause: bool = True
    max_pause_days: int = Field(90, gt=0, le=3650, description="the longest pause, in days")
    access_while_paused: bool = False
    allow_cancel_now: bool = False
    # What `cancel now` gives back: nothing, or the unused rest of the period, prorated.
    cancel_refund: Literal["none", "prorated"] = "none"
    cancellation_reasons: list[str] = Field(default_factory=lambda: list(CANCELLATION_REASONS))
    allow_resubscribe: bool = True


class PortalSettings(SubscriptionPolicy):
    """`[portal]`: the subscription policy defaults, dunning, and the payment provider."""

    # Days after a failed renewal on which it is tried again; after the last, it ends.
    dunning_retry_days: list[int] = Field(default_factory=lambda: [2, 5, 7], min_length=1)
    payment_provider: Literal["testmode"] = "testmode"

    @field_validator("dunning_retry_days")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(day <= 0 for day in value) or value != sorted(set(value)):
            raise ValueError("must be increasing whole days after the failed renewal, like [2, 5, 7]")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_key: str | None = None
    http_listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"
    smtp_listen: str = "127.0.0.1:2525"
    portal_address: str = "portal@localhost"
    mail_relay: str | None = None
    webhook_secret: str | None = None
    store_name: str = "Shopkeep Demo Store"
    catalog_file: Path | None = None

    download_link_ttl: int = Field(3600, gt=0, description="seconds a download link stays valid")
    code_ttl: int = Field(600, gt=0, description="seconds a one-time code stays valid")
    codes_per_email_per_hour: int = Field(5, gt=0)
    codes_per_caller_per_hour: int = Field(10, gt=0)
    pending_action_ttl: int = Field(1800, gt=0)
    device_stale_days: int = Field(30, gt=0, le=3650,
                                   description="days a device may go unseen before it is marked stale")

    # The license API (Lemon Squeezy compatible) for the merchant's apps.
    license_api_store_id: int = Field(1, gt=0, le=2**63 - 1, description="`meta.store_id` by default")
    license_api_requests_per_minute: int = Field(60, gt=0, description="per key and per client address")

    # Tax IDs: whether a registry is asked if an EU VAT number is registered ("vies"), and where.
    tax_id_check: Literal["off", "vies"] = "off"
    vies_url: str = "https://ec.europa.eu/taxation_customs/vies/rest-api"

    # The PDF render process is replaced after this many documents or above this much memory.
    render_recycle_after: int = Field(200, gt=0)
    render_memory_limit_mb: int = Field(300, gt=0)

    # Email front door.
    mail_max_size: int = Field(1024 * 1024, gt=0)
    mail_max_lines: int = Field(10, gt=0)
    mail_replies_per_hour: int = Field(20, gt=0)
    mail_retention_days: int = Field(30, gt=0, description="days received mail is kept once answered")
    trusted_authserv_id: str | None = None

    # Discord front door.
    discord_token: str | None = None
    discord_guild_id: int | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None  # a local or proxied gateway; Discord's by default
    discord_command: str = "shop"

    # Slack front door.
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/shop"

    # Merchant-billed subscriptions: customers' confirmed changes are sent here, signed.
    merchant_webhook_url: str | None = None
    renewals_interval: int = Field(60, gt=0, description="seconds between two renewal passes")

    store: StoreSettings = Field(default_factory=StoreSettings)
    portal: PortalSettings = Field(default_factory=PortalSettings)

    @field_validator("http_listen", "smtp_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("merchant_webhook_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        return cls._http_url(value) if value else None

    @field_validator("public_url", "discord_api_url", "slack_api_url", "vies_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s):// URL, got {value!r}")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError(f"expected a ws:// or wss:// URL, got {value!r}")
        return value

    @field_validator("portal_address")
    @classmethod
    def _address(cls, value: str) -> str:
        local, at, domain = value.partition("@")
        if not at or not local or not domain or "+" in local or " " in value:
            raise ValueError(f"expected an address like portal@example.com, got {value!r}")
        return value.lower()

    @field_validator("mail_relay")
    @classmethod
    def _relay(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in MAIL_RELAY_SCHEMES or not parts.hostname:
            raise ValueError(
                "expected smtp://host:port, smtp+starttls://user:pass@host:port or "
                f"smtps://user:pass@host:port, got {parts.scheme or value!r}"
            )
        try:
            parts.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise ValueError("the port is not a number") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlsplit(value).scheme
        if scheme.startswith("postgres"):
            # Operators paste libpq URLs; the async driver is what we run.
            return "postgresql+asyncpg" + value[len(scheme):]
        if scheme not in ("sqlite", "sqlite+aiosqlite"):
            raise ValueError(f"expected a sqlite:// or postgresql:// URL, got {scheme or value!r}")
        return value.replace("sqlite://", "sqlite+aiosqlite://", 1) if scheme == "sqlite" else value

    @model_validator(mode="after")
    def _signed_notices(self) -> Settings:
        if self.merchant_webhook_url and not self.webhook_secret:
            raise ValueError("SHOPKEEP_MERCHANT_WEBHOOK_URL needs SHOPKEEP_WEBHOOK_SECRET to sign "
                             "what is sent there")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; the file is named by model_config["toml_file"].
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    # Derived values.

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'shopkeep.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "mail" / "outbox"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def portal_domain(self) -> str:
        return self.portal_address.partition("@")[2]

    def secret(self) -> bytes:
        assert self.secret_key, "load_settings() fills the secret key"
        return self.secret_key.encode()


def _setting_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    if not parts:
        return "settings"
    return ENV_PREFIX + "__".join(parts).upper()


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings, creating the data dir and the secret key on first run.

    Raises SettingsError with one line naming the wrong setting.
    """
    path = config_file
    if path is None and os.environ.get(ENV_PREFIX + "CONFIG"):
        path = Path(os.environ[ENV_PREFIX + "CONFIG"])
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None and not path.is_file():
        raise SettingsError(f"--config: no such file {str(path)!r}")
    schema = Settings
    if path is not None:
        schema = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    try:
        settings = schema(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = "unknown setting" if first["type"] == "extra_forbidden" else reason(first)
        raise SettingsError(f"{_setting_name(first['loc'])}: {message}") from None
    except ValueError as exc:  # a TOML syntax error surfaces as a ValueError subclass
        raise SettingsError(f"{path}: {exc}") from None
    _prepare_data_dir(settings)
    return settings


def _prepare_data_dir(settings: Settings) -> None:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"{ENV_PREFIX}DATA_DIR: cannot create {settings.data_dir}: {exc.strerror}") from None
    if not settings.secret_key:
        settings.secret_key = _stored_secret_key(settings.data_dir / "secret_key")
    elif len(settings.secret_key) < 16:
        raise SettingsError(f"{ENV_PREFIX}SECRET_KEY: must be at least 16 characters")


def _stored_secret_key(path: Path) -> str:
    if path.is_file():
        key = path.read_text().strip()
        if key:
            return key
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
