"""The subscription policy: `[portal]` defaults from the settings, a product's own keys from the
catalog over them, and catalog mistakes named where they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.settings import SettingsError
from core.catalog.spec import read_catalog
from core.kernel.errors import InvalidInput
from core.kernel.portal import Portal
from core.models import Product
from core.subscriptions.policy import policy_for

PRODUCT = """
[[products]]
slug = "club"
name = "The Club"
kind = "{kind}"
{policy}
  [[products.plans]]
  slug = "basic"
  name = "Basic"
  {interval}
  price = 1000
  currency = "USD"
"""


def catalog(tmp_path: Path, policy: str, kind: str = "subscription") -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(PRODUCT.format(kind=kind, policy=policy,
                                   interval='interval = "month"' if kind == "subscription" else ""))
    return path


def test_a_product_overrides_only_the_keys_it_sets(portal: Portal, tmp_path: Path) -> None:
    spec = read_catalog(catalog(tmp_path, "  [products.subscription]\n  allow_pause = false\n"
                                          "  max_pause_days = 30\n"))
    product = Product(slug="club", name="The Club", subscription_policy=spec.products[0].subscription.overrides()
                      if spec.products[0].subscription else {})

    policy = policy_for(portal, product)

    assert (policy.allow_pause, policy.max_pause_days) == (False, 30)
    assert (policy.proration, policy.allow_cancel_now, policy.access_while_paused) == (
        "prorate_now", False, False)
    assert policy_for(portal, Product(slug="x", name="X", subscription_policy={})).allow_pause


@pytest.mark.parametrize(("policy", "kind", "words"), [
    ("  [products.subscription]\n  change_plans = [\"gold\"]\n", "subscription",
     "subscription.change_plans: no plan gold in this product"),
    ("  [products.subscription]\n  proration = \"sometimes\"\n", "subscription", "proration"),
    ("  [products.subscription]\n  allow_pause = false\n", "one_time", "for subscription products only"),
])
def test_catalog_mistakes_name_their_place(tmp_path: Path, policy: str, kind: str, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_catalog(catalog(tmp_path, policy, kind))
    assert words in refused.value.message and "products[club]" in refused.value.message


def test_portal_defaults_come_from_the_environment(settings_factory: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_PORTAL__DUNNING_RETRY_DAYS", "[1, 3]")
    monkeypatch.setenv("SHOPKEEP_PORTAL__ALLOW_CANCEL_NOW", "true")
    settings = settings_factory()
    assert settings.portal.dunning_retry_days == [1, 3] and settings.portal.allow_cancel_now

    monkeypatch.setenv("SHOPKEEP_PORTAL__DUNNING_RETRY_DAYS", "[5, 2]")
    with pytest.raises(SettingsError, match="SHOPKEEP_PORTAL__DUNNING_RETRY_DAYS: must be increasing"):
        settings_factory()
