"""Invoices, receipts and credit notes: issuing, finding and rendering them."""
