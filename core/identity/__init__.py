"""Who a customer is: an email address, one-time sign-in codes, and the chat accounts linked by them."""
