"""Payment providers behind core's interface (core/payments/provider.py): the embedded test-mode
provider now, Stripe next."""
