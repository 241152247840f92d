"""Payments: the provider interface every provider adapter implements (provider.py), the
customer's saved payment methods (methods.py) and their ids at the provider (customers.py).

What the commands call (scoped by the acting customer):

    methods.methods_of(session, customer_id)          -> [MethodListing(number, method, used_by)]
    methods.find_method(session, customer_id, number) -> MethodListing
    methods.preview_default(chosen, listing)          -> str (refuses when already the default)
    methods.set_default(session, portal, customer_id, number, actor=)
    methods.preview_remove(session, customer_id, number) -> str (refuses the last card of a paid
                                                               subscription)
    methods.remove(session, portal, customer_id, number, actor=)
    payments.setup_link(customers.as_provider_customer(customer),
                        await customers.provider_customer(session, payments, customer))
        -> SetupLink(url, expires_at): the provider's page to add a card
"""
