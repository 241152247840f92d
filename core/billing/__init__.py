"""Billing documents: invoices, receipts and credit notes, their periods in plain words, and their PDFs."""
