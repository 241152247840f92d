"""The HTTP front door: downloads, the purchases webhook and health. Other doors mount routes on it."""

from bot.web.app import create_app

__all__ = ["create_app"]
