"""Subscriptions: what a customer may change, how it is priced, and renewals.

What the commands call (every function is scoped by the acting customer; `product_ref` is a
product's slug, name or number among the customer's subscriptions):

    queries.subscriptions_of(session, customer_id)              -> [Subscription]
    queries.find_subscription(session, customer_id, product_ref) -> Subscription
    queries.switchable(portal, subscription)                    -> [PlanChoice(plan, current, allowed)]
    state.state_of(subscription, locale=, tz=)                  -> SubscriptionState (words)

    changes.preview_change(session, portal, customer_id, product_ref, plan_ref)  # "keep" drops
    lifecycle.preview_pause(session, portal, customer_id, product_ref, until: date | None)
    lifecycle.preview_resume(session, portal, customer_id, product_ref)
    lifecycle.preview_cancel(session, portal, customer_id, product_ref, now=False, reason=None)
    lifecycle.preview_uncancel(session, portal, customer_id, product_ref)
    lifecycle.preview_resubscribe(session, portal, customer_id, product_ref, plan_ref=None)
        -> quotes.Preview (summary, lines, amount_due, recurring, notes, text, quote_id)
    lifecycle.resume_date(text, now=, tz=) -> date;  lifecycle.cancellation_reasons(portal, s)

    quotes.apply(session, portal, payments, customer_id, quote_id, actor=) -> quotes.Applied

A preview refuses with a PortalError whose message is the sentence to show. The confirmation
keeps the quote id; `apply` runs it once (audit, domain events, confirmation mail, the store's
notice) or refuses when it expired (15 minutes) or the subscription changed since.
"""
