"""Importing this package registers every command. One module per thing customers do."""

from handlers.commands import (
    billing,
    community,
    confirm,
    documents,
    help,
    licenses,
    orders,
    overview,
    seats,
    sign_in,
)

__all__ = ["billing", "community", "confirm", "documents", "help", "licenses", "orders", "overview", "seats",
           "sign_in"]
