"""The subscription policy of a product: the `[portal]` defaults with the product's own keys
from the catalog (`[products.subscription]`) over them."""

from __future__ import annotations

from config.settings import SubscriptionPolicy
from core.kernel.portal import Portal
from core.models import Product

__all__ = ["SubscriptionPolicy", "policy_for"]


def policy_for(portal: Portal, product: Product) -> SubscriptionPolicy:
    defaults = portal.settings.portal.model_dump(include=set(SubscriptionPolicy.model_fields))
    return SubscriptionPolicy.model_validate({**defaults, **(product.subscription_policy or {})})
