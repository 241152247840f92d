"""Payments: the provider interface every provider adapter implements (provider.py), the
customer's saved payment methods (methods.py), their ids at the provider (customers.py) and the
link to the provider's page for adding a card (setup.py)."""
