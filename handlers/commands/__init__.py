"""Importing this package registers every command. One module per thing customers do."""

from handlers.commands import (
    account,
    billing,
    community,
    confirm,
    documents,
    help,
    licenses,
    orders,
    overview,
    payment,
    refunds,
    seats,
    sign_in,
    subscriptions,
)

__all__ = ["account", "billing", "community", "confirm", "documents", "help", "licenses", "orders",
           "overview", "payment", "refunds", "seats", "sign_in", "subscriptions"]
