"""The HTTP front door: downloads, the purchases webhook, the license API for the merchant's apps,
the test-mode payment page and health. Other doors mount routes on it."""

from bot.web.app import create_app

__all__ = ["create_app"]
