"""Tax IDs against the billing country (python-stdnum): for each country one that fits, one with
wrong check digits, and one of another country, each answered as a customer reads it."""

from __future__ import annotations

import pytest

from core.billing.tax import EU_MEMBER_STATES
from core.billing.tax_ids import TaxIdRefused, check, example, expected, fits, kind_for

# country, typed as customers write it, stored as, the same with a wrong check digit
TABLE = [
    ("FR", "FR 40 303 265 045", "FR40303265045", "FR40303265046"),
    ("FR", "40303265045", "FR40303265045", "40303265046"),  # without its prefix
    ("DE", "DE 136 695 976", "DE136695976", "DE136695977"),
    ("GR", "EL094259216", "EL094259216", "EL094259217"),  # Greece writes EL
    ("GR", "094259216", "EL094259216", "094259217"),
    ("IE", "IE 6433435F", "IE6433435F", "IE6433435E"),
    ("IT", "IT00743110157", "IT00743110157", "IT00743110158"),
    ("NL", "NL004495445B01", "NL004495445B01", "NL004495446B01"),
    ("AT", "ATU13585627", "ATU13585627", "ATU13585628"),
    ("GB", "GB 980 7806 84", "980780684", "GB980780685"),
    ("CH", "CHE-107.787.577 IVA", "CHE107787577IVA", "CHE-107.787.578 IVA"),
    ("NO", "NO 995 525 828 MVA", "995525828MVA", "NO 995 525 829 MVA"),
    ("AU", "83 914 571 673", "83914571673", "99 999 999 999"),
    ("CA", "12302 6635", "123026635", "123456783"),
    ("IN", "27AAPFU0939F1ZV", "27AAPFU0939F1ZV", "27AAPFU0939F1ZO"),
]


@pytest.mark.parametrize(("country", "typed", "stored", "wrong"), TABLE)
def test_an_id_that_fits_is_kept_compact_and_a_wrong_one_is_refused_with_the_expected_form(
        country: str, typed: str, stored: str, wrong: str) -> None:
    checked = check(typed, country)
    assert checked.value == stored and fits(stored, country)
    with pytest.raises(TaxIdRefused) as refused:
        check(wrong, country)
    message = str(refused.value)
    assert message.startswith(f"{wrong} isn't a valid {kind_for(country).name}: they look like ")
    assert example(country) in message and "Traceback" not in message


@pytest.mark.parametrize(("country", "typed", "theirs", "ours"), [
    ("DE", "FR40303265045", "France", "Germany"),
    ("FR", "DE136695976", "Germany", "France"),
    ("FR", "GB980780684", "United Kingdom", "France"),
    ("DE", "CHE-107.787.577 IVA", "Switzerland", "Germany"),
    ("IE", "EL094259216", "Greece", "Ireland"),
])
def test_an_id_of_another_country_names_both_and_what_fits(country: str, typed: str, theirs: str,
                                                           ours: str) -> None:
    with pytest.raises(TaxIdRefused) as refused:
        check(typed, country)
    message = str(refused.value)
    assert f"is a tax ID of {theirs}, but your billing country is {ours}" in message
    assert f"For {ours} we need {expected(country)}" in message and "`billing edit`" in message


def test_every_member_state_has_an_example_that_fits() -> None:
    for country in sorted(EU_MEMBER_STATES):
        shown = example(country)
        assert shown is not None, country
        assert kind_for(country).type == "eu_vat" and fits(check(shown, country).value, country)


def test_a_country_stdnum_does_not_know_takes_the_id_unchecked() -> None:
    checked = check("12-3456789", "US")
    assert checked.value == "12-3456789" and checked.kind.module is None
    with pytest.raises(TaxIdRefused, match="doesn't look like a tax ID"):
        check("!", "US")


def test_other_countries_stdnum_supports_are_checked_too() -> None:
    assert kind_for("JP").type == "jp_cn" and kind_for("NZ").name == "New Zealand IRD number"
    assert kind_for("GB").type == "gb_vat" and kind_for("IN").type == "in_gst" and kind_for("NO").type == "no_vat"
    with pytest.raises(TaxIdRefused):
        check("123", "JP")
