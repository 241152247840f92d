"""Subscriptions: renewals now, plan changes, pauses and cancellations next."""
