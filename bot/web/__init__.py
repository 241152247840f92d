"""The HTTP front door: downloads, the purchases webhook and health. Other doors mount routes on it."""

from bot.web.app import AFTER_PURCHASE, create_app

__all__ = ["AFTER_PURCHASE", "create_app"]
