"""Importing this package registers every command. One module per thing customers do."""

from handlers.commands import community, confirm, documents, help, orders, overview, payment, sign_in

__all__ = ["community", "confirm", "documents", "help", "orders", "overview", "payment", "sign_in"]
