"""Importing this package registers every command."""

from handlers.commands import account, confirm, help, overview, shopping

__all__ = ["account", "confirm", "help", "overview", "shopping"]
