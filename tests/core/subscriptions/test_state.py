"""A subscription's state in words: what it does next, and when, in the customer's own calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from core.models import Plan, Subscription
from core.subscriptions.state import state_of

# Late on 13 April in UTC is already 14 April in Berlin.
PERIOD_END = datetime(2026, 4, 13, 22, 30, tzinfo=UTC)


def subscription(status: str = "active", *, cancelling: bool = False) -> Subscription:
    return Subscription(status=status, current_period_end=PERIOD_END, cancel_at_period_end=cancelling)


def test_an_active_subscription_renews_on_its_period_end() -> None:
    state = state_of(subscription(), locale="en_US", tz="UTC")

    assert (state.status, state.date, state.cancel_at_period_end) == ("renews", "Apr 13, 2026", False)
    assert state.text == "renews Apr 13, 2026"


def test_a_cancelled_subscription_ends_then_in_the_customers_locale_and_zone() -> None:
    state = state_of(subscription(cancelling=True), locale="de_DE", tz="Europe/Berlin")

    assert state.cancel_at_period_end and state.text == "ends 14.04.2026"


def test_a_stopped_subscription_says_what_stopped_it_without_a_date() -> None:
    state = state_of(subscription("past_due"), locale="en_US", tz="UTC")

    assert state.text == "past due" and state.date is None


def test_a_paused_subscription_says_when_it_resumes() -> None:
    paused = Subscription(status="paused", current_period_end=PERIOD_END, cancel_at_period_end=False,
                          pause_until=datetime(2026, 5, 1, tzinfo=UTC))
    assert state_of(paused, locale="en_US", tz="UTC").text == "paused, resumes May 1, 2026"


def test_scheduled_changes_are_listed_with_their_day() -> None:
    pausing = Subscription(status="active", current_period_end=PERIOD_END, cancel_at_period_end=False,
                           pause_at_period_end=True, pause_until=datetime(2026, 5, 13, tzinfo=UTC))
    changing = Subscription(status="active", current_period_end=PERIOD_END, cancel_at_period_end=False,
                            scheduled_plan_id=2, scheduled_plan=Plan(id=2, name="Basic"))

    assert state_of(pausing, locale="en_US", tz="UTC").scheduled == [
        "pauses on Apr 13, 2026 until May 13, 2026"]
    assert state_of(changing, locale="en_US", tz="UTC").scheduled == ["changes to Basic on Apr 13, 2026"]
