"""Tax registries that core asks whether a tax ID is registered (core.billing.tax_registry)."""
