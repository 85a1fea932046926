"""Invoices, credit notes, payments, the price list, the invoice PDF and email."""
