"""Payments: the provider interface every provider adapter implements (provider.py), the
customer's saved payment methods (methods.py) and their ids at the provider (customers.py)."""
