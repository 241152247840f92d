"""Importing this package registers every command."""

from handlers.commands import account, billing, community, confirm, help, overview, shopping

__all__ = ["account", "billing", "community", "confirm", "help", "overview", "shopping"]
