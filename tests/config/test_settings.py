"""Settings: one clear line naming what is wrong, and the secret key made once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.cli import run
from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("SHOPKEEP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPKEEP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("SHOPKEEP_HTTP_LISTEN", "8080", "SHOPKEEP_HTTP_LISTEN: expected HOST:PORT"),
    ("SHOPKEEP_MAIL_RELAY", "ftp://relay", "SHOPKEEP_MAIL_RELAY: expected smtp://"),
    ("SHOPKEEP_DATABASE_URL", "mysql://x/y", "SHOPKEEP_DATABASE_URL: expected a sqlite:// or postgresql://"),
    ("SHOPKEEP_PUBLIC_URL", "portal.example.com", "SHOPKEEP_PUBLIC_URL: expected an http(s):// URL"),
    ("SHOPKEEP_STORE__INVOICE_NUMBER_FORMAT", "INV-{year}", "SHOPKEEP_STORE__INVOICE_NUMBER_FORMAT: must contain {seq}"),
    ("SHOPKEEP_SECRET_KEY", "short", "SHOPKEEP_SECRET_KEY: must be at least 16 characters"),
    ("SHOPKEEP_STORE__TIMEZONE", "Mars/Olympus", "SHOPKEEP_STORE__TIMEZONE: 'Mars/Olympus' is not a time zone"),
    ("SHOPKEEP_STORE__LOCALE", "xx_YY", "SHOPKEEP_STORE__LOCALE: 'xx_YY' is not a locale"),
    ("SHOPKEEP_DISCORD_GATEWAY_URL", "https://gateway.test", "SHOPKEEP_DISCORD_GATEWAY_URL: expected a ws://"),
    ("SHOPKEEP_DEVICE_STALE_DAYS", "0", "SHOPKEEP_DEVICE_STALE_DAYS: "),
])
def test_a_wrong_variable_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, variable: str,
                                               value: str, expected: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_unknown_key_and_syntax_errors_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "shopkeep.toml"
    config.write_text('store_name = "A"\n[store]\nlegal_nam = "typo"\n')
    with pytest.raises(SettingsError, match=r"^SHOPKEEP_STORE__LEGAL_NAM: unknown setting$"):
        load_settings()
    config.write_text('store_name = "unterminated\n')
    with pytest.raises(SettingsError, match=r"shopkeep\.toml"):
        load_settings()
    with pytest.raises(SettingsError, match=r"--config: no such file"):
        load_settings(tmp_path / "missing.toml")


def test_environment_beats_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "shopkeep.toml").write_text('store_name = "From file"\nportal_address = "help@shop.example"\n')
    monkeypatch.setenv("SHOPKEEP_STORE_NAME", "From env")
    settings = load_settings()
    assert settings.store_name == "From env"
    assert settings.portal_address == "help@shop.example"


def test_postgres_urls_use_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_DATABASE_URL", "postgresql://u:p@db/shop")
    assert load_settings().resolved_database_url == "postgresql+asyncpg://u:p@db/shop"


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = load_settings().secret_key
    second = load_settings().secret_key
    key_file = tmp_path / "data" / "secret_key"
    assert first and first == second
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_cli_stops_with_exit_code_2_and_one_line(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHOPKEEP_SMTP_LISTEN", "localhost")
    assert run(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "shopkeep: SHOPKEEP_SMTP_LISTEN: expected HOST:PORT, got 'localhost'"


def test_devices_are_stale_after_30_days_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().device_stale_days == 30
    monkeypatch.setenv("SHOPKEEP_DEVICE_STALE_DAYS", "45")
    assert load_settings().device_stale_days == 45
