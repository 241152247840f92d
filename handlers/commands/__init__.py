"""Importing this package registers every command."""

from handlers.commands import account, billing, confirm, help, overview, shopping

__all__ = ["account", "billing", "confirm", "help", "overview", "shopping"]
