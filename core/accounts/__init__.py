"""The customer's account as a whole: confirmations of changes and the audit log."""
